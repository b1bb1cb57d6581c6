/**
 * One field table per on-disk structure, used in both directions (src/disk/fields.ts): for the volume descriptors,
 * the FAT boot sector and the MBR, a structure made by an independent tool (xorriso, mkfs.fat) decodes and
 * re-encodes to the same bytes, and what we encode decodes to the same values.
 */
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAT_BOOT_SECTOR, decodeFatBootSector } from '../../src/disk/fat-boot-sector.js';
import { type FieldTable, decodeFields, encodeFields } from '../../src/disk/fields.js';
import { MBR_TAIL, PARTITION_ENTRY, entryOffset, readPartitionEntries, writePartitionEntry } from '../../src/disk/mbr.js';
import { JOLIET, PRIMARY, decodeVolumeDescriptor, encodeVolumeDescriptor } from '../../src/iso/volume-descriptor.js';
import { decodeMbr, encodeMbr } from '../../src/usb/mbr.js';
import { hasCommand, mkTempDir, removeTempDir, runChecked } from '../helpers/tools.js';

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(length);
    await fh.read(b, 0, length, offset);
    return b;
  } finally {
    await fh.close();
  }
}

/** Decoding then encoding over the original changes no byte; encoding into zeros decodes to the same values. */
function roundTrip(table: FieldTable, original: Buffer, base = 0): void {
  const values = decodeFields(table, original, base);
  assert.ok(encodeFields(table, values, Buffer.from(original), base).equals(original), 'same bytes');
  assert.deepEqual(decodeFields(table, encodeFields(table, values, Buffer.alloc(original.length), base), base), values, 'same values');
}

describe('field tables on structures made by other tools', async () => {
  const tools = (await hasCommand('xorriso')) && (await hasCommand('mkfs.fat'));
  let dir: string;
  let iso: string;
  let fat: string;
  before(async () => {
    if (!tools) return;
    dir = await mkTempDir('field-tables');
    await runChecked('mkdir', ['-p', join(dir, 'tree', 'Some Folder')]);
    await runChecked('cp', ['/etc/hostname', join(dir, 'tree', 'Some Folder', 'a long file name.txt')]);
    iso = join(dir, 'x.iso');
    // -append_partition gives the image an MBR with two partitions
    await runChecked('truncate', ['-s', '1M', join(dir, 'part.img')]);
    await runChecked('xorriso', ['-as', 'mkisofs', '-J', '-V', 'FIELDS', '-publisher', 'Publisher', '-append_partition', '2', '0x0c', join(dir, 'part.img'), '-o', iso, join(dir, 'tree')]);
    fat = join(dir, 'fat.img');
    await runChecked('truncate', ['-s', '40M', fat]);
    await runChecked('mkfs.fat', ['-F', '32', '-n', 'FIELDLABEL', fat]);
  });
  after(() => dir && removeTempDir(dir));

  test('primary and Joliet volume descriptors (xorriso)', { skip: !tools && 'needs xorriso and mkfs.fat' }, async () => {
    const pvd = await readAt(iso, 16 * 2048, 2048);
    const svd = await readAt(iso, 17 * 2048, 2048);
    roundTrip(PRIMARY, pvd);
    roundTrip(JOLIET, svd);
    assert.equal(decodeVolumeDescriptor(pvd).volumeId, 'FIELDS');
    assert.equal(decodeVolumeDescriptor(svd).kind, 'joliet');
    assert.equal(decodeVolumeDescriptor(svd).publisherId, 'Publisher');
  });

  test('MBR partition entries and tail (xorriso)', { skip: !tools && 'needs xorriso and mkfs.fat' }, async () => {
    const mbr = await readAt(iso, 0, 512);
    for (let i = 0; i < 4; i++) roundTrip(PARTITION_ENTRY, mbr, entryOffset(i));
    roundTrip(MBR_TAIL, mbr);
    const entries = readPartitionEntries(mbr);
    assert.deepEqual(entries.map((e) => [e.index, e.type]), [[0, 0x83], [1, 0x0c]], 'the ISO and the appended partition');
    assert.equal(entries[1]!.sectorCount, 2048);
  });

  test('FAT32 boot sector (mkfs.fat)', { skip: !tools && 'needs xorriso and mkfs.fat' }, async () => {
    const boot = await readAt(fat, 0, 512);
    roundTrip(FAT_BOOT_SECTOR, boot);
    const b = decodeFatBootSector(boot);
    assert.equal(b.volumeLabel, 'FIELDLABEL');
    assert.equal(b.fsType, 'FAT32');
    assert.equal(b.signature, 0xaa55);
  });
});

describe('field tables on structures we encode', () => {
  test('volume descriptor: encode, decode, same values', () => {
    const root = { id: '\0', lba: 20, size: 2048, flags: 2, recorded: new Date('2026-01-02T03:04:05Z'), extAttrLength: 0, length: 34 };
    for (const joliet of [false, true]) {
      const input = {
        joliet, systemId: 'SYS', volumeId: joliet ? 'Mixed Ünïcode' : 'VOLUME', volumeSpaceSize: 1234, pathTableSize: 10,
        typeLPathTable: 19, typeMPathTable: 20, root, publisherId: 'PUB', preparerId: 'PREP', applicationId: 'APP', date: root.recorded,
      };
      const sector = encodeVolumeDescriptor(input);
      const back = decodeVolumeDescriptor(sector);
      assert.equal(back.kind, joliet ? 'joliet' : 'primary');
      for (const k of ['systemId', 'volumeId', 'volumeSpaceSize', 'pathTableSize', 'typeLPathTable', 'typeMPathTable', 'publisherId', 'preparerId', 'applicationId'] as const) {
        assert.equal(back[k], input[k], k);
      }
      assert.equal(back.created?.toISOString(), root.recorded.toISOString());
      assert.equal(back.root.lba, 20);
      assert.equal(sector.readUInt32BE(84), 1234, 'both-endian: the big-endian half too');
      roundTrip(joliet ? JOLIET : PRIMARY, sector);
    }
  });

  test('MBR: encodeMbr and decodeMbr go through the same entry table', () => {
    const sector = encodeMbr({ diskSignature: 0x12345678, partition: { active: true, type: 0x0c, startLba: 2048, sectorCount: 100_000 } });
    assert.deepEqual(decodeMbr(sector).partitions, [{ index: 0, active: true, type: 0x0c, startLba: 2048, sectorCount: 100_000 }]);
    assert.equal(decodeMbr(sector).diskSignature, 0x12345678);
    const copy = Buffer.alloc(512);
    for (const e of readPartitionEntries(sector, false)) writePartitionEntry(copy, e.index, e);
    encodeFields(MBR_TAIL, decodeFields(MBR_TAIL, sector), copy);
    assert.ok(copy.equals(sector));
  });
});
