/**
 * Writing an image to a target and proving it. The plan is the block map's ranges, plus zero-fill where stale data
 * would matter (scanned maps only). The write pass is a pipeline: image chunks are read ahead into a small ring of
 * buffers while the current chunk is hashed (SHA-256, checked against the map: the only hash pass) and the previous
 * one is being written; the target is flushed every few chunks and once at the end. The read-back pass runs beside
 * it: every planned chunk, once a flush has made it durable (checkpoints.ts), is read from the target (O_DIRECT
 * where possible) and compared byte for byte with the image's bytes, still in their write buffer (or with zeros), so
 * the image is read once; it was proven against its map while writing, so equal bytes prove the stick. Any error ends the job with a typed error (the
 * first one, from either pass); nothing returns normally after one.
 */
import { createHash } from 'node:crypto';
import { HashPool, type PooledHash } from '../../util/hash-pool.js';
import { open, type FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { BLOCK_SIZE, type BlockMap } from '../block-map.js';
import { BlockMapMismatchError, ShortReadError, ShortWriteError, VerifyMismatchError, targetError, type FlashPhase } from './errors.js';
import { fatUsage, uncovered } from './fat-usage.js';
import { Checkpoints } from './checkpoints.js';
import { Frontier } from '../../util/frontier.js';
import type { FlashTarget } from './target.js';

export { loadBlockMap, validateBlockMap, type LoadedBlockMap } from './map-file.js';

const MIB = 2 ** 20;
/** Bytes per write: large enough for full USB transfer batches, small enough to keep a few in memory. */
export const DEFAULT_CHUNK = 4 * MIB;
/**
 * Chunks written between two flushes (32 MiB at the default size): a chunk is read back only after a flush, so this
 * bounds how far the read-back trails the writing; each flush costs the stick a cache commit (measured on a 2-core VM:
 * 8 or 16 MiB between flushes made the whole job slower than 32 MiB).
 */
const CHECKPOINT_CHUNKS = 8;
/**
 * Buffers of image data (72 MiB at the default size): being read ahead, hashed (on the pool), written, waiting for a
 * flush and for the read-back to compare them. More than two checkpoints' worth, so the writer does not wait for the
 * read-back, and never for a flush that only its own next writes would start (no deadlock: RING - 1 >= CHECKPOINT_CHUNKS).
 */
const RING = 2 * CHECKPOINT_CHUNKS + 2;
/**
 * Image reads under way at once. They share Node's few I/O threads with the writes, the flushes and the read-back:
 * a burst of reads queued ahead (the whole ring at the start) would hold back the first writes.
 */
const IMAGE_READS = 2;
/** Read-back buffers: one being compared, the others read ahead. */
const VERIFY_RING = 3;

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
  /** The final flush, after the last write. */
  flushMs: number;
  /** From the first read-back (beside the writing) to the last comparison. */
  verifyMs: number;
  /** The part of the read-back left after the final flush. */
  verifyAfterFlushMs: number;
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
 * Writes the plan's ranges from `imagePath` to `target`, flushes, reads every range back and compares. The read-back
 * of a chunk starts as soon as a flush has made it durable (checkpoints.ts), while later chunks are still being
 * written; progress is reported for the writing first, then for the rest of the read-back.
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
  // one allocation cut into chunk-sized buffers: a direct-I/O target finds an aligned address once (a probing read
  // each), and the cuts stay aligned because the chunk size is a multiple of the block size
  // (a chunk of zeros only when the plan zero-fills: filling it touches every page of it before the first write)
  const zeroFill = chunks.some((c) => c.range.kind === 'zero');
  const buffers = await target.allocate(chunk * (RING + VERIFY_RING + (zeroFill ? 1 : 0)));
  const cut = (i: number) => buffers.subarray(i * chunk, (i + 1) * chunk);
  const ring = Array.from({ length: RING }, (_, i) => cut(i));
  const readBack = Array.from({ length: VERIFY_RING }, (_, i) => cut(RING + i));
  const zero = zeroFill ? cut(RING + VERIFY_RING).fill(0) : Buffer.alloc(0);
  const verified = new Frontier();
  const endOf = (count: number) => (count === 0 ? 0 : chunks[count - 1]!.at + chunks[count - 1]!.length);
  const job = new Checkpoints(target, CHECKPOINT_CHUNKS, endOf, (e) => verified.fail(e));
  const image = await open(imagePath, 'r');
  try {
    // progress: the writing first; the read-back running beside it is reported once the writing is done
    let written = false;
    let verifiedBytes = 0;
    const onVerified = (k: number) => {
      verified.advanceTo(k + 1);
      verifiedBytes += chunks[k]!.length;
      if (written) opts.onProgress?.('verify', verifiedBytes, total);
    };
    const t0 = performance.now();
    let t1 = t0;
    let t2 = t0;
    const writing = (async () => {
      await writePass(image, imagePath, target, chunks, ring, zero, job, verified, total, opts.onProgress);
      t1 = performance.now();
      await job.finish();
      t2 = performance.now();
      written = true;
      opts.onProgress?.('verify', verifiedBytes, total);
    })().catch((e: unknown) => job.fail(e));
    const verifying = verifyPass(image, imagePath, target, chunks, ring, readBack, zero, job, onVerified).catch((e: unknown) => job.fail(e));
    const [, verifyStart] = await Promise.all([writing, verifying]);
    if (job.failed) throw job.failure;
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
      verifyMs: t3 - (verifyStart ?? t2),
      verifyAfterFlushMs: t3 - t2,
      directWrite: target.directWrite,
      directRead: target.directRead,
    };
  } finally {
    await image.close();
  }
}

