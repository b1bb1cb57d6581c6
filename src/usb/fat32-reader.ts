/**
 * A read-only FAT32 reader for verifying USB images and USB sticks (block devices) file by file.
 *
 * The input is treated as hostile (a damaged stick, a truncated download): every offset is bounds-checked, cluster
 * chains are checked for loops, free or bad clusters, links past the end of the FAT and a length that disagrees with
 * the file size; directories are capped in size, entry count and depth, and directory loops are detected. Every
 * problem is an InputError whose message names the image and what is wrong.
 *
 * The whole directory tree is read when the image is opened; file data is read when streamed, one cluster run
 * (contiguous clusters) at a time in large reads with one read in flight ahead of the consumer. The FAT is read
 * whole when it is at most 64 MiB, otherwise in 64 KiB pages on demand (at most 4 MiB cached).
 */
import { createHash } from 'node:crypto';
import { open, readFile, type FileHandle } from 'node:fs/promises';

import { InputError } from '../errors.js';
import { parseDirectory } from './fat-dir-reader.js';
import { DIR_ENTRY_SIZE } from './fat-names.js';
import { decodeMbr, type MbrPartition } from './mbr.js';
import { decodeFatBootSector, totalSectors as totalSectorsOf } from '../disk/fat-boot-sector.js';

const MIB = 2 ** 20;
/** A FAT up to this size is read whole at open. */
const WHOLE_FAT_MAX_BYTES = 64 * MIB;
/** Page size and page count of the FAT cache for larger FATs. */
const FAT_PAGE_BYTES = 64 * 1024;
const FAT_CACHE_PAGES = 64;
/** FAT directories hold at most 65,536 entries (2 MiB). */
const MAX_DIR_BYTES = 65_536 * DIR_ENTRY_SIZE;
/** Deepest directory nesting accepted (a 260-character path cannot go deeper than about 128). */
const MAX_DEPTH = 128;
/** Most files and directories accepted in one volume. */
const MAX_ENTRIES = 1_000_000;
const DEFAULT_CHUNK_BYTES = 4 * MIB;
const MAX_CHUNK_BYTES = 64 * MIB;
/** FAT values: 0 free, 0x0FFFFFF7 bad, 0x0FFFFFF8 and above end of chain. */
const FAT_FREE = 0;
const FAT_BAD = 0x0ffffff7;
const FAT_EOC_MIN = 0x0ffffff8;
const PARTITION_TYPES_FAT32 = new Set([0x0b, 0x0c]);
const MBR_SECTOR = 512;

/** A file or directory of the volume. */
export interface FatEntry {
  /** The long name (with its case) when the volume has one, otherwise the 8.3 name. */
  name: string;
  /** Absolute path with the long names' case: `/EFI/BOOT/BOOTX64.EFI`; the root is `/`. */
  path: string;
  isDir: boolean;
  /** Bytes of a file; 0 for a directory. */
  size: number;
  /** First cluster (0 for an empty file). */
  firstCluster: number;
  /** Children of a directory in on-disk order; empty for a file. */
  children: FatEntry[];
}

export interface FatOpenOptions {
  /** Byte offset of the FAT32 volume in the image; default: from the MBR, or 0 for a volume without partition table. */
  partitionOffset?: number;
  /** Largest FAT read whole (bytes); larger FATs are paged. Default 64 MiB; for tests. */
  maxFatInMemory?: number;
}

interface Run {
  /** First cluster of a run of consecutive clusters. */
  start: number;
  count: number;
}

