/**
 * Writing an image to a target and proving it: the plan (the block map's ranges, plus zero-fill where stale data
 * would matter), the write pass (large aligned chunks, two buffers so reading the image overlaps the device write,
 * SHA-256 of every range computed on the way through and checked against the map), one flush, then the read-back
 * pass that hashes every planned range from the target and compares. Any error ends the job with a typed error;
 * nothing returns normally after one.
 */
import { createHash } from 'node:crypto';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { BLOCK_SIZE, scanBlockMap, type BlockMap } from '../image-writer.js';
import { BlockMapMismatchError, ShortReadError, ShortWriteError, VerifyMismatchError, targetError, type FlashPhase } from './errors.js';
import type { FlashTarget } from './target.js';

const MIB = 2 ** 20;
/** Bytes per write: large enough for full USB transfer batches, small enough to keep two in memory. */
export const DEFAULT_CHUNK = 4 * MIB;

/** One range of the plan: `data` comes from the image, `zero` is written as zeros. */
export interface PlanRange {
  start: number;
  length: number;
  sha256: string;
  kind: 'data' | 'zero';
}

export interface LoadedBlockMap {
  map: BlockMap;
  /** Where the map came from: the file next to the image, or a scan of the image (no map file). */
  source: { kind: 'file'; path: string } | { kind: 'scanned' };
}

/** Checks a parsed block map against the image: format, alignment, order, bounds, sums. InputError when wrong. */
export function validateBlockMap(map: unknown, imageSize: number, where: string): BlockMap {
  const m = map as Partial<BlockMap> | null;
  const bad = (what: string) => new InputError(`${where}: ${what}`, 'Rebuild the image with `lifeboat build`, or delete the block map file to let flash scan the image.');
  if (!m || m.format !== 'lifeboat-blockmap' || m.version !== 1) throw bad('not a lifeboat-blockmap version 1 file');
  if (m.blockSize !== BLOCK_SIZE) throw bad(`block size ${String(m.blockSize)} (expected ${BLOCK_SIZE})`);
  if (m.imageSize !== imageSize) throw bad(`made for an image of ${String(m.imageSize)} bytes, the image has ${imageSize}`);
  if (!Array.isArray(m.ranges)) throw bad('no ranges');
  let end = 0;
  let sum = 0;
  for (const [i, r] of m.ranges.entries()) {
    const ok =
      r && Number.isSafeInteger(r.start) && Number.isSafeInteger(r.length) && r.length > 0 && r.start % BLOCK_SIZE === 0 &&
      r.length % BLOCK_SIZE === 0 && r.start >= end && r.start + r.length <= imageSize && typeof r.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256);
    if (!ok) throw bad(`range ${i} is malformed, unaligned, out of order or beyond the image`);
    end = r.start + r.length;
    sum += r.length;
  }
  if (m.mappedBytes !== sum) throw bad(`mappedBytes ${String(m.mappedBytes)} is not the sum of the ranges (${sum})`);
  return m as BlockMap;
}

/** The image's block map: `mapPath`, else `<image>.blockmap.json`, else a scan of the image. */
export async function loadBlockMap(imagePath: string, mapPath?: string): Promise<LoadedBlockMap> {
  const { size } = await stat(imagePath);
  const path = mapPath ?? `${imagePath}.blockmap.json`;
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (mapPath !== undefined || (e as { code?: string }).code !== 'ENOENT') {
      throw new InputError(`cannot read the block map "${path}": ${(e as { code?: string }).code ?? String(e)}`);
    }
  }
  if (text === undefined) return { map: await scanBlockMap(imagePath), source: { kind: 'scanned' } };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`the block map "${path}" is not JSON`, 'Rebuild the image, or delete the block map to let flash scan the image.');
  }
  return { map: validateBlockMap(json, size, `block map "${path}"`), source: { kind: 'file', path } };
}

/**
 * Ranges that must be zero on the stick although the block map leaves them out, for an MBR + FAT32 image (what
 * `lifeboat build` writes). A block map only lists non-zero blocks, but a zero block is not "unused": the unused
 * tail of the FATs, the unused part of a directory cluster and zero blocks inside files (a map made by
 * `scanBlockMap`, as for BIOS builds, drops those) must read as zero on the stick too. On a used stick those places
 * hold old data: stale FAT entries, stale directory entries, or corrupt files. So every unmapped block from byte 0
 * to the start of the data region (the MBR gap with any old partition table, reserved sectors, both FATs) and of
 * every allocated cluster (FAT entry not 0) is zero-filled; only free clusters are skipped. Returns [] for images
 * that are not MBR + FAT32 (the map alone is then trusted, as bmaptool does).
 */
