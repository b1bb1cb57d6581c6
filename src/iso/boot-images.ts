/**
 * El Torito boot images: how big they really are, and the address tables some of them carry inside.
 *
 * - A no-emulation entry's sector count is what the BIOS loads, not the image size; an EFI entry's count is often
 *   0, 1 or wrong. The size comes from the file of the tree that starts at the image, else from the FAT boot sector
 *   inside the image, else from the emulated medium, else from the load count.
 * - isolinux/GRUB images may carry a boot-info-table (bytes 8-63) and GRUB2 a boot-info address at byte 2548.
 *   Both hold the image's own LBA, so they are recomputed when the image moves, and only when the source had them.
 */
import { hasMbrSignature, readPartitionEntries } from '../disk/mbr.js';
import { decodeFatBootSector, totalSectors } from '../disk/fat-boot-sector.js';
import { type BootEntry, FLOPPY_BYTES, PLATFORM_BIOS, emulationOf } from './boot-catalog.js';

export type SizeBasis = 'file' | 'fat' | 'floppy' | 'mbr' | 'boot-info-table' | 'gap' | 'load-count';

/** Size of a FAT file system from its boot sector, or undefined when `sector` is not a plausible FAT boot sector. */
export function fatImageBytes(sector: Buffer): number | undefined {
  if (sector.length < 512) return undefined;
  const b = decodeFatBootSector(sector);
  if (b.signature !== 0xaa55 || ![512, 1024, 2048, 4096].includes(b.bytesPerSector)) return undefined;
  const perCluster = b.sectorsPerCluster;
  if (perCluster === 0 || (perCluster & (perCluster - 1)) !== 0 || b.reservedSectors === 0 || b.fatCount < 1 || b.fatCount > 2) return undefined;
  const total = totalSectors(b);
  return total > 0 ? total * b.bytesPerSector : undefined;
}

/** Bytes covered by the partitions of an emulated hard disk image's MBR. */
function mbrImageBytes(sector: Buffer): number | undefined {
  if (!hasMbrSignature(sector)) return undefined;
  const end = Math.max(0, ...readPartitionEntries(sector).map((e) => e.startLba + e.sectorCount));
  return end > 0 ? end * 512 : undefined;
}

export interface SizeContext {
  platformId: number;
  entry: BootEntry;
  /** Size of the tree file that starts at the image's LBA, if any. */
  fileSize?: number;
  /** The first bytes of the image (at least 512; 64 or more to see a boot-info-table). */
  firstSector: Buffer;
  /** Bytes from the image's start to the next structure of the image: an upper bound for hidden images. */
  gapBytes?: number;
}

/** A hidden BIOS image whose size nothing records is taken up to the next structure, within this bound. */
export const MAX_GAP_IMAGE_BYTES = 8 * 1024 * 1024;

export function bootImageSize(c: SizeContext): { size: number; basis: SizeBasis } {
  if (c.fileSize !== undefined) return { size: c.fileSize, basis: 'file' };
  const emulation = emulationOf(c.entry.mediaType);
  const floppy = FLOPPY_BYTES[emulation];
  if (floppy) return { size: floppy, basis: 'floppy' };
  if (emulation === 'hard-disk') {
    const bytes = mbrImageBytes(c.firstSector);
    if (bytes) return { size: bytes, basis: 'mbr' };
  }
  const loadBytes = c.entry.sectorCount * 512;
  if (c.platformId !== PLATFORM_BIOS || c.entry.sectorCount <= 1) {
    const bytes = fatImageBytes(c.firstSector);
    if (bytes) return { size: bytes, basis: 'fat' };
  }
  // A hidden no-emulation image: the BIOS loads only the first sectors and the code loads the rest itself, so
  // the whole image must be carried. Its boot-info-table records its length; else it runs to the next structure.
  const lbaOfImage = c.firstSector.length >= 64 ? c.firstSector.readUInt32LE(12) : -1;
  if (c.firstSector.length >= 64 && c.firstSector.readUInt32LE(8) === 16 && lbaOfImage === c.entry.loadRba) {
    const length = c.firstSector.readUInt32LE(16);
    if (length >= loadBytes && length <= MAX_PATCHED_IMAGE_BYTES) return { size: length, basis: 'boot-info-table' };
  }
  if (c.gapBytes !== undefined && c.gapBytes > loadBytes && c.gapBytes <= MAX_GAP_IMAGE_BYTES) return { size: c.gapBytes, basis: 'gap' };
  return { size: Math.max(loadBytes, 512), basis: 'load-count' };
}

const PVD_LBA = 16;
const GRUB2_BOOT_INFO_OFFSET = 2548;

export function hasBootInfoTable(image: Buffer, lba: number): boolean {
  return image.length >= 64 && image.readUInt32LE(8) === PVD_LBA && image.readUInt32LE(12) === lba;
}

export function hasGrub2BootInfo(image: Buffer, lba: number): boolean {
  return image.length >= GRUB2_BOOT_INFO_OFFSET + 8 && image.readBigUInt64LE(GRUB2_BOOT_INFO_OFFSET) === BigInt(lba) * 4n + 5n;
}

/**
 * Writes the image's new LBA into the address tables it carries: GRUB2's boot info at byte 2548 first, then the
 * boot-info-table (El Torito as isolinux/mkisofs define it) whose checksum covers bytes 64 to the end, so it is
 * computed last, over the image as it will be written (the GRUB2 field lies inside that range).
 */
export function patchBootImage(image: Buffer, lba: number, tables: { bootInfoTable?: boolean; grub2BootInfo?: boolean }): void {
  if (tables.grub2BootInfo) image.writeBigUInt64LE(BigInt(lba) * 4n + 5n, GRUB2_BOOT_INFO_OFFSET);
  if (!tables.bootInfoTable) return;
  image.writeUInt32LE(PVD_LBA, 8);
  image.writeUInt32LE(lba, 12);
  image.writeUInt32LE(image.length, 16);
  image.writeUInt32LE(bootInfoChecksum(image), 20);
}

/**
 * The boot-info-table checksum: the sum of the 32-bit little-endian words from byte 64 to the end, a last partial
 * word padded with zeros (as it lies in its zero-padded sector; xorriso sums it so).
 */
export function bootInfoChecksum(image: Buffer): number {
  let sum = 0;
  let i = 64;
  for (; i + 4 <= image.length; i += 4) sum = (sum + image.readUInt32LE(i)) >>> 0;
  if (i < image.length) {
    const tail = Buffer.alloc(4);
    image.copy(tail, 0, i);
    sum = (sum + tail.readUInt32LE(0)) >>> 0;
  }
  return sum;
}

export const MAX_PATCHED_IMAGE_BYTES = 64 * 1024 * 1024;

