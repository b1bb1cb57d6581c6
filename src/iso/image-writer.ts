/**
 * Sequential image output with large writes. Small structures are gathered in a 4 MiB buffer; file data is copied
 * with two buffers so that reading the next chunk overlaps writing the previous one. Chunks that are entirely zero
 * are skipped (the file is pre-sized, so they read back as zeros), which keeps sparse inputs sparse and cheap.
 */
import { type Hash, createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { InputError } from '../errors.js';
import type { DataSource } from './tree.js';

const BUFFER_BYTES = 4 << 20;
const ZEROS = Buffer.alloc(BUFFER_BYTES);

export type Progress = (done: number, total: number) => void;

/** Files up to this size are read straight into the gather buffer, so a tree of small files costs few writes. */
const SMALL_FILE_BYTES = 1 << 20;
/** Small files read ahead of the writer, so their open/read/close round trips overlap. */
const READ_AHEAD_FILES = 64;
const READ_AHEAD_BYTES = 8 << 20;

export class ImageWriter {
  private buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  /** The other gather buffer: written to disk while `buffer` fills. */
  private spare = Buffer.allocUnsafe(BUFFER_BYTES);
  private pendingFlush: Promise<void> = Promise.resolve();
  private failure: unknown;
  private fill = 0;
  /** Image offset of buffer[0]. */
  private bufferStart = 0;
  private readonly copyBuffers = [Buffer.allocUnsafe(BUFFER_BYTES), Buffer.allocUnsafe(BUFFER_BYTES)];
  private readonly openImages = new Map<string, FileHandle>();
  /** Small files read ahead, in write order, each in a slice of one reused arena (no garbage per file). */
  private readonly readAheads: { path: string; offset: number; size: number; read: Promise<Buffer> }[] = [];
  private readonly arena = Buffer.allocUnsafe(READ_AHEAD_BYTES);
  private arenaHead = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly total: number,
    private readonly onProgress?: Progress,
    hashOutput = false,
  ) {
    this.hash = hashOutput ? createHash('sha256') : undefined;
  }

  get position(): number {
    return this.bufferStart + this.fill;
  }

  async write(data: Buffer): Promise<void> {
    let o = 0;
    while (o < data.length) {
      const n = Math.min(data.length - o, BUFFER_BYTES - this.fill);
      data.copy(this.buffer, this.fill, o, o + n);
      this.fill += n;
      o += n;
      if (this.fill === BUFFER_BYTES) await this.flush();
    }
  }

  /** Zero-fills up to `offset` (which must not lie behind the current position). */
  async padTo(offset: number): Promise<void> {
    if (offset < this.position) throw new Error(`layout error: writer at ${this.position} is past ${offset}`);
    while (this.position < offset) await this.write(ZEROS.subarray(0, Math.min(BUFFER_BYTES, offset - this.position)));
  }

  /** Starts writing the gathered bytes and switches to the other buffer; waits only for the previous flush. */
  async flush(): Promise<void> {
    await this.settle();
    if (this.fill === 0) return;
    const full = this.buffer;
    const length = this.fill;
    const at = this.bufferStart;
    this.buffer = this.spare;
    this.spare = full;
    this.bufferStart += length;
    this.fill = 0;
    this.pendingFlush = this.writeAt(full.subarray(0, length), at).catch((e: unknown) => {
      this.failure = e;
    });
  }

  private async settle(): Promise<void> {
    await this.pendingFlush;
    if (this.failure) throw this.failure;
  }

  /** SHA-256 of the image when asked for, computed on the way through (every byte reaches writeAt once, in order). */
  private readonly hash: Hash | undefined;
  private hashed = 0;

  get sha256(): string | undefined {
    return this.hash?.copy().digest('hex');
  }

  private async writeAt(chunk: Buffer, position: number): Promise<void> {
    if (this.hash) {
      if (position !== this.hashed) throw new Error(`layout error: write at ${position} after ${this.hashed} bytes`);
      this.hash.update(chunk);
      this.hashed += chunk.length;
    }
    if (!chunk.equals(ZEROS.subarray(0, chunk.length))) {
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, written, chunk.length - written, position + written);
        if (bytesWritten === 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        written += bytesWritten;
      }
    }
    this.onProgress?.(position + chunk.length, this.total);
  }

  /** Copies a data source at the current position, streaming. */
  async copy(source: DataSource, describe: string): Promise<void> {
    if (source.kind === 'bytes') return this.write(source.data);
    if (source.kind === 'host' && source.size <= SMALL_FILE_BYTES) return this.gatherSmallFile(source.path, source.size, describe);
    await this.flush();
    if (source.kind === 'host') {
      const input = await openInput(source.path, describe);
      try {
        await this.copyRange(input, 0, source.size, describe);
      } finally {
        await input.close();
      }
    } else {
      let input = this.openImages.get(source.path);
      if (!input) {
        input = await openInput(source.path, describe);
        this.openImages.set(source.path, input);
      }
      for (const e of source.extents) await this.copyRange(input, e.offset, e.length, describe);
    }
  }

  /** Starts reading the small host files among `upcoming` (the next files to write, in order) into the arena. */
  readAhead(upcoming: readonly DataSource[]): void {
    const last = this.readAheads.at(-1);
    let i = last ? upcoming.findIndex((s) => s.kind === 'host' && s.path === last.path) + 1 : 0;
    for (; i < upcoming.length && this.readAheads.length < READ_AHEAD_FILES; i++) {
      const source = upcoming[i]!;
      if (source.kind !== 'host' || source.size === 0 || source.size > SMALL_FILE_BYTES) continue;
      const offset = this.arenaSlot(source.size);
      if (offset === undefined) return;
      const read = readSmallFile(source.path, this.arena.subarray(offset, offset + source.size), `"${source.path}"`);
      read.catch(() => undefined); // reported when the file's turn comes
      this.readAheads.push({ path: source.path, offset, size: source.size, read });
      this.arenaHead = offset + source.size;
    }
  }

  /** Where the next read-ahead of `size` bytes fits in the arena (a ring consumed in order), if it fits now. */
  private arenaSlot(size: number): number | undefined {
    const oldest = this.readAheads[0];
    if (!oldest) return size <= READ_AHEAD_BYTES ? 0 : undefined;
    if (this.arenaHead > oldest.offset) {
      // Used: [oldest, head). Free: the end of the arena, else its start.
      if (this.arenaHead + size <= READ_AHEAD_BYTES) return this.arenaHead;
      return size <= oldest.offset ? 0 : undefined;
    }
    // Wrapped: used [oldest, end) and [0, head); free [head, oldest).
    return this.arenaHead + size <= oldest.offset ? this.arenaHead : undefined;
  }

  private async gatherSmallFile(path: string, size: number, describe: string): Promise<void> {
    if (size > BUFFER_BYTES - this.fill) await this.flush();
    const target = this.buffer.subarray(this.fill, this.fill + size);
    if (this.readAheads[0]?.path === path) {
      const ahead = this.readAheads.shift()!;
      (await ahead.read).copy(target);
    } else {
      await readSmallFile(path, target, describe);
    }
    this.fill += size;
    if (this.fill === BUFFER_BYTES) await this.flush();
  }

  private async copyRange(input: FileHandle, offset: number, length: number, describe: string): Promise<void> {
    let pending: Promise<void> = Promise.resolve();
    let i = 0;
    for (let done = 0; done < length; i++) {
      const buf = this.copyBuffers[i % 2]!;
      const want = Math.min(BUFFER_BYTES, length - done);
      const { bytesRead } = await input.read(buf, 0, want, offset + done);
      if (bytesRead !== want) {
        await pending.catch(() => undefined);
        throw new InputError(`${describe} became shorter while it was being copied (read ${done + bytesRead} of ${length} bytes)`, 'Do not change the input files during a build; run again.');
      }
      await pending;
      pending = this.writeAt(buf.subarray(0, want), this.bufferStart);
      this.bufferStart += want;
      done += want;
    }
    await pending;
  }

  /** Flushes, sets the final size (trailing zero chunks were skipped) and closes opened inputs. */
  async finish(): Promise<void> {
    await this.flush();
    await this.settle();
    await this.fh.truncate(this.position);
    await this.closeInputs();
  }

  async closeInputs(): Promise<void> {
    await this.pendingFlush;
    for (const h of this.openImages.values()) await h.close().catch(() => undefined);
    this.openImages.clear();
  }
}

/** Reads a whole small file into `data` (which has exactly its size). */
async function readSmallFile(path: string, data: Buffer, describe: string): Promise<Buffer> {
  const size = data.length;
  const input = await openInput(path, describe);
  try {
    let done = 0;
    while (done < size) {
      const { bytesRead } = await input.read(data, done, size - done, done);
      if (bytesRead === 0) {
        throw new InputError(`${describe} became shorter while it was being copied (read ${done} of ${size} bytes)`, 'Do not change the input files during a build; run again.');
      }
      done += bytesRead;
    }
  } finally {
    await input.close();
  }
  return data;
}

async function openInput(path: string, describe: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw new InputError(`cannot read ${describe} ("${path}"): ${(e as NodeJS.ErrnoException).code ?? e}`, 'Check that the file exists and is readable.');
  }
}
