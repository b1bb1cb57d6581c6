/**
 * Sequential image writing with a block map. The image file is created at its full size (sparse: every byte not
 * written reads as zero); data is written strictly in ascending order through a double-buffered 4 MiB writer, and
 * every written region becomes a block-map range (4 KiB aligned, at most 32 MiB long) whose SHA-256 is computed on
 * the way through. Flashing writes and verifies only those ranges.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/** Granularity of the block map: every range starts and ends on a multiple of it. */
export const BLOCK_SIZE = 4096;
/** Ranges are cut at this length so a read-back mismatch is located to within 32 MiB. */
export const MAX_RANGE_LENGTH = 32 * 2 ** 20;
const BUFFER_SIZE = 4 * 2 ** 20;

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

export interface ImageWriterOptions {
  /** Also hash the whole image (zeros of the gaps included); costs one more SHA-256 pass over the data. */
  hashImage?: boolean;
  /** Called after every buffer is handed to the file with the bytes written so far (zero padding included). */
  onFlush?: (writtenBytes: number) => void;
}

/**
 * Writes an image of a fixed size front to back. `seek` moves forward (never back); gaps of a whole block or more
 * are left unwritten (sparse zeros), shorter gaps are filled with zeros so ranges stay block aligned.
 */
export class ImageWriter {
  private buf = Buffer.allocUnsafe(BUFFER_SIZE);
  private spare = Buffer.allocUnsafe(BUFFER_SIZE);
  private bufLen = 0;
  /** File offset of buf[0]. */
  private bufStart = 0;
  private pending: Promise<unknown> | undefined;
  private range: { start: number; hash: Hash } | undefined;
  private readonly ranges: BlockMapRange[] = [];
  private readonly imageHash: Hash | undefined;
  /** End of the last byte fed to the image hash. */
  private hashedTo = 0;
  private written = 0;
  private finished = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly imageSize: number,
    private readonly options: ImageWriterOptions,
  ) {
    this.imageHash = options.hashImage ? createHash('sha256') : undefined;
  }

  /**
   * Prepares `fh` (an open, writable handle) to receive an image of `imageSize` bytes: truncates it to zero and
   * then to the full size, so every byte not written later reads as zero.
   */
  static async create(fh: FileHandle, imageSize: number, options: ImageWriterOptions = {}): Promise<ImageWriter> {
    if (!Number.isSafeInteger(imageSize) || imageSize % BLOCK_SIZE !== 0) throw new RangeError(`bad image size ${imageSize}`);
    await fh.truncate(0);
    await fh.truncate(imageSize);
    return new ImageWriter(fh, imageSize, options);
  }

  /** Current write position. */
  get position(): number {
    return this.bufStart + this.bufLen;
  }

  /** Moves to `offset` (>= position). */
  async seek(offset: number): Promise<void> {
    const pos = this.position;
    if (offset < pos) throw new Error(`ImageWriter: seek back from ${pos} to ${offset}`);
    if (offset === pos) return;
    if (this.range && alignUp(pos) >= offset) {
      await this.zeros(offset - pos);
      return;
    }
    await this.closeRange();
    const start = alignDown(offset);
    this.bufStart = start;
    this.bufLen = 0;
    this.range = { start, hash: createHash('sha256') };
    await this.zeros(offset - start);
  }

  /** Writes `data` at the current position. */
  async write(data: Uint8Array): Promise<void> {
    if (this.finished) throw new Error('ImageWriter: write after finish');
    this.ensureRange();
    if (this.position + data.length > this.imageSize) {
      throw new Error(`ImageWriter: write beyond the image end (${this.position} + ${data.length} > ${this.imageSize})`);
    }
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, BUFFER_SIZE - this.bufLen);
      this.buf.set(data.subarray(off, off + n), this.bufLen);
      this.bufLen += n;
      off += n;
      if (this.bufLen === BUFFER_SIZE) await this.flush();
    }
  }

  /** Writes `count` zero bytes. */
  async zeros(count: number): Promise<void> {
    this.ensureRange();
    let left = count;
    while (left > 0) {
      const n = Math.min(left, BUFFER_SIZE - this.bufLen);
      this.buf.fill(0, this.bufLen, this.bufLen + n);
      this.bufLen += n;
      left -= n;
      if (this.bufLen === BUFFER_SIZE) await this.flush();
    }
  }

  /** Flushes everything, waits for the writes and returns the block map (and the image hash when asked for). */
  async finish(): Promise<{ blockMap: BlockMap; imageSha256?: string }> {
    await this.closeRange();
    await this.pending;
    this.pending = undefined;
    this.finished = true;
    let imageSha256: string | undefined;
    if (this.imageHash) {
      feedZeros(this.imageHash, this.imageSize - this.hashedTo);
      this.hashedTo = this.imageSize;
      imageSha256 = this.imageHash.digest('hex');
    }
    const mappedBytes = this.ranges.reduce((sum, r) => sum + r.length, 0);
    const blockMap: BlockMap = {
      format: 'lifeboat-blockmap',
      version: 1,
      imageSize: this.imageSize,
      blockSize: BLOCK_SIZE,
      mappedBytes,
      ranges: this.ranges,
    };
    return imageSha256 === undefined ? { blockMap } : { blockMap, imageSha256 };
  }

  /** Opens a range at the current (block-aligned) position when none is open. */
  private ensureRange(): void {
    if (this.range) return;
    if (this.bufLen !== 0 || this.bufStart % BLOCK_SIZE !== 0) throw new Error('ImageWriter: unaligned range start');
    this.range = { start: this.bufStart, hash: createHash('sha256') };
  }

  /** Pads the open range to a block boundary, writes it out and records it. */
  private async closeRange(): Promise<void> {
    if (!this.range) return;
    const pad = alignUp(this.position) - this.position;
    if (pad > 0) await this.zeros(pad);
    await this.flush();
    this.endRange();
  }

  private endRange(): void {
    const r = this.range;
    if (!r) return;
    const end = this.position;
    if (end > r.start) this.ranges.push({ start: r.start, length: end - r.start, sha256: r.hash.digest('hex') });
    this.range = undefined;
  }

  /** Hands the buffer to the file (at most one write in flight) and swaps to the spare buffer. */
  private async flush(): Promise<void> {
    if (this.bufLen === 0) return;
    const r = this.range;
    if (!r) throw new Error('ImageWriter: data outside a range');
    const data = this.buf.subarray(0, this.bufLen);
    r.hash.update(data);
    if (this.imageHash) {
      feedZeros(this.imageHash, this.bufStart - this.hashedTo);
      this.imageHash.update(data);
      this.hashedTo = this.bufStart + this.bufLen;
    }
    await this.pending; // the spare buffer is free again once the previous write is done
    const start = this.bufStart;
    const length = this.bufLen;
    const fh = this.fh;
    this.pending = writeFully(fh, data, start);
    // a rejected pending write must not become an unhandled rejection before the next await picks it up
    this.pending.catch(() => undefined);
    [this.buf, this.spare] = [this.spare, this.buf];
    this.bufStart = start + length;
    this.bufLen = 0;
    this.written += length;
    this.options.onFlush?.(this.written);
    if (this.position - r.start >= MAX_RANGE_LENGTH && this.position % BLOCK_SIZE === 0) {
      this.endRange();
      this.range = { start: this.position, hash: createHash('sha256') };
    }
  }
}

