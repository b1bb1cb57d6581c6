/**
 * Boot tests in QEMU (always -accel tcg -nic none, see test/helpers/qemu.ts): GRUB media written by our writer
 * boot under SeaBIOS and OVMF; remastered with an added file they still boot and GRUB reads the added file; a
 * grub-mkrescue hybrid (MBR + GPT) remastered by us still boots from a disk written with dd, both ways.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IsoImage } from '../../src/iso/index.js';
import { type GrubBootFiles, PROBE_PATH, cachedGrubBootFiles } from '../helpers/grub-fixture.js';
import { lifeboat } from '../helpers/cli.js';
import { type BootResult, bootDisk, bootIso, hasQemu, plainSerial } from '../helpers/qemu.js';
import { mkTempDir, removeTempDir, runChecked } from '../helpers/tools.js';

const PROBE = 'PROBE-FILE-ADDED-BY-REMASTER';

function check(r: BootResult, files: GrubBootFiles, platform: 'pc' | 'efi', probe = false): void {
  const serial = plainSerial(r.serial);
  const why = `timedOut=${r.timedOut}\n${serial.slice(-800)}\n${r.stderr}`;
  assert.ok(serial.includes(`${files.markerLine} ${platform}`), `no boot marker: ${why}`);
  if (probe) assert.ok(serial.includes(PROBE), `GRUB did not print the added file: ${why}`);
}

describe('booting images written by the ISO engine', async () => {
  const qemu = await hasQemu();
  let dir: string;
  let files: GrubBootFiles;
  let created: string;
  let remastered: string;

  before(async () => {
    dir = await mkTempDir('iso-boot');
    files = await cachedGrubBootFiles('engine');
    created = join(dir, 'created.iso');
    const r = await lifeboat([
      'iso', 'create', '--dir', files.tree, '--out', created, '--bios', files.biosImg, '--boot-info-table', '--grub2-boot-info',
      '--bios-load-size', '4', '--efi', files.efiImg, '--date', '2026-01-01T00:00:00Z',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const probe = join(dir, 'probe.txt');
    await writeFile(probe, `${PROBE}\n`);
    remastered = join(dir, 'remastered.iso');
    const m = await lifeboat(['iso', 'remaster', '--base', created, '--add', `${probe}=${PROBE_PATH}`, '--out', remastered]);
    assert.equal(m.code, 0, m.stderr);
  });
  after(() => removeTempDir(dir));

  test('created: two El Torito entries as xorriso reports them', async () => {
    const r = await runChecked('xorriso', ['-indev', created, '-report_el_torito', 'plain']);
    assert.match(r.stdout, /El Torito boot img :\s+1\s+BIOS\s+y\s+none/);
    assert.match(r.stdout, /El Torito boot img :\s+2\s+UEFI\s+y\s+none/);
    const image = await IsoImage.open(created);
    try {
      assert.deepEqual(image.bootImages.map((b) => [b.platform, b.sizeBasis, b.bootInfoTable, b.grub2BootInfo]), [['BIOS', 'boot-info-table', true, true], ['UEFI', 'fat', false, false]]);
    } finally {
      await image.close();
    }
  });

  test('created image boots under SeaBIOS', { skip: !qemu && 'qemu-system-x86_64 is not installed' }, async () => {
    check(await bootIso(created, { firmware: 'bios', timeoutMs: 60_000 }), files, 'pc');
  });

  test('created image boots under OVMF', { skip: !qemu && 'qemu-system-x86_64 is not installed' }, async () => {
    check(await bootIso(created, { firmware: 'uefi', timeoutMs: 90_000 }), files, 'efi');
  });

  test('remastered image keeps both entries and the BIOS image is re-patched for its new place', async () => {
    const image = await IsoImage.open(remastered);
    try {
      assert.deepEqual(image.bootImages.map((b) => [b.platform, b.bootInfoTable, b.grub2BootInfo]), [['BIOS', true, true], ['UEFI', false, false]]);
      assert.ok(image.find(PROBE_PATH));
    } finally {
      await image.close();
    }
  });

  test('remastered image boots under SeaBIOS and GRUB reads the added file', { skip: !qemu && 'no qemu' }, async () => {
    check(await bootIso(remastered, { firmware: 'bios', timeoutMs: 60_000 }), files, 'pc', true);
  });

  test('remastered image boots under OVMF and GRUB reads the added file', { skip: !qemu && 'no qemu' }, async () => {
    check(await bootIso(remastered, { firmware: 'uefi', timeoutMs: 90_000 }), files, 'efi', true);
  });
});

describe('remastering a hybrid image (grub-mkrescue: MBR + GPT + APM)', async () => {
  const qemu = await hasQemu();
  let dir: string;
  let files: GrubBootFiles;
  let base: string;
  let out: string;

  before(async () => {
    dir = await mkTempDir('iso-hybrid');
    files = await cachedGrubBootFiles('hybrid');
    base = join(dir, 'rescue.iso');
    await runChecked('grub-mkrescue', ['-o', base, files.tree]);
    const probe = join(dir, 'probe.txt');
    await writeFile(probe, `${PROBE}\n`);
    out = join(dir, 'remastered.iso');
    const r = await lifeboat(['iso', 'remaster', '--base', base, '--add', `${probe}=${PROBE_PATH}`, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => removeTempDir(dir));

  test('the partition tables describe the new image and the EFI partition follows its image', async () => {
    const report = (await runChecked('xorriso', ['-indev', out, '-report_system_area', 'plain', '-report_el_torito', 'plain'])).stdout;
    const sectors = Number(/ISO image size\/512 : (\d+)/.exec(report)![1]);
    const image = await IsoImage.open(out);
    try {
      assert.equal(sectors * 512, image.size);
      const mbr = image.systemAreaInfo.mbr!.partitions[0]!;
      assert.equal(mbr.type, 0xee);
      assert.equal(mbr.start + mbr.sectors, image.size / 512, 'protective MBR covers the image');
      const efi = image.bootImages.find((b) => b.platform === 'UEFI')!;
      const esp = image.systemAreaInfo.gpt!.partitions.find((p) => p.typeGuid === 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B')!;
      assert.equal(esp.firstLba, efi.lba * 4, 'EFI system partition starts at the moved EFI image');
      assert.equal(image.systemAreaInfo.hybrid, 'grub2');
      assert.match(report, /GPT lba range\s+:\s+64\s+\d+\s+(\d+)/);
      assert.equal(Number(/GPT lba range\s+:\s+64\s+\d+\s+(\d+)/.exec(report)![1]), image.size / 512 - 1, 'backup GPT at the last sector');
    } finally {
      await image.close();
    }
  });

  for (const firmware of ['bios', 'uefi'] as const) {
    test(`booted from a disk (dd of the image) under ${firmware === 'bios' ? 'SeaBIOS' : 'OVMF'}`, { skip: !qemu && 'no qemu' }, async () => {
      check(await bootDisk(out, { firmware, bus: 'ide', timeoutMs: 90_000 }), files, firmware === 'bios' ? 'pc' : 'efi', true);
    });
  }
});
