/**
 * The block map in the field's standard `.bmap` format (bmaptool's XML, version 2.0, SHA-256 per range; also read
 * by balenaEtcher), written and read through the `blockmap` npm package. `lifeboat build` writes it beside the
 * image (`<image>.bmap`) so a user can flash with those tools and still skip empty blocks and check hashes;
 * `lifeboat flash` reads it when there is no `.blockmap.json`. A parsed .bmap is checked by the same rules as our
 * JSON map (validateBlockMap) before anything uses it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { BLOCK_SIZE, type BlockMap } from '../block-map.js';

/** Above this a .bmap is refused unread: enough for one range per two blocks of the image. */
export function bmapSizeLimit(imageSize: number): number {
  return 64 * 1024 + 160 * (Math.ceil(imageSize / BLOCK_SIZE / 2) + 1);
}

/** `map` as a .bmap document (with its own file checksum). */
export async function toBmap(map: BlockMap): Promise<string> {
  const { BlockMap: Bmap } = await import('blockmap');
  const bmap = new Bmap({
    version: '2.0',
    imageSize: map.imageSize,
    blockSize: map.blockSize,
    blocksCount: Math.ceil(map.imageSize / map.blockSize),
    mappedBlocksCount: map.mappedBytes / map.blockSize,
    checksumType: 'sha256',
    // a placeholder of the digest's length: the package replaces it by the file's own checksum
    checksum: '0'.repeat(64),
    ranges: map.ranges.map((r) => ({ start: r.start / map.blockSize, end: (r.start + r.length) / map.blockSize - 1, checksum: r.sha256 })),
  });
  return bmap.toString();
}

/** Writes `map` as `<path>` in .bmap format (the build calls this for `<image>.bmap`). */
export async function writeBmap(path: string, map: BlockMap): Promise<void> {
  await writeFile(path, await toBmap(map));
}

/**
 * Parses a .bmap document into our block map shape (not yet validated against the image: the caller does that).
 * InputError naming `where` when it is not a .bmap, its file checksum is wrong, or it uses other units.
 */
export async function parseBmap(text: string, where: string): Promise<unknown> {
  const { BlockMap: Bmap } = await import('blockmap');
  const bad = (what: string) => new InputError(`${where}: ${what}`, 'Rebuild the image with `lifeboat build` (it writes the .bmap), or delete the map file to let flash scan the image.');
  let parsed;
  try {
    parsed = Bmap.parse(text, true);
  } catch (e) {
    throw bad(`not a valid .bmap file (${(e as Error).message})`);
  }
  if (parsed.checksumType !== 'sha256') throw bad(`checksum type ${parsed.checksumType} (only sha256 .bmap files, format 2.0, are read)`);
  if (parsed.blockSize !== BLOCK_SIZE) throw bad(`block size ${parsed.blockSize} (expected ${BLOCK_SIZE})`);
  const ranges = parsed.ranges.map((r) => ({
    start: r.start * parsed.blockSize,
    length: (r.end - r.start + 1) * parsed.blockSize,
    sha256: r.checksum,
  }));
  return {
    format: 'lifeboat-blockmap',
    version: 1,
    imageSize: parsed.imageSize,
    blockSize: parsed.blockSize,
    mappedBytes: parsed.mappedBlocksCount * parsed.blockSize,
    ranges,
  };
}

/** Reads a .bmap file, refusing one larger than `bmapSizeLimit` unread. */
export async function readBmapText(path: string, imageSize: number): Promise<string> {
  const buf = await readFile(path);
  if (buf.length > bmapSizeLimit(imageSize)) {
    throw new InputError(`the block map "${path}" is ${buf.length} bytes, more than any block map of this image needs`, 'Delete it to let flash scan the image.');
  }
  return buf.toString('utf8');
}
