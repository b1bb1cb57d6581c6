/** `lifeboat verify FILE`: checks built media (ISO, USB image or a written stick) without changing it. */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { JobError } from '../errors.js';
import { verifyMedia } from '../media/verify.js';
import { bold, green, printJson, red, say } from './output.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .argument('<file>', 'a built .iso or -usb.img, or a USB stick device such as /dev/sdb')
    .option('--json', 'print the result as JSON on stdout')
    .description('check media: boot records, every file and boot structure against the media manifest, the USB file system, the vault and the assistant (exit 1 when a check fails)')
    .addHelpText('after', '\nExamples:\n  lifeboat verify dist/muster-stb.iso\n  lifeboat verify /dev/sdb')
    .action(async (file: string, opts: { json?: boolean }) => {
      const report = await verifyMedia(file);
      if (opts.json) printJson(report);
      else {
        const device = (await stat(file).catch(() => undefined))?.isBlockDevice();
        say(`${bold(file)} (${report.kind === 'iso' ? 'ISO image' : device ? 'USB stick' : 'USB disk image'})`);
        for (const c of report.checks) say(`  ${c.ok ? green('ok  ') : red('FAIL')} ${c.name}: ${c.detail}`);
      }
      if (!report.ok) throw new JobError(`${file} failed verification`, 'Rebuild the media, or write the USB stick again (replace the stick if it fails twice).');
      if (!opts.json) say(green('all checks passed'));
    });
}
