/**
 * Proves the test infrastructure itself: the GRUB fixture boots under SeaBIOS and OVMF (CD-ROM and USB),
 * and the stand-in WinPE ISO has the oscdimg-like El Torito layout the ISO engine will be tested against.
 * If these fail, every boot/remaster test built on the helpers is meaningless.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  BOOT_OK_PREFIX,
  buildGrubIsoWithXorriso,
  cachedGrubBootFiles,
  type GrubBootFiles,
} from '../helpers/grub-fixture.js';
import { bootDisk, bootIso, hasOvmf, hasQemu, plainSerial, type BootResult } from '../helpers/qemu.js';
import { mkTempDir, removeTempDir, run, runChecked, sha256, sha256File } from '../helpers/tools.js';
import {
  buildStandInWinPeIsoWithXorriso,
  buildStandInWinPeTree,
  extractFromWim,
  HIDDEN_EFI_IMAGE_NAME,
  VEEAM_WINPESHL_INI,
  xorrisoElTorito,
  xorrisoFind,
  type StandInWinPe,
} from '../helpers/winpe-fixture.js';

const MARKER = 'harness';
const PROBE = 'LIFEBOAT-PROBE read-from-the-iso';

function describeBoot(r: BootResult): string {
  return `timedOut=${r.timedOut} exit=${r.exitCode} ${r.durationMs.toFixed(0)} ms\nserial:\n${plainSerial(r.serial).slice(-1500)}\nqemu stderr:\n${r.stderr}`;
}

/** The fixture printed the probe file, then the marker with the right platform, and QEMU powered off by itself. */
function assertBooted(r: BootResult, files: GrubBootFiles, platform: 'pc' | 'efi', probe: boolean): void {
  const serial = plainSerial(r.serial);
  assert.ok(serial.includes(`${files.markerLine} ${platform}`), `marker not seen: ${describeBoot(r)}`);
  if (probe) assert.ok(serial.includes(PROBE), `probe file not printed: ${describeBoot(r)}`);
  assert.equal(r.timedOut, false, describeBoot(r));
  assert.equal(r.exitCode, 0, `GRUB's halt should power QEMU off: ${describeBoot(r)}`);
}

describe('test harness: GRUB fixture under QEMU', () => {
  let files: GrubBootFiles;
  let iso: string;
  let hybrid: string;
  let qemu = false;
  let ovmf = false;

  let dir = '';

  before(async () => {
    qemu = await hasQemu();
    ovmf = await hasOvmf();
    dir = await mkTempDir('harness-grub');
    files = await cachedGrubBootFiles(MARKER);
    const probe = join(dir, 'probe.txt');
    await writeFile(probe, `${PROBE}\n`);
    iso = await buildGrubIsoWithXorriso(join(dir, 'grub.iso'), files, { extra: { '/lifeboat/probe.txt': probe } });
    hybrid = await buildGrubIsoWithXorriso(join(dir, 'grub-hybrid.iso'), files, { hybrid: true });
  });
  after(() => (dir ? removeTempDir(dir) : undefined));

  test('xorriso GRUB ISO carries both El Torito entries', async () => {
    const { entries } = await xorrisoElTorito(iso);
    assert.deepEqual(
      entries.map((e) => [e.platformId, e.emulation, e.path]),
      [
        [0, 'none', '/boot/bios.img'],
        [0xef, 'none', '/boot/efi.img'],
      ],
    );
    assert.deepEqual(entries[0]?.options, ['boot-info-table', 'grub2-boot-info']);
  });

  test('boots to the marker under SeaBIOS from CD-ROM', async (t) => {
    if (!qemu) return t.skip('qemu-system-x86_64 is not installed');
    const r = await bootIso(iso, { firmware: 'bios', timeoutMs: 20_000, marker: `${BOOT_OK_PREFIX} ${MARKER}`, graceAfterMarkerMs: 5_000 });
    t.diagnostic(`SeaBIOS cdrom boot: ${r.durationMs.toFixed(0)} ms`);
    assertBooted(r, files, 'pc', true);
  });

  test('boots to the marker under OVMF from CD-ROM', async (t) => {
    if (!qemu) return t.skip('qemu-system-x86_64 is not installed');
    if (!ovmf) return t.skip('OVMF firmware (package ovmf) is not installed');
    const r = await bootIso(iso, { firmware: 'uefi', timeoutMs: 30_000, marker: `${BOOT_OK_PREFIX} ${MARKER}`, graceAfterMarkerMs: 5_000 });
    t.diagnostic(`OVMF cdrom boot: ${r.durationMs.toFixed(0)} ms`);
    assertBooted(r, files, 'efi', true);
  });

  test('hybrid ISO boots as a USB disk under SeaBIOS and OVMF (bootDisk)', async (t) => {
    if (!qemu) return t.skip('qemu-system-x86_64 is not installed');
    const before = await sha256File(hybrid);
    const r = await bootDisk(hybrid, { firmware: 'bios', bus: 'usb', timeoutMs: 20_000, marker: files.markerLine, graceAfterMarkerMs: 5_000 });
    t.diagnostic(`SeaBIOS usb boot: ${r.durationMs.toFixed(0)} ms`);
    assertBooted(r, files, 'pc', false);
    if (ovmf) {
      const u = await bootDisk(hybrid, { firmware: 'uefi', bus: 'usb', timeoutMs: 30_000, marker: files.markerLine, graceAfterMarkerMs: 5_000 });
      t.diagnostic(`OVMF usb boot: ${u.durationMs.toFixed(0)} ms`);
      assertBooted(u, files, 'efi', false);
    }
    assert.equal(await sha256File(hybrid), before, 'booting must not modify the image');
  });

  test('a timeout kills QEMU and returns what serial printed so far', async (t) => {
    if (!qemu) return t.skip('qemu-system-x86_64 is not installed');
    // Nothing bootable: SeaBIOS keeps retrying; 1.5 s is far below any boot we expect.
    const r = await bootIso(files.efiImg, { firmware: 'bios', timeoutMs: 1_500 });
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.ok(r.durationMs < 10_000);
  });
});

