/** `lifeboat flash IMAGE DEVICE` and `lifeboat flash --list`: write the USB image safely and prove the stick is good. */
import { createInterface } from 'node:readline';
import { Option, type Command } from 'commander';
import { InputError, JobError } from '../errors.js';
import type { VerifyReport } from '../media/verify.js';
import type { IoMode } from '../usb/flash/target.js';
import { bold, dim, formatBytes, green, printJson, say, yellow } from './output.js';
import { progressMeter } from './progress.js';

interface FlashOpts {
  list?: boolean;
  yes?: boolean;
  allowNonRemovable?: boolean;
  blockmap?: string;
  json?: boolean;
  io: IoMode;
}

/** One line from stdin (a terminal or a pipe); undefined at end of input. */
function readLine(prompt: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    process.stderr.write(prompt);
    const rl = createInterface({ input: process.stdin, terminal: false });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) resolve(undefined);
    });
  });
}

const rate = (bytes: number, ms: number) => `${formatBytes(bytes / Math.max(ms / 1000, 0.001))}/s`;

export function registerFlash(program: Command): void {
  program
    .command('flash')
    .argument('[image]', 'the -usb.img written by `lifeboat build`')
    .argument('[device]', 'the USB stick: /dev/sdX (Linux), /dev/diskN (macOS), \\\\.\\PhysicalDriveN (Windows), or a regular file')
    .option('--list', 'list the disks (model, size, bus, removable, mount points) and exit')
    .option('--yes', 'do not ask for the device name (scripts); every refusal rule still applies')
    .option('--allow-non-removable', 'allow a disk that does not report itself removable (USB SSDs, some card readers)')
    .option('--blockmap <file>', 'block map of the image, ours (.blockmap.json) or bmaptool\'s (.bmap) (default: IMAGE.blockmap.json, else IMAGE.bmap, else the image is scanned)')
    .option('--json', 'print the result (or the disk list) as JSON on stdout')
    .addOption(new Option('--io <mode>', 'I/O mode (benchmarks)').choices(['auto', 'direct', 'buffered']).default('auto').hideHelp())
    .description('write a USB image to a stick, read it back and verify every written range (refuses system and non-removable disks)')
    .addHelpText('after', [
      '',
      'Examples:',
      '  lifeboat flash --list',
      '  lifeboat flash dist/muster-stb-usb.img /dev/sdb',
      '',
      'Only the parts of the image that hold data are written (the build\'s block map), in 4 MiB blocks, then flushed',
      'and read back from the stick and compared with the image, whose blocks were checked by SHA-256 against the map',
      'while writing. The map is IMAGE.blockmap.json or the standard IMAGE.bmap (bmaptool, balenaEtcher); a map that',
      'leaves out any block the image\'s FAT uses is refused before anything is written (exit 2). Lifeboat media are',
      'then checked on the stick as `lifeboat verify DEVICE` does.',
      '',
      'Refused: the system disk, disks with mounted system partitions, non-removable disks (unless',
      '--allow-non-removable), disks smaller than the image. Partitions of the stick are unmounted first.',
      'Exit 1 when the stick does not return what was written: replace the stick.',
    ].join('\n'))
    .action(async (image: string | undefined, device: string | undefined, opts: FlashOpts) => {
      if (opts.list) return listDisks(opts.json === true);
      if (!image || !device) throw new InputError('flash needs IMAGE and DEVICE (or --list)', 'Example: lifeboat flash dist/muster-stb-usb.img /dev/sdb; see the disks with lifeboat flash --list.');
      // loaded here, not at the top: start-up stays fast (see src/cli/main.ts)
      const { flashTo, prepareImage, resolveTarget, unmountDevice } = await import('../usb/flash/flash.js');

      const prepared = await prepareImage(image, opts.blockmap);
      const target = await resolveTarget(device, prepared.size, { allowNonRemovable: opts.allowNonRemovable === true });
      const planned = prepared.plan.reduce((s, r) => s + r.length, 0);
      say(`${bold(image)}: ${formatBytes(prepared.size)}, ${formatBytes(prepared.map.mappedBytes)} of data in ${prepared.map.ranges.length} ranges` +
        (prepared.source.kind === 'scanned' ? ' (no block map file: scanned the image)' : dim(` (map: ${prepared.source.path})`)) +
        `; writing ${formatBytes(planned)} (unused space is skipped${planned > prepared.map.mappedBytes ? ', used zero blocks zero-filled' : ''})`);
      if (target.kind === 'file') say(`${bold(device)} is a regular file: device checks do not apply`);
      else {
        const { assertConfirmed, erasePlan } = await import('../usb/flash/safety.js');
        for (const line of erasePlan(target.device)) say(line);
        if (!opts.yes) {
          const typed = await readLine(`Type ${bold(target.device.name)} to erase it, anything else to stop: `);
          assertConfirmed(typed, target.device);
        }
        const unmounted = await unmountDevice(target.device);
        for (const u of unmounted) say(`unmounted ${u}`);
      }

      let meter = progressMeter('writing  ');
      let phase: 'write' | 'verify' = 'write';
      const result = await flashTo(prepared, target, {
        io: opts.io,
        onProgress: (p, done, total) => {
          if (p !== phase) {
            meter.end();
            meter = progressMeter('verifying');
            phase = p;
          }
          meter.update(done, total);
        },
      });
      meter.end();
      say(`wrote ${formatBytes(result.plannedBytes)} in ${(result.writeMs / 1000).toFixed(1)} s (${rate(result.plannedBytes, result.writeMs)}), flush ${(result.flushMs / 1000).toFixed(1)} s` +
        `${result.directWrite ? '' : dim(' (through the page cache)')}`);
      say(`read back and verified ${result.ranges} ranges in ${(result.verifyMs / 1000).toFixed(1)} s (${rate(result.plannedBytes, result.verifyMs)})` +
        `${result.directRead ? '' : yellow(' (read-back may have come from the page cache)')}`);

      let media: VerifyReport | undefined;
      if (prepared.isLifeboatMedia) {
        const { verifyMedia } = await import('../media/verify.js');
        media = await verifyMedia(target.path);
        if (!opts.json) for (const c of media.checks) say(`  ${c.ok ? green('ok  ') : 'FAIL'} ${c.name}: ${c.detail}`);
        if (!media.ok) throw new JobError(`the written stick ${target.path} failed the media check`, 'Flash it again; if it fails twice, replace the stick.');
      } else say(yellow('not Lifeboat media (no \\lifeboat\\MANIFEST.sha256): skipped the media check'));
      if (opts.json) printJson({ image, device: target.path, ok: true, ...result, media: media ?? null });
      say(green(`${target.path} is written and verified`));
    });
}

async function listDisks(json: boolean): Promise<void> {
  const { listerFor } = await import('../usb/flash/devices.js');
  const { describeDevice } = await import('../usb/flash/safety.js');
  const lister = listerFor();
  if (!lister) throw new InputError(`listing disks is not supported on ${process.platform}`);
  const devices = await lister.list();
  if (json) {
    printJson(devices);
    return;
  }
  if (devices.length === 0) say('no disks found');
  for (const d of devices) {
    const mounts = d.mountpoints.length ? `, mounted: ${d.mountpoints.join(' ')}` : '';
    say(`${bold(d.path)}  ${describeDevice(d)}${mounts}`);
  }
}
