/** `lifeboat audit`: do the backups on the share meet the RPO today? Exit code 3 when not (for monitoring). */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { loadSite } from '../site/index.js';
import { AtomicFile } from '../util/atomic-file.js';
import { auditError, auditShare, formatAuditTable, renderAuditHtml, type ServerStatus } from '../veeam/audit.js';
import { parseDate } from './common.js';
import { bold, green, printJson, red, say, yellow } from './output.js';
import { progressMeter } from './progress.js';
import type { DeepAuditOptions } from '../veeam/deep-audit.js';

const paint = (status: ServerStatus, text: string): string => (status === 'ok' ? green(text) : red(text));

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .requiredOption('--site <file>', 'the site description (site.yaml)')
    .requiredOption('--share <path>', 'the backup share as mounted here (a folder)')
    .option('--now <time>', 'judge the backups as of this time (ISO 8601 or seconds since 1970); default: now')
    .option('--json', 'print the report as JSON on stdout')
    .option('--html <file>', 'also write the report as an HTML page')
    .option('--deep', 'also read each chain\'s full backup file (.vbk) and check every block (exit 3 on damage)')
    .option('--read-data-subset <n/m|p%>', 'with --deep, read only slice n of m of the blocks (1/7 ... 7/7 over a week) or p% of them')
    .description('check restore points, chain health, retention and RPO per server (exit 3 when a server breaks its RPO or has a broken chain)')
    .addHelpText('after', [
      '',
      'With --deep the full backups are read block by block (metadata checksums, every block\'s MD5); increments are',
      'checked from the chain metadata only. Over 1 GbE a full read takes about 2.5 hours per TB: use',
      '--read-data-subset to spread it, e.g. $(date +%u)/7 in a nightly task reads everything once a week.',
      '',
      'Examples:',
      '  lifeboat audit --site site.yaml --share /mnt/veeam',
      '  lifeboat audit --site site.yaml --share /mnt/veeam --json --html audit.html',
      '  lifeboat audit --site site.yaml --share /mnt/veeam --deep --read-data-subset 3/7',
      '  lifeboat-win-x64.exe audit --site site.yaml --share \\\\nas01\\veeam     (Windows: a UNC share or D:\\backups)',
    ].join('\n'))
    .action(async (opts: { site: string; share: string; now?: string; json?: boolean; html?: string; deep?: boolean; readDataSubset?: string }) => {
      if (opts.now !== undefined && opts.now.trim() === '') throw new InputError('--now is empty', 'Give a time such as 2026-01-31T12:00:00Z.');
      const now = opts.now !== undefined ? (parseDate(opts.now, '--now') as Date) : new Date();
      const site = await loadSite(opts.site);
      if (opts.readDataSubset !== undefined && !opts.deep) throw new InputError('--read-data-subset needs --deep', 'Add --deep to read the backup files.');
      let deep: DeepAuditOptions | undefined;
      let meter: ReturnType<typeof progressMeter> | undefined;
      if (opts.deep) {
        const { parseSubset } = await import('../veeam/deep-audit.js');
        meter = progressMeter('reading full backups');
        deep = { subset: parseSubset(opts.readDataSubset), onProgress: meter.update };
      }
      const report = await auditShare(site, opts.share, { now, ...(deep ? { deep } : {}) }).finally(() => meter?.end());
      if (opts.html) {
        const file = await AtomicFile.create(opts.html);
        try {
          await file.handle.writeFile(renderAuditHtml(report), 'utf8');
          await file.commit();
        } catch (e) {
          await file.abort();
          throw e;
        }
      }
      if (opts.json) printJson(report);
      else {
        say(`${bold(report.site.name)}: share ${report.share}, as of ${report.now}, RPO ${report.rpoHours} hours`);
        for (const line of formatAuditTable(report, paint)) say(`  ${line}`);
        for (const p of report.problems) say(`${red('problem:')} ${p}`);
        if (report.deep) for (const l of report.deep.lines) say(`${bold('deep:')} ${l}`);
        for (const w of report.warnings) say(`${yellow('warning:')} ${w}`);
        if (report.ok) say(green('all servers meet their RPO with healthy backup chains'));
      }
      if (opts.html && !opts.json) say(`wrote ${opts.html}`);
      if (report.exitCode !== 0) throw auditError(report);
    });
}
