/**
 * The USB image's block map: the ranges of the image that hold data (4 KiB aligned, at most 32 MiB long, each with
 * its SHA-256); everything outside them is zero. The writer (src/util/sequential-writer.ts) records the ranges on
 * the way through; the functions here rebuild a map from an image that a tool changed afterwards. Flashing writes
 * and verifies only the mapped ranges.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { HashPool, sharedBuffer } from '../util/hash-pool.js';
import { BLOCK_SIZE, MAX_RANGE_LENGTH } from '../util/sequential-writer.js';

export { BLOCK_SIZE, MAX_RANGE_LENGTH };
const BUFFER_SIZE = 4 * 2 ** 20;
/** mapRanges reads in chunks of this size (4 MiB: ~10% faster than 1 MiB, fewer round trips to the I/O threads and the hash workers). */
const RING_CHUNK_BYTES = 4 * 2 ** 20;

/** One mapped region of the image: bytes [start, start + length) with their SHA-256 (lowercase hex). */
export interface BlockMapRange {
  start: number;
  length: number;
  sha256: string;
}

/**
 * The block map of an image (in the spirit of bmap): the ranges holding data; everything outside them is zero.
 * `mappedBytes` is the sum of the range lengths.
 */
export interface BlockMap {
  format: 'lifeboat-blockmap';
  version: 1;
  imageSize: number;
  blockSize: typeof BLOCK_SIZE;
  mappedBytes: number;
  ranges: BlockMapRange[];
}

/** The block map as stable, pretty JSON (what the build writes next to the image). */
export function serializeBlockMap(map: BlockMap): string {
  return `${JSON.stringify(map, null, 2)}\n`;
}

/** The block map of an image of `imageSize` bytes from the ranges the writer recorded. */
export function blockMapOf(imageSize: number, ranges: BlockMapRange[]): BlockMap {
  return {
    format: 'lifeboat-blockmap', version: 1, imageSize, blockSize: BLOCK_SIZE,
    mappedBytes: ranges.reduce((sum, r) => sum + r.length, 0), ranges,
  };
}

const ZERO_BLOCK = Buffer.alloc(1 << 20);

function feedZeros(hash: Hash, count: number): void {
  let left = count;
  while (left > 0) {
    const n = Math.min(left, ZERO_BLOCK.length);
    hash.update(ZERO_BLOCK.subarray(0, n));
    left -= n;
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / BLOCK_SIZE) * BLOCK_SIZE;
}

/**
 * Rebuilds the block map by reading an image (after a tool such as syslinux changed it), and hashes the whole image
 * in the same pass. Runs of non-zero blocks are hashed with one update per run, not per block.
 */
export async function scanBlockMap(path: string): Promise<BlockMap & { imageSha256: string }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const chunk = Buffer.allocUnsafe(BUFFER_SIZE);
    const whole = createHash('sha256');
    const ranges: BlockMapRange[] = [];
    let cur: { start: number; hash: Hash; length: number } | undefined;
    const end = () => {
      if (cur) ranges.push({ start: cur.start, length: cur.length, sha256: cur.hash.digest('hex') });
      cur = undefined;
    };
    for (let pos = 0; pos < size; ) {
      const want = Math.min(BUFFER_SIZE, size - pos);
      const { bytesRead } = await fh.read(chunk, 0, want, pos);
      if (bytesRead <= 0) throw new Error(`short read at ${pos} of ${path}`);
      const data = chunk.subarray(0, bytesRead);
      whole.update(data);
      let runStart = -1;
      const flushRun = (until: number) => {
        if (runStart >= 0) cur!.hash.update(data.subarray(runStart, until));
        runStart = -1;
      };
      for (let off = 0; off < bytesRead; off += BLOCK_SIZE) {
        const blockEnd = Math.min(off + BLOCK_SIZE, bytesRead);
        if (isZero(data.subarray(off, blockEnd))) {
          flushRun(off);
          end();
          continue;
        }
        if (cur && cur.length >= MAX_RANGE_LENGTH) {
          flushRun(off);
          end();
        }
        if (!cur) cur = { start: pos + off, hash: createHash('sha256'), length: 0 };
        if (runStart < 0) runStart = off;
        cur.length += blockEnd - off;
      }
      flushRun(bytesRead);
      pos += bytesRead;
    }
    end();
    return { ...blockMapOf(size, ranges), imageSha256: whole.digest('hex') };
  } finally {
    await fh.close();
  }
}

