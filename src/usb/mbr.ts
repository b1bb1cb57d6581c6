/**
 * The master boot record of the USB image: boot code (optional, e.g. syslinux mbr.bin), disk signature and one
 * partition entry. Encode and decode, so tests and `lifeboat verify` can read it back.
 */
import { InputError } from '../errors.js';
import { decodeFields, encodeFields } from '../disk/fields.js';
import { MBR_SIGNATURE, MBR_TAIL, readPartitionEntries, writePartitionEntry } from '../disk/mbr.js';

export const MBR_SIZE = 512;
/** Bytes of boot code an MBR can carry (before the disk signature). */
export const MBR_BOOT_CODE_SIZE = 440;
/** Partition type: FAT32 with LBA addressing. */
export const PARTITION_TYPE_FAT32_LBA = 0x0c;
/** First partition sector: 1 MiB alignment, as every current partitioning tool does. */
export const DEFAULT_PARTITION_START_LBA = 2048;

const CHS_HEADS = 255;
const CHS_SECTORS = 63;

export interface MbrPartition {
  /** Boot indicator 0x80 (what BIOS boot code looks for). */
  active: boolean;
  type: number;
  startLba: number;
  sectorCount: number;
}

export interface MbrOptions {
  /** Up to 440 bytes of boot code (syslinux mbr.bin is exactly 440); zeros when absent. */
  bootCode?: Uint8Array;
  /** 32-bit disk signature at offset 440 (Windows identifies disks by it). */
  diskSignature: number;
  partition: MbrPartition;
}

/**
 * CHS triple of an LBA in the classic 255-head, 63-sector translation, packed as stored in a partition entry
 * (head; sector | cylinder bits 8-9 << 6; cylinder bits 0-7). Beyond cylinder 1023 the "LBA only" maximum
 * (0xFE, 0xFF, 0xFF) is stored.
 */
export function encodeChs(lba: number): [number, number, number] {
  const cylinder = Math.floor(lba / (CHS_HEADS * CHS_SECTORS));
  if (cylinder > 1023) return [0xfe, 0xff, 0xff];
  const head = Math.floor(lba / CHS_SECTORS) % CHS_HEADS;
  const sector = (lba % CHS_SECTORS) + 1;
  return [head, (sector & 0x3f) | ((cylinder >> 2) & 0xc0), cylinder & 0xff];
}

/** The 512-byte MBR. */
export function encodeMbr(options: MbrOptions): Buffer {
  const { bootCode, diskSignature, partition } = options;
  const mbr = Buffer.alloc(MBR_SIZE);
  if (bootCode) {
    if (bootCode.length > MBR_BOOT_CODE_SIZE) {
      throw new InputError(
        `MBR boot code is ${bootCode.length} bytes; at most ${MBR_BOOT_CODE_SIZE} fit before the partition table.`,
        'Use the 440-byte mbr.bin (syslinux) rather than a whole 512-byte sector.',
      );
    }
    mbr.set(bootCode, 0);
  }
  if (!Number.isInteger(diskSignature) || diskSignature < 0 || diskSignature > 0xffffffff) {
    throw new RangeError(`bad disk signature ${diskSignature}`);
  }
  const { startLba, sectorCount } = partition;
  if (!Number.isSafeInteger(startLba) || startLba < 1 || !Number.isSafeInteger(sectorCount) || sectorCount < 1) {
    throw new RangeError(`bad partition ${startLba}+${sectorCount}`);
  }
  if (startLba + sectorCount > 0x1_0000_0000) {
    throw new InputError(`The partition ends beyond 2 TiB, which an MBR cannot describe.`);
  }
  encodeFields(MBR_TAIL, { diskSignature, reserved: 0, signature: MBR_SIGNATURE }, mbr);
  writePartitionEntry(mbr, 0, {
    status: partition.active ? 0x80 : 0x00,
    chsFirst: Buffer.from(encodeChs(startLba)),
    type: partition.type & 0xff,
    chsLast: Buffer.from(encodeChs(startLba + sectorCount - 1)),
    startLba,
    sectorCount,
  });
  return mbr;
}

export interface DecodedMbr {
  diskSignature: number;
  /** The four primary entries; empty ones (type 0) are left out. */
  partitions: (MbrPartition & { index: number })[];
  hasBootCode: boolean;
}

/** Reads an MBR; throws InputError when the 0x55AA signature is missing. */
export function decodeMbr(sector: Uint8Array): DecodedMbr {
  const b = Buffer.from(sector.buffer, sector.byteOffset, sector.byteLength);
  if (b.length < MBR_SIZE || decodeFields(MBR_TAIL, b).signature !== MBR_SIGNATURE) {
    throw new InputError('No MBR: the first sector does not end with 0x55AA.');
  }
  const partitions = readPartitionEntries(b).map((e) => ({ index: e.index, active: e.status === 0x80, type: e.type, startLba: e.startLba, sectorCount: e.sectorCount }));
  return {
    diskSignature: decodeFields(MBR_TAIL, b).diskSignature,
    partitions,
    hasBootCode: b.subarray(0, MBR_BOOT_CODE_SIZE).some((x) => x !== 0),
  };
}