interface Volume {
  bytesPerSector: number;
  clusterBytes: number;
  /** Absolute byte offset of the FAT in use. */
  fatOffset: number;
  /** Absolute byte offset of cluster 2. */
  dataOffset: number;
  /** Highest valid cluster number. */
  maxCluster: number;
  rootCluster: number;
  /** Absolute byte offset just past the volume. */
  end: number;
  /** Label from the boot sector ('' when none). */
  bpbLabel: string;
  /** Absolute byte offsets of every FAT copy, and the bytes of one. */
  fatOffsets: number[];
  fatBytes: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Boot sector

/** The FAT32 BPB of `b` (a boot sector) or why it is not one. */
function parseBootSector(b: Buffer, partitionOffset: number): Volume | string {
  if (b.length < 512) return 'the boot sector is incomplete';
  if (b[510] !== 0x55 || b[511] !== 0xaa) return 'the boot sector does not end with 0x55AA';
  const f = decodeFatBootSector(b);
  const bytesPerSector = f.bytesPerSector;
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) return `bad sector size ${bytesPerSector}`;
  const sectorsPerCluster = f.sectorsPerCluster;
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) {
    return `bad sectors-per-cluster value ${sectorsPerCluster}`;
  }
  const reserved = f.reservedSectors;
  const fatCount = f.fatCount;
  const fatSize32 = f.fatSize32;
  if (reserved === 0) return 'no reserved sectors';
  if (fatCount === 0 || fatCount > 4) return `bad FAT count ${fatCount}`;
  if (f.fatSize16 !== 0 || f.rootEntries !== 0) return 'this is a FAT12/FAT16 file system, not FAT32';
  if (fatSize32 === 0) return 'the FAT size is 0';
  const totalSectors = totalSectorsOf(f);
  if (totalSectors === 0) return 'the volume size is 0';
  const extFlags = f.extFlags;
  const activeFat = (extFlags & 0x80) !== 0 ? extFlags & 0x0f : 0;
  if (activeFat >= fatCount) return `the active FAT is number ${activeFat} of ${fatCount}`;
  const dataStart = reserved + fatCount * fatSize32;
  if (dataStart >= totalSectors) return 'the FATs take the whole volume';
  const clusterCount = Math.floor((totalSectors - dataStart) / sectorsPerCluster);
  const fatEntries = Math.floor((fatSize32 * bytesPerSector) / 4);
  const maxCluster = Math.min(clusterCount + 1, fatEntries - 1, 0x0ffffff6);
  if (maxCluster < 2) return 'the volume has no clusters';
  const rootCluster = f.rootCluster & 0x0fffffff;
  if (rootCluster < 2 || rootCluster > maxCluster) return `the root directory cluster ${rootCluster} is outside the volume`;
  const bpbLabel = f.bootSignature === 0x29 ? f.volumeLabel : '';
  return {
    bytesPerSector,
    clusterBytes: bytesPerSector * sectorsPerCluster,
    fatOffset: partitionOffset + (reserved + activeFat * fatSize32) * bytesPerSector,
    dataOffset: partitionOffset + dataStart * bytesPerSector,
    maxCluster,
    rootCluster,
    end: partitionOffset + totalSectors * bytesPerSector,
    bpbLabel: bpbLabel === 'NO NAME' ? '' : bpbLabel,
    fatOffsets: Array.from({ length: fatCount }, (_, i) => partitionOffset + (reserved + i * fatSize32) * bytesPerSector),
    fatBytes: fatSize32 * bytesPerSector,
  };
}

/** True when `b` looks like a FAT32 boot sector (jump instruction and a valid BPB). */
function isFat32BootSector(b: Buffer): boolean {
  const jump = b[0] === 0xeb || b[0] === 0xe9;
  return jump && typeof parseBootSector(b, 0) !== 'string';
}

