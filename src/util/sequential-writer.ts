/**
 * The one writer behind every image Lifeboat makes (the ISO and the USB image). Output is written strictly front to
 * back into a file pre-sized to its final length, so anything not written reads as zero:
 *
 * - small structures are gathered in a 4 MiB buffer, written while the other of two buffers fills;
 * - large file regions are copied with two buffers, reading the next chunk while the previous one is written;
 * - small file regions are read ahead (up to 64 files, 8 MiB) in the order the caller announced with `expect`, so
 *   thousands of small files do not each pay their open/read latency in turn;
 * - chunks that are all zeros are not written (the pre-sized file already reads as zero there);
 * - on the way through, optionally, the SHA-256 of the whole output and a block map: the written ranges (block
 *   aligned, at most 32 MiB each) with a SHA-256 each, so a flasher can write and verify only those;
 * - optionally (`writeBehindBytes`), the output is sent to disk while it is written: an fdatasync starts in the
 *   background after every so many bytes, so the disk works alongside instead of all of it waiting for one flush
 *   at the end (a flush's failure is reported by `finish`, which waits for the last one).
 *
 * Every byte reaches `emit` once and in order; that is what makes the hashes right. Errors are IoErrors that name
 * the file: an input that shrank while it was copied is 'source-changed', whatever the image.
 */
