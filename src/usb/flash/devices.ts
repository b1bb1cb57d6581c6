/**
 * Device discovery for `lifeboat flash`: one `BlockDevice` shape for every platform, produced by pluggable listers
 * (Linux lsblk, Windows PowerShell Get-Disk with a wmic fallback, macOS diskutil). Each lister is a pure command
 * line plus a pure parser of that command's output, so the parsers are tested on captured samples; only `list()`
 * runs anything, through an injectable `CommandRunner`.
 *
 * Test seam (tests only): LIFEBOAT_FLASH_LSBLK_JSON=FILE makes the Linux lister read FILE (a captured
 * `lsblk --json` output) instead of running lsblk, so refusal rules can be exercised against disks that do not exist.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { JobError } from '../../errors.js';
import { parsePlist, type PlistValue } from './plist.js';

/** A partition (or volume) on a disk, with where it is mounted. */
export interface DevicePartition {
  /** /dev/sdb1, disk4s1, or a Windows drive letter such as E: */
  path: string;
  mountpoints: string[];
}

/** A whole disk, as every lister reports it. */
export interface BlockDevice {
  /** What is opened for writing: /dev/sdb, \\.\PhysicalDrive2, /dev/rdisk4 (raw node on macOS). */
  path: string;
  /** The short name the user types to confirm: sdb, PhysicalDrive2, disk4. */
  name: string;
  /** Other spellings of the same disk (e.g. /dev/disk4 next to /dev/rdisk4). */
  aliases: string[];
  size: number;
  model: string;
  /** usb, sata, nvme, sd, ... ('' when unknown). */
  bus: string;
  removable: boolean;
  readOnly: boolean;
  /** The running system lives on this disk (/ or /boot, the Windows system drive, the macOS boot volume). */
  system: boolean;
  /** Why `system` is set, in words ('holds /', 'holds C:', 'the macOS boot disk'). */
  systemReason?: string;
  partitions: DevicePartition[];
  /** Mount points of the disk itself and of everything on it (partitions, LVM, crypt), deduplicated. */
  mountpoints: string[];
}

export type CommandRunner = (command: string, args: readonly string[]) => Promise<string>;

/** A way to list the disks of one platform. */
export interface DeviceLister {
  readonly name: string;
  list(run?: CommandRunner): Promise<BlockDevice[]>;
}

export const defaultRunner: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, [...args], { maxBuffer: 64 * 2 ** 20, windowsHide: true, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr) }));
      else resolve(String(stdout));
    });
  });

// ---------------------------------------------------------------------------------------------------------------
// Linux: lsblk

export const LSBLK_COLUMNS = 'NAME,PATH,SIZE,MODEL,TRAN,RM,RO,TYPE,MOUNTPOINTS,PKNAME';

/** The lsblk command line; `legacy` uses MOUNTPOINT (util-linux before 2.37 has no MOUNTPOINTS column). */
export function lsblkCommand(legacy = false): { command: string; args: string[] } {
  const columns = legacy ? LSBLK_COLUMNS.replace('MOUNTPOINTS', 'MOUNTPOINT') : LSBLK_COLUMNS;
  return { command: 'lsblk', args: ['--json', '-b', '-o', columns] };
}

/** Mount points that mean "this disk holds the running system". */
const LINUX_SYSTEM_MOUNTS = ['/', '/boot', '/boot/efi', '/efi'];

interface LsblkNode {
  name?: unknown;
  path?: unknown;
  size?: unknown;
  model?: unknown;
  tran?: unknown;
  rm?: unknown;
  ro?: unknown;
  type?: unknown;
  mountpoints?: unknown;
  mountpoint?: unknown;
  pkname?: unknown;
  children?: unknown;
}

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : typeof v === 'number' ? String(v) : '');
/** lsblk prints booleans as true/false (new) or "0"/"1" / 0/1 (old). */
const bool = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 'true';
const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : 0;
};

function lsblkMounts(n: LsblkNode): string[] {
  const list = Array.isArray(n.mountpoints) ? n.mountpoints : [n.mountpoint];
  return list.filter((m): m is string => typeof m === 'string' && m !== '');
}

