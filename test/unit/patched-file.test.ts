/**
 * PatchedFile: a file inside another file, written in memory. Random writes, truncations and reads are checked
 * against a plain buffer holding the same file; the file on disk never changes; its pieces, one after another, are
 * the file, and their hash in a worker is the file's hash.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InputError } from '../../src/errors.js';
import { sha256PiecesInWorker } from '../../src/util/hash-worker.js';
import { type Piece, PatchedFile } from '../../src/util/patched-file.js';
import { mkTempDir, pseudoRandomBytes, removeTempDir } from '../helpers/tools.js';

/** A small deterministic generator (the test must fail the same way every time it fails). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

async function joinPieces(pieces: readonly Piece[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const p of pieces) {
    if ('data' in p) parts.push(p.data);
    else {
      const whole = await readFile(p.path);
      for (const e of p.extents) parts.push(whole.subarray(e.offset, e.offset + e.length));
    }
  }
  return Buffer.concat(parts);
}

describe('PatchedFile', () => {
  let dir: string;
  let container: string;
  let containerBytes: Buffer;
  // The inner file: 70,000 bytes in three extents, out of order in the container, with other bytes between.
  const extents = [{ offset: 50_000, length: 30_000 }, { offset: 1_000, length: 25_000 }, { offset: 90_000, length: 15_000 }];
  let inner: Buffer;

  before(async () => {
    dir = await mkTempDir('patched file');
    container = join(dir, 'container.iso');
    containerBytes = pseudoRandomBytes('container', 110_000);
    await writeFile(container, containerBytes);
    inner = Buffer.concat(extents.map((e) => containerBytes.subarray(e.offset, e.offset + e.length)));
  });
  after(async () => {
    if (dir) await removeTempDir(dir);
  });

  test('random writes, truncations and reads agree with a plain buffer; the container is never written', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = rng(seed);
      const file = new PatchedFile(container, extents, inner.length);
      let model = Buffer.from(inner);
      for (let step = 0; step < 30; step++) {
        const op = r(10);
        if (op < 5) {
          const at = r(model.length + 3000);
          const data = pseudoRandomBytes(`w${seed}.${step}`, 1 + r(4000));
          await file.write(data, 0, data.length, at);
          const grown = Buffer.alloc(Math.max(model.length, at + data.length));
          model.copy(grown);
          data.copy(grown, at);
          model = grown;
        } else if (op < 6) {
          const length = r(model.length + 1);
          await file.truncate(length);
          model = model.subarray(0, length);
        } else {
          const at = r(model.length + 10);
          const length = r(9000);
          const got = Buffer.alloc(length + 8, 0xee);
          const { bytesRead } = await file.read(got, 4, length, at);
          const want = model.subarray(Math.min(at, model.length), Math.min(at + length, model.length));
          assert.equal(bytesRead, want.length, `seed ${seed} step ${step}: bytes read`);
          assert.ok(got.subarray(4, 4 + bytesRead).equals(want), `seed ${seed} step ${step}: read at ${at}`);
          assert.equal(got[3], 0xee, 'nothing written before the offset');
        }
        assert.equal(file.size, model.length);
        assert.equal((await file.stat()).size, model.length);
      }
      assert.ok((await joinPieces(file.pieces())).equals(model), `seed ${seed}: the pieces are the file`);
    }
    assert.ok((await readFile(container)).equals(containerBytes), 'the container is unchanged');
  });

  test('an append-mode change: new header, old body from the container, new tail; hashed in a worker', async () => {
    const file = new PatchedFile(container, extents, inner.length);
    const header = Buffer.alloc(208, 7);
    const tail = pseudoRandomBytes('tail', 5000);
    await file.write(tail, 0, tail.length, inner.length);
    await file.write(header, 0, header.length, 0);
    const pieces = file.pieces();
    assert.deepEqual(pieces.map((p) => ('data' in p ? 'bytes' : p.extents.length)), ['bytes', 3, 'bytes'], 'the body stays ranges of the container');
    const expected = Buffer.concat([header, inner.subarray(208), tail]);
    assert.ok((await joinPieces(pieces)).equals(expected));
    assert.equal(await sha256PiecesInWorker(pieces, 'boot.wim'), createHash('sha256').update(expected).digest('hex'));
  });

  test('extents shorter than the size are refused; a container that shrank is an InputError naming it', async () => {
    assert.throws(() => new PatchedFile(container, extents, inner.length + 1), /extents shorter/);
    const short = join(dir, 'short.iso');
    await writeFile(short, containerBytes.subarray(0, 60_000));
    const file = new PatchedFile(short, extents, inner.length);
    await assert.rejects(file.read(Buffer.alloc(100), 0, 100, 29_950), (e: unknown) => e instanceof InputError && e.message.includes(short));
    await assert.rejects(sha256PiecesInWorker(file.pieces(), 'boot.wim'), /cannot hash "boot.wim".*short\.iso/);
  });
});