/** Size of a regular file or (on Linux) a block device; undefined when it cannot be known. */
async function inputSize(fh: FileHandle, path: string): Promise<number | undefined> {
  const st = await fh.stat();
  if (st.isFile()) return st.size;
  if (st.isDirectory()) throw new InputError(`"${path}" is a directory, not a USB image or device.`);
  if (st.isBlockDevice()) {
    const rdev = st.rdev;
    const low = rdev % 2 ** 32;
    const high = Math.floor(rdev / 2 ** 32);
    const major = ((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0);
    const minor = (low & 0xff) | ((low >>> 12) & 0xfff00);
    try {
      const sectors = Number((await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8')).trim());
      if (Number.isSafeInteger(sectors) && sectors > 0) return sectors * 512;
    } catch {
      // not Linux, or no sysfs: reads past the end show up as short reads
    }
  }
  return undefined;
}

function errorText(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const msg = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' && !msg.includes(code) ? `${code}: ${msg}` : msg;
}

// ---------------------------------------------------------------------------------------------------------------
// Volume access (reads, FAT, cluster chains)

/** The image file or device: positioned reads that either return every byte asked for or throw InputError. */
class ImageFile {
  private closed = false;

  constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    /** Bytes of the image or device, when known. */
    readonly size: number | undefined,
  ) {}

  fail(problem: string, hint?: string): InputError {
    return new InputError(`"${this.path}": ${problem}`, hint);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  /** Reads exactly `length` bytes at absolute offset `position` into a new buffer; `what` names the data for errors. */
  async read(position: number, length: number, what: string): Promise<Buffer> {
    if (this.closed) throw new Error(`FatImage "${this.path}" is closed`);
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.fh.read(buf, got, length - got, position + got));
      } catch (err) {
        throw new InputError(
          `"${this.path}": cannot read ${what} (${length} bytes at offset ${position}): ${errorText(err)}`,
          'The medium may be damaged or was removed.',
          { cause: err },
        );
      }
      if (n <= 0) {
        throw this.fail(
          `the image ends at byte ${position + got}, but ${what} needs bytes up to ${position + length}; the image is truncated.`,
        );
      }
      got += n;
    }
    return buf;
  }
}

/** FAT access (whole or paged) and checked cluster chains of one volume. */
class VolumeReader {
  private readonly fatPages = new Map<number, Buffer>();
  private readonly fatLoading = new Map<number, Promise<Buffer>>();
  private readonly fatPageEntries: number;
  private readonly fatPaged: boolean;
  /** Page of the last FAT lookup (LRU bookkeeping and the no-await fast path). */
  private lastPage = -1;

  constructor(
    readonly file: ImageFile,
    readonly vol: Volume,
    maxFatInMemory: number,
  ) {
    const fatBytes = (vol.maxCluster + 1) * 4;
    this.fatPaged = fatBytes > maxFatInMemory;
    this.fatPageEntries = this.fatPaged ? FAT_PAGE_BYTES / 4 : vol.maxCluster + 1;
  }

  fail(problem: string, hint?: string): InputError {
    return this.file.fail(problem, hint);
  }

  read(position: number, length: number, what: string): Promise<Buffer> {
    return this.file.read(position, length, what);
  }

  async close(): Promise<void> {
    this.fatPages.clear();
    await this.file.close();
  }

  /** Loads the whole FAT now when it is small enough to be kept in memory. */
  async preloadFat(): Promise<void> {
    if (!this.fatPaged) await this.fatPage(0);
  }

  private fatPage(index: number): Promise<Buffer> {
    const loading = this.fatLoading.get(index);
    if (loading) return loading;
    const firstEntry = index * this.fatPageEntries;
    const entries = Math.min(this.fatPageEntries, this.vol.maxCluster + 1 - firstEntry);
    const p = this.read(this.vol.fatOffset + firstEntry * 4, entries * 4, 'the FAT').then(
      (page) => {
        this.fatLoading.delete(index);
        this.fatPages.set(index, page);
        if (this.fatPaged) {
          while (this.fatPages.size > FAT_CACHE_PAGES) {
            const oldest = this.fatPages.keys().next().value;
            if (oldest === undefined) break;
            this.fatPages.delete(oldest);
          }
        }
        return page;
      },
      (err: unknown) => {
        this.fatLoading.delete(index);
        throw err;
      },
    );
    this.fatLoading.set(index, p);
    return p;
  }

  /** The FAT value of `cluster` when its page is in memory (no await on the common path), else undefined. */
  private nextCached(cluster: number): number | undefined {
    if (!this.fatPaged) {
      const page = this.fatPages.get(0);
      return page ? page.readUInt32LE(cluster * 4) & 0x0fffffff : undefined;
    }
    if (Math.floor(cluster / this.fatPageEntries) !== this.lastPage) return undefined;
    const page = this.fatPages.get(this.lastPage);
    return page ? page.readUInt32LE((cluster - this.lastPage * this.fatPageEntries) * 4) & 0x0fffffff : undefined;
  }