/** Parses `lsblk --json -b -o ...` output (tree form, or flat form linked by PKNAME) into whole disks. */
export function parseLsblk(json: string): BlockDevice[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new Error(`lsblk printed something that is not JSON: ${(e as Error).message}`);
  }
  const top = (doc as { blockdevices?: unknown } | null)?.blockdevices;
  if (!Array.isArray(top)) throw new Error('lsblk output has no "blockdevices" list');
  const nodes = top as LsblkNode[];
  // Flat output (lsblk --list) links children by PKNAME; nest it so both forms read the same.
  const byName = new Map<string, LsblkNode>();
  for (const n of nodes) byName.set(str(n.name), n);
  const roots: LsblkNode[] = [];
  const isFlat = nodes.some((n) => str(n.pkname) !== '' && byName.has(str(n.pkname))) && !nodes.some((n) => Array.isArray(n.children));
  for (const n of nodes) {
    const parent = isFlat ? byName.get(str(n.pkname)) : undefined;
    if (parent) (parent.children = Array.isArray(parent.children) ? parent.children : []).push(n);
    else roots.push(n);
  }
  const disks: BlockDevice[] = [];
  for (const n of roots) {
    const type = str(n.type);
    if (type !== 'disk' && type !== 'loop') continue;
    const size = num(n.size);
    if (size === 0) continue; // empty card reader slot, unused loop device, zram without a disk size
    const name = str(n.name);
    const path = str(n.path) || `/dev/${name}`;
    const partitions: DevicePartition[] = [];
    const all = new Set(lsblkMounts(n));
    const walk = (kids: unknown, top: boolean) => {
      if (!Array.isArray(kids)) return;
      for (const k of kids as LsblkNode[]) {
        const mounts = lsblkMounts(k);
        for (const m of mounts) all.add(m);
        if (top) partitions.push({ path: str(k.path) || `/dev/${str(k.name)}`, mountpoints: [...mounts] });
        else if (mounts.length > 0) {
          // a volume inside a partition (LVM, dm-crypt): its mounts count for the partition that holds it
          partitions[partitions.length - 1]?.mountpoints.push(...mounts);
        }
        walk(k.children, false);
      }
    };
    walk(n.children, true);
    const mountpoints = [...all];
    const sys = mountpoints.filter((m) => LINUX_SYSTEM_MOUNTS.includes(m));
    disks.push({
      path,
      name,
      aliases: [],
      size,
      model: str(n.model),
      bus: str(n.tran) || (type === 'loop' ? 'loop' : ''),
      removable: bool(n.rm),
      readOnly: bool(n.ro),
      system: sys.length > 0,
      ...(sys.length > 0 ? { systemReason: `holds ${sys.join(' and ')}` } : {}),
      partitions,
      mountpoints,
    });
  }
  return disks;
}