export async function zeroFillRanges(imagePath: string, map: BlockMap): Promise<{ start: number; length: number }[]> {
  const fh = await open(imagePath, 'r');
  try {
    const head = Buffer.alloc(512);
    await fh.read(head, 0, 512, 0);
    if (head.readUInt16LE(510) !== 0xaa55) return [];
    let partStart: number | undefined;
    for (let i = 0; i < 4; i++) {
      const e = 446 + 16 * i;
      const type = head[e + 4];
      if (type === 0x0b || type === 0x0c) {
        partStart = head.readUInt32LE(e + 8) * 512;
        break;
      }
    }
    if (partStart === undefined || partStart + 512 > map.imageSize) return [];
    const boot = Buffer.alloc(512);
    await fh.read(boot, 0, 512, partStart);
    const bps = boot.readUInt16LE(11);
    const perCluster = boot[13] ?? 0;
    const reserved = boot.readUInt16LE(14);
    const fats = boot[16] ?? 0;
    const totalSectors = boot.readUInt16LE(19) || boot.readUInt32LE(32);
    const fatSize = boot.readUInt32LE(36);
    if (![512, 1024, 2048, 4096].includes(bps) || perCluster === 0 || fats === 0 || fatSize === 0) return [];
    const metaSectors = reserved + fats * fatSize;
    const dataStart = partStart + metaSectors * bps;
    if (dataStart > map.imageSize || totalSectors <= metaSectors) return [];
    const clusterBytes = perCluster * bps;
    const clusters = Math.min(Math.floor((totalSectors - metaSectors) / perCluster), (fatSize * bps) / 4 - 2);
    const wanted: { start: number; end: number }[] = [{ start: 0, end: alignUp(dataStart) }];
    // allocated clusters, from the first FAT, merged into runs
    const fatStart = partStart + reserved * bps;
    const page = Buffer.allocUnsafe(MIB);
    for (let first = 0; first < clusters + 2; first += page.length / 4) {
      const count = Math.min(page.length / 4, clusters + 2 - first);
      const { bytesRead } = await fh.read(page, 0, count * 4, fatStart + first * 4);
      for (let i = 0; i < bytesRead / 4; i++) {
        const c = first + i;
        if (c < 2 || (page.readUInt32LE(i * 4) & 0x0fffffff) === 0) continue;
        const start = dataStart + (c - 2) * clusterBytes;
        const end = Math.min(map.imageSize, start + clusterBytes);
        if (start >= end) continue;
        const last = wanted[wanted.length - 1]!;
        if (alignDown(start) <= last.end) last.end = Math.max(last.end, alignUp(end));
        else wanted.push({ start: alignDown(start), end: alignUp(end) });
      }
    }
    return subtractMapped(wanted, map);
  } finally {
    await fh.close();
  }
}

/** The parts of `wanted` (sorted, disjoint) that no map range covers, merged. */
function subtractMapped(wanted: { start: number; end: number }[], map: BlockMap): { start: number; length: number }[] {
  const out: { start: number; length: number }[] = [];
  const push = (start: number, end: number) => {
    if (end <= start) return;
    const last = out[out.length - 1];
    if (last && last.start + last.length === start) last.length += end - start;
    else out.push({ start, length: end - start });
  };
  let ri = 0;
  for (const w of wanted) {
    let pos = w.start;
    while (ri < map.ranges.length && map.ranges[ri]!.start + map.ranges[ri]!.length <= pos) ri++;
    for (let j = ri; j < map.ranges.length; j++) {
      const r = map.ranges[j]!;
      if (r.start >= w.end) break;
      push(pos, Math.min(r.start, w.end));
      pos = Math.max(pos, r.start + r.length);
      if (pos >= w.end) break;
    }
    push(pos, w.end);
  }
  return out;
}

const ZEROS = Buffer.alloc(MIB);
function zeroHash(length: number): string {
  const h = createHash('sha256');
  for (let left = length; left > 0; left -= ZEROS.length) h.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  return h.digest('hex');
}

