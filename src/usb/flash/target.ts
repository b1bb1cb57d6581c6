/**
 * Where an image is flashed to. One small interface for a block device, a regular file and the fault-injecting
 * test double; what differs is asked through capability fields (`direct`, `size`), not flags at the call sites.
 *
 * Devices are opened O_EXCL (Linux refuses while anything on them is mounted) and, when the kernel allows it, with
 * O_DIRECT: writes then go to the stick as they are made (progress is honest, no gigabytes of dirty page cache
 * flushed at the end) and read-back really reads the stick. Buffers for direct I/O must be aligned in memory; Node
 * does not expose addresses, so `allocate` finds an aligned offset inside a larger buffer by probing with a read.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { sharedBuffer } from '../../util/hash-pool.js';

export interface FlashTarget {
  readonly path: string;
  readonly kind: 'device' | 'file' | 'memory';
  /** Bytes the target holds (block devices), undefined when it grows (regular files). */
  readonly size: number | undefined;
  /** Writes bypass the page cache. */
  readonly directWrite: boolean;
  /** Read-back bypasses the page cache: what is compared is what the medium returns. */
  readonly directRead: boolean;
  /** A buffer of `length` bytes usable for this target's reads and writes. */
  allocate(length: number): Promise<Buffer>;
  /** Writes `data` at `offset`; returns the bytes accepted (possibly fewer). */
  write(data: Buffer, offset: number): Promise<number>;
  /** Reads into `into` at `offset`; returns the bytes read (0 at the end). */
  read(into: Buffer, offset: number): Promise<number>;
  /** Makes everything written durable (fdatasync: also flushes the device's write cache). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export type IoMode = 'auto' | 'direct' | 'buffered';

const PROBE = 4096;
const O_DIRECT = constants.O_DIRECT ?? 0;

function codeOf(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

/** A buffer slice whose address suits O_DIRECT on `fh` (found by probing reads at offset 0). */
async function alignedBuffer(fh: FileHandle, length: number): Promise<Buffer> {
  // shared memory: the hash pool's workers hash it in place
  const raw = sharedBuffer(length + PROBE);
  // glibc hands out large blocks 16 bytes past a page boundary, so PROBE - 16 usually works first time
  const candidates = [PROBE - 16, 0];
  for (let k = 16; k < PROBE; k += 16) if (k !== PROBE - 16) candidates.push(k);
  for (const k of candidates) {
    try {
      await fh.read(raw, k, PROBE, 0);
      return raw.subarray(k, k + length);
    } catch (e) {
      if (codeOf(e) !== 'EINVAL') throw e;
    }
  }
  throw new Error('no aligned buffer offset works for direct I/O');
}

/** A block device or a regular file. */
export class FileTarget implements FlashTarget {
  private constructor(
    readonly path: string,
    readonly kind: 'device' | 'file',
    readonly size: number | undefined,
    private readonly fh: FileHandle,
    private readonly readFh: FileHandle,
    readonly directWrite: boolean,
    readonly directRead: boolean,
  ) {}

