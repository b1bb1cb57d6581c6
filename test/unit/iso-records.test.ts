/** Encode/decode round trips of the ISO engine's on-disk records, and the pure helpers around them. */
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { describe, test } from 'node:test';
import { decodeRecordDate, decodeVolumeDate, encodeRecordDate, encodeVolumeDate } from '../../src/iso/bytes.js';
import {
  type BootCatalog, PLATFORM_BIOS, PLATFORM_EFI, catalogEntries, decodeBootCatalog, encodeBootCatalog, newEntry,
} from '../../src/iso/boot-catalog.js';
import {
  bootImageSize, fatImageBytes, bootInfoChecksum, hasBootInfoTable, hasGrub2BootInfo, patchBootImage,
} from '../../src/iso/boot-images.js';
import { RecordFlags, decodeDirectoryRecord, encodeDirectoryRecord } from '../../src/iso/directory-record.js';
import { JOLIET_MAX, mapIsoNames, mapJolietNames } from '../../src/iso/names.js';
import { decodePathTable, encodePathTable } from '../../src/iso/path-table.js';
import { gptBackupBytes, inspectSystemArea, patchSystemArea } from '../../src/iso/system-area.js';
import { decodeVolumeDescriptor, encodeVolumeDescriptor } from '../../src/iso/volume-descriptor.js';

const when = new Date('2026-03-04T05:06:07Z');

describe('directory records', () => {
  test('ISO and Joliet records round-trip, with the padding byte rule', () => {
    for (const [id, joliet] of [['README.TXT;1', false], ['ÄÖÜ long name ✓.txt', true], ['AB', false]] as const) {
      const b = encodeDirectoryRecord({ id, lba: 1234, size: 0xfffff800, flags: RecordFlags.MultiExtent, recorded: when }, joliet);
      assert.equal(b.length % 2, 0, 'records have even length');
      assert.equal(b.readUInt32LE(2), b.readUInt32BE(6), 'both-endian LBA');
      const r = decodeDirectoryRecord(b, 0, joliet);
      assert.deepEqual([r.id, r.lba, r.size, r.flags, r.recorded.toISOString()], [id, 1234, 0xfffff800, 0x80, when.toISOString()]);
    }
  });

  test('a name longer than its record is refused', () => {
    const b = encodeDirectoryRecord({ id: 'A;1', lba: 1, size: 1, flags: 0, recorded: when });
    b[32] = 200;
    assert.throws(() => decodeDirectoryRecord(b, 0, false), /name length 200/);
  });
});

describe('volume descriptors and dates', () => {
  test('primary and Joliet descriptors round-trip', () => {
    for (const joliet of [false, true]) {
      const root = { id: '\0', lba: 20, size: 2048, flags: RecordFlags.Directory, recorded: when, extAttrLength: 0, length: 34 };
      const s = encodeVolumeDescriptor({
        joliet, systemId: 'SYS', volumeId: 'LIFEBOAT_TEST', volumeSpaceSize: 999, pathTableSize: 10, typeLPathTable: 18,
        typeMPathTable: 19, root, publisherId: 'P', preparerId: 'Q', applicationId: 'LIFEBOAT', date: when,
      });
      const d = decodeVolumeDescriptor(s);
      assert.equal(d.kind, joliet ? 'joliet' : 'primary');
      assert.equal(d.jolietLevel, joliet ? 3 : undefined);
      assert.deepEqual([d.volumeId, d.volumeSpaceSize, d.pathTableSize, d.typeLPathTable, d.typeMPathTable, d.root.lba], ['LIFEBOAT_TEST', 999, 10, 18, 19, 20]);
      assert.equal(d.created?.toISOString(), when.toISOString());
    }
  });

  test('dates: record and volume forms, and the unspecified volume date', () => {
    assert.equal(decodeRecordDate(encodeRecordDate(when), 0).toISOString(), when.toISOString());
    assert.equal(decodeVolumeDate(encodeVolumeDate(when), 0)?.toISOString(), when.toISOString());
    assert.equal(decodeVolumeDate(encodeVolumeDate(undefined), 0), undefined);
  });
});