/** The block map's ranges and the zero-fill ranges, in ascending order. */
export function planFlash(map: BlockMap, zeroFill: readonly { start: number; length: number }[] = []): PlanRange[] {
  const plan: PlanRange[] = [
    ...map.ranges.map((r) => ({ start: r.start, length: r.length, sha256: r.sha256, kind: 'data' as const })),
    ...zeroFill.map((r) => ({ start: r.start, length: r.length, sha256: zeroHash(r.length), kind: 'zero' as const })),
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

function alignUp(n: number): number {
  return Math.ceil(n / BLOCK_SIZE) * BLOCK_SIZE;
}

function alignDown(n: number): number {
  return Math.floor(n / BLOCK_SIZE) * BLOCK_SIZE;
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

/**
 * Writes the plan's ranges from `imagePath` to `target`, flushes, reads every range back and compares SHA-256.
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
  const bufs = [await target.allocate(chunk), await target.allocate(chunk)] as const;
  const zero = await target.allocate(chunk);
  zero.fill(0);
  const image = await open(imagePath, 'r');
  const t0 = performance.now();
  let done = 0;
  try {
    // ---- write
    let pending: Promise<void> | undefined;
    let pendingLen = 0;
    let which = 0;
    const settle = async () => {
      if (!pending) return;
      const p = pending;
      pending = undefined;
      await p;
      done += pendingLen;
      opts.onProgress?.('write', done, total);
    };
    for (const r of plan) {
      const hash = createHash('sha256');
      for (let off = 0; off < r.length; off += chunk) {
        const n = Math.min(chunk, r.length - off);
        let data: Buffer;
        if (r.kind === 'zero') data = zero.subarray(0, n);
        else {
          data = bufs[which]!.subarray(0, n);
          which ^= 1;
          // this buffer was handed to the write before the pending one, which has completed by now
          await readImage(image, data, r.start + off, imagePath);
        }
        hash.update(data);
        await settle();
        const p = writeFully(target, data, r.start + off);
        p.catch(() => undefined); // picked up by the next settle()
        pending = p;
        pendingLen = n;
      }
      const actual = hash.digest('hex');
      if (actual !== r.sha256) {
        await settle().catch(() => undefined);
        throw new BlockMapMismatchError(r, r.sha256, actual, imagePath);
      }
    }
    await settle();
    const t1 = performance.now();
    try {
      await target.flush();
    } catch (e) {
      throw targetError(e, plan.at(-1) ? plan.at(-1)!.start + plan.at(-1)!.length : 0, 'flush');
    }
    const t2 = performance.now();

    // ---- read back
    done = 0;
    opts.onProgress?.('verify', 0, total);
    for (const r of plan) {
      const hash = createHash('sha256');
      let next: Promise<void> | undefined;
      let nextBuf: Buffer | undefined;
      let which2 = 0;
      const start = (off: number) => {
        const n = Math.min(chunk, r.length - off);
        nextBuf = bufs[which2]!.subarray(0, n);
        which2 ^= 1;
        next = readFully(target, nextBuf, r.start + off, 'verify');
        next.catch(() => undefined);
      };
      start(0);
      for (let off = 0; off < r.length; off += chunk) {
        await next;
        const cur = nextBuf!;
        if (off + chunk < r.length) start(off + chunk); // the read of the next chunk overlaps hashing this one
        hash.update(cur);
        done += cur.length;
        opts.onProgress?.('verify', done, total);
      }
      const actual = hash.digest('hex');
      if (actual !== r.sha256) throw await locateMismatch(image, target, r, actual, chunk, imagePath);
    }
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

/** Re-reads a range that failed its hash from the image and the target and finds the first differing byte. */
async function locateMismatch(image: FileHandle, target: FlashTarget, r: PlanRange, actual: string, chunk: number, imagePath: string): Promise<VerifyMismatchError> {
  const want = Buffer.allocUnsafe(chunk);
  const got = await target.allocate(chunk);
  for (let off = 0; off < r.length; off += chunk) {
    const n = Math.min(chunk, r.length - off);
    const w = want.subarray(0, n);
    const g = got.subarray(0, n);
    if (r.kind === 'zero') w.fill(0);
    else await readImage(image, w, r.start + off, imagePath);
    await readFully(target, g, r.start + off, 'verify');
    if (!w.equals(g)) {
      let i = 0;
      while (i < n && w[i] === g[i]) i++;
      return new VerifyMismatchError(r.start + off + i, r, r.sha256, actual, g[i], w[i]);
    }
  }
  return new VerifyMismatchError(r.start, r, r.sha256, actual, undefined, undefined, false);
}
