/**
 * The refusal rules of `lifeboat flash` and the confirmation. Pure functions over a `BlockDevice`: nothing here
 * touches a disk. A refusal is bad input (exit 2): nothing has been written when one is raised.
 */
import { InputError } from '../../errors.js';
import type { BlockDevice } from './devices.js';

export type RefusalRule = 'system-disk' | 'system-partitions' | 'non-removable' | 'too-small' | 'read-only';

export interface Refusal {
  rule: RefusalRule;
  message: string;
}

/**
 * Mount points of the running system (Linux, macOS). A disk with any of them mounted is refused even when it is
 * not the boot disk: writing it would pull a live file system away from under the machine.
 */
const SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/home', '/opt', '/srv', '/nix', '/etc', '/root', '[SWAP]'];
const SYSTEM_MOUNT_PREFIXES = ['/usr/', '/var/', '/boot/', '/System/Volumes/', '/private/'];

export function isSystemMount(mountpoint: string): boolean {
  if (SYSTEM_MOUNTS.includes(mountpoint)) return true;
  if (/^[A-Z]:\\?$/i.test(mountpoint)) return false; // drive letters: the Windows lister decides (system drive)
  return SYSTEM_MOUNT_PREFIXES.some((p) => mountpoint.startsWith(p));
}

const GIB = 2 ** 30;
function size(bytes: number): string {
  return bytes >= GIB ? `${(bytes / GIB).toFixed(1)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A one-line description of the disk: "sdb: SanDisk Cruzer Blade, 14.9 GiB, usb, removable". */
export function describeDevice(d: BlockDevice): string {
  const bits = [d.model || 'unknown model', size(d.size), d.bus || 'unknown bus', d.removable ? 'removable' : 'fixed'];
  if (d.readOnly) bits.push('read-only');
  if (d.system) bits.push('SYSTEM DISK');
  return `${d.name}: ${bits.join(', ')}`;
}

/** Every rule `device` breaks for an image of `imageSize` bytes (empty: it may be written after confirmation). */
export function checkDevice(device: BlockDevice, imageSize: number, opts: { allowNonRemovable?: boolean } = {}): Refusal[] {
  const out: Refusal[] = [];
  if (device.system) {
    out.push({ rule: 'system-disk', message: `${device.name} is the system disk (it ${device.systemReason ?? 'holds the running system'}); Lifeboat never writes to it` });
  }
  const sysMounts = device.mountpoints.filter(isSystemMount);
  if (!device.system && sysMounts.length > 0) {
    out.push({ rule: 'system-partitions', message: `${device.name} has mounted system partitions (${sysMounts.join(', ')}); Lifeboat never writes to it` });
  }
  if (!device.removable && !opts.allowNonRemovable) {
    out.push({ rule: 'non-removable', message: `${device.name} is not a removable disk (${device.bus || 'unknown bus'}); pass --allow-non-removable if it really is the stick (some USB SSDs and card readers report this)` });
  }
  if (device.size < imageSize) {
    out.push({ rule: 'too-small', message: `${device.name} is too small: ${device.size} bytes (${size(device.size)}), the image needs ${imageSize} bytes (${size(imageSize)})` });
  }
  if (device.readOnly) out.push({ rule: 'read-only', message: `${device.name} is read-only (check the stick's lock switch)` });
  return out;
}

/** Throws InputError (exit 2) naming every broken rule; returns when the device may be written. */
export function assertWritable(device: BlockDevice, imageSize: number, opts: { allowNonRemovable?: boolean } = {}): void {
  const refusals = checkDevice(device, imageSize, opts);
  if (refusals.length === 0) return;
  const first = refusals[0] as Refusal;
  const more = refusals.slice(1).map((r) => r.message);
  throw Object.assign(
    new InputError(`refusing to write ${device.path}: ${first.message}${more.length ? `; also: ${more.join('; ')}` : ''}`, 'Nothing was written. Run `lifeboat flash --list` to see the disks and pick the USB stick.'),
    { refusals },
  );
}

/** What the confirmation shows before anything is erased. */
export function erasePlan(device: BlockDevice): string[] {
  const lines = [`This ERASES everything on ${describeDevice(device)} (${device.path})`];
  for (const p of device.partitions) lines.push(`  ${p.path}${p.mountpoints.length ? `, mounted at ${p.mountpoints.join(', ')}` : ''}`);
  return lines;
}

/**
 * True when `typed` is exactly the device's name or path (only the line ending is dropped; no case folding, no
 * trimming of inner text): the person must look at which disk they are erasing.
 */
export function confirmationMatches(typed: string, device: BlockDevice): boolean {
  const t = typed.replace(/\r?\n$/, '');
  return t === device.name || t === device.path;
}

/** Throws InputError (exit 2) unless `typed` confirms `device`. */
export function assertConfirmed(typed: string | undefined, device: BlockDevice): void {
  if (typed === undefined) {
    throw new InputError(`no confirmation for ${device.path}: nothing was typed`, `Type ${device.name} at the prompt, or pass --yes in scripts. Nothing was written.`);
  }
  if (!confirmationMatches(typed, device)) {
    throw new InputError(
      `confirmation "${typed.replace(/\r?\n$/, '')}" does not match the device name "${device.name}": nothing was written`,
      `Type the name exactly as shown (${device.name}) to erase that disk.`,
    );
  }
}
