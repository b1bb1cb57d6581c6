/** `lifeboat manual`: the printed restore manual (HTML, and PDF when a Chromium-family browser is on the machine). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { readShareCatalog, renderManual } from '../manual/index.js';
import { loadSite } from '../site/index.js';
import { parseDate } from './common.js';
import { bold, printJson, say, warn } from './output.js';

interface ManualCliOptions {
  site: string;
  out: string;
  share?: string;
  pdf: boolean;
  date?: string;
  json?: boolean;
}

export function registerManual(program: Command): void {
  program
    .command('manual')
    .requiredOption('--site <file>', 'the site description (site.yaml)')
    .requiredOption('--out <dir>', 'output folder (created if missing)')
    .option('--share <path>', 'read the newest restore points, OS, RAM and disks from the backup share (a mounted folder or UNC path)')
    .option('--no-pdf', 'write the HTML only')
    .option('--date <when>', 'date printed on the cover (default: now)')
    .option('--json', 'print the result as JSON on stdout')
    .description('write the site\'s printed restore manual: <site>-manual.html and <site>-manual.pdf')
    .addHelpText('after', [
      '',
      'The PDF is printed by a Chromium-family browser already on this machine (chromium, Chrome or Edge;',
      'LIFEBOAT_BROWSER names another). Without one the HTML is written and can be printed from any browser.',
      'This manual has no sealed page: the recovery code exists only in `lifeboat build --generate-code`.',
      '',
      'Example:',
      '  lifeboat manual --site site.yaml --out manual --share /mnt/veeam',
    ].join('\n'))
    .action(async (opts: ManualCliOptions) => {
      const site = await loadSite(opts.site);
      const catalog = opts.share ? await readShareCatalog(opts.share, site) : undefined;
      const result = await renderManual(
        { site, siteFile: opts.site, builtAt: parseDate(opts.date), catalog, platform: process.platform },
        resolve(opts.out),
        { pdf: opts.pdf, sealedPage: false },
      );
      if (opts.json) printJson(result);
      else {
        say(`${bold('Manual')} for ${site.site.name}`);
        say(`  ${result.html}`);
        if (result.pdf) say(`  ${result.pdf}  (${result.pages} pages, printed with ${result.browser})`);
      }
      if (result.pdfSkipped) warn(`${result.pdfSkipped}; open the HTML in a browser to print it.`);
      for (const m of catalog?.missing ?? []) warn(`no backup of ${m} found on ${opts.share}`);
    });
}