async function writeFully(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, position + off);
    if (bytesWritten <= 0) throw new Error(`short write at offset ${position + off}`);
    off += bytesWritten;
  }
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

function alignDown(n: number): number {
  return Math.floor(n / BLOCK_SIZE) * BLOCK_SIZE;
}

/**
 * Builds a block map by reading an existing image and mapping every block that is not all zeros (adjacent blocks
 * merged, ranges cut at 32 MiB). For images changed after they were built (e.g. by a boot-code installer).
 */
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
    return {
      format: 'lifeboat-blockmap',
      version: 1,
      imageSize: size,
      blockSize: BLOCK_SIZE,
      mappedBytes: ranges.reduce((s, r) => s + r.length, 0),
      ranges,
      imageSha256: whole.digest('hex'),
    };
  } finally {
    await fh.close();
  }
}

/**
 * A block map over given ranges of an image (merged, block-aligned, split at MAX_RANGE_LENGTH), hashed by reading
 * them, with the whole image's SHA-256 from the same pass (the gaps between ranges must be zeros: free space that
 * was never written). Unlike `scanBlockMap`, a zero block inside a range stays mapped: a file's zero blocks and
 * the free tail of the FATs must be written to a used stick too.
 */
export async function mapRanges(path: string, wanted: readonly { start: number; length: number }[]): Promise<BlockMap & { imageSha256: string }> {
  const fh = await open(path, 'r');
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
    const whole = createHash('sha256');
    const chunk = Buffer.allocUnsafe(BUFFER_SIZE);
    const ranges: BlockMapRange[] = [];
    let pos = 0;
    for (const m of merged) {
      feedZeros(whole, m.start - pos);
      for (let start = m.start; start < m.end; start += MAX_RANGE_LENGTH) {
        const end = Math.min(m.end, start + MAX_RANGE_LENGTH);
        const hash = createHash('sha256');
        for (let at = start; at < end; ) {
          const { bytesRead } = await fh.read(chunk, 0, Math.min(BUFFER_SIZE, end - at), at);
          if (bytesRead <= 0) throw new Error(`short read at ${at} of ${path}`);
          hash.update(chunk.subarray(0, bytesRead));
          whole.update(chunk.subarray(0, bytesRead));
          at += bytesRead;
        }
        ranges.push({ start, length: end - start, sha256: hash.digest('hex') });
      }
      pos = m.end;
    }
    feedZeros(whole, size - pos);
    return {
      format: 'lifeboat-blockmap', version: 1, imageSize: size, blockSize: BLOCK_SIZE,
      mappedBytes: ranges.reduce((s, r) => s + r.length, 0), ranges, imageSha256: whole.digest('hex'),
    };
  } finally {
    await fh.close();
  }
}

function isZero(b: Buffer): boolean {
  // compare against a zero buffer of the same length (memcmp speed)
  return b.equals(ZERO_BLOCK.subarray(0, b.length));
}
