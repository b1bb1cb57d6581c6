/**
 * FAT32 volume geometry: cluster size from Microsoft's FAT32 table, FAT size, cluster count and where each region
 * starts. Pure arithmetic, no I/O.
 */
import { InputError } from '../errors.js';

export const SECTOR_SIZE = 512;
export const RESERVED_SECTORS = 32;
export const FAT_COUNT = 2;
export const FSINFO_SECTOR = 1;
export const BACKUP_BOOT_SECTOR = 6;
export const ROOT_CLUSTER = 2;
/** Fewest clusters a FAT32 volume may have (below it, every driver reads the volume as FAT16). */
export const MIN_FAT32_CLUSTERS = 65_525;
/** Most clusters FAT32 can address (cluster numbers are 28 bits, 0x0FFFFFF7 and above are reserved). */
export const MAX_FAT32_CLUSTERS = 0x0fffffff - 11;
/**
 * The smallest volume Microsoft's table formats as FAT32 (66,601 sectors), rounded up to whole MiB: 33 MiB,
 * which gives 66,496 clusters of 512 bytes.
 */
export const MIN_VOLUME_BYTES = 33 * 2 ** 20;
/** FAT sizes are rounded up to this many sectors so that the data region starts on a 4 KiB boundary. */
const FAT_ALIGN_SECTORS = 8;

/**
 * Sectors per cluster for a FAT32 volume of `totalSectors` 512-byte sectors, per Microsoft's table
 * (what Windows' format uses): up to 260 MiB 512 B, up to 8 GiB 4 KiB, up to 16 GiB 8 KiB, up to 32 GiB 16 KiB,
 * above 32 KiB. Volumes of 66,600 sectors or fewer cannot be FAT32 (returns 0).
 */
export function sectorsPerClusterFor(totalSectors: number): number {
  if (totalSectors <= 66_600) return 0;
  if (totalSectors <= 532_480) return 1;
  if (totalSectors <= 16_777_216) return 8;
  if (totalSectors <= 33_554_432) return 16;
  if (totalSectors <= 67_108_864) return 32;
  return 64;
}

export interface FatGeometry {
  /** Sectors of the whole volume (partition), boot sector included. */
  totalSectors: number;
  sectorsPerCluster: number;
  bytesPerCluster: number;
  reservedSectors: number;
  fatCount: number;
  /** Sectors of one FAT. */
  fatSectors: number;
  /** Data clusters (numbered 2 .. clusterCount + 1). */
  clusterCount: number;
  /** First sector of the data region (cluster 2), relative to the volume start. */
  dataStartSector: number;
}

/**
 * Geometry of a FAT32 volume with `totalSectors` sectors. The FAT is sized to hold an entry for every cluster
 * (plus the two reserved entries) and rounded up to 4 KiB; the cluster count is what fits after the FATs.
 * `sectorsPerCluster` overrides the table (tests, experiments).
 */
export function computeGeometry(totalSectors: number, sectorsPerCluster = sectorsPerClusterFor(totalSectors)): FatGeometry {
  if (!Number.isSafeInteger(totalSectors) || totalSectors <= 0) throw new RangeError(`bad sector count ${totalSectors}`);
  if (sectorsPerCluster === 0) {
    throw new InputError(
      `A FAT32 volume needs more than 66,600 sectors (${(totalSectors * SECTOR_SIZE) / 2 ** 20} MiB is too small).`,
    );
  }
  if (![1, 2, 4, 8, 16, 32, 64, 128].includes(sectorsPerCluster)) throw new RangeError(`bad cluster size ${sectorsPerCluster}`);
  const entriesPerSector = SECTOR_SIZE / 4;
  // Start from the FAT needed if every sector after the reserved area were data, then shrink while it still fits.
  let fatSectors = alignUp(Math.ceil((totalSectors / sectorsPerCluster + 2) / entriesPerSector), FAT_ALIGN_SECTORS);
  for (;;) {
    const smaller = fatSectors - FAT_ALIGN_SECTORS;
    if (smaller <= 0) break;
    const clusters = Math.floor((totalSectors - RESERVED_SECTORS - FAT_COUNT * smaller) / sectorsPerCluster);
    if ((clusters + 2) > smaller * entriesPerSector) break;
    fatSectors = smaller;
  }
  const dataStartSector = RESERVED_SECTORS + FAT_COUNT * fatSectors;
  const clusterCount = Math.floor((totalSectors - dataStartSector) / sectorsPerCluster);
  return {
    totalSectors,
    sectorsPerCluster,
    bytesPerCluster: sectorsPerCluster * SECTOR_SIZE,
    reservedSectors: RESERVED_SECTORS,
    fatCount: FAT_COUNT,
    fatSectors,
    clusterCount,
    dataStartSector,
  };
}

/** True when the geometry is a real FAT32 volume (enough clusters, FAT big enough, not too many clusters). */
export function isValidFat32(g: FatGeometry): boolean {
  return (
    g.clusterCount >= MIN_FAT32_CLUSTERS &&
    g.clusterCount <= MAX_FAT32_CLUSTERS &&
    (g.clusterCount + 2) * 4 <= g.fatSectors * SECTOR_SIZE
  );
}

/** Byte offset of `cluster` from the start of the volume. */
export function clusterOffset(g: FatGeometry, cluster: number): number {
  return g.dataStartSector * SECTOR_SIZE + (cluster - ROOT_CLUSTER) * g.bytesPerCluster;
}

/** Byte offset of FAT number `index` (0 or 1) from the start of the volume. */
export function fatOffset(g: FatGeometry, index: number): number {
  return (g.reservedSectors + index * g.fatSectors) * SECTOR_SIZE;
}

export function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

export function alignDown(n: number, to: number): number {
  return Math.floor(n / to) * to;
}
