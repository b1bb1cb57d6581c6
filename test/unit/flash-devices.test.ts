/** Device listers: command lines and the parsers of lsblk, Get-Disk, wmic and diskutil output (captured samples). */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import {
  diskOfPartition,
  diskutilInfoCommand,
  diskutilListCommand,
  findDevice,
  getDiskCommand,
  linuxLister,
  lsblkCommand,
  macLister,
  parseDiskutil,
  parseGetDisk,
  parseLsblk,
  parseWmic,
  windowsLister,
  type BlockDevice,
} from '../../src/usb/flash/devices.js';
import { parsePlist } from '../../src/usb/flash/plist.js';
import { REPO_ROOT } from '../helpers/tools.js';

const FIX = join(REPO_ROOT, 'test', 'fixtures', 'flash');
const fixture = (name: string) => readFile(join(FIX, name), 'utf8');
const byName = (list: BlockDevice[], name: string): BlockDevice => {
  const d = list.find((x) => x.name === name);
  assert.ok(d, `${name} is listed`);
  return d;
};

describe('Linux lister (lsblk)', () => {
  test('the command line asks for JSON, bytes and the columns the rules need; legacy swaps MOUNTPOINTS', () => {
    assert.deepEqual(lsblkCommand(), { command: 'lsblk', args: ['--json', '-b', '-o', 'NAME,PATH,SIZE,MODEL,TRAN,RM,RO,TYPE,MOUNTPOINTS,PKNAME'] });
    assert.match(lsblkCommand(true).args.join(' '), /,MOUNTPOINT,/);
  });

  test('a laptop: system disk through LVM in dm-crypt, a stick with a mounted partition, empty reader skipped', async () => {
    const list = parseLsblk(await fixture('lsblk-laptop.json'));
    assert.deepEqual(list.map((d) => d.name).sort(), ['loop0', 'nvme0n1', 'sdb', 'sdc', 'sdd', 'sde', 'sdg']);
    const nvme = byName(list, 'nvme0n1');
    assert.equal(nvme.system, true);
    assert.match(nvme.systemReason ?? '', /holds \/boot\/efi and \//);
    assert.deepEqual(nvme.mountpoints.sort(), ['/', '/boot/efi', '[SWAP]']);
    assert.deepEqual(nvme.partitions.map((p) => p.path), ['/dev/nvme0n1p1', '/dev/nvme0n1p2']);
    assert.deepEqual(nvme.partitions[1]?.mountpoints.sort(), ['/', '[SWAP]'], 'volumes inside a partition count for it');
    const sdb = byName(list, 'sdb');
    assert.deepEqual(
      { path: sdb.path, size: sdb.size, model: sdb.model, bus: sdb.bus, removable: sdb.removable, readOnly: sdb.readOnly, system: sdb.system },
      { path: '/dev/sdb', size: 16008609792, model: 'Cruzer Blade', bus: 'usb', removable: true, readOnly: false, system: false },
    );
    assert.deepEqual(sdb.partitions, [{ path: '/dev/sdb1', mountpoints: ['/media/tech/OLD STICK'] }]);
    assert.equal(byName(list, 'sdd').removable, false);
    assert.equal(byName(list, 'sdg').readOnly, true);
    assert.equal(byName(list, 'loop0').bus, 'loop');
  });

  test('old util-linux: MOUNTPOINT, "0"/"1" strings and the flat form linked by PKNAME; CD drives skipped', async () => {
    const list = parseLsblk(await fixture('lsblk-legacy.json'));
    assert.deepEqual(list.map((d) => d.name), ['sda', 'sdb']);
    const sda = byName(list, 'sda');
    assert.equal(sda.system, true);
    assert.equal(sda.size, 256060514304);
    assert.deepEqual(sda.partitions.map((p) => p.mountpoints[0]), ['/boot', '/']);
    const sdb = byName(list, 'sdb');
    assert.equal(sdb.removable, true);
    assert.deepEqual(sdb.mountpoints, ['/media/usb0']);
  });

  test('garbage is an error naming lsblk', () => {
    assert.throws(() => parseLsblk('lsblk: unknown column'), /lsblk printed something that is not JSON/);
    assert.throws(() => parseLsblk('{}'), /no "blockdevices"/);
  });

  test('list() runs the command through the runner and falls back to MOUNTPOINT on old lsblk', async () => {
    const legacy = await fixture('lsblk-legacy.json');
    const calls: string[] = [];
    const list = await linuxLister.list(async (cmd, args) => {
      calls.push(`${cmd} ${args.join(' ')}`);
      if (args.join(' ').includes('MOUNTPOINTS')) throw new Error('lsblk: unknown column: MOUNTPOINTS');
      return legacy;
    });
    assert.equal(calls.length, 2);
    assert.equal(list.length, 2);
  });

  test('findDevice matches path, name and aliases; a partition leads to its disk', async () => {
    const list = parseLsblk(await fixture('lsblk-laptop.json'));
    assert.equal(findDevice(list, '/dev/sdb')?.name, 'sdb');
    assert.equal(findDevice(list, 'sdb')?.name, 'sdb');
    assert.equal(findDevice(list, '/dev/sdb1'), undefined);
    assert.equal(diskOfPartition(list, '/dev/sdb1')?.name, 'sdb');
  });
});

describe('Windows lister (Get-Disk, wmic fallback)', () => {
  test('the PowerShell command is non-interactive and prints JSON of disks with partitions and the system drive', () => {
    const c = getDiskCommand();
    assert.equal(c.command, 'powershell.exe');
    assert.deepEqual(c.args.slice(0, 4), ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass']);
    const script = c.args[5] ?? '';
    for (const part of ['Get-Disk', 'Get-Partition -DiskNumber', 'ConvertTo-Json', 'SystemDrive', 'BusType']) assert.ok(script.includes(part), part);
  });

  test('Get-Disk: the NVMe system disk (C:, boot, system), a USB stick (removable), a SATA data disk (fixed)', async () => {
    const list = parseGetDisk(await fixture('get-disk.json'));
    assert.equal(list.length, 3);
    const sys = byName(list, 'PhysicalDrive0');
    assert.equal(sys.system, true);
    assert.match(sys.systemReason ?? '', /holds C:/);
    assert.equal(sys.path, '\\\\.\\PhysicalDrive0');
    assert.deepEqual(sys.mountpoints, ['C:\\']);
    const stick = byName(list, 'PhysicalDrive1');
    assert.deepEqual({ removable: stick.removable, system: stick.system, bus: stick.bus, size: stick.size, mounts: stick.mountpoints }, { removable: true, system: false, bus: 'usb', size: 30752000000, mounts: ['E:\\'] });
    assert.equal(byName(list, 'PhysicalDrive2').removable, false);
    assert.equal(findDevice(list, '\\\\.\\PHYSICALDRIVE1')?.name, 'PhysicalDrive1');
  });

  test('Get-Disk with one disk prints an object, not an array', async () => {
    const list = parseGetDisk(await fixture('get-disk-single.json'));
    assert.equal(list.length, 1);
    assert.equal(list[0]?.system, true);
    assert.deepEqual(list[0]?.partitions.map((p) => p.path), ['C:']);
  });

  test('wmic fallback: drive letters joined to disks, the system drive marks the system disk', async () => {
    const list = parseWmic(await fixture('wmic-diskdrive.csv'), await fixture('wmic-logical-to-partition.csv'), 'C:');
    assert.deepEqual(list.map((d) => [d.name, d.system, d.removable, d.mountpoints.join()]), [
      ['PhysicalDrive0', true, false, 'C:\\'],
      ['PhysicalDrive1', false, true, 'E:\\'],
      ['PhysicalDrive2', false, false, 'D:\\'],
    ]);
    assert.equal(list[1]?.size, 15513354240);
  });

  test('list() falls back to wmic when PowerShell fails', async () => {
    const disks = await fixture('wmic-diskdrive.csv');
    const links = await fixture('wmic-logical-to-partition.csv');
    const list = await windowsLister.list(async (cmd, args) => {
      if (cmd === 'powershell.exe') throw new Error('powershell.exe: not found');
      return args.includes('diskdrive') ? disks : links;
    });
    assert.equal(list.length, 3);
  });
});

describe('macOS lister (diskutil)', () => {
  const load = async () => ({
    list: await fixture('diskutil-list.plist'),
    info: { disk0: await fixture('diskutil-info-disk0.plist'), disk3: await fixture('diskutil-info-disk3.plist'), disk4: await fixture('diskutil-info-disk4.plist') },
    root: await fixture('diskutil-info-root.plist'),
  });

  test('the command lines', () => {
    assert.deepEqual(diskutilListCommand(), { command: 'diskutil', args: ['list', '-plist'] });
    assert.deepEqual(diskutilInfoCommand('disk4'), { command: 'diskutil', args: ['info', '-plist', 'disk4'] });
  });

  test('the plist reader: dicts, arrays, integers, booleans, entities', async () => {
    const v = parsePlist(await fixture('diskutil-info-root.plist')) as Record<string, unknown>;
    assert.equal(v.VolumeName, 'Macintosh HD & more');
    assert.equal(v.ParentWholeDisk, 'disk3');
    const info = parsePlist(await fixture('diskutil-info-disk4.plist')) as Record<string, unknown>;
    assert.equal(info.TotalSize, 15518924800);
    assert.equal(info.Removable, true);
    assert.equal(info.Internal, false);
    assert.throws(() => parsePlist('<plist><dict><string>x</string></dict></plist>'), /expected <key>/);
  });

  test('the internal disk under the APFS boot container is the system disk; the container itself is not listed', async () => {
    const f = await load();
    const list = parseDiskutil(f.list, f.info, f.root);
    assert.deepEqual(list.map((d) => d.name), ['disk0', 'disk4']);
    const disk0 = byName(list, 'disk0');
    assert.equal(disk0.system, true);
    assert.equal(disk0.removable, false);
    assert.ok(disk0.mountpoints.includes('/System/Volumes/Data'));
    const stick = byName(list, 'disk4');
    assert.deepEqual(
      { path: stick.path, aliases: stick.aliases, removable: stick.removable, system: stick.system, bus: stick.bus, size: stick.size, model: stick.model, mounts: stick.mountpoints },
      { path: '/dev/rdisk4', aliases: ['/dev/disk4'], removable: true, system: false, bus: 'usb', size: 15518924800, model: 'Flash Drive FIT', mounts: ['/Volumes/UNTITLED'] },
    );
    assert.equal(findDevice(list, '/dev/disk4')?.name, 'disk4');
  });

  test('list() asks diskutil info for every whole disk and for /', async () => {
    const f = await load();
    const asked: string[] = [];
    const list = await macLister.list(async (_cmd, args) => {
      asked.push(args.join(' '));
      if (args[0] === 'list') return f.list;
      const target = args[2] ?? '';
      return target === '/' ? f.root : f.info[target as 'disk0'];
    });
    assert.deepEqual(asked, ['list -plist', 'info -plist disk0', 'info -plist disk3', 'info -plist disk4', 'info -plist /']);
    assert.equal(list.length, 2);
  });
});
