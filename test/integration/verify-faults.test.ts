/**
 * `verify` catches damage in every place the media need to boot and restore: one flipped byte in each boot file
 * (bootmgr, bootx64.efi, both BCDs, boot.sdi, efisys.bin, boot.wim, the assistant), in each El Torito image, the
 * boot catalog, the volume descriptors, the system area, the USB image's MBR code, partition table and FAT boot
 * sector, the media manifest itself, and FAT damage (cross-linked clusters, a size that disagrees with its chain, a
 * lost chain, a broken chain, FAT copies that differ). Each fault is put in place, verified, and undone.
 */
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IsoImage } from '../../src/iso/index.js';
import { makeStandInBase } from '../../src/media/stand-in-base.js';
import { type VerifyReport, verifyMedia, verifyWrittenStick } from '../../src/media/verify.js';
import { FatImage } from '../../src/usb/fat32-reader.js';
import { lifeboat } from '../helpers/cli.js';
import { REPO_ROOT, mkTempDir, removeTempDir, sha256File } from '../helpers/tools.js';

const SITE = join(REPO_ROOT, 'examples', 'site.yaml');
const ENV = { ...process.env, LIFEBOAT_SHARE_PASSWORD: 'Share-Pa55word-for-the-NAS!', LIFEBOAT_UNLOCK: 'correct-horse-battery-staple-Quokka-93', NO_COLOR: '1' };

interface Patch {
  offset: number;
  bytes: Buffer;
}

/** Writes `patches` into `file`, runs `fn`, and puts the original bytes back. */
async function withFault<T>(file: string, patches: Patch[], fn: () => Promise<T>): Promise<T> {
  const fh = await open(file, 'r+');
  const saved: Patch[] = [];
  try {
    for (const p of patches) {
      const old = Buffer.alloc(p.bytes.length);
      await fh.read(old, 0, old.length, p.offset);
      if (old.equals(p.bytes)) continue;
      saved.push({ offset: p.offset, bytes: old });
      await fh.write(p.bytes, 0, p.bytes.length, p.offset);
    }
    assert.ok(saved.length > 0, 'the fault changes something');
    await fh.sync();
    return await fn();
  } finally {
    for (const p of saved.reverse()) await fh.write(p.bytes, 0, p.bytes.length, p.offset);
    await fh.close();
  }
}

async function flipAt(file: string, offset: number): Promise<Patch> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    return { offset, bytes: Buffer.from([b[0]! ^ 0x01]) };
  } finally {
    await fh.close();
  }
}

const failed = (r: VerifyReport) => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('\n');

