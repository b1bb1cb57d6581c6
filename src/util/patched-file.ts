/**
 * A file inside another file (some extents of it: boot.wim inside the base ISO), writable without touching the
 * file on disk: writes are kept in memory and reads see them. The build updates boot.wim this way where it lies in
 * the base, instead of copying 700 MB out first, and the ISO writer then takes the result as its pieces: ranges of
 * the base and the bytes written (an append-mode WIM update writes only a new header and a tail of a few MiB).
 */
import { open } from 'node:fs/promises';
import { InputError } from '../errors.js';

export interface Extent {
  offset: number;
  length: number;
}

/** A stretch of the patched file: extents of the file on disk, or bytes written. */
export type Piece = { path: string; extents: Extent[]; size: number } | { data: Buffer; size: number };

interface Patch {
  at: number;
  data: Buffer;
}

export class PatchedFile {
  /** Written bytes, sorted by position, never overlapping. */
  private patches: Patch[] = [];
  /** Bytes of the file on disk still visible: [0, baseEnd) (a truncation hides the rest for good). */
  private baseEnd: number;
  private length: number;

  /** `extents`: where the file's `size` bytes lie in `path`, in order. */
  constructor(readonly path: string, private readonly extents: readonly Extent[], size: number) {
    if (extents.reduce((n, e) => n + e.length, 0) < size) throw new RangeError(`${path}: extents shorter than ${size} bytes`);
    this.baseEnd = size;
    this.length = size;
  }

  get size(): number {
    return this.length;
  }

  async stat(): Promise<{ size: number }> {
    return { size: this.length };
  }

  async read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const n = Math.max(0, Math.min(length, this.length - position));
    const end = position + n;
    if (position < this.baseEnd) await this.readBase(buffer.subarray(offset, offset + Math.min(end, this.baseEnd) - position), position);
    if (end > this.baseEnd) buffer.fill(0, offset + Math.max(0, this.baseEnd - position), offset + n);
    for (const p of this.patches) {
      const from = Math.max(p.at, position);
      const to = Math.min(p.at + p.data.length, end);
      if (from < to) p.data.copy(buffer, offset + from - position, from - p.at, to - p.at);
    }
    return { bytesRead: n };
  }

  async write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }> {
    const data = Buffer.from(buffer.subarray(offset, offset + length));
    const end = position + length;
    const kept: Patch[] = [];
    for (const p of this.patches) {
      const pEnd = p.at + p.data.length;
      if (pEnd <= position || p.at >= end) kept.push(p);
      else {
        if (p.at < position) kept.push({ at: p.at, data: p.data.subarray(0, position - p.at) });
        if (pEnd > end) kept.push({ at: end, data: p.data.subarray(end - p.at) });
      }
    }
    kept.push({ at: position, data });
    this.patches = kept.sort((a, b) => a.at - b.at);
    this.length = Math.max(this.length, end);
    return { bytesWritten: length };
  }

  async truncate(length: number): Promise<void> {
    this.patches = this.patches.filter((p) => p.at < length).map((p) => (p.at + p.data.length > length ? { at: p.at, data: p.data.subarray(0, length - p.at) } : p));
    this.baseEnd = Math.min(this.baseEnd, length);
    this.length = length;
  }

  /** Nothing to make durable: the file on disk is never written. */
  async sync(): Promise<void> {}

  /** The view holds no handle between calls. */
  async close(): Promise<void> {}

  /** The file as it reads now, in order: stretches of the file on disk and written bytes. */
  pieces(): Piece[] {
    const out: Piece[] = [];
    let at = 0;
    const fill = (to: number) => {
      if (at < Math.min(to, this.baseEnd)) out.push({ path: this.path, extents: this.baseExtents(at, Math.min(to, this.baseEnd)), size: Math.min(to, this.baseEnd) - at });
      const zeros = Math.max(at, this.baseEnd);
      if (zeros < to) out.push({ data: Buffer.alloc(to - zeros), size: to - zeros });
      at = to;
    };
    for (const p of this.patches) {
      fill(p.at);
      out.push({ data: p.data, size: p.data.length });
      at = p.at + p.data.length;
    }
    fill(this.length);
    return out;
  }

  /** Where [from, to) of the file lies on disk. */
  private baseExtents(from: number, to: number): Extent[] {
    const out: Extent[] = [];
    let logical = 0;
    for (const e of this.extents) {
      const start = Math.max(from, logical);
      const stop = Math.min(to, logical + e.length);
      if (start < stop) out.push({ offset: e.offset + start - logical, length: stop - start });
      logical += e.length;
      if (logical >= to) break;
    }
    return out;
  }

  private async readBase(into: Buffer, position: number): Promise<void> {
    const fh = await open(this.path, 'r');
    try {
      let o = 0;
      for (const e of this.baseExtents(position, position + into.length)) {
        for (let done = 0; done < e.length;) {
          const { bytesRead } = await fh.read(into, o + done, e.length - done, e.offset + done);
          if (bytesRead === 0) throw new InputError(`${this.path}: ends before byte ${e.offset + done}; it changed while it was read`, 'Leave the file alone while Lifeboat runs, then run it again.');
          done += bytesRead;
        }
        o += e.length;
      }
    } finally {
      await fh.close();
    }
  }
}
