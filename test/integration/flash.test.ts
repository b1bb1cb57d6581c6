/**
 * `lifeboat flash` as a user runs it: to a regular file full of old data (the result equals the image on every
 * planned range, fsck.fat is clean and `lifeboat verify` passes), the refusals (exit 2) against a captured lsblk
 * listing (test seam LIFEBOAT_FLASH_LSBLK_JSON), the typed confirmation through stdin, and, as root with working
 * loop devices, a real block device followed by `lifeboat verify /dev/loopN`.
 */
import assert from 'node:assert/strict';
import { open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import type { BlockMap } from '../../src/usb/block-map.js';
import { lifeboat } from '../helpers/cli.js';
import { REPO_ROOT, hasCommand, mkTempDir, pseudoRandomBytes, removeTempDir, run } from '../helpers/tools.js';

const LSBLK = join(REPO_ROOT, 'test', 'fixtures', 'flash', 'lsblk-laptop.json');
const seam = { env: { ...process.env, LIFEBOAT_FLASH_LSBLK_JSON: LSBLK, NO_COLOR: '1' } };
const exists = (p: string) => stat(p).then(() => true, () => false);

async function oldStick(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < size; off += 8 * 2 ** 20) await fh.write(pseudoRandomBytes(`old-${off}`, Math.min(8 * 2 ** 20, size - off)), 0, undefined, off);
  } finally {
    await fh.close();
  }
}

/** Every planned range of the map is byte-identical in `target` and `image`. */
async function sameOnMappedRanges(image: string, target: string, map: BlockMap): Promise<void> {
  const a = await readFile(image);
  const b = await readFile(target);
  for (const r of map.ranges) assert.ok(a.subarray(r.start, r.start + r.length).equals(b.subarray(r.start, r.start + r.length)), `range at ${r.start} differs`);
}

