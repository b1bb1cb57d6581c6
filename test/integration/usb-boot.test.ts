/**
 * The USB image boots: written by our FAT32 writer with syslinux's mbr.bin as MBR boot code and the syslinux
 * entries in the tree, then `syslinux --install --offset` on the plain file, it boots
 *   - under SeaBIOS from a USB disk (qemu-xhci + usb-storage): mbr.bin -> syslinux VBR -> ldlinux -> chain.c32
 *     `ntldr=/bootmgr` -> a stand-in bootmgr printing a marker on COM1;
 *   - under OVMF from the same USB disk: \EFI\BOOT\BOOTX64.EFI (GRUB stand-in) prints its marker.
 * After syslinux the file system is still clean (fsck.fat -n) and a rescanned block map covers what syslinux wrote.
 * QEMU always runs with -accel tcg -nic none (test/helpers/qemu.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { findSyslinux, installSyslinux, isSyslinuxMissing, syslinuxTreeEntries, type SyslinuxFiles } from '../../src/usb/bios-boot.js';
import { fileSource, writeUsbImage, type UsbImageResult, type UsbTreeEntry } from '../../src/usb/fat32.js';
import { BLOCK_SIZE, scanBlockMap, type BlockMap } from '../../src/usb/block-map.js';
import { decodeMbr } from '../../src/usb/mbr.js';
import { cachedGrubBootFiles, type GrubBootFiles } from '../helpers/grub-fixture.js';
import { bootDisk, hasOvmf, hasQemu, plainSerial, type BootResult } from '../helpers/qemu.js';
import { standInBootmgr } from '../helpers/standin-bootmgr.js';
import { hasCommand, mkTempDir, removeTempDir, run, runChecked, writePseudoRandomFile } from '../helpers/tools.js';

const MIB = 2 ** 20;
const MARKER = 'usbboot';
const BOOTMGR_MARKER = 'LIFEBOAT-STANDIN-BOOTMGR-OK usb-bios';
const MTOOLS_ENV = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', MTOOLS_SKIP_CHECK: '1' };
const BOOT_TIMEOUT_MS = 180_000;

function explain(r: BootResult): string {
  return `timedOut=${r.timedOut} exit=${r.exitCode} after ${Math.round(r.durationMs)} ms\n--- serial (tail) ---\n${plainSerial(r.serial).slice(-1500)}\n--- qemu stderr ---\n${r.stderr}`;
}

/** Indices of the 4 KiB blocks that differ between two images of the same size. */
async function changedBlocks(a: string, b: string): Promise<number[]> {
  const size = (await stat(a)).size;
  assert.equal((await stat(b)).size, size);
  const [fa, fb] = [await open(a, 'r'), await open(b, 'r')];
  const out: number[] = [];
  try {
    const ba = Buffer.alloc(4 * MIB);
    const bb = Buffer.alloc(4 * MIB);
    for (let pos = 0; pos < size; pos += ba.length) {
      const n = Math.min(ba.length, size - pos);
      await fa.read(ba, 0, n, pos);
      await fb.read(bb, 0, n, pos);
      for (let off = 0; off < n; off += BLOCK_SIZE) {
        if (!ba.subarray(off, off + BLOCK_SIZE).equals(bb.subarray(off, off + BLOCK_SIZE))) out.push((pos + off) / BLOCK_SIZE);
      }
    }
  } finally {
    await fa.close();
    await fb.close();
  }
  return out;
}

/** Extracts the partition with dd and runs `fsck.fat -n` on it; returns the clusters in use. */
async function fsckPartition(image: string, result: UsbImageResult, part: string): Promise<number> {
  await runChecked('dd', [
    `if=${image}`, `of=${part}`, 'bs=1M', `skip=${result.partition.offset}`, `count=${result.partition.size}`,
    'iflag=skip_bytes,count_bytes', 'conv=sparse', 'status=none',
  ]);
  assert.equal((await stat(part)).size, result.partition.size);
  const r = await run('fsck.fat', ['-n', '-v', part]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /differ|invalid|bad|wrong|corrupt|mismatch/i, r.stdout + r.stderr);
  const summary = /(\d+) files, (\d+)\/(\d+) clusters/.exec(r.stdout);
  assert.ok(summary, r.stdout);
  assert.equal(Number(summary[3]), result.geometry.clusterCount);
  return Number(summary[2]);
}

function inMap(map: BlockMap, offset: number): boolean {
  return map.ranges.some((r) => r.start <= offset && offset < r.start + r.length);
}

