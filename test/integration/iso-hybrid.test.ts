/**
 * Hybrid layouts a remaster must keep, on ISOs made here by xorriso with GRUB (the shapes distributions ship):
 *
 * - a BIOS image with a boot-info-table and GRUB2 boot info: the checksum is computed after both patches, so
 *   xorriso still recognises the table in our output;
 * - `-append_partition 2 0xef efi.img` with a GPT (`-appended_part_as_gpt`) and the UEFI El Torito entry pointing
 *   into that appended partition: the partition stays appended after the new file system, byte for byte, with its
 *   entry and the El Torito entry following it; the "Gap0" partition that covered the ISO grows with it;
 * - the same with an MBR only: partition 1 covered the ISO (0 to its end) and grows, partition 2 stays appended.
 *
 * Booted in QEMU (-accel tcg -nic none) from the remastered images: as a CD under OVMF (the El Torito image inside
 * the appended partition), as a USB disk under OVMF (the appended ESP) and as a USB disk under SeaBIOS (GRUB's
 * hybrid MBR). Each boot stops at GRUB's marker line.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type GrubBootFiles, PROBE_PATH, cachedGrubBootFiles } from '../helpers/grub-fixture.js';
import { lifeboat } from '../helpers/cli.js';
import { type BootResult, bootDisk, bootIso, hasQemu, plainSerial } from '../helpers/qemu.js';
import { mkTempDir, removeTempDir, runChecked } from '../helpers/tools.js';

const PROBE = 'PROBE-ADDED-TO-A-HYBRID';
const ESP_GUID = /28732ac11ff8d211ba4b00a0c93ec93b/;

interface Report {
  isoSectors: number;
  mbr: { n: number; type: string; start: number; blocks: number }[];
  gpt: { n: number; name: string; start: number; size: number; type: string }[];
  eltorito: { n: number; platform: string; lba: number }[];
  opts: string;
}

async function report(iso: string): Promise<Report> {
  const text = (await runChecked('xorriso', ['-indev', iso, '-report_system_area', 'plain', '-report_el_torito', 'plain'])).stdout;
  const all = (re: RegExp) => [...text.matchAll(re)];
  const gptNames = new Map(all(/GPT partname local :\s+(\d+)\s+(\S+)/g).map((m) => [Number(m[1]), m[2]!]));
  const gptTypes = new Map(all(/GPT type GUID\s+:\s+(\d+)\s+(\S+)/g).map((m) => [Number(m[1]), m[2]!]));
  return {
    isoSectors: Number(/ISO image size\/512 : (\d+)/.exec(text)![1]),
    mbr: all(/MBR partition\s+:\s+(\d+)\s+0x\w+\s+(0x\w+)\s+(\d+)\s+(\d+)/g).map((m) => ({ n: Number(m[1]), type: m[2]!, start: Number(m[3]), blocks: Number(m[4]) })),
    gpt: all(/GPT start and size :\s+(\d+)\s+(\d+)\s+(\d+)/g).map((m) => ({
      n: Number(m[1]), name: gptNames.get(Number(m[1])) ?? '', start: Number(m[2]), size: Number(m[3]), type: gptTypes.get(Number(m[1])) ?? '',
    })),
    eltorito: all(/El Torito boot img :\s+(\d+)\s+(\w+)\s+y\s+\w+\s+0x\w+\s+0x\w+\s+\d+\s+(\d+)/g).map((m) => ({ n: Number(m[1]), platform: m[2]!, lba: Number(m[3]) })),
    opts: /El Torito img opts :\s+1\s+(.*)/.exec(text)?.[1] ?? '',
  };
}

async function sectors(file: string, start: number, count: number): Promise<Buffer> {
  return (await readFile(file)).subarray(start * 512, (start + count) * 512);
}

function booted(r: BootResult, files: GrubBootFiles, platform: 'pc' | 'efi'): void {
  const serial = plainSerial(r.serial);
  const why = `timedOut=${r.timedOut}\n${serial.slice(-800)}\n${r.stderr}`;
  assert.ok(serial.includes(`${files.markerLine} ${platform}`), `no boot marker: ${why}`);
  assert.ok(serial.includes(PROBE), `GRUB did not print the added file: ${why}`);
}

describe('remastering xorriso hybrids with appended partitions', async () => {
  const qemu = await hasQemu();
  let dir: string;
  let files: GrubBootFiles;
  const made: Record<'gpt' | 'mbr', { base: string; out: string }> = { gpt: { base: '', out: '' }, mbr: { base: '', out: '' } };

  before(async () => {
    dir = await mkTempDir('iso-hybrid');
    files = await cachedGrubBootFiles('appended');
    const probe = join(dir, 'probe.txt');
    await writeFile(probe, `${PROBE}\n`);
    const common = ['-as', 'mkisofs', '-iso-level', '3', '-J', '-joliet-long', '-V', 'HYBRID', '--grub2-mbr', '/usr/lib/grub/i386-pc/boot_hybrid.img',
      '-append_partition', '2', '0xef', files.efiImg];
    const bios = ['-b', 'boot/bios.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', '--grub2-boot-info', '-eltorito-alt-boot'];
    for (const kind of ['gpt', 'mbr'] as const) {
      const base = join(dir, `${kind}.iso`);
      const efi = kind === 'gpt'
        ? ['-appended_part_as_gpt', ...bios, '-e', '--interval:appended_partition_2:all::', '-no-emul-boot']
        : [...bios, '-e', 'boot/efi.img', '-no-emul-boot'];
      await runChecked('xorriso', [...common, ...efi, '-o', base, files.tree]);
      const out = join(dir, `${kind}-out.iso`);
      const r = await lifeboat(['iso', 'remaster', '--base', base, '--add', `${probe}=${PROBE_PATH}`, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      made[kind] = { base, out };
    }
  });
  after(() => removeTempDir(dir));

  test('xorriso still recognises the boot-info-table and GRUB2 boot info (checksum after both patches)', async () => {
    for (const { base, out } of Object.values(made)) {
      assert.equal((await report(base)).opts.trim(), 'boot-info-table grub2-boot-info');
      assert.equal((await report(out)).opts.trim(), 'boot-info-table grub2-boot-info', out);
    }
  });

  test('GPT: the appended ESP follows the new file system whole, the UEFI entry inside it, Gap0 grows', async () => {
    const before_ = await report(made.gpt.base);
    const after_ = await report(made.gpt.out);
    assert.ok(after_.isoSectors > before_.isoSectors, 'the file system grew');
    const espBefore = before_.gpt.find((p) => ESP_GUID.test(p.type))!;
    const esp = after_.gpt.find((p) => ESP_GUID.test(p.type))!;
    assert.equal(espBefore.start, before_.isoSectors, 'the base has its ESP appended');
    assert.equal(esp.start, after_.isoSectors, 'the ESP starts where the new file system ends');
    assert.equal(esp.size, espBefore.size);
    assert.ok((await sectors(made.gpt.out, esp.start, esp.size)).equals(await sectors(made.gpt.base, espBefore.start, espBefore.size)), 'same bytes');
    const uefi = after_.eltorito.find((e) => e.platform === 'UEFI')!;
    assert.equal(uefi.lba * 4, esp.start, 'the UEFI El Torito image is still the appended partition');
    const gap0 = after_.gpt.find((p) => p.name === 'Gap0')!;
    assert.equal(gap0.start + gap0.size, after_.isoSectors, 'the partition that covered the ISO covers the new one');
    for (const p of after_.gpt) assert.ok(p === gap0 || p.start >= gap0.start + gap0.size || p.start + p.size <= gap0.start, `no overlap with ${p.name}`);
  });

  test('MBR: partition 1 covered the ISO and grows with it, the appended partition 2 moves after it', async () => {
    const before_ = await report(made.mbr.base);
    const after_ = await report(made.mbr.out);
    assert.deepEqual(before_.mbr.map((p) => [p.type, p.start, p.blocks]), [['0x83', 0, before_.isoSectors], ['0xef', before_.isoSectors, 8192]]);
    assert.deepEqual(after_.mbr.map((p) => [p.type, p.start, p.blocks]), [['0x83', 0, after_.isoSectors], ['0xef', after_.isoSectors, 8192]]);
    assert.ok((await sectors(made.mbr.out, after_.isoSectors, 8192)).equals(await sectors(made.mbr.base, before_.isoSectors, 8192)));
  });

  test('GPT image boots as a CD under OVMF from the appended El Torito image', { skip: !qemu && 'no qemu' }, async () => {
    booted(await bootIso(made.gpt.out, { firmware: 'uefi', timeoutMs: 120_000, marker: bootMarker(files) }), files, 'efi');
  });

  test('GPT image boots as a USB disk under OVMF from the appended ESP', { skip: !qemu && 'no qemu' }, async () => {
    booted(await bootDisk(made.gpt.out, { firmware: 'uefi', timeoutMs: 120_000, marker: bootMarker(files) }), files, 'efi');
  });

  test('MBR image boots as a USB disk under SeaBIOS through the hybrid MBR', { skip: !qemu && 'no qemu' }, async () => {
    booted(await bootDisk(made.mbr.out, { firmware: 'bios', timeoutMs: 120_000, marker: bootMarker(files) }), files, 'pc');
  });
});

/** The boot is over once GRUB printed its marker line (it halts right after). */
function bootMarker(files: GrubBootFiles): RegExp {
  return new RegExp(`${files.markerLine} (pc|efi)`);
}
