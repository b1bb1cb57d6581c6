/** `lifeboat schema` and `lifeboat init`: the site description. */
import { stat, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { askSite, renderSiteYaml, siteJsonSchema } from '../site/index.js';
import { say } from './output.js';

export function registerSite(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of site.yaml (for editor completion and validation)')
    .addHelpText('after', '\nExample:\n  lifeboat schema > site.schema.json   # then "# yaml-language-server: $schema=site.schema.json" in site.yaml')
    .action(() => {
      process.stdout.write(`${JSON.stringify(siteJsonSchema(), null, 2)}\n`);
    });

  program
    .command('init')
    .option('--out <file>', 'where to write the site description', 'site.yaml')
    .option('--force', 'overwrite an existing file')
    .description('ask about the site (business, contacts, share, servers) and write a commented site.yaml')
    .action(async (opts: { out: string; force?: boolean }) => {
      if (!opts.force && (await stat(opts.out).catch(() => undefined))) {
        throw new InputError(`${opts.out} already exists`, 'Choose another --out, or add --force to overwrite it.');
      }
      if (!process.stdin.isTTY) throw new InputError('lifeboat init asks questions and needs a terminal', 'Copy examples/site.yaml and edit it instead.');
      const site = await askSite();
      await writeFile(opts.out, renderSiteYaml(site));
      say(`wrote ${opts.out}; next: lifeboat build --site ${opts.out} --base <Veeam recovery ISO> --out dist`);
    });
}