  /** The FAT value of `cluster` (2 .. maxCluster), 28 bits. */
  async next(cluster: number): Promise<number> {
    const index = Math.floor(cluster / this.fatPageEntries);
    let page = this.fatPages.get(index);
    if (page) {
      if (this.fatPaged && index !== this.lastPage) {
        // keep recently used pages at the end of the map (LRU order)
        this.fatPages.delete(index);
        this.fatPages.set(index, page);
      }
    } else {
      page = await this.fatPage(index);
    }
    this.lastPage = index;
    return page.readUInt32LE((cluster - index * this.fatPageEntries) * 4) & 0x0fffffff;
  }

  /**
   * The clusters of a chain as runs of consecutive clusters, checked: every link stays inside the volume, no
   * cluster is free or bad, no cluster is visited twice. With `exactClusters` the chain must have exactly that many
   * clusters (a file); otherwise it may have up to `maxClusters` (a directory).
   */
  async chain(first: number, what: string, limit: { exactClusters: number } | { maxClusters: number; tooBig: string }): Promise<Run[]> {
    const max = this.vol.maxCluster;
    if (first < 2 || first > max) {
      throw this.fail(`${what} starts at cluster ${first}, outside the volume (clusters 2 to ${max}).`);
    }
    const cap = 'exactClusters' in limit ? limit.exactClusters : limit.maxClusters;
    const runs: Run[] = [];
    let cur: Run = { start: first, count: 0 };
    runs.push(cur);
    let cluster = first;
    let count = 0;
    // a short loop inside a long chain makes a run per lap: look for loops whenever the run count doubles
    let checkAt = 1024;
    for (;;) {
      if (cluster === cur.start + cur.count) cur.count++;
      else {
        cur = { start: cluster, count: 1 };
        runs.push(cur);
        if (runs.length >= checkAt) {
          checkAt *= 2;
          const loop = firstOverlap(runs);
          if (loop !== undefined) throw this.fail(`the cluster chain of ${what} loops at cluster ${loop}.`);
        }
      }
      count++;
      const next = this.nextCached(cluster) ?? (await this.next(cluster));
      if (next >= FAT_EOC_MIN) break;
      if (next === FAT_FREE) throw this.fail(`the cluster chain of ${what} runs into cluster ${cluster}, which the FAT marks as free.`);
      if (next === FAT_BAD) throw this.fail(`the cluster chain of ${what} runs into cluster ${cluster}, which the FAT marks as bad.`);
      if (next < 2 || next > max) {
        throw this.fail(
          `the cluster chain of ${what} points past the end of the FAT: cluster ${cluster} links to ${next}, the last cluster is ${max}.`,
        );
      }
      if (count >= cap) {
        const loop = firstOverlap(runs) ?? (runs.some((r) => next >= r.start && next < r.start + r.count) ? next : undefined);
        if (loop !== undefined) throw this.fail(`the cluster chain of ${what} loops at cluster ${loop}.`);
        if ('exactClusters' in limit) {
          throw this.fail(
            `the cluster chain of ${what} is longer than the file: cluster ${cluster} links to ${next} instead of ending after ${cap} cluster(s).`,
          );
        }
        throw this.fail(limit.tooBig);
      }
      cluster = next;
    }
    if ('exactClusters' in limit && count < limit.exactClusters) {
      throw this.fail(
        `${what} is larger than its cluster chain: the chain ends after ${count} cluster(s) (${count * this.vol.clusterBytes} bytes) but the file needs ${limit.exactClusters}.`,
      );
    }
    const loop = firstOverlap(runs);
    if (loop !== undefined) throw this.fail(`the cluster chain of ${what} loops at cluster ${loop}.`);
    return runs;
  }

  /** Absolute byte offset of `cluster`. */
  clusterPosition(cluster: number): number {
    return this.vol.dataOffset + (cluster - 2) * this.vol.clusterBytes;
  }
}

