/**
 * `lifeboat flash` as ordered stages, each a function the CLI calls in turn (and prints between):
 *   1. prepareImage   image size, block map (.blockmap.json, .bmap or a scan), checked against the image's FAT;
 *                     the plan (a scanned map gets zero-fill of used zero blocks)
 *   2. resolveTarget  a regular file, or a listed disk (refusal rules applied; a partition is refused)
 *   3. (CLI)          show what will be erased; confirmation unless --yes
 *   4. unmountDevice  unmount its partitions (says what was unmounted)
 *   5. flashTo        open, write, flush, read back and verify, close
 * The final media check (`verifyMedia` on the written device) lives above `usb` and is run by the CLI.
 */
import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError, JobError } from '../../errors.js';
// The modules only a disk needs (listing, refusal rules) or only the media check needs (the FAT reader) are loaded
// when used: flashing starts sooner, most of all to a regular file.
import type { BlockDevice, CommandRunner, DeviceLister } from './devices.js';
import { FileTarget, type FlashTarget, type IoMode } from './target.js';
import { fatUsage, uncovered } from './fat-usage.js';
import { checkMapCoversFat } from './map-file.js';
import { loadBlockMap, planFlash, writeAndVerify, type FlashOptions, type FlashResult, type LoadedBlockMap, type PlanRange } from './writer.js';

export interface PreparedImage extends LoadedBlockMap {
  path: string;
  size: number;
  plan: PlanRange[];
  /** The image carries \lifeboat\MANIFEST.sha256, so `verifyMedia` can check the written stick. */
  isLifeboatMedia: boolean;
}

export async function prepareImage(path: string, mapPath?: string): Promise<PreparedImage> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new InputError(`cannot read the image "${path}": ${(e as { code?: string }).code ?? String(e)}`, 'Give the -usb.img written by `lifeboat build`.');
  }
  if (!st.isFile()) throw new InputError(`the image "${path}" is not a regular file`, 'Give the -usb.img written by `lifeboat build`.');
  if (st.size === 0 || st.size % 512 !== 0) throw new InputError(`"${path}" is not a disk image (${st.size} bytes)`, 'Give the -usb.img written by `lifeboat build`.');
  const lifeboatMedia = isLifeboatMedia(path); // beside the map's checks; it never fails, and has ended when this returns
  try {
    const loaded = await loadBlockMap(path, mapPath);
    const usage = await fatUsage(path);
    // a map from a file must cover every used block; a scanned map leaves out zero blocks, which are zero-filled
    if (usage && loaded.source.kind === 'file') checkMapCoversFat(loaded.map, usage, `the block map "${loaded.source.path}"`);
    const plan = planFlash(loaded.map, usage && loaded.source.kind === 'scanned' ? uncovered(usage.ranges, loaded.map.ranges) : []);
    return { ...loaded, path, size: st.size, plan, isLifeboatMedia: await lifeboatMedia };
  } finally {
    await lifeboatMedia;
  }
}

/** The image is a FAT32 image carrying \lifeboat\MANIFEST.sha256; false for anything else (flashed all the same, without the media check). */
async function isLifeboatMedia(path: string): Promise<boolean> {
  try {
    const { FatImage } = await import('../fat32-reader.js');
    const fat = await FatImage.open(path);
    const found = !!fat.find('/lifeboat/MANIFEST.sha256');
    await fat.close();
    return found;
  } catch {
    return false;
  }
}

export type ResolvedTarget = { kind: 'file'; path: string; size: number } | { kind: 'device'; path: string; device: BlockDevice };

/**
 * What DEVICE names. A regular file is a file target (device rules do not apply). Anything else must be a listed
 * disk; the refusal rules are applied here (InputError, exit 2, nothing written).
 */
export async function resolveTarget(
  path: string,
  imageSize: number,
  opts: { allowNonRemovable?: boolean; lister?: DeviceLister; run?: CommandRunner } = {},
): Promise<ResolvedTarget> {
  const st = await stat(path).catch(() => undefined);
  if (st?.isFile()) return { kind: 'file', path, size: st.size };
  if (st?.isDirectory()) throw new InputError(`"${path}" is a folder, not a disk`, 'Run `lifeboat flash --list` to see the disks.');
  const { defaultRunner, diskOfPartition, findDevice, listerFor } = await import('./devices.js');
  const { assertWritable } = await import('./safety.js');
  const lister = opts.lister ?? listerFor();
  if (!lister) throw new InputError(`flashing to devices is not supported on ${process.platform}`, 'Write the image with your platform\'s tool, then run `lifeboat verify DEVICE`.');
  const devices = await lister.list(opts.run ?? defaultRunner);
  const names = [path];
  if (st) {
    const real = await realpath(path).catch(() => path);
    if (real !== path) names.push(real);
  }
  let device: BlockDevice | undefined;
  for (const n of names) device ??= findDevice(devices, n);
  if (!device) {
    for (const n of names) {
      const disk = diskOfPartition(devices, n);
      if (disk) throw new InputError(`"${path}" is a partition of ${disk.name}, not a whole disk`, `Give the whole disk (${disk.path}): the image holds its own partition table.`);
    }
    if (!st) throw new InputError(`"${path}" does not exist`, 'Run `lifeboat flash --list` to see the disks.');
    throw new InputError(`"${path}" is not one of the disks ${lister.name} lists`, 'Run `lifeboat flash --list` to see the disks.');
  }
  assertWritable(device, imageSize, opts);
  return { kind: 'device', path: device.path, device };
}