describe('test harness: stand-in WinPE media', () => {
  let pe: StandInWinPe;
  let iso: string;
  let dir = '';

  before(async () => {
    dir = await mkTempDir('harness-pe');
    pe = await buildStandInWinPeTree(join(dir, 'tree'), { winpeshlEncoding: 'utf16le-bom' });
    iso = await buildStandInWinPeIsoWithXorriso(join(dir, 'pe.iso'), pe.root, pe.efisysNoPrompt);
  });
  after(() => (dir ? removeTempDir(dir) : undefined));

  test('tree has the Windows PE layout', async () => {
    assert.equal((await readFile(pe.etfsboot)).length, 4096);
    for (const f of [pe.bootmgr, pe.bcd, pe.bootSdi, pe.efiBootx64, pe.efiBcd, pe.efisys, pe.efisysNoPrompt, pe.bootWim]) {
      assert.ok((await readFile(f)).length > 0, f);
    }
    const mdir = await runChecked('mdir', ['-b', '-i', pe.efisys, '::/EFI/BOOT'], { env: { ...process.env, MTOOLS_SKIP_CHECK: '1' } });
    assert.match(mdir.stdout, /BOOTX64\.EFI/);
  });

  test('ISO has two El Torito entries (BIOS etfsboot, hidden UEFI efisys) like oscdimg', async () => {
    const { entries, raw } = await xorrisoElTorito(iso);
    assert.equal(entries.length, 2, raw);
    const [bios, efi] = entries;
    assert.deepEqual([bios?.platformId, bios?.emulation, bios?.loadSize, bios?.loadSegment, bios?.path], [0, 'none', 8, 0x7c0, '/boot/etfsboot.com']);
    assert.deepEqual(bios?.options, [], 'no boot-info-table');
    assert.deepEqual([efi?.platformId, efi?.emulation, efi?.path], [0xef, 'none', undefined], raw);
    assert.match(raw, /Found hidden El-Torito image for EFI/);

    const paths = await xorrisoFind(iso);
    assert.ok(paths.includes('/boot/etfsboot.com'));
    assert.ok(paths.includes('/sources/boot.wim'));
    assert.ok(!paths.some((p) => p.toUpperCase().includes(HIDDEN_EFI_IMAGE_NAME)), 'EFI image must not be a file');
    assert.ok(!paths.some((p) => /boot\.cat/i.test(p)), 'catalog must not be a file');
    const joliet = await runChecked('isoinfo', ['-J', '-f', '-i', iso]);
    assert.ok(!joliet.stdout.toUpperCase().includes(HIDDEN_EFI_IMAGE_NAME), 'not in Joliet either');
  });

  test('boot images in the ISO are byte-identical to their sources (7z [BOOT] view)', async () => {
    const out = join(dir, 'boot-images');
    await runChecked('7z', ['x', '-y', `-o${out}`, iso, '[BOOT]']);
    assert.equal(await sha256File(join(out, '[BOOT]', '1-Boot-NoEmul.img')), await sha256File(pe.etfsboot), 'etfsboot.com must be unpatched');
    assert.equal(await sha256File(join(out, '[BOOT]', '2-Boot-NoEmul.img')), await sha256File(pe.efisysNoPrompt));
  });

  test('boot.wim is a real WIM holding winpeshl.ini and the Veeam stand-in', async () => {
    const ini = await extractFromWim(pe.bootWim, 'Windows/System32/winpeshl.ini');
    assert.deepEqual([...ini.subarray(0, 2)], [0xff, 0xfe]);
    assert.equal(ini.subarray(2).toString('utf16le'), VEEAM_WINPESHL_INI);
    const exe = await extractFromWim(pe.bootWim, 'VeeamRecovery/Veeam.Endpoint.Recovery.exe');
    assert.equal(sha256(exe), sha256(pe.veeamExeBytes));
    const info = await runChecked('wimlib-imagex', ['info', pe.bootWim]);
    assert.match(info.stdout, /Boot Index:\s+1/);
  });

  test('xorriso "-boot_image any replay" loses the hidden EFI entry (why the engine exists)', async () => {
    const out = join(dir, 'replayed.iso');
    const r = await run('xorriso', ['-indev', iso, '-outdev', out, '-boot_image', 'any', 'replay', '-map', pe.bootmgr, '/x', '-commit']);
    assert.equal(r.code, 32, r.stderr);
    assert.match(r.stderr, /Cannot enable EL Torito boot image #2 because it is not a data file in the ISO filesystem/);
    const { entries } = await xorrisoElTorito(out);
    assert.deepEqual(entries.map((e) => e.platformId), [0]);
  });
});
