/** The refusal rules and the confirmation of `lifeboat flash`. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { InputError } from '../../src/errors.js';
import { parseLsblk, type BlockDevice } from '../../src/usb/flash/devices.js';
import { unmountCommands } from '../../src/usb/flash/flash.js';
import { assertConfirmed, assertWritable, checkDevice, confirmationMatches, erasePlan, isSystemMount } from '../../src/usb/flash/safety.js';
import { REPO_ROOT } from '../helpers/tools.js';

const IMAGE = 1_500_000_000;

async function laptop(): Promise<Map<string, BlockDevice>> {
  const list = parseLsblk(await readFile(join(REPO_ROOT, 'test', 'fixtures', 'flash', 'lsblk-laptop.json'), 'utf8'));
  return new Map(list.map((d) => [d.name, d]));
}

const rules = (d: BlockDevice | undefined, opts = {}) => checkDevice(d!, IMAGE, opts).map((r) => r.rule);

describe('refusal rules', () => {
  test('the USB stick passes every rule', async () => {
    assert.deepEqual(rules((await laptop()).get('sdb')), []);
  });

  test('the system disk is refused, even when non-removability is allowed', async () => {
    const d = await laptop();
    assert.deepEqual(rules(d.get('nvme0n1'), { allowNonRemovable: true }), ['system-disk']);
    assert.throws(() => assertWritable(d.get('nvme0n1')!, IMAGE, { allowNonRemovable: true }), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /nvme0n1 is the system disk \(it holds \/boot\/efi and \/\)/);
      assert.match(e.hint ?? '', /Nothing was written/);
      return true;
    });
  });

  test('a removable disk with a mounted system partition (/home) is refused', async () => {
    assert.deepEqual(rules((await laptop()).get('sde')), ['system-partitions']);
  });

  test('a fixed disk is refused unless --allow-non-removable', async () => {
    const d = await laptop();
    assert.deepEqual(rules(d.get('sdd')), ['non-removable']);
    assert.deepEqual(rules(d.get('sdd'), { allowNonRemovable: true }), []);
  });

  test('a disk smaller than the image is refused with both sizes', async () => {
    const sdc = (await laptop()).get('sdc')!;
    assert.deepEqual(rules(sdc), ['too-small']);
    assert.throws(() => assertWritable(sdc, IMAGE), /sdc is too small: 1048576 bytes \(1\.0 MiB\), the image needs 1500000000 bytes/);
    assert.deepEqual(checkDevice(sdc, 1048576), [], 'exactly the image size fits');
  });

  test('a write-protected card is refused; every broken rule is named', async () => {
    const d = await laptop();
    assert.deepEqual(rules(d.get('sdg')), ['read-only']);
    const loop = d.get('loop0')!;
    assert.deepEqual(rules(loop), ['non-removable', 'too-small', 'read-only']);
    assert.throws(() => assertWritable(loop, IMAGE), /not a removable disk.*also: loop0 is too small.*; loop0 is read-only/);
  });

  test('system mount points', () => {
    for (const m of ['/', '/boot', '/boot/efi', '/home', '/var/lib/docker', '[SWAP]', '/System/Volumes/Data']) assert.ok(isSystemMount(m), m);
    for (const m of ['/media/tech/OLD STICK', '/run/media/x/STICK', '/Volumes/UNTITLED', '/mnt/usb', 'E:\\']) assert.ok(!isSystemMount(m), m);
  });
});

describe('confirmation', () => {
  test('only the exact name or path confirms', async () => {
    const sdb = (await laptop()).get('sdb')!;
    assert.ok(confirmationMatches('sdb', sdb));
    assert.ok(confirmationMatches('/dev/sdb\n', sdb));
    for (const typed of ['SDB', 'sdb ', ' sdb', 'sd', 'sdc', 'yes', 'y', '']) assert.ok(!confirmationMatches(typed, sdb), JSON.stringify(typed));
  });

  test('a mismatch or no answer is exit 2 and says nothing was written', async () => {
    const sdb = (await laptop()).get('sdb')!;
    assert.throws(() => assertConfirmed('sdc', sdb), (e: unknown) => e instanceof InputError && /"sdc" does not match the device name "sdb": nothing was written/.test(e.message));
    assert.throws(() => assertConfirmed(undefined, sdb), /nothing was typed/);
    assert.doesNotThrow(() => assertConfirmed('sdb', sdb));
  });

  test('the erase plan names the disk, model, size and what is mounted', async () => {
    const text = erasePlan((await laptop()).get('sdb')!).join('\n');
    assert.match(text, /ERASES everything on sdb: Cruzer Blade, 14\.9 GiB, usb, removable \(\/dev\/sdb\)/);
    assert.match(text, /\/dev\/sdb1, mounted at \/media\/tech\/OLD STICK/);
  });

  test('unmount commands: umount per mount point on Linux, diskutil unmountDisk on macOS', async () => {
    const sdb = (await laptop()).get('sdb')!;
    assert.deepEqual(unmountCommands(sdb, 'linux'), [{ command: 'umount', args: ['/media/tech/OLD STICK'], what: '/media/tech/OLD STICK (sdb1)' }]);
    const mac: BlockDevice = { ...sdb, name: 'disk4', path: '/dev/rdisk4', aliases: ['/dev/disk4'] };
    assert.deepEqual(unmountCommands(mac, 'darwin').map((c) => [c.command, ...c.args]), [['diskutil', 'unmountDisk', '/dev/disk4']]);
  });
});