/** Commands that unmount everything on `device` before it is written (system mounts were refused earlier). */
export function unmountCommands(device: BlockDevice, platform: NodeJS.Platform = process.platform): { command: string; args: string[]; what: string }[] {
  if (platform === 'darwin') {
    return device.mountpoints.length > 0 ? [{ command: 'diskutil', args: ['unmountDisk', device.aliases[0] ?? `/dev/${device.name}`], what: device.mountpoints.join(', ') }] : [];
  }
  if (platform === 'linux') {
    const out: { command: string; args: string[]; what: string }[] = [];
    for (const p of device.partitions) for (const m of p.mountpoints) if (m !== '[SWAP]') out.push({ command: 'umount', args: [m], what: `${m} (${basename(p.path)})` });
    const own = device.mountpoints.filter((m) => !device.partitions.some((p) => p.mountpoints.includes(m)) && m !== '[SWAP]');
    for (const m of own) out.push({ command: 'umount', args: [m], what: `${m} (${device.name})` });
    return out;
  }
  if (platform === 'win32') {
    // Windows refuses raw writes into a mounted volume's sectors unless the volume is locked or dismounted;
    // `fsutil volume dismount` does the latter (it needs the administrator rights flashing needs anyway).
    return device.mountpoints
      .map((m) => /^([A-Z]:)\\?$/i.exec(m)?.[1]?.toUpperCase())
      .filter((l): l is string => !!l)
      .map((l) => ({ command: 'fsutil', args: ['volume', 'dismount', l], what: l }));
  }
  return [];
}

/** Unmounts what `unmountCommands` lists; returns what was unmounted. JobError when a mount is busy. */
export async function unmountDevice(device: BlockDevice, run?: CommandRunner, platform: NodeJS.Platform = process.platform): Promise<string[]> {
  const done: string[] = [];
  for (const c of unmountCommands(device, platform)) {
    run ??= (await import('./devices.js')).defaultRunner;
    try {
      await run(c.command, c.args);
    } catch (e) {
      const detail = String((e as { stderr?: string }).stderr ?? (e as Error).message).trim().split('\n')[0];
      throw new JobError(`cannot unmount ${c.what}: ${detail}`, 'Close every window and program using the stick, then try again. Nothing was written.');
    }
    done.push(c.what);
  }
  return done;
}

/** Opens the target for writing. InputError for permission problems; JobError when the device is busy. */
export async function openTarget(t: ResolvedTarget, imageSize: number, io: IoMode = 'auto'): Promise<FlashTarget> {
  try {
    return t.kind === 'file'
      ? await FileTarget.open(t.path, { kind: 'file', minSize: imageSize, io })
      : await FileTarget.open(t.path, { kind: 'device', size: t.device.size, io });
  } catch (e) {
    const code = (e as { code?: string }).code ?? String(e);
    if (code === 'EACCES' || code === 'EPERM') throw new InputError(`no permission to write ${t.path} (${code})`, process.platform === 'win32' ? 'Run from a PowerShell opened with "Run as administrator" (writing a disk needs it, as with Rufus).' : 'Run as root (sudo) or as a member of the disk group.');
    if (code === 'EBUSY') throw new JobError(`${t.path} is busy (${code}): something still has it mounted or open`, 'Unmount it and close programs using it, then try again. Nothing was written.');
    throw new JobError(`cannot open ${t.path} for writing (${code})`, undefined, { cause: e });
  }
}

/** Opens, writes, verifies and closes; a close error after a good verify is still an error. */
export async function flashTo(image: PreparedImage, t: ResolvedTarget, opts: FlashOptions & { io?: IoMode; target?: FlashTarget } = {}): Promise<FlashResult> {
  const target = opts.target ?? (await openTarget(t, image.size, opts.io));
  let result: FlashResult;
  try {
    result = await writeAndVerify(image.path, target, image.plan, image.size, opts);
  } catch (e) {
    await target.close().catch(() => undefined);
    throw e;
  }
  try {
    await target.close();
  } catch (e) {
    throw new JobError(`closing ${t.path} failed after writing (${(e as { code?: string }).code ?? String(e)}): the stick cannot be trusted`, 'Flash it again, or replace the stick.', { cause: e });
  }
  return result;
}