describe('USB image boots (syslinux for BIOS, BOOTX64.EFI for UEFI)', async () => {
  const qemu = await hasQemu();
  const found = await findSyslinux();
  const tools: string[] = [];
  for (const t of ['fsck.fat', 'dd', 'grub-mkimage']) if (!(await hasCommand(t))) tools.push(t);
  const skip = !qemu
    ? 'qemu-system-x86_64 is not installed'
    : isSyslinuxMissing(found)
      ? `syslinux is missing (${found.missing.join(', ')}): ${found.reason}`
      : tools.length > 0
        ? `missing ${tools.join(', ')}`
        : false;
  const skipUefi = skip || (!(await hasOvmf()) ? 'OVMF firmware (package ovmf) is not installed' : false);

  let work = '';
  let image = '';
  let before_ = '';
  let result: UsbImageResult;
  let syslinux: SyslinuxFiles;
  let grub: GrubBootFiles;
  let bootmgr: Buffer;
  let entries: UsbTreeEntry[];

  before(async () => {
    if (skip || isSyslinuxMissing(found)) return;
    syslinux = found;
    work = await mkTempDir('usb-boot');
    grub = await cachedGrubBootFiles(MARKER);
    bootmgr = standInBootmgr(BOOTMGR_MARKER);
    const bootmgrPath = join(work, 'bootmgr');
    await writeFile(bootmgrPath, bootmgr);
    const wim = join(work, 'boot.wim');
    await writePseudoRandomFile(wim, 5 * MIB + 12_345, 'usb-boot-wim');
    const bcd = join(work, 'BCD');
    await writeFile(bcd, Buffer.alloc(16_384, 0xbc));
    const site = join(work, 'site.json');
    await writeFile(site, '{"site":"usb-boot test"}\n');

    const fromFile = async (path: string, host: string): Promise<UsbTreeEntry> => {
      const { size } = await stat(host);
      return { path, size, source: fileSource(host, size) };
    };
    entries = [
      await fromFile('/bootmgr', bootmgrPath),
      await fromFile('/boot/BCD', bcd),
      await fromFile('/EFI/Microsoft/Boot/BCD', bcd),
      await fromFile('/EFI/BOOT/BOOTX64.EFI', grub.bootx64Efi),
      await fromFile('/boot/grub/grub.cfg', grub.grubCfg),
      await fromFile('/sources/boot.wim', wim),
      await fromFile('/lifeboat/site.json', site),
      ...syslinuxTreeEntries(syslinux),
    ];
    image = join(work, 'usb.img');
    result = await writeUsbImage(entries, image, { seed: 'usb-boot', mbrBootCode: syslinux.mbrBootCode });
    before_ = join(work, 'before-syslinux.img');
    await copyFile(image, before_);
    const installed = await installSyslinux(image, result.partition.offset, syslinux);
    console.log(`# syslinux: ${installed.version}; installed ${installed.installed.join(', ')} in ${Math.round(installed.durationMs)} ms`);
  });
  after(async () => {
    if (work) await removeTempDir(work);
  });

  it('carries mbr.bin as MBR boot code, one active partition, syslinux in /syslinux', { skip }, async () => {
    const fh = await open(image, 'r');
    const mbr = Buffer.alloc(512);
    const vbr = Buffer.alloc(512);
    try {
      await fh.read(mbr, 0, 512, 0);
      await fh.read(vbr, 0, 512, result.partition.offset);
    } finally {
      await fh.close();
    }
    assert.ok(mbr.subarray(0, syslinux.mbrBootCode.length).equals(syslinux.mbrBootCode), 'MBR boot code is not mbr.bin');
    const decoded = decodeMbr(mbr);
    assert.equal(decoded.partitions.length, 1);
    assert.equal(decoded.partitions[0]?.active, true);
    assert.equal(decoded.partitions[0]?.startLba, 2048);
    assert.equal(vbr.toString('latin1', 3, 11), 'SYSLINUX', 'syslinux did not write its boot sector');
    assert.equal(vbr.readUInt32LE(28), 2048, 'hidden sectors kept');
    const dir = await runChecked('mdir', ['-a', '-b', '-i', `${image}@@1M`, '::/syslinux'], { env: MTOOLS_ENV });
    for (const f of ['ldlinux.sys', 'ldlinux.c32', 'chain.c32', 'libcom32.c32', 'libutil.c32', 'syslinux.cfg']) {
      assert.match(dir.stdout, new RegExp(`::/syslinux/${f.replace('.', '\\.')}\\b`, 'i'), dir.stdout);
    }
    const cfg = await runChecked('mtype', ['-i', `${image}@@1M`, '::/syslinux/syslinux.cfg'], { env: MTOOLS_ENV });
    assert.match(cfg.stdout, /^DEFAULT windows$/m);
    assert.match(cfg.stdout, /^\s*COM32 \/syslinux\/chain\.c32$/m);
    assert.match(cfg.stdout, /^\s*APPEND fs ntldr=\/bootmgr$/m);
  });

  it('passes fsck.fat -n after syslinux', { skip }, async () => {
    const used = await fsckPartition(image, result, join(work, 'partition.img'));
    assert.ok(used > result.usedClusters, 'ldlinux.sys and ldlinux.c32 take clusters');
  });

  it('scanBlockMap covers every block syslinux changed, and its hashes match', { skip }, async () => {
    const map = await scanBlockMap(image);
    assert.equal(map.imageSize, result.imageSize);
    const changed = await changedBlocks(before_, image);
    assert.ok(changed.length > 0, 'syslinux changed nothing?');
    const notInOld = changed.filter((b) => !inMap(result.blockMap, b * BLOCK_SIZE));
    assert.ok(notInOld.length > 0, 'expected syslinux to write outside the writer\'s block map (ldlinux.* in free space)');
    for (const b of changed) assert.ok(inMap(map, b * BLOCK_SIZE), `changed block ${b} is not in the rescanned block map`);
    assert.ok(inMap(map, result.partition.offset), 'the boot sector is mapped');
    const fh = await open(image, 'r');
    try {
      for (const r of map.ranges) {
        const buf = Buffer.alloc(r.length);
        await fh.read(buf, 0, r.length, r.start);
        assert.equal(createHash('sha256').update(buf).digest('hex'), r.sha256, `range at ${r.start}`);
      }
    } finally {
      await fh.close();
    }
    assert.ok(map.mappedBytes < result.imageSize / 2, 'the free space stays unmapped');
  });

  it('boots under SeaBIOS as a USB disk through mbr.bin, syslinux and chain.c32 to the stand-in bootmgr', { skip, timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const r = await bootDisk(image, { firmware: 'bios', bus: 'usb', timeoutMs: BOOT_TIMEOUT_MS, marker: BOOTMGR_MARKER });
    console.log(`# SeaBIOS USB boot to the stand-in bootmgr: ${Math.round(r.durationMs)} ms (markerSeen=${r.markerSeen})`);
    assert.ok(r.markerSeen, `no bootmgr marker: ${explain(r)}`);
  });

  it('boots under OVMF as a USB disk to \\EFI\\BOOT\\BOOTX64.EFI', { skip: skipUefi, timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const line = `${grub.markerLine} efi`;
    const r = await bootDisk(image, { firmware: 'uefi', bus: 'usb', timeoutMs: BOOT_TIMEOUT_MS, marker: line });
    console.log(`# OVMF USB boot to BOOTX64.EFI: ${Math.round(r.durationMs)} ms (markerSeen=${r.markerSeen})`);
    assert.ok(plainSerial(r.serial).includes(line), `no EFI marker: ${explain(r)}`);
  });

  it('the stand-in bootmgr on the volume is the one written', { skip }, async () => {
    const out = join(work, 'bootmgr.out');
    await runChecked('mcopy', ['-n', '-i', `${image}@@1M`, '::/bootmgr', out], { env: MTOOLS_ENV });
    assert.ok((await readFile(out)).equals(bootmgr));
  });

  it('with 4 KiB clusters (a 300 MiB partition, like real media) is fsck-clean and boots under SeaBIOS too', { skip, timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const img = join(work, 'usb-4k.img');
    const r4k = await writeUsbImage(entries, img, { seed: 'usb-boot-4k', mbrBootCode: syslinux.mbrBootCode, partitionBytes: 300 * MIB });
    assert.equal(r4k.geometry.bytesPerCluster, 4096);
    await installSyslinux(img, r4k.partition.offset, syslinux);
    await fsckPartition(img, r4k, join(work, 'partition-4k.img'));
    const r = await bootDisk(img, { firmware: 'bios', bus: 'usb', timeoutMs: BOOT_TIMEOUT_MS, marker: BOOTMGR_MARKER });
    console.log(`# SeaBIOS USB boot (4 KiB clusters): ${Math.round(r.durationMs)} ms (markerSeen=${r.markerSeen})`);
    assert.ok(r.markerSeen, `no bootmgr marker: ${explain(r)}`);
  });
});