  /**
   * Opens `path` for flashing. Devices: O_RDWR | O_EXCL (+ O_DIRECT unless io is 'buffered'). Files: buffered writes
   * unless io is 'direct'; the file is extended to `minSize` when shorter. Read-back uses its own O_DIRECT handle
   * when the file system or device supports it.
   */
  static async open(path: string, opts: { kind: 'device' | 'file'; size?: number; minSize?: number; io?: IoMode }): Promise<FileTarget> {
    const io = opts.io ?? 'auto';
    const base = constants.O_RDWR | (opts.kind === 'device' ? constants.O_EXCL : 0);
    const wantDirect = O_DIRECT !== 0 && (io === 'direct' || (io === 'auto' && opts.kind === 'device'));
    let fh: FileHandle;
    let directWrite = false;
    if (wantDirect) {
      try {
        fh = await open(path, base | O_DIRECT);
        directWrite = true;
      } catch (e) {
        if (codeOf(e) !== 'EINVAL') throw e;
        fh = await open(path, base);
      }
    } else fh = await open(path, base);
    try {
      if (opts.kind === 'file' && opts.minSize !== undefined) {
        const { size } = await fh.stat();
        if (size < opts.minSize) await fh.truncate(opts.minSize);
      }
      let readFh = fh;
      let directRead = directWrite;
      if (!directWrite && O_DIRECT !== 0 && io !== 'buffered') {
        try {
          readFh = await open(path, constants.O_RDONLY | O_DIRECT);
          directRead = true;
        } catch {
          // tmpfs and some FUSE file systems have no O_DIRECT: read-back then goes through the page cache
        }
      }
      return new FileTarget(path, opts.kind, opts.size, fh, readFh, directWrite, directRead);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
  }

  async allocate(length: number): Promise<Buffer> {
    if (this.directWrite) return alignedBuffer(this.fh, length);
    if (this.directRead) return alignedBuffer(this.readFh, length);
    return sharedBuffer(length);
  }

  async write(data: Buffer, offset: number): Promise<number> {
    return (await this.fh.write(data, 0, data.length, offset)).bytesWritten;
  }

  async read(into: Buffer, offset: number): Promise<number> {
    return (await this.readFh.read(into, 0, into.length, offset)).bytesRead;
  }

  async flush(): Promise<void> {
    await this.fh.datasync();
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    if (this.readFh !== this.fh) await this.readFh.close().catch((e: unknown) => errors.push(e));
    await this.fh.close().catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The test double

/** Faults the memory target injects; offsets are absolute target offsets. */
export interface TargetFaults {
  /** Every write accepts at most this many bytes (a legal short write: the writer must continue). */
  maxBytesPerWrite?: number;
  /** The target accepts nothing at or beyond this offset: a write there returns 0 bytes (or fewer up to it). */
  fullAt?: number;
  /** A write that covers this offset fails with EIO. */
  writeErrorAt?: number;
  /** Reading back returns this byte flipped. */
  corruptReadAt?: number;
  /** Only the first read covering `corruptReadAt` is corrupted (a flaky stick). */
  corruptOnce?: boolean;
  /** From the first write (or read, with goneDuring 'verify') covering this offset on, every call fails ENODEV. */
  goneAt?: number;
  goneDuring?: 'write' | 'verify';
  /** The final flush fails with this code. */
  flushError?: string;
  /** Close fails with this code. */
  closeError?: string;
}

function errno(code: string, syscall: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall} failed (injected)`), { code, syscall });
}

/** An in-memory "stick" of `size` bytes that injects `faults`; records what happened for the tests. */
export class MemoryTarget implements FlashTarget {
  readonly kind = 'memory';
  readonly directWrite = false;
  readonly directRead = true;
  readonly data: Buffer;
  gone = false;
  flushed = false;
  closed = false;
  writes = 0;
  private corrupted = false;

  constructor(
    readonly size: number,
    readonly faults: TargetFaults = {},
    readonly path = 'memory-stick',
  ) {
    this.data = Buffer.alloc(size);
  }

  async allocate(length: number): Promise<Buffer> {
    return Buffer.allocUnsafe(length);
  }

  private covers(at: number | undefined, offset: number, length: number): boolean {
    return at !== undefined && offset <= at && at < offset + length;
  }

  async write(data: Buffer, offset: number): Promise<number> {
    await Promise.resolve();
    const f = this.faults;
    if (this.gone) throw errno('ENODEV', 'write');
    if ((f.goneDuring ?? 'write') === 'write' && (this.covers(f.goneAt, offset, data.length) || (f.goneAt !== undefined && offset > f.goneAt))) {
      this.gone = true;
      throw errno('ENODEV', 'write');
    }
    if (this.covers(f.writeErrorAt, offset, data.length)) throw errno('EIO', 'write');
    let n = Math.min(data.length, f.maxBytesPerWrite ?? data.length, Math.max(0, this.size - offset));
    if (f.fullAt !== undefined) n = Math.max(0, Math.min(n, f.fullAt - offset));
    data.copy(this.data, offset, 0, n);
    this.writes++;
    return n;
  }

  async read(into: Buffer, offset: number): Promise<number> {
    await Promise.resolve();
    const f = this.faults;
    if (this.gone) throw errno('ENODEV', 'read');
    if (f.goneDuring === 'verify' && this.covers(f.goneAt, offset, into.length)) {
      this.gone = true;
      throw errno('ENXIO', 'read');
    }
    const n = Math.max(0, Math.min(into.length, this.size - offset));
    this.data.copy(into, 0, offset, offset + n);
    if (f.corruptReadAt !== undefined && this.covers(f.corruptReadAt, offset, n) && !(f.corruptOnce && this.corrupted)) {
      this.corrupted = true;
      const i = f.corruptReadAt - offset;
      into[i] = (into[i] ?? 0) ^ 0x40;
    }
    return n;
  }

  async flush(): Promise<void> {
    if (this.gone) throw errno('ENODEV', 'fdatasync');
    if (this.faults.flushError) throw errno(this.faults.flushError, 'fdatasync');
    this.flushed = true;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.faults.closeError) throw errno(this.faults.closeError, 'close');
  }
}
