/**
 * `lifeboat flash` and its block map files, through the CLI: a self-consistent map that leaves out a block the
 * image's FAT uses is refused (exit 2) with the target untouched; the standard .bmap beside the image is read; the
 * .bmap we write is accepted by bmaptool (an independent reader), and a .bmap made by `bmaptool create` is read by
 * flash. No assistant.exe needed: the image is a small FAT32 USB image made by the project's writer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { writeUsbImage, type UsbTreeEntry } from '../../src/usb/fat32.js';
import { fatUsage } from '../../src/usb/flash/fat-usage.js';
import { withUsedBlocks, writeBlockMapFiles } from '../../src/usb/flash/image-maps.js';
import { serializeBlockMap, type BlockMap } from '../../src/usb/block-map.js';
import { SequentialWriter } from '../../src/util/sequential-writer.js';
import { lifeboat } from '../helpers/cli.js';
import { hasCommand, mkTempDir, pseudoRandomBytes, removeTempDir, run } from '../helpers/tools.js';

const MIB = 2 ** 20;
const sha = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');

async function oldStick(path: string, size: number): Promise<void> {
  await writeFile(path, pseudoRandomBytes(`old-${path}`, size));
}

function sameOnRanges(a: Buffer, b: Buffer, map: BlockMap): void {
  for (const r of map.ranges) assert.ok(a.subarray(r.start, r.start + r.length).equals(b.subarray(r.start, r.start + r.length)), `range at ${r.start} differs`);
}

describe('lifeboat flash with block map files', () => {
  let dir: string;
  let image: string;
  let map: BlockMap;

  before(async () => {
    dir = await mkTempDir('flash-maps-cli');
    image = join(dir, 'small-usb.img');
    const file = (path: string, bytes: Buffer): UsbTreeEntry => ({ path, size: bytes.length, source: async function* () { yield bytes; } });
    const { blockMap } = await writeUsbImage(
      [file('/EFI/BOOT/BOOTX64.EFI', Buffer.from('stand-in loader')), file('/data/a.bin', pseudoRandomBytes('maps-a', 3 * MIB + 5)), file('/data/b.txt', Buffer.from('b'))],
      image,
      { seed: 'flash-maps-cli', marginBytes: 4 * MIB },
    );
    map = await withUsedBlocks(image, blockMap);
  });
  after(() => removeTempDir(dir));

  test('a self-consistent map that leaves out a used block: exit 2, the map and the place named, nothing written', async () => {
    const usage = (await fatUsage(image))!;
    const victim = map.ranges.find((r) => r.start >= usage.dataStart)!;
    const bad: BlockMap = { ...map, ranges: map.ranges.filter((r) => r !== victim), mappedBytes: map.mappedBytes - victim.length };
    const mapPath = join(dir, 'bad.blockmap.json');
    await writeFile(mapPath, serializeBlockMap(bad));
    const target = join(dir, 'stick-refused.bin');
    await oldStick(target, (await readFile(image)).length);
    const before = await sha(target);
    const r = await lifeboat(['flash', image, target, '--yes', '--blockmap', mapPath], { env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`error: the block map "${mapPath}" leaves out`), r.stderr);
    assert.match(r.stderr, /in 1 place that the image's file system uses/);
    assert.match(r.stderr, new RegExp(`first at byte ${victim.start}, cluster \\d+`));
    assert.match(r.stderr, /delete the block map file to let flash scan the image/);
    assert.equal(await sha(target), before, 'the target is untouched');
  });

  test('only the standard .bmap beside the image: read, written, read back', async () => {
    const img2 = join(dir, 'bmap-only-usb.img');
    await writeFile(img2, await readFile(image));
    await writeBlockMapFiles(map, { bmap: `${img2}.bmap` });
    const target = join(dir, 'stick-bmap.bin');
    await oldStick(target, (await readFile(image)).length + MIB);
    const r = await lifeboat(['flash', img2, target, '--yes', '--json'], { env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /map: .*bmap-only-usb\.img\.bmap/);
    const out = JSON.parse(r.stdout) as { ok: boolean; dataBytes: number; zeroFillBytes: number };
    assert.equal(out.ok, true);
    assert.equal(out.dataBytes, map.mappedBytes);
    assert.equal(out.zeroFillBytes, 0);
    sameOnRanges(await readFile(img2), await readFile(target), map);
  });

  test('bmaptool copies with our .bmap (checking its hashes); flash reads a .bmap made by bmaptool create', async (t) => {
    if (!(await hasCommand('bmaptool'))) return t.skip('bmaptool is not installed (apt-get install bmap-tools)');
    const bmap = join(dir, 'ours.bmap');
    await writeBlockMapFiles(map, { bmap });
    const target = join(dir, 'stick-bmaptool.bin');
    await oldStick(target, (await readFile(image)).length);
    const copy = await run('bmaptool', ['copy', '--bmap', bmap, image, target], { timeoutMs: 120_000 });
    assert.equal(copy.code, 0, copy.stderr);
    sameOnRanges(await readFile(image), await readFile(target), map);
    // a corrupted image: bmaptool itself finds the range whose SHA-256 in our .bmap no longer matches
    const broken = join(dir, 'broken-usb.img');
    const bytes = await readFile(image);
    const victim = map.ranges.at(-1)!;
    bytes[victim.start + 10] ^= 0xff;
    await writeFile(broken, bytes);
    const bad = await run('bmaptool', ['copy', '--bmap', bmap, broken, join(dir, 'stick-bmaptool-2.bin')], { timeoutMs: 120_000 });
    assert.notEqual(bad.code, 0, 'bmaptool must refuse the corrupted image');
    assert.match(bad.stderr, /checksum mismatch/i);

    // bmaptool's own map, of a sparse image that is not FAT32 (its map is trusted as bmaptool would)
    const sparse = join(dir, 'sparse.img');
    const fh = await open(sparse, 'w+');
    try {
      const w = await SequentialWriter.create(fh, 16 * MIB, { name: sparse, mapRanges: true });
      await w.skipTo(2 * MIB);
      await w.write(pseudoRandomBytes('sparse-1', MIB));
      await w.skipTo(9 * MIB);
      await w.write(pseudoRandomBytes('sparse-2', 300 * 1024));
      await w.finish();
    } finally {
      await fh.close();
    }
    const theirs = join(dir, 'theirs.bmap');
    const create = await run('bmaptool', ['create', sparse, '-o', theirs], { timeoutMs: 120_000 });
    assert.equal(create.code, 0, create.stderr);
    const target2 = join(dir, 'stick-theirs.bin');
    await oldStick(target2, 16 * MIB);
    const r = await lifeboat(['flash', sparse, target2, '--yes', '--json', '--blockmap', theirs], { env: { ...process.env, NO_COLOR: '1' } });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { dataBytes: number };
    assert.equal(out.dataBytes, MIB + 300 * 1024);
    const got = await readFile(target2);
    assert.ok(got.subarray(2 * MIB, 3 * MIB).equals(pseudoRandomBytes('sparse-1', MIB)));
    assert.ok(got.subarray(9 * MIB, 9 * MIB + 300 * 1024).equals(pseudoRandomBytes('sparse-2', 300 * 1024)));
  });
});