/** A cluster that two runs share (the chain visits it twice), or undefined. */
function firstOverlap(runs: readonly Run[]): number | undefined {
  if (runs.length < 2) return undefined;
  const sorted = runs.map((r, i) => ({ ...r, i })).sort((a, b) => a.start - b.start || a.i - b.i);
  let prev = sorted[0] as Run & { i: number };
  for (let k = 1; k < sorted.length; k++) {
    const r = sorted[k] as Run & { i: number };
    if (r.start < prev.start + prev.count) return r.start;
    if (r.start + r.count > prev.start + prev.count) prev = r;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The image

/** A FAT32 volume in an image file or on a block device, opened read-only. */
export class FatImage {
  private readonly index = new WeakMap<FatEntry, Map<string, FatEntry>>();

  private constructor(
    private readonly reader: VolumeReader,
    readonly path: string,
    readonly partitionOffset: number,
    readonly label: string,
    readonly clusterBytes: number,
    readonly root: FatEntry,
  ) {}

  /**
   * Opens `path` (an image or a block device) read-only and reads its directory tree. Without `partitionOffset`
   * the first FAT32 partition (type 0x0B/0x0C) of the MBR is used, or offset 0 when the first sector is itself a
   * FAT32 boot sector. InputError (naming the image) for anything unreadable or damaged.
   */
  static async open(path: string, opts: FatOpenOptions = {}): Promise<FatImage> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      throw new InputError(
        `Cannot open "${path}": ${errorText(err)}`,
        code === 'EACCES' || code === 'EPERM' ? 'Reading a USB stick needs read access to the device (root or the disk group).' : undefined,
        { cause: err },
      );
    }
    try {
      return await FatImage.load(fh, path, opts);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  private static async load(fh: FileHandle, path: string, opts: FatOpenOptions): Promise<FatImage> {
    const file = new ImageFile(fh, path, await inputSize(fh, path));
    const { size } = file;
    if (size !== undefined && size < MBR_SECTOR) throw file.fail(`only ${size} bytes: too small for a disk image.`);

    let offset: number;
    /** Bytes of the MBR partition, when the volume was found through the MBR. */
    let partitionBytes: number | undefined;
    if (opts.partitionOffset !== undefined) {
      offset = opts.partitionOffset;
      if (!Number.isSafeInteger(offset) || offset < 0) throw new InputError(`Bad partition offset ${String(offset)} for "${path}".`);
    } else {
      const sector0 = await file.read(0, MBR_SECTOR, 'the first sector');
      if (isFat32BootSector(sector0)) {
        offset = 0;
      } else {
        const part = findFat32Partition(sector0, (problem, hint) => file.fail(problem, hint));
        offset = part.startLba * MBR_SECTOR;
        partitionBytes = part.sectorCount * MBR_SECTOR;
      }
    }
    if (size !== undefined && offset + MBR_SECTOR > size) {
      throw file.fail(`the FAT32 partition starts at byte ${offset}, beyond the end of the image (${size} bytes); the image is truncated.`);
    }
    const vol = parseBootSector(await file.read(offset, MBR_SECTOR, 'the FAT32 boot sector'), offset);
    if (typeof vol === 'string') throw file.fail(`no valid FAT32 file system at byte ${offset}: ${vol}.`);
    if (partitionBytes !== undefined && vol.end - offset > partitionBytes) {
      throw file.fail(`the FAT32 volume (${vol.end - offset} bytes) is larger than its MBR partition (${partitionBytes} bytes).`);
    }
    if (size !== undefined && vol.end > size) {
      throw file.fail(
        `the image is truncated: the FAT32 volume ends at byte ${vol.end} but the image has only ${size} bytes.`,
        'Build or download the image again, or check that the stick is large enough.',
      );
    }

    const reader = new VolumeReader(file, vol, opts.maxFatInMemory ?? WHOLE_FAT_MAX_BYTES);
    await reader.preloadFat();
    const { root, label } = await readTree(reader);
    return new FatImage(reader, path, offset, label ?? vol.bpbLabel, vol.clusterBytes, root);
  }

  /** The entry at `path` (case-insensitive, '/' or '\\' separators), or undefined. */
  find(path: string): FatEntry | undefined {
    let cur = this.root;
    for (const part of path.split(/[\\/]+/)) {
      if (part === '' || part === '.') continue;
      if (!cur.isDir) return undefined;
      let map = this.index.get(cur);
      if (!map) {
        map = new Map(cur.children.map((c) => [c.name.toUpperCase(), c]));
        this.index.set(cur, map);
      }
      const next = map.get(part.toUpperCase());
      if (!next) return undefined;
      cur = next;
    }
    return cur;
  }

  /**
   * The bytes of a file: exactly `entry.size` bytes, in chunks of at most `chunkBytes` (default 4 MiB). The cluster
   * chain is checked before the first byte is yielded; contiguous clusters are read in one read.
   */
  async *stream(entry: FatEntry, chunkBytes: number = DEFAULT_CHUNK_BYTES): AsyncGenerator<Buffer> {
    if (entry.isDir) throw this.reader.fail(`${entry.path} is a directory, not a file.`);
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`bad chunk size ${chunkBytes}`);
    const chunk = Math.min(chunkBytes, MAX_CHUNK_BYTES);
    const size = entry.size;
    if (size === 0) return;
    if (entry.firstCluster === 0) throw this.reader.fail(`${entry.path} has ${size} bytes but no clusters (its first cluster is 0).`);
    const cb = this.clusterBytes;
    const runs = await this.reader.chain(entry.firstCluster, entry.path, { exactClusters: Math.ceil(size / cb) });

    const pieces = (function* (reader: VolumeReader) {
      let left = size;
      for (const run of runs) {
        let pos = reader.clusterPosition(run.start);
        let runLeft = Math.min(run.count * cb, left);
        while (runLeft > 0) {
          const n = Math.min(chunk, runLeft);
          yield { pos, n };
          pos += n;
          runLeft -= n;
          left -= n;
        }
      }
    })(this.reader);

    const what = `the data of ${entry.path}`;
    const start = (): Promise<Buffer> | undefined => {
      const r = pieces.next();
      if (r.done) return undefined;
      const p = this.reader.read(r.value.pos, r.value.n, what);
      p.catch(() => undefined); // reported when awaited; not unhandled if the consumer stops early
      return p;
    };
    let pending = start();
    while (pending) {
      const buf = await pending;
      pending = start(); // one read in flight while the consumer works on this chunk
      yield buf;
    }
  }

  /** SHA-256 (lowercase hex) of a file's contents. */
  async sha256(entry: FatEntry): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of this.stream(entry)) hash.update(chunk);
    return hash.digest('hex');
  }

  /** Where a file's bytes lie in the image (absolute offsets), after checking its cluster chain. */
  async extents(entry: FatEntry): Promise<{ offset: number; length: number }[]> {
    if (entry.isDir || entry.size === 0) return [];
    const cb = this.clusterBytes;
    const runs = await this.reader.chain(entry.firstCluster, entry.path, { exactClusters: Math.ceil(entry.size / cb) });
    let left = entry.size;
    return runs.map((r) => {
      const length = Math.min(r.count * cb, left);
      left -= length;
      return { offset: this.reader.clusterPosition(r.start), length };
    });
  }

  /**
   * The file system's consistency, as a list of problems (empty when sound; at most `max`): every chain checked
   * (in range, not free, no loop, as long as the file), no cluster in two chains (cross-linked), no allocated
   * cluster outside every chain (a lost chain), and every FAT copy equal to the first.
   */
  async consistencyProblems(max = 20): Promise<string[]> {
    return checkConsistency(this.reader, this.root, max);
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

/** Largest volume whose cluster ownership is tracked (4 bytes a cluster: 64 MiB of memory at most). */
const MAX_CHECKED_CLUSTERS = 16 * 2 ** 20;

async function checkConsistency(reader: VolumeReader, root: FatEntry, max: number): Promise<string[]> {
  const { vol } = reader;
  const problems: string[] = [];
  const add = (p: string) => {
    if (problems.length < max) problems.push(p);
  };
  if (vol.maxCluster + 1 > MAX_CHECKED_CLUSTERS) return [`the volume has ${vol.maxCluster - 1} clusters, more than the ${MAX_CHECKED_CLUSTERS} this check tracks`];
  // owner[c] = 1 + index of the entry whose chain holds cluster c
  const owner = new Uint32Array(vol.maxCluster + 1);
  const entries: FatEntry[] = [root, ...walkFat(root)];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.firstCluster === 0) {
      if (!e.isDir && e.size > 0) add(`${e.path} has ${e.size} bytes but no clusters`);
      continue;
    }
    let runs: Run[];
    try {
      runs = await reader.chain(e.firstCluster, e.path === '/' ? 'the root directory' : e.path, e.isDir
        ? { maxClusters: Math.max(1, Math.floor(MAX_DIR_BYTES / vol.clusterBytes)), tooBig: `directory ${e.path} is too large` }
        : { exactClusters: Math.max(1, Math.ceil(e.size / vol.clusterBytes)) });
    } catch (err) {
      add(err instanceof InputError ? err.message.replace(/^"[^"]*": /, '') : String(err));
      continue;
    }
    for (const r of runs) {
      for (let c = r.start; c < r.start + r.count; c++) {
        const other = owner[c]!;
        if (other !== 0 && other !== i + 1) add(`cluster ${c} is cross-linked: it belongs to ${entries[other - 1]!.path} and to ${e.path}`);
        else owner[c] = i + 1;
      }
    }
  }
  const fatBytes = (vol.maxCluster + 1) * 4;
  const first = fatBytes <= WHOLE_FAT_MAX_BYTES ? await reader.read(vol.fatOffsets[0]!, fatBytes, 'the first FAT') : undefined;
  const inMemory = first && vol.fatOffsets[0] === vol.fatOffset ? first : undefined;
  let lost = 0;
  let firstLost = 0;
  for (let c = 2; c <= vol.maxCluster; c++) {
    if (owner[c] !== 0) continue;
    const v = inMemory ? inMemory.readUInt32LE(c * 4) & 0x0fffffff : await reader.next(c);
    if (v !== FAT_FREE && v !== FAT_BAD && lost++ === 0) firstLost = c;
  }
  if (lost > 0) add(`${lost} cluster(s) are allocated but belong to no file (lost chains), the first at cluster ${firstLost}`);
  if (first) {
    for (let k = 1; k < vol.fatOffsets.length; k++) {
      const copy = await reader.read(vol.fatOffsets[k]!, fatBytes, `FAT copy ${k + 1}`);
      if (!copy.equals(first)) {
        let at = 0;
        while (at < fatBytes && copy[at] === first[at]) at++;
        add(`FAT copy ${k + 1} differs from the first at cluster ${Math.floor(at / 4)}`);
      }
    }
  }
  return problems;
}

