/**
 * `lifeboat demo`: the whole pipeline on the bundled example site: a stand-in Veeam recovery ISO is generated, the
 * example site is built from it (ISO + USB image, recovery code), and both outputs are verified.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { JobError } from '../errors.js';
import { buildMedia } from '../media/build.js';
import { makeStandInBase } from '../media/stand-in-base.js';
import { verifyMedia } from '../media/verify.js';
import { Secret, generateRecoveryCode } from '../secrets/index.js';
import { resourcePath } from '../resources.js';
import { assistantExe } from './build.js';
import { bold, formatBytes, green, red, say, yellow } from './output.js';
import { progressMeter } from './progress.js';


export function registerDemo(program: Command): void {
  program
    .command('demo')
    .option('--out <dir>', 'folder for the demo outputs', 'dist/demo')
    .description('run the whole pipeline on the bundled example site, from a generated stand-in Veeam recovery ISO')
    .addHelpText('after', [
      '',
      'Builds examples/site.yaml into an ISO and a USB image with a generated recovery code (shown once), prints its',
      'manual, and verifies both images. Nothing is needed beyond Lifeboat itself: the Veeam ISO is a stand-in.',
      '',
      'Examples:',
      '  lifeboat demo                      # outputs in dist/demo',
      '  lifeboat demo --out /tmp/lifeboat-demo',
    ].join('\n'))
    .action(async (opts: { out: string }) => {
      const out = resolve(opts.out);
      // The stand-in base lives beside the output folder: a build replaces the output folder's whole content.
      const baseDir = `${out}-base`;
      await mkdir(baseDir, { recursive: true });
      const base = join(baseDir, 'veeam-recovery-standin.iso');
      if (!(await stat(base).catch(() => undefined))) {
        say(`${bold('•')} generating a stand-in Veeam recovery ISO (Windows PE layout, real boot.wim) at ${base}`);
        const work = join(baseDir, '.standin-work');
        await makeStandInBase(base, work);
        await rm(work, { recursive: true, force: true });
      }
      let code: Secret | undefined;
      const meter = progressMeter('  ');
      const { report, files } = await buildMedia({
        siteFile: join(resourcePath('examples'), 'site.yaml'), // with examples/drivers beside it
        base,
        outDir: out,
        assistantExe: assistantExe(),
        // A demo share password is made up on the spot: the example share does not exist.
        secrets: async () => {
          const unlock = generateRecoveryCode();
          code = new Secret(unlock.reveal());
          return { sharePassword: new Secret(randomBytes(18).toString('base64url')), unlock, unlockKind: 'recovery-code' };
        },
        onStage: (s) => {
          meter.end();
          say(`${bold('•')} ${s}`);
        },
        onProgress: meter.update,
      });
      meter.end();
      say(`\nrecovery code of this demo build: ${yellow(code!.reveal())}`);
      for (const o of report.outputs) say(`  ${join(out, o.file)}  ${formatBytes(o.bytes)}`);
      for (const w of report.warnings) say(`  ${yellow('note:')} ${w}`);
      for (const file of files.filter((f) => f.endsWith('.iso') || f.endsWith('.img'))) {
        const v = await verifyMedia(file);
        say(`${v.ok ? green('verified') : red('FAILED')} ${file}: ${v.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'FAIL'}`).join(', ')}`);
        if (!v.ok) throw new JobError(`${file} failed verification`);
      }
      say(`\nnext: boot ${join(out, report.outputs[0]!.file)} in a VM (UEFI or BIOS), or write ${report.site.id}-usb.img to a USB stick`);
    });
}
