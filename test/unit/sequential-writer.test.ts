/**
 * The one sequential writer behind the ISO and the USB image (src/util/sequential-writer.ts): block-map ranges,
 * hashes, read-ahead of small files in announced order, and the same error for an input that shrank, whichever
 * image it was being copied into.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { asLifeboatError } from '../../src/cli/library-errors.js';
import { LifeboatError } from '../../src/errors.js';
import { hostDir, writeIso } from '../../src/iso/index.js';
import { fileSource, writeUsbImage } from '../../src/usb/fat32.js';
import { IoError } from '../../src/util/io-errors.js';
import { BLOCK_SIZE, MAX_RANGE_LENGTH, SequentialWriter, wholeFile } from '../../src/util/sequential-writer.js';
import { Frontier } from '../../src/util/frontier.js';
import { pseudoRandomBytes, tempDirFor } from '../helpers/tools.js';

const MIB = 2 ** 20;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('SequentialWriter', () => {
  it('maps block-aligned ranges, fills short gaps and skips long ones, and cuts ranges at 32 MiB', async (t) => {
    const dir = await tempDirFor(t, 'seq-writer');
    const fh = await open(join(dir, 'w.img'), 'w+');
    try {
      const size = 64 * MIB;
      const w = await SequentialWriter.create(fh, size, { name: 'w.img', mapRanges: true, hashOutput: true });
      await w.write(Buffer.from('MBR'));
      await w.skipTo(100); // same block: zeros written, same range
      await w.write(Buffer.from('x'));
      await w.skipTo(3 * BLOCK_SIZE + 10); // a gap of whole blocks: new range
      await w.write(Buffer.from('y'));
      await w.skipTo(MIB);
      await w.write(Buffer.alloc(40 * MIB, 7));
      const { ranges, sha256 } = await w.finish();
      assert.deepEqual(ranges!.map((r) => [r.start, r.length]), [
        [0, BLOCK_SIZE],
        [3 * BLOCK_SIZE, BLOCK_SIZE],
        [MIB, MAX_RANGE_LENGTH],
        [MIB + MAX_RANGE_LENGTH, 40 * MIB - MAX_RANGE_LENGTH],
      ]);
      const buf = Buffer.alloc(size);
      await fh.read(buf, 0, size, 0);
      for (const r of ranges!) assert.equal(sha(buf.subarray(r.start, r.start + r.length)), r.sha256);
      assert.equal(sha256, sha(buf), 'the output hash covers the gaps as zeros');
      assert.equal(buf.subarray(0, 3).toString(), 'MBR');
      assert.equal(buf[100], 'x'.charCodeAt(0));
      await assert.rejects(w.write(Buffer.alloc(size)), /past the end/);
    } finally {
      await fh.close();
    }
  });

  it('copies small and large regions, read ahead in announced order or not, byte for byte', async (t) => {
    const dir = await tempDirFor(t, 'seq-writer');
    const regions = [];
    const expected: Buffer[] = [];
    for (let i = 0; i < 150; i++) {
      // small files around a few large ones, so the read-ahead ring wraps and skips large regions
      const size = i % 50 === 7 ? 5 * MIB + i : ((i * 7919) % (300 * 1024)) + 4;
      const data = Buffer.alloc(size, i & 0xff);
      data.writeUInt32LE(i, 0);
      await writeFile(join(dir, `f${i}`), data);
      regions.push(wholeFile(join(dir, `f${i}`), size));
      expected.push(data);
    }
    // the same small file twice in a row (a file added at two paths): two reads of it in flight at once
    for (let k = 0; k < 2; k++) {
      regions.push(wholeFile(join(dir, 'f5'), expected[5]!.length));
      expected.push(expected[5]!);
    }
    // one region made of two extents of another file (as a file inside an ISO is)
    const big = Buffer.alloc(3000);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    await writeFile(join(dir, 'container'), big);
    regions.push({ path: join(dir, 'container'), extents: [{ offset: 2048, length: 500 }, { offset: 10, length: 20 }], size: 520 });
    expected.push(Buffer.concat([big.subarray(2048, 2548), big.subarray(10, 30)]));
    const total = expected.reduce((s, b) => s + b.length, 0);
    for (const announced of [regions, regions.slice(40).reverse()]) {
      const fh = await open(join(dir, 'out'), 'w+');
      try {
        const w = await SequentialWriter.create(fh, total, { name: 'out', hashOutput: true });
        w.expect(announced);
        for (const r of regions) await w.copy(r);
        const { sha256 } = await w.finish();
        const out = await readFile(join(dir, 'out'));
        assert.ok(out.equals(Buffer.concat(expected)));
        assert.equal(sha256, sha(out));
      } finally {
        await fh.close();
      }
    }
  });
});

describe('SequentialWriter: one image read while another is written (the build\'s USB image follows its ISO)', () => {
  it('a second writer copies regions of the first one\'s output only behind it, and gets every byte right', async (t) => {
    const dir = await tempDirFor(t, 'seq-writer');
    const first = join(dir, 'first.iso');
    const size = 24 * MIB;
    const source = pseudoRandomBytes('followed', size);
    const written = new Frontier();
    const seen: number[] = [];
    const a = await open(first, 'w+');
    const b = await open(join(dir, 'second.img'), 'w+');
    try {
      const wa = await SequentialWriter.create(a, size, {
        name: 'first.iso', onWrittenThrough: (o) => {
          seen.push(o);
          written.advanceTo(o);
        },
      });
      // Small regions (read ahead at once) and large ones, in the order the first writer writes them.
      const regions = [{ offset: 0, length: 3000 }, { offset: 4096, length: 200_000 }, { offset: 2 * MIB, length: 9 * MIB }, { offset: 20 * MIB, length: 4 * MIB }]
        .map((e) => ({ path: first, extents: [e], size: e.length }));
      const total = regions.reduce((n, r) => n + r.size, 0);
      const wb = await SequentialWriter.create(b, total, { name: 'second.img', inputReady: (path, end) => (path === first ? written.reached(end - 1) : Promise.resolve()) });
      const copying = (async () => {
        wb.expect(regions);
        for (const r of regions) await wb.copy(r);
        await wb.finish();
      })();
      for (let o = 0; o < size; o += MIB) await wa.write(source.subarray(o, o + MIB));
      await wa.finish();
      await copying;
      const out = Buffer.alloc(total);
      await b.read(out, 0, total, 0);
      assert.ok(out.equals(Buffer.concat(regions.map((r) => source.subarray(r.extents[0]!.offset, r.extents[0]!.offset + r.size)))), 'every byte as the first writer wrote it');
      assert.deepEqual(seen, [...seen].sort((x, y) => x - y), 'written-through offsets only grow');
      assert.equal(seen.at(-1), size);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('write-behind: a flush that fails is reported by finish, naming the output', async (t) => {
    const dir = await tempDirFor(t, 'seq-writer');
    const fh = await open(join(dir, 'w.img'), 'w+');
    try {
      const failing = Object.assign(Object.create(fh) as typeof fh, {
        datasync: async () => {
          throw Object.assign(new Error('I/O error'), { code: 'EIO' });
        },
      });
      const w = await SequentialWriter.create(failing, 8 * MIB, { name: 'w.img', writeBehindBytes: MIB });
      await assert.rejects(async () => {
        for (let o = 0; o < 8 * MIB; o += MIB) await w.write(Buffer.alloc(MIB, 1));
        await w.finish();
      }, (e: unknown) => e instanceof IoError && /w\.img/.test(e.message));
    } finally {
      await fh.close();
    }
  });
});

describe('an input that shrinks while it is copied', () => {
  const changed = (name: string) => (e: unknown) => {
    assert.ok(e instanceof IoError, `an IoError, not ${String(e)}`);
    assert.equal(e.problem, 'source-changed');
    assert.ok(e.message.includes(name), `names the file: ${e.message}`);
    const mapped = asLifeboatError(e);
    assert.ok(mapped instanceof LifeboatError && mapped.exitCode === 2, 'the CLI makes it exit 2');
    return true;
  };

  for (const size of [40 * 1024, 6 * MIB]) {
    it(`is the same error in the ISO and in the USB image (${size} bytes, ${size > MIB ? 'streamed' : 'read ahead'})`, async (t) => {
      const dir = await tempDirFor(t, 'seq-writer');
      const file = join(dir, 'tree', 'payload.bin');
      await (await import('node:fs/promises')).mkdir(join(dir, 'tree'));
      await writeFile(file, Buffer.alloc(size, 1));
      const root = await hostDir(join(dir, 'tree'));
      await truncate(file, size - 4096); // listed at its old size, now shorter
      await assert.rejects(writeIso(join(dir, 'a.iso'), root, { volumeId: 'T' }), changed(file));
      await assert.rejects(
        writeUsbImage([{ path: '/payload.bin', size, source: fileSource(file, size) }], join(dir, 'a.img'), { seed: 's' }),
        changed(file),
      );
      const left = (await (await import('node:fs/promises')).readdir(dir)).filter((n) => n.endsWith('.iso') || n.includes('.part-'));
      assert.deepEqual(left, [], 'the ISO library leaves nothing behind');
    });
  }
});
