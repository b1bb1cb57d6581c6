/** `lifeboat schema` and `lifeboat init`: the site description. */
import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { say } from './output.js';

interface InitOptions {
  out: string;
  force?: boolean;
  resume?: boolean;
}

export function registerSite(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of site.yaml (for editor completion and validation)')
    .addHelpText('after', '\nExample:\n  lifeboat schema > site.schema.json   # then "# yaml-language-server: $schema=site.schema.json" in site.yaml')
    .action(async () => {
      const { siteJsonSchema } = await import('../site/index.js');
      process.stdout.write(`${JSON.stringify(siteJsonSchema(), null, 2)}\n`);
    });

  program
    .command('init')
    .option('--out <file>', 'where to write the site description', 'site.yaml')
    .option('--force', 'overwrite an existing file')
    .option('--resume', 'continue an interrupted init from its draft (<out>.draft.json)')
    .description('ask about the site (business, contacts, share, servers) and write a commented site.yaml')
    .addHelpText('after', [
      '',
      'Each answer is checked when you give it. Esc goes back one question (your answer is offered again);',
      'Ctrl-C stops and offers to keep your answers as a draft beside --out, which --resume continues.',
      'Driver folders are suggested only when they exist next to the site file.',
      '',
      'Examples:',
      '  lifeboat init                         # writes site.yaml in this folder',
      '  lifeboat init --out sites/muster.yaml',
      '  lifeboat init --out sites/muster.yaml --resume   # after Ctrl-C: continue where you stopped',
    ].join('\n'))
    .action(async (opts: InitOptions) => {
      if (!opts.force && (await stat(opts.out).catch(() => undefined))) {
        throw new InputError(`${opts.out} already exists`, 'Choose another --out, or add --force to overwrite it.');
      }
      if (!process.stdin.isTTY) throw new InputError('lifeboat init asks questions and needs a terminal', 'Copy examples/site.yaml and edit it instead.');
      const site = await import('../site/index.js');
      const draftFile = site.draftPathFor(opts.out);
      const answers = opts.resume ? await site.loadDraft(draftFile) : undefined;
      if (answers) say(`Continuing from ${answers.length} answers kept in ${draftFile}.`);
      else if (await stat(draftFile).catch(() => undefined)) say(`Note: ${draftFile} holds the answers of an interrupted run; lifeboat init --resume continues it.`);
      say('Esc goes back one question; Ctrl-C stops (and offers to keep your answers).');
      let result;
      try {
        result = await site.askSite(site.inquirerPrompter, { answers, siteDir: dirname(resolve(opts.out)) });
      } catch (e) {
        if (!(e instanceof site.InitInterrupted)) throw e;
        process.exit(await interrupted(e.answers, draftFile, opts));
      }
      await writeFile(opts.out, site.renderSiteYaml(result));
      await site.removeDraft(draftFile);
      say(`wrote ${opts.out}; next: lifeboat build --site ${opts.out} --base <Veeam recovery ISO> --out dist`);
    });
}

/** Ctrl-C: offer to keep the answers as a draft; returns the exit code (130, as for any interrupt). */
async function interrupted(answers: readonly import('../site/index.js').Answer[], draftFile: string, opts: InitOptions): Promise<number> {
  const site = await import('../site/index.js');
  if (answers.length === 0) {
    say('Interrupted: nothing was written.');
    return 130;
  }
  let keep = false;
  try {
    keep = await site.inquirerPrompter.confirm({ message: `Keep your ${answers.length} answers as a draft, to continue later with --resume?`, default: true });
  } catch {
    keep = false; // a second Ctrl-C (or Esc): no draft
  }
  if (!keep) {
    say('Interrupted: nothing was written.');
    return 130;
  }
  await site.saveDraft(draftFile, answers);
  const out = opts.out === 'site.yaml' ? '' : ` --out ${opts.out}`;
  say(`Draft kept in ${draftFile}; continue with: lifeboat init${out} --resume`);
  return 130;
}