describe('path tables', () => {
  test('L and M tables carry the same entries in their byte orders', () => {
    const entries = [{ id: '\0', lba: 30, parent: 1 }, { id: 'BOOT', lba: 31, parent: 1 }, { id: 'GRUB', lba: 32, parent: 2 }];
    const l = decodePathTable(encodePathTable(entries, false, false), false);
    const m = decodePathTable(encodePathTable(entries, false, true), true);
    assert.deepEqual(l, m);
    assert.deepEqual(l.map((e) => [e.lba, e.parent]), [[30, 1], [31, 1], [32, 2]]);
  });
});

describe('names', () => {
  test('ISO names are uppercase d-characters with a version and unique after mapping', () => {
    const m = mapIsoNames([
      { name: 'readme.txt', isDir: false }, { name: 'README.TXT ', isDir: false }, { name: 'Ä b-c.tar.gz', isDir: false },
      { name: 'my.dir', isDir: true }, { name: 'x'.repeat(60) + '.dat', isDir: false }, { name: 'x'.repeat(61) + '.dat', isDir: false },
    ]);
    const ids = [...m.values()];
    assert.equal(new Set(ids).size, ids.length, `unique: ${ids}`);
    for (const id of ids) assert.match(id, /^[A-Z0-9_~]+(\.[A-Z0-9_]*;1)?$/);
    assert.equal(m.get('readme.txt'), 'README.TXT;1');
    assert.equal(m.get('Ä b-c.tar.gz'), '__B_C_TAR.GZ;1');
    assert.equal(m.get('my.dir'), 'MY_DIR');
    for (const id of ids) assert.ok(id.replace(/;1$/, '').length <= 31);
  });

  test('Joliet names keep Unicode, stop at 103 code units without splitting a surrogate pair, stay unique', () => {
    const emoji = '😀'.repeat(60); // 120 code units
    const long = `${'n'.repeat(120)}.txt`;
    const m = mapJolietNames([
      { name: emoji, isDir: false }, { name: long, isDir: false }, { name: `${'n'.repeat(121)}.txt`, isDir: false }, { name: 'a:b?c', isDir: false },
    ]);
    for (const v of m.values()) {
      assert.ok(v.length <= JOLIET_MAX);
      assert.ok(!/[\uD800-\uDBFF]$/.test(v), 'no dangling high surrogate');
    }
    assert.equal(m.get(emoji), '😀'.repeat(51));
    assert.notEqual(m.get(long), m.get(`${'n'.repeat(121)}.txt`));
    assert.ok(m.get(`${'n'.repeat(121)}.txt`)!.endsWith('~1.txt'));
    assert.equal(m.get('a:b?c'), 'a_b_c');
  });
});

describe('El Torito boot catalog', () => {
  const catalog: BootCatalog = {
    platformId: PLATFORM_BIOS,
    id: Buffer.alloc(24),
    defaultEntry: { ...newEntry(8), loadSegment: 0x7c0, loadRba: 40 },
    sections: [
      { platformId: PLATFORM_EFI, id: Buffer.alloc(28), entries: [{ ...newEntry(1), loadRba: 41 }] },
      { platformId: 0x02, id: Buffer.alloc(28, 0x41), entries: [{ ...newEntry(4), mediaType: 0x02, loadRba: 42, extensions: [Buffer.from([0x44, 0, ...Array(30).fill(7)])] }] },
    ],
  };

  test('round trip keeps platforms, emulation, load segment/count, sections and extensions', () => {
    const bytes = encodeBootCatalog(catalog);
    assert.equal(bytes.length, 2048);
    let sum = 0;
    for (let i = 0; i < 32; i += 2) sum = (sum + bytes.readUInt16LE(i)) & 0xffff;
    assert.equal(sum, 0, 'validation entry checksum');
    const back = decodeBootCatalog(bytes);
    const entries = catalogEntries(back);
    assert.deepEqual(entries.map((e) => [e.platformId, e.entry.loadRba, e.entry.sectorCount, e.entry.mediaType]), [[0, 40, 8, 0], [0xef, 41, 1, 0], [2, 42, 4, 2]]);
    assert.equal(back.defaultEntry.loadSegment, 0x7c0);
    assert.equal(back.sections[1]!.entries[0]!.extensions.length, 1);
    assert.deepEqual(encodeBootCatalog(back), bytes);
  });

  test('a broken checksum or key bytes is an error, not a guess', () => {
    const bytes = encodeBootCatalog(catalog);
    bytes[5] ^= 1;
    assert.throws(() => decodeBootCatalog(bytes), /checksum/);
    bytes[5] ^= 1;
    bytes[31] = 0;
    assert.throws(() => decodeBootCatalog(bytes), /validation entry/);
  });
});