import { type Hash, createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { inputError, outputError, sourceChanged } from './io-errors.js';

/** Granularity of the block map: every range starts and ends on a multiple of it. */
export const BLOCK_SIZE = 4096;
/** Ranges are cut at this length so a read-back mismatch is located to within 32 MiB. */
export const MAX_RANGE_LENGTH = 32 * 2 ** 20;
const BUFFER_BYTES = 4 << 20;
/** How much is written between write-behind flushes where a caller asks for them (`writeBehind: true`). */
export const WRITE_BEHIND_BYTES = 64 << 20;
const ZEROS = Buffer.alloc(BUFFER_BYTES);
/** Chunk of a large copy. */
const COPY_BYTES = 1 << 20;
/** Regions up to this size are read whole into the gather buffer (and read ahead). */
const SMALL_REGION_BYTES = 1 << 20;
const READ_AHEAD_REGIONS = 64;
const READ_AHEAD_BYTES = 8 << 20;

/** Bytes of a file on disk: the listed extents, in order (a whole host file is one extent from 0). */
export interface FileRegion {
  path: string;
  extents: readonly { offset: number; length: number }[];
  size: number;
}

/** A whole file of `size` bytes. */
export function wholeFile(path: string, size: number): FileRegion {
  return { path, extents: size > 0 ? [{ offset: 0, length: size }] : [], size };
}

/** One written range of the output with the SHA-256 of its bytes (lowercase hex). */
export interface WrittenRange {
  start: number;
  length: number;
  sha256: string;
}

export interface SequentialWriterOptions {
  /** How the output is named in messages. */
  name: string;
  /** Compute the SHA-256 of the whole output (gaps as zeros). */
  hashOutput?: boolean;
  /** Record the written ranges with their hashes (a block map). */
  mapRanges?: boolean;
  /** With mapRanges: hash each range (default true); false records where the ranges are, with empty hashes. */
  hashRanges?: boolean;
  /** Called after every chunk handed to the file, with the bytes handed over so far (gaps not counted). */
  onWritten?: (bytes: number) => void;
  /** Start an fdatasync in the background after every this many bytes handed over (one at a time). */
  writeBehindBytes?: number;
  /** Called as the output is written: every byte below `offset` is in place (gaps read as zeros). */
  onWrittenThrough?: (offset: number) => void;
  /**
   * Resolves once bytes [0, end) of input `path` may be read: an input still being written by someone else (the
   * build's USB image is copied from the ISO while the ISO is written) is read only behind its writer.
   */
  inputReady?: (path: string, end: number) => Promise<void>;
}

export interface WriterResult {
  sha256?: string;
  ranges?: WrittenRange[];
}

export class SequentialWriter {
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** The other gather buffer: being written while `buffer` fills. */
  private spare = Buffer.allocUnsafe(BUFFER_BYTES);
  private fill = 0;
  /** Output offset of buffer[0]. */
  private bufferStart = 0;
  /** The write in flight (at most one), and its failure once it failed. */
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;
  private readonly copyBuffers = [Buffer.allocUnsafe(BUFFER_BYTES), Buffer.allocUnsafe(BUFFER_BYTES)];
  private readonly outputHash: Hash | undefined;
  /** End of what was hashed and handed over (every byte before it is accounted for). */
  private emitted = 0;
  private handedOver = 0;
  /** The background fdatasync in flight (write-behind), and where the next one is due. */
  private writeBehind: Promise<void> | undefined;
  private writeBehindDue: number;
  private range: { start: number; hash: Hash | undefined } | undefined;
  private readonly ranges: WrittenRange[] = [];
  private readonly inputs = new Map<string, Promise<FileHandle>>();
  private queue: readonly FileRegion[] = [];
  private queueNext = 0;
  /** Small regions read ahead, in write order, each in a slice of one reused arena (a ring consumed in order). */
  private readonly ahead: { region: FileRegion; offset: number; read: Promise<void> }[] = [];
  private readonly arena = Buffer.allocUnsafe(READ_AHEAD_BYTES);
  private arenaHead = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly options: SequentialWriterOptions,
  ) {
    this.outputHash = options.hashOutput ? createHash('sha256') : undefined;
    this.writeBehindDue = options.writeBehindBytes ?? Infinity;
  }

  /** Sizes `fh` (open for writing) to exactly `size` zero bytes and returns a writer positioned at 0. */
  static async create(fh: FileHandle, size: number, options: SequentialWriterOptions): Promise<SequentialWriter> {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad output size ${size}`);
    try {
      await fh.truncate(0);
      await fh.truncate(size);
    } catch (e) {
      throw outputError(options.name, e);
    }
    return new SequentialWriter(fh, size, options);
  }

  get position(): number {
    return this.bufferStart + this.fill;
  }

  async write(data: Uint8Array): Promise<void> {
    if (this.position + data.length > this.size) throw new Error(`layout error: write past the end of ${this.options.name}`);
    this.openRange();
    for (let o = 0; o < data.length; ) {
      const n = Math.min(data.length - o, BUFFER_BYTES - this.fill);
      this.buffer.set(data.subarray(o, o + n), this.fill);
      this.fill += n;
      o += n;
      if (this.fill === BUFFER_BYTES) await this.flush();
    }
  }

  /** Zero-fills up to `offset`; the zeros are part of the output's ranges. */
  async padTo(offset: number): Promise<void> {
    if (offset < this.position) throw new Error(`layout error: writer at ${this.position} is past ${offset}`);
    while (this.position < offset) await this.write(ZEROS.subarray(0, Math.min(BUFFER_BYTES, offset - this.position)));
  }

  /**
   * Moves forward to `offset`, leaving a gap that is not written. With a block map, a gap shorter than the rest of
   * the current block is zero-filled instead, so every range stays block aligned.
   */
  async skipTo(offset: number): Promise<void> {
    const pos = this.position;
    if (offset < pos) throw new Error(`layout error: writer at ${pos} cannot skip back to ${offset}`);
    if (offset === pos) return;
    if (!this.options.mapRanges) {
      await this.flush();
      this.bufferStart = offset;
      return;
    }
    if (this.range && alignUp(pos) >= offset) return this.padTo(offset);
    await this.closeRange();
    this.bufferStart = alignDown(offset);
    await this.padTo(offset);
  }

  /** Announces the regions that will be copied, in order, so small ones can be read ahead. */
  expect(regions: readonly FileRegion[]): void {
    this.queue = regions;
    this.queueNext = 0;
    this.readAhead();
  }

  /** Copies a file region at the current position. `into` names the image in a message about the input. */
  async copy(region: FileRegion): Promise<void> {
    if (region.size === 0) return;
    this.openRange();
    if (region.size <= SMALL_REGION_BYTES) return this.copySmall(region);
    await this.flush();
    await this.withInput(region, async (input) => {
      let i = 0;
      let done = 0;
      for (const extent of region.extents) {
        for (let at = 0; at < extent.length; i++) {
          const chunk = this.copyBuffers[i % 2]!;
          const want = Math.min(COPY_BYTES, extent.length - at);
          await this.options.inputReady?.(region.path, extent.offset + at + want);
          const got = await readFully(input, chunk.subarray(0, want), extent.offset + at, region.path);
          if (got < want) throw sourceChanged(region.path, done + got, region.size, this.options.name);
          await this.emit(chunk.subarray(0, want));
          at += want;
          done += want;
        }
      }
      await this.settle();
    });
  }

  /** Writes out everything, checks nothing is missing and returns the hashes asked for. Leaves `fh` open. */
  async finish(): Promise<WriterResult> {
    try {
      if (this.options.mapRanges) await this.closeRange();
      else await this.flush();
      await this.settle();
      await this.writeBehind;
      if (this.failure) throw this.failure;
    } finally {
      await this.closeInputs();
    }
    if (this.position > this.size) throw new Error(`layout error: ${this.options.name} grew past ${this.size} bytes`);
    const result: WriterResult = {};
    if (this.outputHash) {
      feedZeros(this.outputHash, this.size - this.emitted);
      result.sha256 = this.outputHash.digest('hex');
    }
    if (this.options.mapRanges) result.ranges = this.ranges;
    this.options.onWrittenThrough?.(this.size);
    return result;
  }

  /** After a failure: waits for the write in flight and closes the inputs (errors are not reported twice). */
  async abandon(): Promise<void> {
    await this.pending.catch(() => undefined);
    await this.writeBehind;
    await this.closeInputs();
  }

  private async copySmall(region: FileRegion): Promise<void> {
    if (region.size > BUFFER_BYTES - this.fill) await this.flush();
    const target = this.buffer.subarray(this.fill, this.fill + region.size);
    const head = this.ahead[0];
    if (head?.region === region) {
      this.ahead.shift();
      await head.read;
      this.arena.copy(target, 0, head.offset, head.offset + region.size);
      this.readAhead();
    } else {
      await this.readRegion(region, target);
    }
    this.fill += region.size;
    if (this.fill === BUFFER_BYTES) await this.flush();
  }

  /** Starts reading the next small regions of the queue into free arena space. */
  private readAhead(): void {
    for (; this.queueNext < this.queue.length && this.ahead.length < READ_AHEAD_REGIONS; this.queueNext++) {
      const region = this.queue[this.queueNext]!;
      if (region.size === 0 || region.size > SMALL_REGION_BYTES) continue;
      const offset = this.arenaSlot(region.size);
      if (offset === undefined) return;
      const read = this.readRegion(region, this.arena.subarray(offset, offset + region.size));
      read.catch(() => undefined); // reported when the region's turn comes
      this.ahead.push({ region, offset, read });
      this.arenaHead = offset + region.size;
    }
  }

  /** Where `size` more bytes fit in the arena now, if they do. */
  private arenaSlot(size: number): number | undefined {
    const oldest = this.ahead[0];
    if (!oldest) return size <= READ_AHEAD_BYTES ? 0 : undefined;
    if (this.arenaHead > oldest.offset) {
      // Used: [oldest, head). Free: the end of the arena, else its start.
      if (this.arenaHead + size <= READ_AHEAD_BYTES) return this.arenaHead;
      return size <= oldest.offset ? 0 : undefined;
    }
    // Wrapped: used [oldest, end) and [0, head); free [head, oldest).
    return this.arenaHead + size <= oldest.offset ? this.arenaHead : undefined;
  }

  private readRegion(region: FileRegion, into: Buffer): Promise<void> {
    return this.withInput(region, async (input) => {
      await this.options.inputReady?.(region.path, Math.max(...region.extents.map((e) => e.offset + e.length)));
      let done = 0;
      for (const e of region.extents) {
        const got = await readFully(input, into.subarray(done, done + e.length), e.offset, region.path);
        if (got < e.length) throw sourceChanged(region.path, done + got, region.size, this.options.name);
        done += e.length;
      }
    });
  }

  /**
   * Runs `use` with an open handle on the region's file: regions inside a larger file (an ISO's files) share one
   * handle, kept until the end; a whole host file gets its own, closed after use (two reads of the same file may
   * be in flight at once, so it is never shared).
   */
  private async withInput<T>(region: FileRegion, use: (fh: FileHandle) => Promise<T>): Promise<T> {
    if (keepOpen(region)) {
      let shared = this.inputs.get(region.path);
      if (!shared) {
        shared = openInput(region.path);
        shared.catch(() => this.inputs.delete(region.path));
        this.inputs.set(region.path, shared);
      }
      return use(await shared);
    }
    const own = await openInput(region.path);
    try {
      return await use(own);
    } finally {
      await own.close().catch(() => undefined);
    }
  }

  private async closeInputs(): Promise<void> {
    await Promise.all(this.ahead.map((a) => a.read.catch(() => undefined)));
    this.ahead.length = 0;
    const handles = [...this.inputs.values()];
    this.inputs.clear();
    for (const h of handles) await h.then((fh) => fh.close()).catch(() => undefined);
  }

  /** Hands the gathered bytes to the file and switches buffers; waits only for the previous write. */
  private async flush(): Promise<void> {
    if (this.fill === 0) return this.settle();
    const full = this.buffer;
    const length = this.fill;
    this.fill = 0;
    await this.emit(full.subarray(0, length), () => {
      // the spare buffer is free once the previous write is done
      this.buffer = this.spare;
      this.spare = full;
    });
  }

  private async settle(): Promise<void> {
    await this.pending;
    if (this.failure) throw this.failure;
  }

  /**
   * Accounts for `chunk` (the bytes at bufferStart: hashes, ranges) while the previous write is still in flight,
   * then waits for that write and starts this one. `swap` runs once the previous write is done.
   */
  private async emit(chunk: Buffer, swap?: () => void): Promise<void> {
    const at = this.bufferStart;
    if (this.outputHash) {
      feedZeros(this.outputHash, at - this.emitted);
      this.outputHash.update(chunk);
    }
    if (this.options.mapRanges) this.mapChunk(chunk, at);
    this.emitted = at + chunk.length;
    this.bufferStart = at + chunk.length;
    await this.settle();
    swap?.();
    this.pending = this.writeAt(chunk, at).catch((e: unknown) => {
      this.failure = outputError(this.options.name, e);
    });
  }

  /** With a block map: starts a range at the current position unless one is open (the position is block aligned). */
  private openRange(): void {
    if (!this.options.mapRanges || this.range) return;
    if (this.position % BLOCK_SIZE !== 0) throw new Error('layout error: a range must start on a block boundary');
    this.range = { start: this.position, hash: this.rangeHash() };
  }

  private mapChunk(chunk: Buffer, at: number): void {
    for (let o = 0; o < chunk.length; ) {
      const r = this.range!;
      const n = Math.min(chunk.length - o, r.start + MAX_RANGE_LENGTH - (at + o));
      r.hash?.update(chunk.subarray(o, o + n));
      o += n;
      if (at + o === r.start + MAX_RANGE_LENGTH) {
        this.endRange(at + o);
        this.range = { start: at + o, hash: this.rangeHash() };
      }
    }
  }

  /** Pads the open range to a block boundary, writes it out and records it. */
  private async closeRange(): Promise<void> {
    if (!this.range) return this.flush();
    await this.padTo(alignUp(this.position));
    await this.flush();
    this.endRange(this.bufferStart);
  }

  private endRange(end: number): void {
    const r = this.range;
    this.range = undefined;
    if (r && end > r.start) this.ranges.push({ start: r.start, length: end - r.start, sha256: r.hash?.digest('hex') ?? '' });
  }

  private rangeHash(): Hash | undefined {
    return this.options.hashRanges === false ? undefined : createHash('sha256');
  }

  private async writeAt(chunk: Buffer, position: number): Promise<void> {
    if (!chunk.equals(ZEROS.subarray(0, chunk.length))) {
      for (let written = 0; written < chunk.length; ) {
        const { bytesWritten } = await this.fh.write(chunk, written, chunk.length - written, position + written);
        if (bytesWritten <= 0) throw Object.assign(new Error(`short write at byte ${position + written}`), { code: 'EIO' });
        written += bytesWritten;
      }
    }
    this.handedOver += chunk.length;
    this.options.onWritten?.(this.handedOver);
    this.options.onWrittenThrough?.(position + chunk.length);
    if (this.handedOver >= this.writeBehindDue && !this.writeBehind) this.startWriteBehind();
  }

  private startWriteBehind(): void {
    this.writeBehindDue = this.handedOver + this.options.writeBehindBytes!;
    this.writeBehind = this.fh.datasync().then(
      () => {
        this.writeBehind = undefined;
      },
      (e: unknown) => {
        this.writeBehind = undefined;
        this.failure ??= outputError(this.options.name, e);
      },
    );
  }
}

async function openInput(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw inputError(path, e);
  }
}

/** Regions inside a larger file (an ISO's files) share one handle; a whole host file is opened per copy. */
function keepOpen(region: FileRegion): boolean {
  const first = region.extents[0];
  return !(region.extents.length === 1 && first?.offset === 0);
}

/** Reads until `into` is full or the file ends; returns the bytes read. */
async function readFully(fh: FileHandle, into: Buffer, position: number, path: string): Promise<number> {
  let done = 0;
  while (done < into.length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(into, done, into.length - done, position + done));
    } catch (e) {
      throw inputError(path, e);
    }
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

function feedZeros(hash: Hash, count: number): void {
  for (let left = count; left > 0; ) {
    const n = Math.min(left, BUFFER_BYTES);
    hash.update(ZEROS.subarray(0, n));
    left -= n;
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / BLOCK_SIZE) * BLOCK_SIZE;
}

function alignDown(n: number): number {
  return Math.floor(n / BLOCK_SIZE) * BLOCK_SIZE;
}
