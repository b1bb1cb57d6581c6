/**
 * Where flash gets an image's block map, and the checks it passes before anything is written: our JSON map
 * (`<image>.blockmap.json`) or the standard `.bmap` (`<image>.bmap`, see bmap.ts), else a scan of the image. A map
 * read from a file must be well formed (validateBlockMap) and, for an MBR + FAT32 image, cover everything the image's
 * own FAT says is used (checkMapCoversFat): a self-consistent map that leaves out a used block is refused (exit 2,
 * nothing written), because flashing by it would leave a used stick's old data in that block.
 */
import { open, stat } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { formatByteCount } from './format.js';
import { BLOCK_SIZE, scanBlockMap, type BlockMap } from '../block-map.js';
import { bmapSizeLimit, parseBmap } from './bmap.js';
import { describeOffset, uncovered, type FatUsage } from './fat-usage.js';

export interface LoadedBlockMap {
  map: BlockMap;
  /** Where the map came from: a file next to the image (or given), or a scan of the image (no map file). */
  source: { kind: 'file'; path: string; format: 'json' | 'bmap' } | { kind: 'scanned' };
}

const REBUILD = 'Rebuild the image with `lifeboat build`, or delete the block map file to let flash scan the image.';

/** Checks a parsed block map against the image: format, alignment, order, bounds, sums. InputError when wrong. */
export function validateBlockMap(map: unknown, imageSize: number, where: string): BlockMap {
  const m = map as Partial<BlockMap> | null;
  const bad = (what: string) => new InputError(`${where}: ${what}`, REBUILD);
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

/** Reads a map file of at most `limit` bytes; undefined when it does not exist and was not asked for by name. */
async function readMapFile(path: string, limit: number, named: boolean): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if (!named && (e as { code?: string }).code === 'ENOENT') return undefined;
    throw new InputError(`cannot read the block map "${path}": ${(e as { code?: string }).code ?? String(e)}`, 'Give the .blockmap.json or .bmap written beside the image by `lifeboat build`.');
  }
  try {
    const { size } = await fh.stat();
    if (size > limit) throw new InputError(`the block map "${path}" is ${formatByteCount(size)}, more than any block map of this image needs`, REBUILD);
    return (await fh.readFile()).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * The image's block map: `mapPath` (JSON or .bmap, told apart by content), else `<image>.blockmap.json`, else
 * `<image>.bmap`, else a scan of the image.
 */
export async function loadBlockMap(imagePath: string, mapPath?: string): Promise<LoadedBlockMap> {
  const { size } = await stat(imagePath);
  const limit = bmapSizeLimit(size);
  const candidates = mapPath !== undefined ? [mapPath] : [`${imagePath}.blockmap.json`, `${imagePath}.bmap`];
  for (const path of candidates) {
    const text = await readMapFile(path, limit, mapPath !== undefined);
    if (text === undefined) continue;
    const where = `block map "${path}"`;
    if (text.trimStart().startsWith('<')) {
      return { map: validateBlockMap(await parseBmap(text, where), size, where), source: { kind: 'file', path, format: 'bmap' } };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new InputError(`the block map "${path}" is neither JSON nor a .bmap`, REBUILD);
    }
    return { map: validateBlockMap(json, size, where), source: { kind: 'file', path, format: 'json' } };
  }
  return { map: await scanBlockMap(imagePath), source: { kind: 'scanned' } };
}

/**
 * Refuses (InputError, exit 2) a map that leaves out any block the image's FAT uses: reserved sectors, FATs and
 * every allocated cluster must be mapped.
 */
export function checkMapCoversFat(map: BlockMap, usage: FatUsage, where: string): void {
  const missing = uncovered(usage.ranges, map.ranges);
  if (missing.length === 0) return;
  const bytes = missing.reduce((s, r) => s + r.length, 0);
  const first = missing[0]!;
  throw new InputError(
    `${where} leaves out ${formatByteCount(bytes)} in ${missing.length} place${missing.length === 1 ? '' : 's'} that the image's file system uses ` +
      `(first at byte ${first.start}, ${describeOffset(usage, first.start)}): flashing by it would leave old data there`,
    REBUILD,
  );
}
