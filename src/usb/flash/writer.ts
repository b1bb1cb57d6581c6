/**
 * Writing an image to a target and proving it. The plan is the block map's ranges, plus zero-fill where stale data
 * would matter (scanned maps only). The write pass is a pipeline: image chunks are read ahead into a small ring of
 * buffers while the current chunk is hashed (SHA-256, checked against the map: the only hash pass) and the previous
 * one is being written. One flush. The read-back pass reads every planned range from the target (O_DIRECT where
 * possible) and compares it byte for byte with the image (or with zeros), reading both ahead; the image was proven
 * against its map while writing, so equal bytes prove the stick. Any error ends the job with a typed error;
 * nothing returns normally after one.
 */
import { createHash } from 'node:crypto';
import { HashPool, type PooledHash } from '../../util/hash-pool.js';
import { open, type FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { BLOCK_SIZE, type BlockMap } from '../block-map.js';
import { BlockMapMismatchError, ShortReadError, ShortWriteError, VerifyMismatchError, targetError, type FlashPhase } from './errors.js';
import { fatUsage, uncovered } from './fat-usage.js';
import type { FlashTarget } from './target.js';

export { loadBlockMap, validateBlockMap, type LoadedBlockMap } from './map-file.js';

const MIB = 2 ** 20;
/** Bytes per write: large enough for full USB transfer batches, small enough to keep a few in memory. */
export const DEFAULT_CHUNK = 4 * MIB;
/** Buffers in the ring: being written, being hashed (on the pool), being read ahead. */
const RING = 6;

/** One range of the plan: `data` comes from the image (with the map's SHA-256), `zero` is written as zeros. */
export type PlanRange = { start: number; length: number } & ({ kind: 'data'; sha256: string } | { kind: 'zero' });

/**
 * Ranges that must be zero on the stick although the map leaves them out: for a map made by scanning an MBR +
 * FAT32 image (zero blocks are left out of such a map, but a zero block the file system uses is not unused: on a
 * used stick it holds old data). Every used block (fat-usage.ts) that the map does not cover. [] for other images.
 * Maps read from a file are not patched like this: they must cover every used block (map-file.ts).
 */
export async function zeroFillRanges(imagePath: string, map: BlockMap): Promise<{ start: number; length: number }[]> {
  const usage = await fatUsage(imagePath);
  return usage ? uncovered(usage.ranges, map.ranges) : [];
}

/** The block map's ranges and the zero-fill ranges, in ascending order. */
export function planFlash(map: BlockMap, zeroFill: readonly { start: number; length: number }[] = []): PlanRange[] {
  const plan: PlanRange[] = [
    ...map.ranges.map((r) => ({ start: r.start, length: r.length, sha256: r.sha256, kind: 'data' as const })),
    ...zeroFill.map((r) => ({ start: r.start, length: r.length, kind: 'zero' as const })),
  ];
  return plan.sort((a, b) => a.start - b.start);
}

export type FlashProgress = (phase: 'write' | 'verify', done: number, total: number) => void;

export interface FlashOptions {
  chunkSize?: number;
  onProgress?: FlashProgress;
}

export interface FlashResult {
  imageSize: number;
  /** Bytes written (data + zero-fill) and then read back and verified. */
  plannedBytes: number;
  dataBytes: number;
  zeroFillBytes: number;
  ranges: number;
  writeMs: number;
  flushMs: number;
  verifyMs: number;
  directWrite: boolean;
  directRead: boolean;
}

/** Writes all of `data` at `offset`, continuing after short writes; ShortWriteError when the target stops taking bytes. */
async function writeFully(target: FlashTarget, data: Buffer, offset: number): Promise<void> {
  let done = 0;
  let stalls = 0;
  while (done < data.length) {
    let n: number;
    try {
      n = await target.write(done === 0 ? data : data.subarray(done), offset + done);
    } catch (e) {
      throw targetError(e, offset + done, 'write');
    }
    if (n <= 0) {
      if (++stalls >= 2) throw new ShortWriteError(offset + done, data.length, done);
      continue;
    }
    stalls = 0;
    done += n;
  }
}

async function readFully(target: FlashTarget, into: Buffer, offset: number, phase: FlashPhase): Promise<void> {
  let done = 0;
  while (done < into.length) {
    let n: number;
    try {
      n = await target.read(done === 0 ? into : into.subarray(done), offset + done);
    } catch (e) {
      throw targetError(e, offset + done, phase);
    }
    if (n <= 0) throw new ShortReadError(offset + done);
    done += n;
  }
}

async function readImage(fh: FileHandle, into: Buffer, offset: number, path: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await fh.read(into, done, into.length - done, offset + done);
    if (bytesRead <= 0) throw new InputError(`the image ${path} ends at byte ${offset + done}, before its block map says`, 'Rebuild the image.');
    done += bytesRead;
  }
}