export const linuxLister: DeviceLister = {
  name: 'lsblk',
  async list(run = defaultRunner) {
    const seam = process.env.LIFEBOAT_FLASH_LSBLK_JSON;
    if (seam) return parseLsblk(await readFile(seam, 'utf8'));
    let out: string;
    try {
      const c = lsblkCommand();
      out = await run(c.command, c.args);
    } catch {
      const c = lsblkCommand(true);
      try {
        out = await run(c.command, c.args);
      } catch (e) {
        throw new JobError(`cannot list the disks: lsblk failed (${(e as Error).message.split('\n')[0]})`, 'Install util-linux (lsblk) or run on a system that has it.');
      }
    }
    return parseLsblk(out);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Windows: PowerShell Get-Disk / Get-Partition, fallback wmic

/** The PowerShell script: one JSON array of disks with their partitions' drive letters and the system drive. */
export const GET_DISK_SCRIPT = [
  "$ErrorActionPreference = 'Stop'",
  // Redirected output is otherwise in the OEM code page: model names such as "Intenso Speed Line" with umlauts break.
  '[Console]::OutputEncoding = [System.Text.Encoding]::UTF8',
  '$sys = ($env:SystemDrive).TrimEnd(\':\')',
  '$disks = @(Get-Disk | ForEach-Object { $d = $_; [pscustomobject]@{',
  '  Number = $d.Number; FriendlyName = $d.FriendlyName; Size = $d.Size; BusType = "$($d.BusType)";',
  '  IsBoot = $d.IsBoot; IsSystem = $d.IsSystem; IsReadOnly = $d.IsReadOnly; SystemDrive = $sys;',
  '  Partitions = @(Get-Partition -DiskNumber $d.Number -ErrorAction SilentlyContinue | ForEach-Object {',
  '    [pscustomobject]@{ PartitionNumber = $_.PartitionNumber; DriveLetter = "$($_.DriveLetter)"; IsBoot = $_.IsBoot; IsSystem = $_.IsSystem } }) } })',
  'ConvertTo-Json -InputObject $disks -Depth 4 -Compress',
].join('\n');

export function getDiskCommand(): { command: string; args: string[] } {
  return { command: 'powershell.exe', args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-Command', GET_DISK_SCRIPT] };
}

/** Bus types Windows reports for sticks and card readers. */
const WINDOWS_REMOVABLE_BUS = ['USB', 'SD', 'MMC'];

interface WinPartition {
  PartitionNumber?: unknown;
  DriveLetter?: unknown;
  IsBoot?: unknown;
  IsSystem?: unknown;
}

/** Parses the Get-Disk script's JSON (an array, or a bare object when there is one disk). */
export function parseGetDisk(json: string): BlockDevice[] {
  const doc: unknown = JSON.parse(json.replace(/^\uFEFF/, ''));
  const list = (Array.isArray(doc) ? doc : [doc]) as Record<string, unknown>[];
  return list.map((d) => {
    const number = num(d.Number);
    const parts = (Array.isArray(d.Partitions) ? d.Partitions : d.Partitions ? [d.Partitions] : []) as WinPartition[];
    const sysLetter = str(d.SystemDrive).replace(/:$/, '').toUpperCase() || 'C';
    const partitions: DevicePartition[] = parts.map((p) => {
      const letter = str(p.DriveLetter).replace(/\0/g, '');
      return { path: letter ? `${letter}:` : `partition ${num(p.PartitionNumber)}`, mountpoints: letter ? [`${letter}:\\`] : [] };
    });
    const letters = parts.map((p) => str(p.DriveLetter).toUpperCase()).filter((l) => /^[A-Z]$/.test(l));
    const reasons: string[] = [];
    if (letters.includes(sysLetter)) reasons.push(`holds ${sysLetter}:`);
    if (bool(d.IsBoot) || parts.some((p) => bool(p.IsBoot))) reasons.push('is the boot disk');
    if (bool(d.IsSystem) || parts.some((p) => bool(p.IsSystem))) reasons.push('holds the system partition');
    const name = `PhysicalDrive${number}`;
    const bus = str(d.BusType);
    return {
      path: `\\\\.\\${name}`,
      name,
      aliases: [`PHYSICALDRIVE${number}`, `\\\\.\\PHYSICALDRIVE${number}`],
      size: num(d.Size),
      model: str(d.FriendlyName),
      bus: bus.toLowerCase(),
      removable: WINDOWS_REMOVABLE_BUS.includes(bus.toUpperCase()),
      readOnly: bool(d.IsReadOnly),
      system: reasons.length > 0,
      ...(reasons.length > 0 ? { systemReason: reasons.join(', ') } : {}),
      partitions,
      mountpoints: letters.map((l) => `${l}:\\`),
    };
  });
}

/** The fallback: three wmic queries in CSV form. */
export function wmicCommands(): { disks: string[]; links: string[] } {
  return {
    disks: ['diskdrive', 'get', 'Index,Model,Size,InterfaceType,MediaType', '/format:csv'],
    links: ['path', 'Win32_LogicalDiskToPartition', 'get', 'Antecedent,Dependent', '/format:csv'],
  };
}

/** wmic /format:csv: a blank line, a header (Node,...), rows; values never contain commas for these queries. */
export function parseWmicCsv(text: string): Record<string, string>[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r*\n/).map((l) => l.trim()).filter((l) => l !== '');
  const header = lines.shift()?.split(',') ?? [];
  return lines.map((line) => {
    // Antecedent/Dependent values hold commas inside quotes (...DeviceID="Disk #0, Partition #1")
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    for (const ch of line) {
      if (ch === '"') quoted = !quoted;
      if (ch === ',' && !quoted) {
        cells.push(cell);
        cell = '';
      } else cell += ch;
    }
    cells.push(cell);
    const row: Record<string, string> = {};
    header.forEach((h, i) => (row[h] = cells[i] ?? ''));
    return row;
  });
}

/** Combines the two wmic outputs: disks, and which drive letter sits on which disk. */
export function parseWmic(disksCsv: string, linksCsv: string, systemDrive = 'C:'): BlockDevice[] {
  const letters = new Map<number, string[]>();
  for (const row of parseWmicCsv(linksCsv)) {
    const disk = /Disk #(\d+), Partition #\d+/.exec(row.Antecedent ?? '');
    const letter = /DeviceID=\\?"?([A-Z]:)/i.exec(row.Dependent ?? '');
    if (!disk?.[1] || !letter?.[1]) continue;
    const i = Number(disk[1]);
    letters.set(i, [...(letters.get(i) ?? []), letter[1].toUpperCase()]);
  }
  const sys = systemDrive.toUpperCase();
  return parseWmicCsv(disksCsv)
    .filter((r) => r.Index !== undefined && r.Index !== '')
    .map((r) => {
      const index = Number(r.Index);
      const name = `PhysicalDrive${index}`;
      const own = letters.get(index) ?? [];
      const holdsSystem = own.includes(sys);
      const bus = (r.InterfaceType ?? '').toLowerCase();
      return {
        path: `\\\\.\\${name}`,
        name,
        aliases: [`PHYSICALDRIVE${index}`, `\\\\.\\PHYSICALDRIVE${index}`],
        size: num(r.Size),
        model: r.Model ?? '',
        bus,
        removable: bus === 'usb' || /removable/i.test(r.MediaType ?? ''),
        readOnly: false,
        system: holdsSystem,
        ...(holdsSystem ? { systemReason: `holds ${sys}` } : {}),
        partitions: own.map((l) => ({ path: l, mountpoints: [`${l}\\`] })),
        mountpoints: own.map((l) => `${l}\\`),
      };
    });
}

export const windowsLister: DeviceLister = {
  name: 'Get-Disk',
  async list(run = defaultRunner) {
    try {
      const c = getDiskCommand();
      return parseGetDisk(await run(c.command, c.args));
    } catch (first) {
      try {
        const w = wmicCommands();
        return parseWmic(await run('wmic', w.disks), await run('wmic', w.links), process.env.SystemDrive ?? 'C:');
      } catch (e) {
        throw new JobError(
          `cannot list the disks: PowerShell Get-Disk failed (${(first as Error).message.split('\n')[0]}) and so did wmic (${(e as Error).message.split('\n')[0]})`,
          'Run from an administrator PowerShell, or use Rufus/diskpart to find the disk.',
        );
      }
    }
  },
};

// ---------------------------------------------------------------------------------------------------------------
// macOS: diskutil

export function diskutilListCommand(): { command: string; args: string[] } {
  return { command: 'diskutil', args: ['list', '-plist'] };
}

export function diskutilInfoCommand(target: string): { command: string; args: string[] } {
  return { command: 'diskutil', args: ['info', '-plist', target] };
}

type Dict = { [key: string]: PlistValue };
const asDict = (v: PlistValue | undefined): Dict => (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v) ? (v as Dict) : {});
const asArray = (v: PlistValue | undefined): PlistValue[] => (Array.isArray(v) ? v : []);

/** The whole disk of a slice identifier: disk4s1 -> disk4, disk3s1s1 -> disk3. */
export function wholeDiskOf(identifier: string): string {
  return /^(disk\d+)/.exec(identifier)?.[1] ?? identifier;
}

/**
 * Combines `diskutil list -plist`, `diskutil info -plist` of each whole disk and of `/` (the boot volume). The boot
 * disk is the whole disk under `/`; when that is an APFS container (synthesized), its physical stores count too.
 */
export function parseDiskutil(listXml: string, infoXml: Record<string, string>, rootInfoXml: string): BlockDevice[] {
  const list = asDict(parsePlist(listXml));
  const entries = asArray(list.AllDisksAndPartitions).map(asDict);
  const rootInfo = asDict(parsePlist(rootInfoXml));
  const bootDisks = new Set<string>();
  const rootWhole = str(rootInfo.ParentWholeDisk) || wholeDiskOf(str(rootInfo.DeviceIdentifier));
  if (rootWhole) bootDisks.add(rootWhole);
  for (const e of entries) {
    if (str(e.DeviceIdentifier) !== rootWhole) continue;
    for (const s of asArray(e.APFSPhysicalStores).map(asDict)) bootDisks.add(wholeDiskOf(str(s.DeviceIdentifier)));
  }
  const whole = asArray(list.WholeDisks).map((v) => str(v));
  const devices: BlockDevice[] = [];
  for (const id of whole) {
    const entry = entries.find((e) => str(e.DeviceIdentifier) === id) ?? {};
    const xml = infoXml[id];
    const info = xml ? asDict(parsePlist(xml)) : {};
    // A synthesized APFS container is not a device to write to: it lives on a physical store listed separately.
    if (str(info.VirtualOrPhysical) === 'Virtual' || asArray(entry.APFSPhysicalStores).length > 0) continue;
    const partitions: DevicePartition[] = [];
    const mounts: string[] = [];
    const addPart = (p: Dict) => {
      const mp = str(p.MountPoint);
      partitions.push({ path: `/dev/${str(p.DeviceIdentifier)}`, mountpoints: mp ? [mp] : [] });
      if (mp) mounts.push(mp);
    };
    for (const p of asArray(entry.Partitions).map(asDict)) addPart(p);
    if (str(entry.MountPoint)) mounts.push(str(entry.MountPoint));
    // volumes of APFS containers that live on this disk
    for (const other of entries) {
      const stores = asArray(other.APFSPhysicalStores).map((s) => wholeDiskOf(str(asDict(s).DeviceIdentifier)));
      if (!stores.includes(id)) continue;
      for (const v of asArray(other.APFSVolumes).map(asDict)) if (str(v.MountPoint)) mounts.push(str(v.MountPoint));
    }
    const isBoot = bootDisks.has(id) || mounts.includes('/');
    const removable = bool(info.RemovableMedia) || bool(info.Removable) || (bool(info.Ejectable) && !bool(info.Internal)) || info.Internal === false;
    devices.push({
      path: `/dev/r${id}`,
      name: id,
      aliases: [`/dev/${id}`],
      size: num(info.TotalSize) || num(info.Size) || num(entry.Size),
      model: str(info.MediaName) || str(info.IORegistryEntryName),
      bus: str(info.BusProtocol).toLowerCase(),
      removable,
      readOnly: info.WritableMedia === false,
      system: isBoot,
      ...(isBoot ? { systemReason: 'is the macOS boot disk' } : {}),
      partitions,
      mountpoints: [...new Set(mounts)],
    });
  }
  return devices;
}

export const macLister: DeviceLister = {
  name: 'diskutil',
  async list(run = defaultRunner) {
    try {
      const l = diskutilListCommand();
      const listXml = await run(l.command, l.args);
      const whole = asArray(asDict(parsePlist(listXml)).WholeDisks).map((v) => str(v));
      const info: Record<string, string> = {};
      for (const id of whole) {
        const c = diskutilInfoCommand(id);
        info[id] = await run(c.command, c.args);
      }
      const r = diskutilInfoCommand('/');
      return parseDiskutil(listXml, info, await run(r.command, r.args));
    } catch (e) {
      if (e instanceof JobError) throw e;
      throw new JobError(`cannot list the disks: diskutil failed (${(e as Error).message.split('\n')[0]})`);
    }
  },
};

// ---------------------------------------------------------------------------------------------------------------

/** The lister of this platform, or undefined when there is none. */
export function listerFor(platform: NodeJS.Platform = process.platform): DeviceLister | undefined {
  if (platform === 'linux') return linuxLister;
  if (platform === 'win32') return windowsLister;
  if (platform === 'darwin') return macLister;
  return undefined;
}

/**
 * The disk `path` names (its path, name or an alias; /dev/disk/by-id links resolved by the caller), if listed.
 * Windows device names are case-insensitive (\\.\physicaldrive1 is \\.\PhysicalDrive1); others are not.
 */
export function findDevice(devices: readonly BlockDevice[], path: string): BlockDevice | undefined {
  const exact = devices.find((d) => d.path === path || d.name === path || d.aliases.includes(path));
  if (exact) return exact;
  const folded = path.toUpperCase();
  return devices.find((d) => d.path.startsWith('\\\\.\\') && [d.path, d.name, ...d.aliases].some((n) => n.toUpperCase() === folded));
}

/** The disk holding `path` when it names a partition of a listed disk (/dev/sdb1 -> sdb). */
export function diskOfPartition(devices: readonly BlockDevice[], path: string): BlockDevice | undefined {
  return devices.find((d) => d.partitions.some((p) => p.path === path || basename(p.path) === path));
}
