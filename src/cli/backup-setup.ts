/** `lifeboat backup-setup`: per server, a scheduled task and install scripts that make Veeam Agent FREE meet the RPO. */
import type { Command } from 'commander';
import { writeBackupSetup } from '../media/backup-setup.js';
import { loadSite } from '../site/index.js';
import { bold, printJson, say } from './output.js';

export function registerBackupSetup(program: Command): void {
  program
    .command('backup-setup')
    .requiredOption('--site <file>', 'the site description (site.yaml)')
    .requiredOption('--out <dir>', 'folder for the files; one subfolder per server')
    .option('--json', 'print what was written as JSON on stdout')
    .description('write per server a Task Scheduler task running the Veeam backup every rpoHours, install/uninstall scripts and a README')
    .addHelpText('after', '\nExample:\n  lifeboat backup-setup --site site.yaml --out dist/backup-setup\n  (then on each server, as Administrator: powershell -ExecutionPolicy Bypass -File .\\install.ps1)')
    .action(async (opts: { site: string; out: string; json?: boolean }) => {
      const site = await loadSite(opts.site);
      const result = await writeBackupSetup(site, opts.out);
      if (opts.json) {
        printJson({
          out: result.outDir,
          servers: result.servers.map((s) => ({ server: s.server, dir: s.dir, files: s.paths, schedule: s.schedule })),
        });
        return;
      }
      for (const s of result.servers) {
        say(`${bold(s.server)}: ${s.schedule.summary}`);
        for (const p of s.paths) say(`  ${p}`);
      }
      say(`next: copy each server's folder to that server and run install.ps1 there as Administrator`);
    });
}