/** The first FAT32 partition of the MBR in `sector0`. */
function findFat32Partition(sector0: Buffer, fail: (problem: string, hint?: string) => InputError): MbrPartition {
  if (sector0[510] !== 0x55 || sector0[511] !== 0xaa) {
    throw fail('neither an MBR nor a FAT32 boot sector: the first sector does not end with 0x55AA.', 'Is this a USB image or stick at all?');
  }
  const mbr = decodeMbr(sector0);
  if (mbr.partitions.some((p) => p.type === 0xee)) {
    throw fail('the disk has a GPT partition table; only MBR disks (or a FAT32 volume without partition table) are supported.');
  }
  const part = mbr.partitions.find((p) => PARTITION_TYPES_FAT32.has(p.type));
  if (!part && (sector0[0] === 0xeb || sector0[0] === 0xe9)) {
    // no partition table worth the name, but a boot sector: say what is wrong with its file system
    const problem = parseBootSector(sector0, 0);
    if (typeof problem === 'string' && mbr.partitions.length === 0) throw fail(`no valid FAT32 file system at byte 0: ${problem}.`);
  }
  if (!part) {
    const found = mbr.partitions.map((p) => `0x${p.type.toString(16).padStart(2, '0')}`).join(', ');
    throw fail(`the MBR has no FAT32 partition (type 0x0B or 0x0C)${found ? `; partition types found: ${found}` : '; it has no partitions'}.`);
  }
  if (part.startLba === 0) throw fail(`the FAT32 partition ${part.index + 1} starts at sector 0.`);
  return part;
}

