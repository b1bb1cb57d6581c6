/**
 * The FAT boot sector (BIOS parameter block, FAT32 layout): one table, read and written through it. Used to write
 * the USB image's file system, to read it back, and to size FAT images inside ISOs (El Torito EFI images).
 */
import { type FieldValues, bytes, decodeFields, latin1, u16le, u32le, u8 } from './fields.js';

export const FAT_BOOT_SECTOR = {
  jump: bytes(0, 3),
  oemName: latin1(3, 8),
  bytesPerSector: u16le(11),
  sectorsPerCluster: u8(13),
  reservedSectors: u16le(14),
  fatCount: u8(16),
  /** Root directory entries: FAT12/16 only, 0 on FAT32. */
  rootEntries: u16le(17),
  /** Total sectors when they fit in 16 bits (FAT12/16), else 0 and `totalSectors32` holds them. */
  totalSectors16: u16le(19),
  media: u8(21),
  /** Sectors per FAT on FAT12/16; 0 on FAT32. */
  fatSize16: u16le(22),
  sectorsPerTrack: u16le(24),
  heads: u16le(26),
  hiddenSectors: u32le(28),
  totalSectors32: u32le(32),
  fatSize32: u32le(36),
  /** Bit 7: only one FAT is active, bits 0-3 say which. */
  extFlags: u16le(40),
  fsVersion: u16le(42),
  rootCluster: u32le(44),
  fsInfoSector: u16le(48),
  backupBootSector: u16le(50),
  driveNumber: u8(64),
  /** 0x29: volume id, label and file system type follow. */
  bootSignature: u8(66),
  volumeId: u32le(67),
  volumeLabel: latin1(71, 11),
  fsType: latin1(82, 8),
  signature: u16le(510),
};

export type FatBootSector = FieldValues<typeof FAT_BOOT_SECTOR>;

/** Where the FAT32 boot code starts (after the extended BPB). */
export const FAT32_BOOT_CODE_OFFSET = 90;

export function decodeFatBootSector(sector: Buffer): FatBootSector {
  return decodeFields(FAT_BOOT_SECTOR, sector);
}

/** Sectors of the volume, whichever field holds them. */
export function totalSectors(b: FatBootSector): number {
  return b.totalSectors16 || b.totalSectors32;
}
