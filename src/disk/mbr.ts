/**
 * The MBR partition table: four 16-byte entries at byte 446 and the 0x55AA signature. The one place MBR partition
 * entries are read and written (the USB image's MBR, the hybrid MBRs of ISO images, emulated hard-disk boot images).
 */
import { type FieldValues, bytes, decodeFields, encodeFields, u16le, u32le, u8 } from './fields.js';

export const PARTITION_TABLE_OFFSET = 446;
export const PARTITION_ENTRY_BYTES = 16;
export const MBR_SIGNATURE = 0xaa55;

export const PARTITION_ENTRY = {
  /** 0x80: the active (bootable) partition. */
  status: u8(0),
  /** Packed CHS address of the first sector. */
  chsFirst: bytes(1, 3),
  type: u8(4),
  chsLast: bytes(5, 3),
  startLba: u32le(8),
  sectorCount: u32le(12),
};

export const MBR_TAIL = {
  diskSignature: u32le(440),
  reserved: u16le(444),
  signature: u16le(510),
};

export type PartitionEntry = FieldValues<typeof PARTITION_ENTRY>;

export function hasMbrSignature(sector: Buffer): boolean {
  return sector.length >= 512 && decodeFields(MBR_TAIL, sector).signature === MBR_SIGNATURE;
}

export function entryOffset(index: number): number {
  return PARTITION_TABLE_OFFSET + index * PARTITION_ENTRY_BYTES;
}

/** The four entries, with their 0-based index; `used` leaves out the empty ones (type 0). */
export function readPartitionEntries(sector: Buffer, used = true): (PartitionEntry & { index: number })[] {
  const out: (PartitionEntry & { index: number })[] = [];
  for (let index = 0; index < 4; index++) {
    const e = decodeFields(PARTITION_ENTRY, sector, entryOffset(index));
    if (!used || e.type !== 0) out.push({ ...e, index });
  }
  return out;
}

export function writePartitionEntry(sector: Buffer, index: number, entry: Partial<PartitionEntry>): void {
  encodeFields(PARTITION_ENTRY, entry, sector, entryOffset(index));
}
