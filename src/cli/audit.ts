/** `lifeboat audit`: do the backups on the share meet the RPO today? Exit code 3 when not (for monitoring). */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { loadSite } from '../site/index.js';
import { AtomicFile } from '../util/atomic-file.js';
import { auditError, auditShare, formatAuditTable, renderAuditHtml, type ServerStatus } from '../veeam/audit.js';
import { parseDate } from './common.js';
import { bold, green, printJson, red, say, yellow } from './output.js';

const paint = (status: ServerStatus, text: string): string => (status === 'ok' ? green(text) : red(text));

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .requiredOption('--site <file>', 'the site description (site.yaml)')
    .requiredOption('--share <path>', 'the backup share as mounted here (a folder)')
    .option('--now <time>', 'judge the backups as of this time (ISO 8601 or seconds since 1970); default: now')
    .option('--json', 'print the report as JSON on stdout')
    .option('--html <file>', 'also write the report as an HTML page')
    .description('check restore points, chain health, retention and RPO per server (exit 3 when a server breaks its RPO or has a broken chain)')
    .addHelpText('after', '\nExamples:\n  lifeboat audit --site site.yaml --share /mnt/veeam\n  lifeboat audit --site site.yaml --share /mnt/veeam --json --html audit.html\n  lifeboat-win-x64.exe audit --site site.yaml --share \\\\nas01\\veeam     (Windows: a UNC share or D:\\backups)')
    .action(async (opts: { site: string; share: string; now?: string; json?: boolean; html?: string }) => {
      if (opts.now !== undefined && opts.now.trim() === '') throw new InputError('--now is empty', 'Give a time such as 2026-01-31T12:00:00Z.');
      const now = opts.now !== undefined ? (parseDate(opts.now, '--now') as Date) : new Date();
      const site = await loadSite(opts.site);
      const report = await auditShare(site, opts.share, { now });
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
        for (const w of report.warnings) say(`${yellow('warning:')} ${w}`);
        if (report.ok) say(green('all servers meet their RPO with healthy backup chains'));
      }
      if (opts.html && !opts.json) say(`wrote ${opts.html}`);
      if (report.exitCode !== 0) throw auditError(report);
    });
}