/**
 * Chunk k is read from the image into ring[k % RING] and stays there until the verify pass has compared it with
 * the read-back (so the image is read once). Its SHA-256 runs on the hash pool (one worker thread, one stream per
 * range) while it is written; the buffer is read into again (for chunk k + RING) once it is hashed and verified.
 * Each returned write is reported to `job`, which flushes every few chunks. A range's digest is compared when the
 * pool has it; the pass ends only after every comparison. Stops at the job's first failure.
 */
async function writePass(
  image: FileHandle, imagePath: string, target: FlashTarget, chunks: readonly Chunk[], ring: readonly Buffer[], zero: Buffer,
  job: Checkpoints, verified: Frontier, total: number, onProgress?: FlashProgress,
): Promise<void> {
  // one hash worker keeps up with any stick (SHA-256 runs at over 1 GB/s) and leaves the other core to the
  // kernel's copies and the I/O threads: measured faster than one worker per core on two cores
  const pool = new HashPool(1);
  const reads: (Promise<void> | undefined)[] = [];
  const hashing: (Promise<void> | undefined)[] = [];
  /** Per buffer: the last data chunk read into it (-1: none yet). */
  const lastIn: number[] = ring.map(() => -1);
  const digests: Promise<void>[] = [];
  let mismatch: BlockMapMismatchError | undefined;
  /** Per buffer: its last image read. A read starts once the one IMAGE_READS chunks earlier has ended. */
  const readIn: (Promise<void> | undefined)[] = ring.map(() => undefined);
  const startRead = (k: number) => {
    const c = chunks[k];
    if (!c || c.range.kind !== 'data') return;
    const slot = k % RING;
    const hashed = hashing[slot];
    const previous = lastIn[slot]!;
    lastIn[slot] = k;
    const into = ring[slot]!.subarray(0, c.length);
    const before = readIn[(k - IMAGE_READS + RING) % RING];
    reads[k] = readIn[slot] = later((async () => {
      await before?.catch(() => undefined);
      await hashed;
      if (previous >= 0) await verified.reached(previous);
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
      if (job.failed) throw job.failure;
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
        job.wrote(k - 1);
        done += chunks[k - 1]!.length;
        onProgress?.('write', done, total);
      }
      startRead(k + RING - 1); // into the buffer of chunk k - 1, once it is hashed and verified
      // a failed write is the job's failure at once, before a read-back can fail on the stick it broke
      writing = later(writeFully(target, data, c.at).catch((e: unknown) => {
        job.fail(e);
        throw e;
      }));
    }
    if (writing) {
      await writing;
      writing = undefined;
      job.wrote(chunks.length - 1);
      done += chunks.at(-1)!.length;
      onProgress?.('write', done, total);
    }
    await Promise.all(digests);
    if (mismatch) throw mismatch;
  } catch (e) {
    job.fail(e); // first: the cleanup below may wait for reads that wait for the read-back, which waits for flushes
    throw e;
  } finally {
    // nothing may still use a buffer or the image handle when this returns
    await Promise.allSettled([writing, ...reads, ...hashing, ...digests].filter((p) => p !== undefined));
    await pool.close();
  }
}

/**
 * Reads chunk k back from the target into readBack[k % VERIFY_RING] once a flush has made it durable (see
 * checkpoints.ts), VERIFY_RING - 1 chunks ahead, and compares it with the image's bytes still in the write ring
 * (or with zeros), as views without copies; a mismatch is located and re-read once (VerifyMismatchError). Resolves
 * with the time the first read-back started. Stops at the job's first failure.
 */
async function verifyPass(
  image: FileHandle, imagePath: string, target: FlashTarget, chunks: readonly Chunk[], ring: readonly Buffer[], readBack: readonly Buffer[],
  zero: Buffer, job: Checkpoints, onVerified: (chunk: number) => void,
): Promise<number | undefined> {
  const reads: (Promise<void> | undefined)[] = [];
  let started: number | undefined;
  const startRead = (k: number) => {
    const c = chunks[k];
    if (!c) return;
    const into = readBack[k % VERIFY_RING]!.subarray(0, c.length);
    reads[k] = later((async () => {
      await job.flushed.reached(k);
      started ??= performance.now();
      await readFully(target, into, c.at, 'verify');
    })().catch((e: unknown) => {
      // recorded at once (the first failure wins): a stick that vanished under the read-back is reported as such
      job.fail(e);
      throw e;
    }));
  };
  for (let k = 0; k < VERIFY_RING - 1; k++) startRead(k);
  try {
    for (let k = 0; k < chunks.length; k++) {
      const c = chunks[k]!;
      await reads[k];
      reads[k] = undefined;
      const got = readBack[k % VERIFY_RING]!.subarray(0, c.length);
      // a data chunk is still in its write buffer: the writer reuses that only after onVerified(k)
      const expected = (c.range.kind === 'data' ? ring[k % RING]! : zero).subarray(0, c.length);
      // reads ahead may go on meanwhile: they use other buffers, and chunk k stays in its write buffer until verified
      if (!got.equals(expected)) throw await mismatchAt(image, imagePath, target, c, got, expected);
      startRead(k + VERIFY_RING - 1);
      onVerified(k);
    }
    return started;
  } catch (e) {
    job.fail(e); // first: reads ahead may be waiting for flushes that a stopped writer will not make
    throw e;
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
