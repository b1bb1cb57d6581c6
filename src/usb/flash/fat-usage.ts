/**
 * What an MBR + FAT32 image (what `lifeboat build` writes) uses, read from the image's own FAT: every byte from 0 to
 * the start of the data region (MBR, the gap before the partition, reserved sectors, both FATs) and every allocated
 * cluster (FAT entry not 0). A block map must cover all of it: a used block left out of the map would keep a used
 * stick's old data there (stale FAT entries, stale directory entries, corrupt files). Everything here is read
 * bounded by the image's size, so a hostile image cannot make it loop or allocate without limit.
 */
import { open } from 'node:fs/promises';
import { BLOCK_SIZE } from '../block-map.js';
import { decodeFatBootSector, totalSectors as totalSectorsOf } from '../../disk/fat-boot-sector.js';
import { hasMbrSignature, readPartitionEntries } from '../../disk/mbr.js';

const MIB = 2 ** 20;

export interface ByteRange {
  start: number;
  length: number;
}

export interface FatUsage {
  /** Block-aligned, sorted, merged ranges the file system uses. */
  ranges: ByteRange[];
  /** Byte offset of the data region: everything before it is metadata. */
  dataStart: number;
  clusterBytes: number;
  usedClusters: number;
}

const alignUp = (n: number) => Math.ceil(n / BLOCK_SIZE) * BLOCK_SIZE;
const alignDown = (n: number) => Math.floor(n / BLOCK_SIZE) * BLOCK_SIZE;

/** The used ranges of an MBR + FAT32 image; undefined when the image is not one (no MBR signature, no FAT32 entry). */
export async function fatUsage(imagePath: string): Promise<FatUsage | undefined> {
  const fh = await open(imagePath, 'r');
  try {
    const { size: imageSize } = await fh.stat();
    if (imageSize < 1024) return undefined;
    const head = Buffer.alloc(512);
    await fh.read(head, 0, 512, 0);
    if (!hasMbrSignature(head)) return undefined;
    const fat32 = readPartitionEntries(head).find((e) => e.type === 0x0b || e.type === 0x0c);
    const partStart = fat32 && fat32.startLba * 512;
    if (partStart === undefined || partStart + 512 > imageSize) return undefined;
    const boot = Buffer.alloc(512);
    await fh.read(boot, 0, 512, partStart);
    const b = decodeFatBootSector(boot);
    const bps = b.bytesPerSector;
    const perCluster = b.sectorsPerCluster;
    const reserved = b.reservedSectors;
    const fats = b.fatCount;
    const totalSectors = totalSectorsOf(b);
    const fatSize = b.fatSize32;
    if (![512, 1024, 2048, 4096].includes(bps) || perCluster === 0 || fats === 0 || fatSize === 0) return undefined;
    const metaSectors = reserved + fats * fatSize;
    const dataStart = partStart + metaSectors * bps;
    if (dataStart > imageSize || totalSectors <= metaSectors) return undefined;
    const clusterBytes = perCluster * bps;
    const clusters = Math.min(Math.floor((totalSectors - metaSectors) / perCluster), (fatSize * bps) / 4 - 2);
    const ranges: { start: number; end: number }[] = [{ start: 0, end: Math.min(imageSize, alignUp(dataStart)) }];
    let usedClusters = 0;
    // allocated clusters, from the first FAT, merged into runs
    const fatStart = partStart + reserved * bps;
    const page = Buffer.allocUnsafe(MIB);
    for (let first = 0; first < clusters + 2; first += page.length / 4) {
      const count = Math.min(page.length / 4, clusters + 2 - first);
      const { bytesRead } = await fh.read(page, 0, count * 4, fatStart + first * 4);
      if (bytesRead <= 0) break;
      for (let i = 0; i < bytesRead >>> 2; i++) {
        const c = first + i;
        if (c < 2 || (page.readUInt32LE(i * 4) & 0x0fffffff) === 0) continue;
        const start = dataStart + (c - 2) * clusterBytes;
        const end = Math.min(imageSize, start + clusterBytes);
        if (start >= end) continue;
        usedClusters++;
        const last = ranges[ranges.length - 1]!;
        if (alignDown(start) <= last.end) last.end = Math.max(last.end, alignUp(end));
        else ranges.push({ start: alignDown(start), end: alignUp(end) });
      }
    }
    return { ranges: ranges.map((r) => ({ start: r.start, length: r.end - r.start })), dataStart, clusterBytes, usedClusters };
  } finally {
    await fh.close();
  }
}

/** The parts of `wanted` (sorted, disjoint) that none of `mapped` (sorted, disjoint) covers, merged. */
export function uncovered(wanted: readonly ByteRange[], mapped: readonly ByteRange[]): ByteRange[] {
  const out: ByteRange[] = [];
  const push = (start: number, end: number) => {
    if (end <= start) return;
    const last = out[out.length - 1];
    if (last && last.start + last.length === start) last.length += end - start;
    else out.push({ start, length: end - start });
  };
  let ri = 0;
  for (const w of wanted) {
    const wEnd = w.start + w.length;
    let pos = w.start;
    while (ri < mapped.length && mapped[ri]!.start + mapped[ri]!.length <= pos) ri++;
    for (let j = ri; j < mapped.length; j++) {
      const r = mapped[j]!;
      if (r.start >= wEnd) break;
      push(pos, Math.min(r.start, wEnd));
      pos = Math.max(pos, r.start + r.length);
      if (pos >= wEnd) break;
    }
    push(pos, wEnd);
  }
  return out;
}

/** A short description of where `offset` lies in the file system, for messages. */
export function describeOffset(usage: FatUsage, offset: number): string {
  if (offset < usage.dataStart) return 'the partition table, reserved sectors or FAT';
  return `cluster ${Math.floor((offset - usage.dataStart) / usage.clusterBytes) + 2}`;
}
