/**
 * The flash writer against the fault-injecting test double (MemoryTarget): a clean flash matches the image on every
 * planned range; short writes, write errors, corrupted read-back, a device that disappears, a failing flush or close
 * each end in a typed exit-1 error (never a result); a block map that does not match its image is exit 2.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { JobError, InputError } from '../../src/errors.js';
import { writeUsbImage, type UsbTreeEntry } from '../../src/usb/fat32.js';
import { BlockMapMismatchError, DeviceGoneError, DeviceIoError, ShortReadError, ShortWriteError, VerifyMismatchError } from '../../src/usb/flash/errors.js';
import { flashTo, prepareImage, type PreparedImage } from '../../src/usb/flash/flash.js';
import { parseBmap, toBmap } from '../../src/usb/flash/bmap.js';
import { fatUsage } from '../../src/usb/flash/fat-usage.js';
import { withUsedBlocks, writeBlockMapFiles } from '../../src/usb/flash/image-maps.js';
import { MemoryTarget, type TargetFaults } from '../../src/usb/flash/target.js';
import { loadBlockMap, planFlash, validateBlockMap, writeAndVerify, zeroFillRanges } from '../../src/usb/flash/writer.js';
import { scanBlockMap, serializeBlockMap, type BlockMap } from '../../src/usb/block-map.js';
import { mkTempDir, pseudoRandomBytes, removeTempDir } from '../helpers/tools.js';

const KIB = 1024;
const MIB = 2 ** 20;
const CHUNK = 256 * KIB;

function entries(): UsbTreeEntry[] {
  // a file with a 64 KiB run of zeros in the middle: a scanned map leaves it out, the flash must still zero it
  const data = Buffer.concat([pseudoRandomBytes('flash-a', 1 * MIB + 123), Buffer.alloc(64 * KIB), pseudoRandomBytes('flash-b', 2 * MIB)]);
  const file = (path: string, bytes: Buffer): UsbTreeEntry => ({ path, size: bytes.length, source: async function* () { yield bytes; } });
  return [
    file('/EFI/BOOT/BOOTX64.EFI', Buffer.from('stand-in EFI loader')),
    file('/lifeboat/data.bin', data),
    file('/lifeboat/small.txt', Buffer.from('hello')),
  ];
}

describe('flash writer with the fault-injecting target', () => {
  let dir: string;
  let image: string;
  let prepared: PreparedImage;
  let imageBytes: Buffer;

  before(async () => {
    dir = await mkTempDir('flash-writer');
    image = join(dir, 'test-usb.img');
    await writeUsbImage(entries(), image, { seed: 'flash-writer', marginBytes: 8 * MIB });
    // no map file: flash scans the image, so zero blocks inside files are not in the map and must be zero-filled
    prepared = await prepareImage(image);
    assert.equal(prepared.source.kind, 'scanned');
    imageBytes = Buffer.from(await (await import('node:fs/promises')).readFile(image));
  });
  after(() => removeTempDir(dir));

  /** A stick full of old data (so skipped ranges are visible). */
  const stick = (faults: TargetFaults = {}) => {
    const t = new MemoryTarget(prepared.size + 4 * MIB, faults);
    pseudoRandomBytes('old stick content', t.data.length).copy(t.data);
    return t;
  };
  const flash = (t: MemoryTarget, onProgress?: Parameters<typeof writeAndVerify>[4] extends infer O ? O extends { onProgress?: infer P } ? P : never : never) =>
    flashTo(prepared, { kind: 'file', path: t.path, size: t.size }, { target: t, chunkSize: CHUNK, ...(onProgress ? { onProgress } : {}) });

  /** The flash must fail with `type`, exit code `code`, and never return a result. */
  async function fails(t: MemoryTarget, type: new (...a: never[]) => Error, code: 1 | 2, message: RegExp): Promise<Error> {
    let caught: unknown;
    const result = await flash(t).catch((e: unknown) => {
      caught = e;
      return undefined;
    });
    assert.equal(result, undefined, 'no success after a fault');
    assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
    assert.equal((caught as JobError).exitCode, code);
    assert.match((caught as Error).message, message);
    assert.ok(t.closed, 'the target is closed after a failure');
    return caught as Error;
  }

  test('the plan: the map ranges plus zero-fill of metadata and of zero blocks inside files', async () => {
    const zero = prepared.plan.filter((r) => r.kind === 'zero');
    assert.ok(zero.some((r) => r.start === 0 || r.start < 2048 * 512), 'the MBR gap is zero-filled');
    const holeStart = imageBytes.indexOf(Buffer.alloc(64 * KIB), 1 * MIB);
    assert.ok(zero.some((r) => r.start <= holeStart + 8 * KIB && r.start + r.length >= holeStart + 56 * KIB), 'the zero run inside data.bin is planned');
    for (let i = 1; i < prepared.plan.length; i++) assert.ok(prepared.plan[i - 1]!.start + prepared.plan[i - 1]!.length <= prepared.plan[i]!.start, 'ranges ascend without overlap');
    assert.ok(prepared.isLifeboatMedia === false);
  });

  test('a clean flash: every planned range equals the image; progress for write then verify ends at the total', async () => {
    const t = stick();
    const seen: string[] = [];
    let last = { write: 0, verify: 0 };
    const result = await flash(t, (phase, done, total) => {
      if (seen.at(-1) !== phase) seen.push(phase);
      assert.ok(done >= last[phase] && done <= total);
      last = { ...last, [phase]: done };
    });
    assert.deepEqual(seen, ['write', 'verify']);
    assert.equal(last.write, result.plannedBytes);
    assert.equal(last.verify, result.plannedBytes);
    assert.equal(result.dataBytes, prepared.map.mappedBytes);
    assert.ok(t.flushed && t.closed);
    for (const r of prepared.plan) assert.ok(t.data.subarray(r.start, r.start + r.length).equals(imageBytes.subarray(r.start, r.start + r.length)), `range ${r.start}`);
    // every allocated byte of the file system matches: the file with its zero run reads back whole
    const needle = pseudoRandomBytes('flash-b', 4096);
    const at = t.data.indexOf(needle);
    assert.ok(at > 0 && t.data.subarray(at - 64 * KIB, at).equals(Buffer.alloc(64 * KIB)));
  });

  test('the read-back beside the writing reads a range only after a flush that began once its write had returned', async () => {
    const t = stick();
    let step = 0;
    const writes: { start: number; end: number; step: number }[] = [];
    let flushedBefore = -1; // writes that returned before this step are covered by a completed flush
    let flushes = 0;
    const write = t.write.bind(t);
    const flush = t.flush.bind(t);
    const read = t.read.bind(t);
    t.write = async (data, offset) => {
      const n = await write(data, offset);
      writes.push({ start: offset, end: offset + n, step: ++step });
      return n;
    };
    t.flush = async () => {
      const began = ++step;
      await flush();
      flushes++;
      flushedBefore = Math.max(flushedBefore, began);
    };
    t.read = async (into, offset) => {
      for (const w of writes) {
        if (w.start < offset + into.length && offset < w.end) assert.ok(w.step < flushedBefore, `byte ${offset} read back before a flush covered its write`);
      }
      return read(into, offset);
    };
    await flash(t);
    assert.ok(flushes > 1, 'flushed while writing, not only at the end');
  });

  test('legal short writes (at most 100 KiB accepted per call) are continued and the result verifies', async () => {
    const t = stick({ maxBytesPerWrite: 100 * KIB });
    const result = await flash(t);
    assert.equal(result.plannedBytes, prepared.plan.reduce((s, r) => s + r.length, 0));
  });

  test('a stick that stops accepting bytes (short write, then nothing): ShortWriteError, exit 1', async () => {
    const at = prepared.plan[2]!.start + 10_000;
    const e = (await fails(stick({ fullAt: at }), ShortWriteError, 1, /accepted only \d+ of \d+ bytes at byte \d+ and then nothing more: replace the stick/)) as ShortWriteError;
    assert.equal(e.offset, at);
  });

  test('a write error (EIO): DeviceIoError with the offset, exit 1', async () => {
    const at = prepared.plan[1]!.start + 5;
    const e = (await fails(stick({ writeErrorAt: at }), DeviceIoError, 1, /write error at byte \d+ \(EIO\): replace the stick/)) as DeviceIoError;
    assert.ok(e.offset <= at && at < e.offset + CHUNK);
  });

  test('corrupted read-back: the first bad byte, both hashes, "replace the stick"', async () => {
    const r = prepared.plan.find((x) => x.kind === 'data' && x.length > 1 * MIB)!;
    const at = r.start + 777_777;
    const e = (await fails(stick({ corruptReadAt: at }), VerifyMismatchError, 1, new RegExp(`the stick returned different data at byte ${at}: replace the stick`))) as VerifyMismatchError;
    assert.equal(e.offset, at);
    assert.equal(e.expectedSha256, r.sha256);
    assert.notEqual(e.actualSha256, r.sha256);
    assert.equal(e.expectedByte! ^ 0x40, e.actualByte);
    assert.equal(e.reproducible, true);
  });

  test('corruption in a zero-filled range is caught too', async () => {
    const z = prepared.plan.find((x) => x.kind === 'zero')!;
    const e = (await fails(stick({ corruptReadAt: z.start + 100 }), VerifyMismatchError, 1, /different data at byte/)) as VerifyMismatchError;
    assert.equal(e.offset, z.start + 100);
  });

  test('a flaky read (wrong once, right on re-reading) is still a failure', async () => {
    const r = prepared.plan.find((x) => x.kind === 'data')!;
    const e = (await fails(stick({ corruptReadAt: r.start, corruptOnce: true }), VerifyMismatchError, 1, /replace the stick/)) as VerifyMismatchError;
    assert.equal(e.reproducible, false);
    assert.match(e.hint ?? '', /unreliable/);
  });

  test('the device disappears while writing (ENODEV): DeviceGoneError, exit 1', async () => {
    const at = prepared.plan[3]!.start;
    const e = (await fails(stick({ goneAt: at }), DeviceGoneError, 1, /the stick went away during writing at byte \d+ \(ENODEV\)/)) as DeviceGoneError;
    assert.equal(e.phase, 'write');
  });

  test('the device disappears during the read-back (ENXIO): DeviceGoneError, exit 1', async () => {
    const at = prepared.plan[2]!.start + 4096;
    const e = (await fails(stick({ goneAt: at, goneDuring: 'verify' }), DeviceGoneError, 1, /went away during the read-back .*\(ENXIO\)/)) as DeviceGoneError;
    assert.equal(e.phase, 'verify');
  });

  test('the final flush fails (EIO): exit 1, no verification is reported', async () => {
    await fails(stick({ flushError: 'EIO' }), DeviceIoError, 1, /flush error at byte \d+ \(EIO\)/);
  });

  test('close fails after a good verify: still an error', async () => {
    await fails(stick({ closeError: 'EIO' }), JobError, 1, /closing memory-stick failed after writing \(EIO\): the stick cannot be trusted/);
  });

  test('a target smaller than the plan is refused before writing', async () => {
    const t = new MemoryTarget(1 * MIB);
    await assert.rejects(flash(t), InputError);
    assert.equal(t.writes, 0);
  });

  test('a stick that is shorter than it claims ends the read-back with ShortReadError', async () => {
    const t = stick();
    // reads past 2 MiB return nothing: the "stick" claims more than it has
    const read = t.read.bind(t);
    t.read = async (into, offset) => (offset >= 2 * MIB ? 0 : read(into, offset));
    await fails(t, ShortReadError, 1, /the stick ended at byte \d+ while reading back/);
  });

  test('an image that does not match its block map: BlockMapMismatchError, exit 2', async () => {
    const map: BlockMap = structuredClone(prepared.map);
    const victim = map.ranges[1]!;
    victim.sha256 = '0'.repeat(64);
    const plan = planFlash(map, await zeroFillRanges(image, map));
    const t = stick();
    await assert.rejects(writeAndVerify(image, t, plan, prepared.size, { chunkSize: CHUNK }), (e: unknown) => {
      assert.ok(e instanceof BlockMapMismatchError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, new RegExp(`does not match its block map at byte ${victim.start}`));
      return true;
    });
  });

  test('block map validation: format, size, order, sums', async () => {
    const good = prepared.map;
    assert.doesNotThrow(() => validateBlockMap(good, good.imageSize, 'm'));
    assert.throws(() => validateBlockMap({ ...good, format: 'bmap' }, good.imageSize, 'm'), /not a lifeboat-blockmap/);
    assert.throws(() => validateBlockMap(good, good.imageSize + 512, 'm'), /made for an image of/);
    assert.throws(() => validateBlockMap({ ...good, ranges: [...good.ranges].reverse() }, good.imageSize, 'm'), /out of order/);
    assert.throws(() => validateBlockMap({ ...good, mappedBytes: 1 }, good.imageSize, 'm'), /not the sum/);
    await writeFile(join(dir, 'bad.json'), '{');
    await assert.rejects(loadBlockMap(image, join(dir, 'bad.json')), /is neither JSON nor a \.bmap/);
    await assert.rejects(loadBlockMap(image, join(dir, 'missing.json')), /cannot read the block map/);
  });
});

