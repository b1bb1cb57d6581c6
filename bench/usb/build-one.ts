/**
 * One timed build of a USB image from a directory (run as a child process by run.ts so its peak RSS is its own).
 * Usage: node --import tsx bench/usb/build-one.ts TREE_DIR OUT_IMAGE
 * Prints one JSON line: { ms, maxRssKiB, imageSize, mappedBytes, ranges }.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

import { fileSource, writeUsbImage, type UsbTreeEntry } from '../../src/usb/fat32.js';

async function entriesFor(root: string): Promise<UsbTreeEntry[]> {
  const out: UsbTreeEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    const items = await readdir(dir, { withFileTypes: true });
    if (items.length === 0 && dir !== root) out.push({ path: `/${relative(root, dir)}`, directory: true });
    for (const item of items) {
      const abs = join(dir, item.name);
      if (item.isDirectory()) await walk(abs);
      else {
        const { size } = await stat(abs);
        out.push({ path: `/${relative(root, abs)}`, size, source: fileSource(abs, size) });
      }
    }
  };
  await walk(root);
  return out;
}

const [tree, out] = process.argv.slice(2);
if (!tree || !out) {
  console.error('usage: build-one.ts TREE_DIR OUT_IMAGE');
  process.exit(2);
}
const started = performance.now();
const result = await writeUsbImage(await entriesFor(tree), out, { seed: 'bench' });
const ms = performance.now() - started;
console.log(
  JSON.stringify({
    ms,
    maxRssKiB: process.resourceUsage().maxRSS,
    imageSize: result.imageSize,
    partitionBytes: result.partition.size,
    mappedBytes: result.blockMap.mappedBytes,
    ranges: result.blockMap.ranges.length,
  }),
);