/** Reads the directory tree breadth-first with all the caps; returns the root and the volume label entry's text. */
async function readTree(reader: VolumeReader): Promise<{ root: FatEntry; label: string | undefined }> {
  const { vol } = reader;
  const root: FatEntry = { name: '', path: '/', isDir: true, size: 0, firstCluster: vol.rootCluster, children: [] };
  const dirByCluster = new Map<number, string>([[vol.rootCluster, '/']]);
  const queue: { dir: FatEntry; depth: number }[] = [{ dir: root, depth: 0 }];
  let label: string | undefined;
  let total = 0;
  const maxClusters = Math.max(1, Math.floor(MAX_DIR_BYTES / vol.clusterBytes));
  for (let qi = 0; qi < queue.length; qi++) {
    const { dir, depth } = queue[qi] as { dir: FatEntry; depth: number };
    const what = dir.path === '/' ? 'the root directory' : `directory ${dir.path}`;
    const runs = await reader.chain(dir.firstCluster, what, {
      maxClusters,
      tooBig: `${what} is larger than the ${MAX_DIR_BYTES / MIB} MiB a FAT directory can be (its cluster chain is too long).`,
    });
    const parts: Buffer[] = [];
    for (const run of runs) parts.push(await reader.read(reader.clusterPosition(run.start), run.count * vol.clusterBytes, what));
    const data = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    const parsed = parseDirectory(data, dir === root, (slot, problem) => {
      throw reader.fail(`${what} has a damaged entry (number ${slot}): ${problem}.`);
    });
    if (dir === root) label = parsed.label;
    const seen = new Map<string, string>();
    for (const raw of parsed.entries) {
      const path = dir.path === '/' ? `/${raw.name}` : `${dir.path}/${raw.name}`;
      const key = raw.name.toUpperCase();
      if (seen.has(key)) throw reader.fail(`${what} lists "${raw.name}" twice.`);
      seen.set(key, raw.name);
      if (++total > MAX_ENTRIES) throw reader.fail(`the volume has more than ${MAX_ENTRIES} files and directories.`);
      const entry: FatEntry = { name: raw.name, path, isDir: raw.isDir, size: raw.size, firstCluster: raw.firstCluster, children: [] };
      dir.children.push(entry);
      if (!raw.isDir) continue;
      if (raw.firstCluster === 0) throw reader.fail(`directory ${path} has no clusters (its first cluster is 0).`);
      const other = dirByCluster.get(raw.firstCluster);
      if (other !== undefined) {
        throw reader.fail(`directory ${path} loops: it starts at cluster ${raw.firstCluster}, which is already ${other === '/' ? 'the root directory' : `directory ${other}`}.`);
      }
      if (depth + 1 > MAX_DEPTH) throw reader.fail(`directories are nested more than ${MAX_DEPTH} deep at ${path}.`);
      dirByCluster.set(raw.firstCluster, path);
      queue.push({ dir: entry, depth: depth + 1 });
    }
  }
  return { root, label };
}

/** Every file and directory below `root` (not `root` itself), depth first, each directory before its children. */
export function* walkFat(root: FatEntry): Generator<FatEntry> {
  const stack: FatEntry[][] = [root.children];
  const pos: number[] = [0];
  while (stack.length > 0) {
    const level = stack.length - 1;
    const list = stack[level] as FatEntry[];
    const i = pos[level] as number;
    if (i >= list.length) {
      stack.pop();
      pos.pop();
      continue;
    }
    pos[level] = i + 1;
    const entry = list[i] as FatEntry;
    yield entry;
    if (entry.isDir && entry.children.length > 0) {
      stack.push(entry.children);
      pos.push(0);
    }
  }
}