describe('verify catches a fault in every boot-critical place of the ISO and the USB image', () => {
  let dir: string;
  let iso: string;
  let usb: string;
  let isoHash: string;
  let usbHash: string;
  let faults = 0;

  before(async () => {
    dir = await mkTempDir('verify-faults');
    const base = join(dir, 'veeam.iso');
    await makeStandInBase(base, join(dir, 'base-work'));
    const r = await lifeboat(['build', '--site', SITE, '--base', base, '--out', join(dir, 'out')], { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    iso = join(dir, 'out', 'muster-stb.iso');
    usb = join(dir, 'out', 'muster-stb-usb.img');
    isoHash = await sha256File(iso);
    usbHash = await sha256File(usb);
    for (const file of [iso, usb]) assert.ok((await verifyMedia(file)).ok, `${file} verifies before any fault`);
  });
  after(async () => {
    process.stderr.write(`# faults injected and caught: ${faults}\n`);
    await removeTempDir(dir);
  });

  async function caught(file: string, patches: Patch[], what: RegExp, check?: string): Promise<void> {
    await withFault(file, patches, async () => {
      const r = file === usb ? await verifyWrittenStick(file) : await verifyMedia(file);
      assert.equal(r.ok, false, 'verify fails');
      assert.match(failed(r), what);
      if (check) assert.ok(r.checks.some((c) => c.name === check && !c.ok), `the ${check} check fails:\n${failed(r)}`);
    });
    faults++;
  }

  const BOOT_FILES = ['/bootmgr', '/efi/boot/bootx64.efi', '/boot/BCD', '/efi/microsoft/boot/BCD', '/boot/boot.sdi', '/efi/microsoft/boot/efisys.bin', '/boot/etfsboot.com', '/sources/boot.wim', '/lifeboat/assistant.exe'];

  test('ISO: a flipped byte in each boot file', async () => {
    const image = await IsoImage.open(iso);
    const places = BOOT_FILES.map((p) => ({ p, e: image.find(p)!.extents[0]! }));
    await image.close();
    for (const { p, e } of places) {
      await caught(iso, [await flipAt(iso, e.offset + Math.floor(e.length / 2))], new RegExp(`${p.slice(1).replace(/\./g, '\\.')} differs`, 'i'), 'media manifest');
    }
  });

  test('ISO: each El Torito image, the boot catalog, the volume descriptors, the system area', async () => {
    const image = await IsoImage.open(iso);
    const { bootImages, catalogLba } = image;
    await image.close();
    assert.equal(bootImages.length, 2);
    for (const b of bootImages) await caught(iso, [await flipAt(iso, b.lba * 2048 + 7)], /@el-torito|differs/);
    // the catalog's validation entry, then its default entry's sector count
    await caught(iso, [await flipAt(iso, catalogLba! * 2048 + 4)], /catalog|readable|El Torito/);
    await caught(iso, [await flipAt(iso, catalogLba! * 2048 + 32 + 6)], /@boot-catalog|@el-torito/);
    await caught(iso, [await flipAt(iso, 16 * 2048 + 40)], /@volume-descriptors/);
    await caught(iso, [await flipAt(iso, 0)], /@system-area/);
    await caught(iso, [await flipAt(iso, 446 + 4)], /@system-area/);
  });

  test('ISO: the media manifest itself, and a file that is not in it', async () => {
    const image = await IsoImage.open(iso);
    const e = image.find('/lifeboat/MEDIA.sha256')!.extents[0]!;
    const site = image.find('/lifeboat/site.json')!.extents[0]!;
    await image.close();
    await caught(iso, [await flipAt(iso, e.offset + 200)], /MEDIA\.sha256 cannot be trusted/);
    await caught(iso, [await flipAt(iso, e.offset + e.length - 1)], /MEDIA\.sha256 cannot be trusted: it has data after/);
    await caught(iso, [await flipAt(iso, site.offset + 10)], /lifeboat\/site\.json differs/);
  });

  test('USB: a flipped byte in each boot file, syslinux and the manifest', async () => {
    const fat = await FatImage.open(usb);
    const files = [...BOOT_FILES, '/syslinux/ldlinux.sys', '/syslinux/ldlinux.c32', '/syslinux/syslinux.cfg', '/lifeboat/vault.json'];
    const places: { p: string; at: number }[] = [];
    for (const p of files) {
      const ext = await fat.extents(fat.find(p)!);
      const last = ext[ext.length - 1]!;
      places.push({ p, at: last.offset + last.length - 1 });
    }
    const manifest = (await fat.extents(fat.find('/lifeboat/MEDIA.sha256')!))[0]!;
    await fat.close();
    for (const { p, at } of places) await caught(usb, [await flipAt(usb, at)], new RegExp(`${p.slice(1).replace(/\./g, '\\.')} differs`, 'i'), 'media manifest');
    await caught(usb, [await flipAt(usb, manifest.offset + 100)], /cannot be trusted/);
  });

  test('USB: MBR boot code, partition table and the FAT32 boot sector', async () => {
    const fat = await FatImage.open(usb);
    const part = fat.partitionOffset;
    await fat.close();
    await caught(usb, [await flipAt(usb, 100)], /@mbr/);
    await caught(usb, [await flipAt(usb, 446)], /@mbr/); // the boot indicator: BIOS would not boot it
    await caught(usb, [await flipAt(usb, 446 + 8)], /readable|@mbr/); // the partition's start
    await caught(usb, [await flipAt(usb, part + 0x100)], /@boot-sector/); // syslinux's boot code
    await caught(usb, [await flipAt(usb, part + 13)], /readable|@boot-sector|file system/); // sectors per cluster
  });

  test('USB: FAT damage: cross-linked clusters, size vs chain, lost chain, broken chain, FAT copies that differ', async () => {
    const fh = await open(usb, 'r');
    const fat = await FatImage.open(usb);
    try {
      const part = fat.partitionOffset;
      const bs = Buffer.alloc(512);
      await fh.read(bs, 0, 512, part);
      const bps = bs.readUInt16LE(11);
      const reserved = bs.readUInt16LE(14);
      const fatCount = bs[16]!;
      const fatSize = bs.readUInt32LE(36) * bps;
      const fat1 = part + reserved * bps;
      const dataStart = fat1 + fatCount * fatSize;
      const clusterOf = (offset: number) => (offset - dataStart) / fat.clusterBytes + 2;
      const entry = (cluster: number, value: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt32LE(value);
        return Array.from({ length: fatCount }, (_, k) => ({ offset: fat1 + k * fatSize + cluster * 4, bytes: b }));
      };
      // The directory entry of syslinux.cfg (8.3 name SYSLINUXCFG) in the /syslinux directory.
      const dirExt = fat.find('/syslinux')!.firstCluster;
      const dirData = Buffer.alloc(fat.clusterBytes * 8);
      await fh.read(dirData, 0, dirData.length, dataStart + (dirExt - 2) * fat.clusterBytes);
      const at = dirData.indexOf('SYSLINUXCFG');
      assert.ok(at >= 0, 'found the directory entry (its clusters follow each other)');
      const dirEntry = dataStart + (dirExt - 2) * fat.clusterBytes + at;
      const vault = clusterOf((await fat.extents(fat.find('/lifeboat/vault.json')!))[0]!.offset);
      const u32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
      const u16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };

      await caught(usb, [{ offset: dirEntry + 26, bytes: u16(vault & 0xffff) }, { offset: dirEntry + 20, bytes: u16(vault >>> 16) }], /cross-linked/, 'file system');
      await caught(usb, [{ offset: dirEntry + 28, bytes: u32(5000) }], /larger than its cluster chain/, 'file system');
      // a free cluster near the end of the FAT marked as the end of a chain, in both copies
      const fatBytes = Buffer.alloc(fatSize);
      await fh.read(fatBytes, 0, fatSize, fat1);
      let free = Math.floor(fatSize / 4) - 1;
      while (free > 2 && fatBytes.readUInt32LE(free * 4) !== 0) free--;
      const maxCluster = Math.floor((bs.readUInt32LE(32) - reserved - fatCount * bs.readUInt32LE(36)) / bs[13]!) + 1;
      free = Math.min(free, maxCluster);
      while (fatBytes.readUInt32LE(free * 4) !== 0) free--;
      await caught(usb, entry(free, 0x0fffffff), /lost chains/, 'file system');
      const bootmgr = clusterOf((await fat.extents(fat.find('/bootmgr')!))[0]!.offset);
      await caught(usb, entry(bootmgr, 0x0fffffff), /bootmgr is larger than its cluster chain/, 'file system');
      await caught(usb, [entry(bootmgr, 0x0ffffff7)[fatCount - 1]!], /FAT copy 2 differs/, 'file system');
    } finally {
      await fat.close();
      await fh.close();
    }
  });

  test('every fault was undone: both images verify and hash as built', async () => {
    assert.equal(await sha256File(iso), isoHash);
    assert.equal(await sha256File(usb), usbHash);
    for (const file of [iso, usb]) assert.ok((await verifyMedia(file)).ok);
  });

  test('the CLI: a damaged image is exit 1 with one JSON document naming the damage', async () => {
    const image = await IsoImage.open(iso);
    const e = image.find('/bootmgr')!.extents[0]!;
    await image.close();
    await withFault(iso, [await flipAt(iso, e.offset + 5)], async () => {
      const r = await lifeboat(['verify', iso, '--json']);
      assert.equal(r.code, 1, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.ok, false);
      assert.match(JSON.stringify(doc.checks), /bootmgr differs/);
    });
    faults++;
    assert.match(await readFile(join(dir, 'out', 'SHA256SUMS'), 'utf8'), /muster-stb\.iso/);
  });
});