/** A promise whose rejection is handled later (when it is awaited), not reported as unhandled meanwhile. */
function later<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

interface Chunk {
  range: PlanRange;
  /** Absolute offset in the image and on the target. */
  at: number;
  length: number;
  /** The last chunk of its range. */
  last: boolean;
}

function chunksOf(plan: readonly PlanRange[], chunk: number): Chunk[] {
  const out: Chunk[] = [];
  for (const r of plan) {
    for (let off = 0; off < r.length; off += chunk) {
      const length = Math.min(chunk, r.length - off);
      out.push({ range: r, at: r.start + off, length, last: off + length >= r.length });
    }
  }
  return out;
}

/**
 * Writes the plan's ranges from `imagePath` to `target`, flushes, reads every range back and compares.
 * Does not close the target. Throws (typed, see errors.ts) on any failure.
 */
export async function writeAndVerify(imagePath: string, target: FlashTarget, plan: readonly PlanRange[], imageSize: number, opts: FlashOptions = {}): Promise<FlashResult> {
  const chunk = opts.chunkSize ?? DEFAULT_CHUNK;
  if (chunk % BLOCK_SIZE !== 0) throw new RangeError(`chunk size ${chunk} is not a multiple of ${BLOCK_SIZE}`);
  const total = plan.reduce((s, r) => s + r.length, 0);
  if (target.size !== undefined) {
    const end = plan.reduce((m, r) => Math.max(m, r.start + r.length), 0);
    if (end > target.size) throw new InputError(`${target.path} holds ${target.size} bytes but the image needs ${end}`);
  }
  const chunks = chunksOf(plan, chunk);
  const ring: Buffer[] = [];
  for (let i = 0; i < RING; i++) ring.push(await target.allocate(chunk));
  const zero = await target.allocate(chunk);
  zero.fill(0);
  const image = await open(imagePath, 'r');
  try {
    const t0 = performance.now();
    await writePass(image, imagePath, target, chunks, ring, zero, total, opts.onProgress);
    const t1 = performance.now();
    try {
      await target.flush();
    } catch (e) {
      throw targetError(e, plan.at(-1) ? plan.at(-1)!.start + plan.at(-1)!.length : 0, 'flush');
    }
    const t2 = performance.now();
    await verifyPass(image, imagePath, target, chunks, ring, zero, total, opts.onProgress);
    const t3 = performance.now();
    const dataBytes = plan.filter((r) => r.kind === 'data').reduce((s, r) => s + r.length, 0);
    return {
      imageSize,
      plannedBytes: total,
      dataBytes,
      zeroFillBytes: total - dataBytes,
      ranges: plan.length,
      writeMs: t1 - t0,
      flushMs: t2 - t1,
      verifyMs: t3 - t2,
      directWrite: target.directWrite,
      directRead: target.directRead,
    };
  } finally {
    await image.close();
  }
}

/**
 * Chunk k uses ring[k % RING]. Its SHA-256 runs on the hash pool (a worker thread per core; one stream per range,
 * so ranges are hashed in parallel) while it is written; its buffer is read into again (for chunk k + RING) once
 * both are done. A range's digest is compared when the pool has it; the pass ends only after every comparison.
 */
