/**
 * Lifeboat on a Windows PC, the parts that can be decided without Windows: where Edge and Chrome are looked for,
 * the disk list from Windows PowerShell 5.1 (UTF-8, BOM), \\.\PhysicalDriveN names, dismounting the stick's volumes,
 * and what a USB image built on Windows can boot. The exe itself runs under Wine in
 * test/integration/release-wine.test.ts.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { browserCandidates, findBrowser } from '../../src/manual/pdf.js';
import { findSyslinux, isSyslinuxMissing } from '../../src/usb/bios-boot.js';
import { findDevice, parseGetDisk, windowsLister } from '../../src/usb/flash/devices.js';
import { resolveTarget, unmountCommands } from '../../src/usb/flash/flash.js';
import { REPO_ROOT } from '../helpers/tools.js';

const fixture = (name: string) => readFile(join(REPO_ROOT, 'test', 'fixtures', 'flash', name), 'utf8');

describe('browser discovery on Windows', () => {
  test('Edge first, in Program Files (x86) then Program Files, then Chrome, Chromium and Brave, per-user installs last', () => {
    const env = { 'ProgramFiles(x86)': 'C:\\Program Files (x86)', ProgramFiles: 'C:\\Program Files', ProgramW6432: 'C:\\Program Files', LOCALAPPDATA: 'C:\\Users\\it\\AppData\\Local' };
    const list = browserCandidates('win32', env);
    assert.equal(list[0], 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe');
    assert.equal(list[1], 'C:\\Program Files\\Microsoft\\Edge\\Application\\msedge.exe');
    assert.ok(list.includes('C:\\Users\\it\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe'), 'per-user Chrome');
    assert.ok(list.indexOf('C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe') > list.indexOf('C:\\Users\\it\\AppData\\Local\\Microsoft\\Edge\\Application\\msedge.exe'), 'every Edge before any Chrome');
    assert.equal(new Set(list).size, list.length, 'no duplicates');
  });

  test('Program Files on another drive, variable names in any case, trailing backslashes; C:\\ when unset', () => {
    const list = browserCandidates('win32', { 'PROGRAMFILES(X86)': 'E:\\Apps (x86)\\', PROGRAMFILES: 'E:\\Apps' });
    assert.equal(list[0], 'E:\\Apps (x86)\\Microsoft\\Edge\\Application\\msedge.exe');
    assert.ok(list.includes('E:\\Apps\\Google\\Chrome\\Application\\chrome.exe'));
    assert.equal(browserCandidates('win32', {})[0], 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe');
  });

  test('Linux keeps its list; LIFEBOAT_BROWSER=none turns printing off', async () => {
    assert.equal(browserCandidates('linux', {})[0], '/usr/bin/chromium');
    assert.equal(await findBrowser({ LIFEBOAT_BROWSER: 'none' }, 'win32'), undefined);
    assert.equal(await findBrowser({ 'ProgramFiles(x86)': '/nonexistent', ProgramFiles: '/nonexistent' }, 'win32'), undefined);
  });
});

describe('disks on Windows', () => {
  test('Windows PowerShell 5.1 output (BOM, CRLF, umlauts): system disk by the system drive D:, empty reader, stick, VHD', async () => {
    const list = parseGetDisk(await fixture('get-disk-ps51-utf8.json'));
    assert.deepEqual(list.map((d) => [d.name, d.system, d.removable, d.readOnly, d.size]), [
      ['PhysicalDrive0', true, false, false, 1000204886016],
      ['PhysicalDrive1', false, true, false, 0],
      ['PhysicalDrive2', false, true, false, 62008590336],
      ['PhysicalDrive3', false, false, true, 10737418240],
    ]);
    assert.match(list[0]!.systemReason ?? '', /holds D:/);
    assert.equal(list[2]!.model, 'Intenso Speed Line Übergröße');
    assert.deepEqual(list[2]!.mountpoints, ['E:\\', 'F:\\']);
    assert.equal(list[3]!.bus, 'file backed virtual');
  });

  test('\\\\.\\PhysicalDriveN is found whatever its case; /dev names stay case-sensitive', async () => {
    const list = parseGetDisk(await fixture('get-disk-ps51-utf8.json'));
    assert.equal(findDevice(list, '\\\\.\\physicaldrive2')?.name, 'PhysicalDrive2');
    assert.equal(findDevice(list, 'physicaldrive2')?.name, 'PhysicalDrive2');
    assert.equal(findDevice(list, '\\\\.\\PhysicalDrive9'), undefined);
    const linux = [{ ...list[2]!, path: '/dev/sdb', name: 'sdb', aliases: [] }];
    assert.equal(findDevice(linux, '/dev/SDB'), undefined);
  });

  test('the refusal rules apply to \\\\.\\PhysicalDriveN: the system disk, the VHD and a too-small disk are refused', async () => {
    const json = await fixture('get-disk-ps51-utf8.json');
    const run = async () => json;
    const ok = await resolveTarget('\\\\.\\PhysicalDrive2', 1 << 30, { lister: windowsLister, run });
    assert.equal(ok.kind === 'device' && ok.device.path, '\\\\.\\PhysicalDrive2');
    await assert.rejects(resolveTarget('\\\\.\\PhysicalDrive0', 1 << 30, { lister: windowsLister, run }), /system disk \(it holds D:, is the boot disk, holds the system partition\)/);
    await assert.rejects(resolveTarget('\\\\.\\PhysicalDrive3', 1 << 30, { lister: windowsLister, run }), /not a removable disk \(file backed virtual\).*read-only/);
    await assert.rejects(resolveTarget('\\\\.\\PhysicalDrive1', 1 << 30, { lister: windowsLister, run }), /too small: 0 bytes/);
  });

  test("before writing, the stick's volumes are dismounted by drive letter (fsutil)", async () => {
    const stick = parseGetDisk(await fixture('get-disk-ps51-utf8.json'))[2]!;
    assert.deepEqual(unmountCommands(stick, 'win32'), [
      { command: 'fsutil', args: ['volume', 'dismount', 'E:'], what: 'E:' },
      { command: 'fsutil', args: ['volume', 'dismount', 'F:'], what: 'F:' },
    ]);
  });
});

test('a USB image built on Windows is UEFI-only, and the reason says what the stick can and cannot boot', async () => {
  const r = await findSyslinux({ platform: 'win32' });
  assert.ok(isSyslinuxMissing(r));
  for (const part of ['syslinux', 'Linux-only', 'UEFI mode', 'not a machine set to legacy BIOS/CSM boot', 'the ISO boots both ways', 'lifeboat-linux-x64']) {
    assert.ok(r.reason.includes(part), `"${part}" in: ${r.reason}`);
  }
});