describe('lifeboat flash', () => {
  let dir: string;
  let image: string;
  let map: BlockMap;
  let skipBuild: string | false = false;

  before(async () => {
    dir = await mkTempDir('flash');
    if (!(await exists(join(REPO_ROOT, 'build', 'assistant.exe')))) {
      skipBuild = 'build/assistant.exe is missing (node scripts/build-assistant.mjs)';
      return;
    }
    const demo = await lifeboat(['demo', '--out', join(dir, 'demo')]);
    assert.equal(demo.code, 0, demo.stderr);
    image = join(dir, 'demo', 'muster-stb-usb.img');
    map = JSON.parse(await readFile(`${image}.blockmap.json`, 'utf8')) as BlockMap;
  });
  after(() => removeTempDir(dir));

  test('to a regular file full of old data: equal on every mapped range, fsck.fat clean, lifeboat verify passes', async (t) => {
    if (skipBuild) return t.skip(skipBuild);
    const target = join(dir, 'stick.bin');
    const { size } = await stat(image);
    await oldStick(target, size + 2 ** 20);
    const r = await lifeboat(['flash', image, target, '--yes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; dataBytes: number; plannedBytes: number; media: { ok: boolean } };
    assert.equal(out.ok, true);
    assert.equal(out.dataBytes, map.mappedBytes);
    assert.equal(out.media.ok, true);
    assert.match(r.stderr, /regular file: device checks do not apply/);
    assert.match(r.stderr, /read back and verified \d+ ranges/);
    assert.match(r.stderr, /is written and verified/);
    await sameOnMappedRanges(image, target, map);
    const verify = await lifeboat(['verify', target]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stderr, /all checks passed/);
    if (await hasCommand('fsck.fat')) {
      // the partition's bytes, through a copy at offset 0 (fsck.fat wants a device or file holding the volume)
      const part = join(dir, 'part.bin');
      const bytes = await readFile(target);
      const start = bytes.readUInt32LE(446 + 8) * 512;
      const sectors = bytes.readUInt32LE(446 + 12);
      await writeFile(part, bytes.subarray(start, start + sectors * 512));
      const fsck = await run('fsck.fat', ['-n', part]);
      assert.equal(fsck.code, 0, `${fsck.stdout}${fsck.stderr}`);
      assert.doesNotMatch(fsck.stdout, /lost|free cluster summary wrong|Reclaimed/i, fsck.stdout);
    }
  });

  test('--list prints the disks (here from the captured lsblk listing), --json as a list', async () => {
    const r = await lifeboat(['flash', '--list'], seam);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\/dev\/sdb {2}sdb: Cruzer Blade, 14\.9 GiB, usb, removable, mounted: \/media\/tech\/OLD STICK/);
    assert.match(r.stderr, /nvme0n1: .*SYSTEM DISK/);
    const j = await lifeboat(['flash', '--list', '--json'], seam);
    assert.deepEqual((JSON.parse(j.stdout) as { name: string }[]).map((d) => d.name).sort(), ['loop0', 'nvme0n1', 'sdb', 'sdc', 'sdd', 'sde', 'sdg']);
  });

  const refusals: [string, string, RegExp][] = [
    ['the system disk', '/dev/nvme0n1', /refusing to write \/dev\/nvme0n1: nvme0n1 is the system disk \(it holds \/boot\/efi and \/\)/],
    ['a disk with a mounted system partition', '/dev/sde', /sde has mounted system partitions \(\/home\)/],
    ['a non-removable disk', '/dev/sdd', /sdd is not a removable disk \(sata\); pass --allow-non-removable/],
    ['a disk smaller than the image', '/dev/sdc', /sdc is too small: 1048576 bytes \(1\.0 MiB\), the image needs \d+ bytes/],
    ['a partition instead of the disk', '/dev/sdb1', /"\/dev\/sdb1" is a partition of sdb, not a whole disk/],
    ['a disk that is not listed', '/dev/sdz', /"\/dev\/sdz" does not exist/],
  ];
  for (const [what, device, message] of refusals) {
    test(`refuses ${what}: exit 2, nothing written`, async (t) => {
      if (skipBuild) return t.skip(skipBuild);
      const r = await lifeboat(['flash', image, device, '--yes'], seam);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /wrote|unmounted/);
    });
  }

  test('--allow-non-removable lifts only that rule (the confirmation still stops a wrong name)', async (t) => {
    if (skipBuild) return t.skip(skipBuild);
    const r = await lifeboat(['flash', image, '/dev/sdd', '--allow-non-removable'], { ...seam, input: 'sdb\n' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ERASES everything on sdd: ST2000DM008-2FR102, 1863\.0 GiB, sata, fixed/);
    assert.match(r.stderr, /confirmation "sdb" does not match the device name "sdd": nothing was written/);
  });

  test('the confirmation: a name that does not match, or no answer, is exit 2 before anything is touched', async (t) => {
    if (skipBuild) return t.skip(skipBuild);
    const wrong = await lifeboat(['flash', image, '/dev/sdb'], { ...seam, input: 'sdc\n' });
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /This ERASES everything on sdb: Cruzer Blade, 14\.9 GiB, usb, removable \(\/dev\/sdb\)/);
    assert.match(wrong.stderr, /\/dev\/sdb1, mounted at \/media\/tech\/OLD STICK/);
    assert.match(wrong.stderr, /Type sdb to erase it/);
    assert.match(wrong.stderr, /confirmation "sdc" does not match the device name "sdb": nothing was written/);
    assert.doesNotMatch(wrong.stderr, /unmounted/);
    const none = await lifeboat(['flash', image, '/dev/sdb'], { ...seam, input: '' });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /nothing was typed/);
  });

  test('usage: no arguments, a missing image', async () => {
    const r = await lifeboat(['flash']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /flash needs IMAGE and DEVICE/);
    const m = await lifeboat(['flash', join(dir, 'nope.img'), join(dir, 'x')]);
    assert.equal(m.code, 2);
    assert.match(m.stderr, /cannot read the image/);
  });

  test('to a loop device (root): typed confirmation, write, read-back, then lifeboat verify /dev/loopN', async (t) => {
    if (skipBuild) return t.skip(skipBuild);
    if (process.getuid?.() !== 0) return t.skip('needs root for losetup');
    if (!(await hasCommand('losetup'))) return t.skip('losetup is not installed');
    const backing = join(dir, 'loop.bin');
    const { size } = await stat(image);
    await oldStick(backing, size + 4 * 2 ** 20);
    const attach = await run('losetup', ['--find', '--show', backing]);
    if (attach.code !== 0) return t.skip(`loop devices do not work here: ${attach.stderr.trim()}`);
    const loop = attach.stdout.trim();
    try {
      const name = loop.replace('/dev/', '');
      const refused = await lifeboat(['flash', image, loop, '--yes']);
      assert.equal(refused.code, 2, 'a loop device is not removable');
      const r = await lifeboat(['flash', image, loop, '--allow-non-removable'], { input: `${name}\n` });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`Type ${name} to erase it`));
      assert.match(r.stderr, /is written and verified/);
      const verify = await lifeboat(['verify', loop]);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stderr, /manifest: \d+ files match MANIFEST\.sha256/);
      await run('losetup', ['-d', loop]);
      await sameOnMappedRanges(image, backing, map);
    } finally {
      await run('losetup', ['-d', loop]);
    }
  });
});