async function writePass(
  image: FileHandle, imagePath: string, target: FlashTarget, chunks: readonly Chunk[], ring: readonly Buffer[], zero: Buffer,
  total: number, onProgress?: FlashProgress,
): Promise<void> {
  const pool = new HashPool();
  const reads: (Promise<void> | undefined)[] = [];
  const hashing: (Promise<void> | undefined)[] = [];
  const digests: Promise<void>[] = [];
  let mismatch: BlockMapMismatchError | undefined;
  const startRead = (k: number) => {
    const c = chunks[k];
    if (!c || c.range.kind !== 'data') return;
    const before = hashing[k % RING];
    const into = ring[k % RING]!.subarray(0, c.length);
    reads[k] = later((async () => {
      await before; // the previous chunk in this buffer is hashed
      await readImage(image, into, c.at, imagePath);
    })());
  };
  for (let k = 0; k < RING - 1; k++) startRead(k);
  let writing: Promise<void> | undefined;
  let done = 0;
  let hash: PooledHash | undefined;
  try {
    for (let k = 0; k < chunks.length; k++) {
      if (mismatch) throw mismatch;
      const c = chunks[k]!;
      let data = zero.subarray(0, c.length);
      if (c.range.kind === 'data') {
        await reads[k];
        reads[k] = undefined;
        data = ring[k % RING]!.subarray(0, c.length);
        hash ??= pool.hash();
        hashing[k % RING] = later(hash.update(data));
        if (c.last) {
          const range = c.range;
          digests.push(later(hash.digest().then((actual) => {
            if (actual !== range.sha256) mismatch ??= new BlockMapMismatchError(range, range.sha256, actual, imagePath);
          })));
          hash = undefined;
        }
      }
      if (writing) {
        await writing;
        done += chunks[k - 1]!.length;
        onProgress?.('write', done, total);
      }
      startRead(k + RING - 1); // into the buffer of chunk k - 1, once its hash is done too
      writing = later(writeFully(target, data, c.at));
    }
    if (writing) {
      await writing;
      writing = undefined;
      done += chunks.at(-1)!.length;
      onProgress?.('write', done, total);
    }
    await Promise.all(digests);
    if (mismatch) throw mismatch;
  } finally {
    // nothing may still use a buffer or the image handle when this returns
    await Promise.allSettled([writing, ...reads, ...hashing, ...digests].filter((p) => p !== undefined));
    await pool.close();
  }
}

/**
 * Reads chunk k from the target into ring[k % RING] and from the image into a second ring, RING - 1 chunks ahead,
 * and compares; a mismatch is located and re-read once (VerifyMismatchError).
 */
async function verifyPass(
  image: FileHandle, imagePath: string, target: FlashTarget, chunks: readonly Chunk[], ring: readonly Buffer[], zero: Buffer,
  total: number, onProgress?: FlashProgress,
): Promise<void> {
  const want: Buffer[] = ring.map((b) => Buffer.allocUnsafeSlow(b.length));
  const reads: (Promise<[void, void]> | undefined)[] = [];
  const startRead = (k: number) => {
    const c = chunks[k];
    if (!c) return;
    const got = readFully(target, ring[k % RING]!.subarray(0, c.length), c.at, 'verify');
    const wanted = c.range.kind === 'data' ? readImage(image, want[k % RING]!.subarray(0, c.length), c.at, imagePath) : Promise.resolve();
    reads[k] = later(Promise.all([got, wanted]));
  };
  onProgress?.('verify', 0, total);
  for (let k = 0; k < RING - 1; k++) startRead(k);
  let done = 0;
  try {
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k]!;
      await reads[k];
      reads[k] = undefined;
      const got = ring[k % RING]!.subarray(0, c.length);
      const expected = c.range.kind === 'data' ? want[k % RING]!.subarray(0, c.length) : zero.subarray(0, c.length);
      if (!got.equals(expected)) {
        await Promise.allSettled(reads.filter((p) => p !== undefined));
        throw await mismatchAt(image, imagePath, target, c, got, expected);
      }
      startRead(k + RING - 1);
      done += c.length;
      onProgress?.('verify', done, total);
    }
  } finally {
    await Promise.allSettled(reads.filter((p) => p !== undefined));
  }
}

/** The error for a chunk that read back wrong: first differing byte, both hashes of the range, and whether a re-read agrees. */
async function mismatchAt(image: FileHandle, imagePath: string, target: FlashTarget, c: Chunk, got: Buffer, expected: Buffer): Promise<VerifyMismatchError> {
  let i = 0;
  while (i < got.length && got[i] === expected[i]) i++;
  const r = c.range;
  const buf = await target.allocate(Math.min(r.length, DEFAULT_CHUNK));
  const imageBuf = Buffer.allocUnsafe(buf.length);
  const want = createHash('sha256');
  const actual = createHash('sha256');
  let again = true;
  for (let off = 0; off < r.length; off += buf.length) {
    const n = Math.min(buf.length, r.length - off);
    const w = imageBuf.subarray(0, n);
    if (r.kind === 'zero') w.fill(0);
    else await readImage(image, w, r.start + off, imagePath);
    const g = buf.subarray(0, n);
    await readFully(target, g, r.start + off, 'verify');
    want.update(w);
    actual.update(g);
    if (!g.equals(w)) again = false;
  }
  // a range that reads back right the second time is still a failure: the stick is unreliable
  return new VerifyMismatchError(c.at + i, r, want.digest('hex'), actual.digest('hex'), got[i], expected[i], !again);
}
