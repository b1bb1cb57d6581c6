/**
 * Block maps as the build should leave them beside a USB image: covering every block the image's file system uses
 * (what flash demands, see map-file.ts), in our JSON and in the standard .bmap format.
 */
import { createHash } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { MAX_RANGE_LENGTH, serializeBlockMap, type BlockMap, type BlockMapRange } from '../block-map.js';
import { writeBmap } from './bmap.js';
import { fatUsage, uncovered } from './fat-usage.js';

/**
 * `map` plus every block the image's FAT uses that it leaves out (for a map straight from the image writer: the
 * MBR gap, the free tail of the FATs, unwritten parts of clusters). Only those blocks are read and hashed, each run
 * as ranges of its own, so the writer's hashes are kept. Images that are not MBR + FAT32 get `map` back.
 */
export async function withUsedBlocks(imagePath: string, map: BlockMap): Promise<BlockMap> {
  const usage = await fatUsage(imagePath);
  const missing = usage ? uncovered(usage.ranges, map.ranges) : [];
  if (missing.length === 0) return map;
  const added: BlockMapRange[] = [];
  const fh = await open(imagePath, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 2 ** 20);
    for (const m of missing) {
      for (let start = m.start; start < m.start + m.length; start += MAX_RANGE_LENGTH) {
        const end = Math.min(m.start + m.length, start + MAX_RANGE_LENGTH);
        const hash = createHash('sha256');
        for (let at = start; at < end; ) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - at), at);
          if (bytesRead <= 0) throw new Error(`short read at ${at} of ${imagePath}`);
          hash.update(buf.subarray(0, bytesRead));
          at += bytesRead;
        }
        added.push({ start, length: end - start, sha256: hash.digest('hex') });
      }
    }
  } finally {
    await fh.close();
  }
  const ranges = [...map.ranges, ...added].sort((a, b) => a.start - b.start);
  return { ...map, ranges, mappedBytes: ranges.reduce((s, r) => s + r.length, 0) };
}

/** Writes the map as JSON (`json`, what `lifeboat flash` reads first) and as .bmap (`bmap`, for bmaptool / Etcher). */
export async function writeBlockMapFiles(map: BlockMap, paths: { json?: string; bmap?: string }): Promise<void> {
  if (paths.json) await writeFile(paths.json, serializeBlockMap(map));
  if (paths.bmap) await writeBmap(paths.bmap, map);
}