describe('boot images', () => {
  function fatBootSector(totalSectors: number): Buffer {
    const s = Buffer.alloc(512);
    s.writeUInt16LE(512, 11);
    s[13] = 4;
    s.writeUInt16LE(1, 14);
    s[16] = 2;
    if (totalSectors < 65536) s.writeUInt16LE(totalSectors, 19);
    else s.writeUInt32LE(totalSectors, 32);
    s.writeUInt16LE(0xaa55, 510);
    return s;
  }

  test('an EFI image with sector count 0 or 1 is sized from its FAT boot sector', () => {
    assert.equal(fatImageBytes(fatBootSector(2880)), 1_474_560);
    assert.equal(fatImageBytes(fatBootSector(100_000)), 51_200_000);
    assert.equal(fatImageBytes(Buffer.alloc(512)), undefined);
    for (const sectorCount of [0, 1, 7]) {
      const r = bootImageSize({ platformId: PLATFORM_EFI, entry: { ...newEntry(sectorCount) }, firstSector: fatBootSector(2880) });
      assert.deepEqual(r, { size: 1_474_560, basis: 'fat' });
    }
  });

  test('BIOS no-emulation image without a file: the load count; floppy emulation: the medium size', () => {
    assert.deepEqual(bootImageSize({ platformId: PLATFORM_BIOS, entry: newEntry(8), firstSector: Buffer.alloc(512) }), { size: 4096, basis: 'load-count' });
    assert.deepEqual(bootImageSize({ platformId: PLATFORM_BIOS, entry: { ...newEntry(1), mediaType: 2 }, firstSector: Buffer.alloc(512) }), { size: 1_474_560, basis: 'floppy' });
    assert.deepEqual(bootImageSize({ platformId: PLATFORM_BIOS, entry: newEntry(4), fileSize: 30_000, firstSector: Buffer.alloc(512) }), { size: 30_000, basis: 'file' });
  });

  test('boot-info-table and GRUB2 boot info are recognised only where present and re-patched for a new LBA', () => {
    const image = Buffer.alloc(8192, 3);
    assert.equal(hasBootInfoTable(image, 100), false);
    assert.equal(hasGrub2BootInfo(image, 100), false);
    patchBootImage(image, 100, { bootInfoTable: true, grub2BootInfo: true });
    let sum = 0;
    for (let i = 64; i < image.length; i += 4) sum = (sum + image.readUInt32LE(i)) >>> 0;
    assert.equal(image.readUInt32LE(20), sum, 'checksum of the image from byte 64, GRUB2 field included (xorriso sums it so)');
    assert.equal(hasBootInfoTable(image, 100), true);
    assert.equal(hasGrub2BootInfo(image, 100), true);
    assert.equal(image.readUInt32LE(16), 8192);
    assert.equal(hasBootInfoTable(image, 101), false);
  });

  test('the boot-info-table checksum counts a last partial word, zero-padded', () => {
    const image = Buffer.alloc(70);
    image.writeUInt32LE(5, 64);
    image[68] = 1;
    image[69] = 2;
    assert.equal(bootInfoChecksum(image), 5 + 0x0201);
  });
});