/**
 * A block map over given ranges of an image (merged, block-aligned, split at MAX_RANGE_LENGTH), hashed by reading
 * them, with the whole image's SHA-256 from the same pass (the gaps between ranges must be zeros: free space that
 * was never written). Unlike `scanBlockMap`, a zero block inside a range stays mapped: a file's zero blocks and
 * the free tail of the FATs must be written to a used stick too. Both hashes run on worker threads (the image's on
 * one, the ranges' on another) while this thread reads ahead into shared buffers.
 */
export async function mapRanges(path: string, wanted: readonly { start: number; length: number }[]): Promise<BlockMap & { imageSha256: string }> {
  const fh = await open(path, 'r');
  const pool = new HashPool(2);
  try {
    const { size } = await fh.stat();
    const merged: { start: number; end: number }[] = [];
    for (const r of [...wanted].sort((a, b) => a.start - b.start)) {
      const start = Math.floor(r.start / BLOCK_SIZE) * BLOCK_SIZE;
      const end = Math.min(size, alignUp(r.start + r.length));
      const last = merged.at(-1);
      if (last && start <= last.end) last.end = Math.max(last.end, end);
      else if (end > start) merged.push({ start, end });
    }
    const whole = pool.hash();
    const buffers = new ChunkRing(4, RING_CHUNK_BYTES);
    const ranges: { start: number; length: number; sha256: Promise<string> }[] = [];
    const zeros: Promise<void>[] = [];
    const feedWholeZeros = (count: number) => {
      for (let left = count; left > 0; left -= SHARED_ZEROS.length) zeros.push(handled(whole.update(SHARED_ZEROS.subarray(0, Math.min(left, SHARED_ZEROS.length)))));
    };
    let pos = 0;
    for (const m of merged) {
      feedWholeZeros(m.start - pos);
      for (let start = m.start; start < m.end; start += MAX_RANGE_LENGTH) {
        const end = Math.min(m.end, start + MAX_RANGE_LENGTH);
        const hash = pool.hash();
        for (let at = start; at < end; ) {
          const chunk = await buffers.next();
          const { bytesRead } = await fh.read(chunk, 0, Math.min(RING_CHUNK_BYTES, end - at), at);
          if (bytesRead <= 0) throw new Error(`short read at ${at} of ${path}`);
          const data = chunk.subarray(0, bytesRead);
          buffers.busyUntil(Promise.all([hash.update(data), whole.update(data)]));
          at += bytesRead;
        }
        ranges.push({ start, length: end - start, sha256: handled(hash.digest()) });
      }
      pos = m.end;
    }
    feedWholeZeros(size - pos);
    await Promise.all(zeros);
    const hashed = await Promise.all(ranges.map(async (r) => ({ start: r.start, length: r.length, sha256: await r.sha256 })));
    return { ...blockMapOf(size, hashed), imageSha256: await whole.digest() };
  } finally {
    await pool.close();
    await fh.close();
  }
}

/** `p`, marked as handled: it is awaited later, and an error path that never gets there must not crash the process. */
function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Zeros in shared memory, hashed in place by the pool (never written to). */
const SHARED_ZEROS = sharedBuffer(1 << 20);

/** Buffers in shared memory used in turn: the next one is handed out once the hashing of its last contents is done. */
class ChunkRing {
  private readonly buffers: Buffer[];
  private readonly busy: Promise<unknown>[];
  private turn = 0;

  constructor(count: number, bytes: number) {
    this.buffers = Array.from({ length: count }, () => sharedBuffer(bytes));
    this.busy = this.buffers.map(() => Promise.resolve());
  }

  async next(): Promise<Buffer> {
    const i = this.turn % this.buffers.length;
    await this.busy[i];
    return this.buffers[i]!;
  }

  /** The buffer `next` gave last is in use until `done` settles. */
  busyUntil(done: Promise<unknown>): void {
    this.busy[this.turn % this.buffers.length] = handled(done);
    this.turn++;
  }
}

function isZero(b: Buffer): boolean {
  // compare against a zero buffer of the same length (memcmp speed)
  return b.equals(ZERO_BLOCK.subarray(0, b.length));
}