describe('block map files: the FAT check and the .bmap format', () => {
  let dir: string;
  let image: string;
  let writerMap: BlockMap;
  let rawMap: BlockMap;

  before(async () => {
    dir = await mkTempDir('flash-maps');
    image = join(dir, 'maps-usb.img');
    rawMap = (await writeUsbImage(entries(), image, { seed: 'flash-maps', marginBytes: 8 * MIB })).blockMap;
    writerMap = await withUsedBlocks(image, rawMap);
  });
  after(() => removeTempDir(dir));

  const refused = async (mapPath: string, message: RegExp) => {
    await assert.rejects(prepareImage(image, mapPath), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.exitCode, 2);
      assert.match(e.message, message);
      return true;
    });
  };

  test('the writer\'s map leaves out zero blocks the FAT uses (refused); completed by withUsedBlocks it is taken as it is', async () => {
    const raw = join(dir, 'raw.blockmap.json');
    await writeFile(raw, serializeBlockMap(rawMap));
    await refused(raw, /leaves out .* that the image's file system uses/);
    const path = join(dir, 'writer.blockmap.json');
    await writeBlockMapFiles(writerMap, { json: path });
    const p = await prepareImage(image, path);
    assert.deepEqual(p.source, { kind: 'file', path, format: 'json' });
    assert.equal(p.plan.filter((r) => r.kind === 'zero').length, 0, 'nothing to zero-fill');
    for (const r of rawMap.ranges) assert.ok(writerMap.ranges.some((w) => w.start === r.start && w.sha256 === r.sha256), 'the writer\'s hashes are kept');
    const usage = (await fatUsage(image))!;
    assert.ok(usage.usedClusters > 3, 'the FAT lists the files');
  });

  test('a self-consistent map that leaves out one used block is refused (exit 2), naming the map and the place', async () => {
    // drop the range holding the first data cluster, keep mappedBytes consistent: every format check passes
    const usage = (await fatUsage(image))!;
    const victim = writerMap.ranges.find((r) => r.start >= usage.dataStart)!;
    const map: BlockMap = { ...writerMap, ranges: writerMap.ranges.filter((r) => r !== victim), mappedBytes: writerMap.mappedBytes - victim.length };
    const path = join(dir, 'missing.blockmap.json');
    await writeFile(path, serializeBlockMap(map));
    assert.doesNotThrow(() => validateBlockMap(map, map.imageSize, 'm'));
    await refused(path, new RegExp(`block map "${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" leaves out .* that the image's file system uses \\(first at byte ${victim.start}, cluster \\d+\\)`));
  });

  test('a map made by scanning (zero blocks of the FAT and of files left out) is refused as a file, zero-filled as a scan', async () => {
    const path = join(dir, 'scanned.blockmap.json');
    await writeFile(path, serializeBlockMap(await scanBlockMap(image)));
    await refused(path, /leaves out .* in \d+ places? that the image's file system uses \(first at byte \d+, (the partition table, reserved sectors or FAT|cluster \d+)\)/);
  });

  test('.bmap: written with its file checksum, read back to the same ranges, found beside the image, tampering refused', async () => {
    const text = await toBmap(writerMap);
    assert.match(text, /<bmap version="2.0">/);
    assert.match(text, /<ChecksumType>sha256<\/ChecksumType>/);
    assert.doesNotMatch(text, /<BmapFileChecksum>0{64}</);
    const back = validateBlockMap(await parseBmap(text, 'x.bmap'), writerMap.imageSize, 'x.bmap');
    assert.deepEqual(back.ranges, writerMap.ranges);
    assert.equal(back.mappedBytes, writerMap.mappedBytes);

    const alone = join(dir, 'alone-usb.img');
    await writeFile(alone, await readFile(image));
    await writeBlockMapFiles(writerMap, { bmap: `${alone}.bmap` });
    const p = await prepareImage(alone);
    assert.deepEqual(p.source, { kind: 'file', path: `${alone}.bmap`, format: 'bmap' });
    assert.deepEqual(p.map.ranges, writerMap.ranges);

    const tampered = text.replace(/chksum="[0-9a-f]/, (m) => (m.endsWith('0') ? `${m.slice(0, -1)}1` : `${m.slice(0, -1)}0`));
    await writeFile(join(dir, 'tampered.bmap'), tampered);
    await refused(join(dir, 'tampered.bmap'), /not a valid \.bmap file \(File checksum mismatch/);
    await writeFile(join(dir, 'huge.bmap'), Buffer.alloc(64 * MIB, 0x20));
    await refused(join(dir, 'huge.bmap'), /more than any block map of this image needs/);
  });
});