describe('system area', () => {
  function hybridArea(imageSectors512: number): Buffer {
    const a = Buffer.alloc(32768);
    a.fill(0x90, 0, 440); // boot code
    a.writeBigUInt64LE(BigInt(50) * 4n + 4n, 0x1b0); // GRUB2 hybrid: first boot image at LBA 50
    const p = 446;
    a[p + 4] = 0xee;
    a.writeUInt32LE(1, p + 8);
    a.writeUInt32LE(imageSectors512 - 1, p + 12);
    a.writeUInt16LE(0xaa55, 510);
    // GPT: 128 entries at LBA 2; entry 1 = the EFI image at 2048-LBA 60 (512-LBA 240), 5760 sectors.
    const h = a.subarray(512, 1024);
    h.write('EFI PART', 0, 'latin1');
    h.writeUInt32LE(0x10000, 8);
    h.writeUInt32LE(92, 12);
    h.writeBigUInt64LE(1n, 24);
    h.writeBigUInt64LE(BigInt(imageSectors512 - 1), 32);
    h.writeBigUInt64LE(64n, 40);
    h.writeBigUInt64LE(BigInt(imageSectors512 - 34), 48);
    h.writeBigUInt64LE(2n, 72);
    h.writeUInt32LE(128, 80);
    h.writeUInt32LE(128, 84);
    const e = a.subarray(1024, 1024 + 128 * 128);
    e.fill(0x11, 0, 16);
    e.writeBigUInt64LE(240n, 32);
    e.writeBigUInt64LE(240n + 5759n, 40);
    e.fill(0x22, 128, 144); // entry 2: ISO data to the end
    e.writeBigUInt64LE(64n, 128 + 32);
    e.writeBigUInt64LE(BigInt(imageSectors512 - 34), 128 + 40);
    h.writeUInt32LE(crc32(e), 88);
    h.writeUInt32LE(0, 16);
    h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
    return a;
  }

  test('detects MBR, GPT and a GRUB2 hybrid', () => {
    const info = inspectSystemArea(hybridArea(40000), [50]);
    assert.equal(info.hybrid, 'grub2');
    assert.equal(info.mbr?.partitions[0]?.type, 0xee);
    assert.equal(info.gpt?.partitions.length, 2);
    assert.equal(inspectSystemArea(Buffer.alloc(32768)).empty, true);
  });

  test('patching follows the new size and the moved boot image, with valid CRCs and a backup GPT', () => {
    const area = hybridArea(40000);
    const newBytes = 50000 * 512;
    const { area: out, gptBackup } = patchSystemArea(area, { oldImageBytes: 40000 * 512, newImageBytes: newBytes, moves: [{ oldLba: 50, newLba: 70 }, { oldLba: 60, newLba: 9000 }] });
    assert.equal(out.readBigUInt64LE(0x1b0), 70n * 4n + 4n, 'GRUB2 MBR points at the moved image');
    assert.equal(out.readUInt32LE(446 + 12), 49999, 'protective partition covers the new size');
    const h = out.subarray(512, 1024);
    assert.equal(h.readBigUInt64LE(32), 49999n, 'backup header LBA');
    const entries = out.subarray(1024, 1024 + 128 * 128);
    assert.equal(h.readUInt32LE(88), crc32(entries), 'entries CRC');
    const copy = Buffer.from(h.subarray(0, 92));
    copy.writeUInt32LE(0, 16);
    assert.equal(h.readUInt32LE(16), crc32(copy), 'header CRC');
    assert.equal(entries.readBigUInt64LE(32), 36000n, 'EFI partition moved with its image');
    assert.equal(entries.readBigUInt64LE(128 + 40), 35999n, 'data partition grown to the end but stops before the moved EFI image');
    assert.ok(gptBackup);
    assert.equal(gptBackup!.length, gptBackupBytes(area));
    const bh = gptBackup!.subarray(gptBackup!.length - 512);
    assert.equal(bh.toString('latin1', 0, 8), 'EFI PART');
    assert.equal(bh.readBigUInt64LE(24), 49999n);
    assert.equal(bh.readBigUInt64LE(72), BigInt(49999 - 32));
  });
});
