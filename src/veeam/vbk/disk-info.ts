/**
 * What an internal file that is a disk holds: its partition table (GPT or MBR) and, per partition (or for a bare
 * volume), the file system; for NTFS the volume size and label (from the boot sector and the $Volume record).
 * Reads only the few sectors it needs, through the checked block reader.
 */
import type { TreeEntry, VbkReader } from './reader.js';

export interface VolumeInfo {
  readonly fileSystem: 'NTFS' | 'FAT32' | 'exFAT' | 'ext2/3/4' | 'unknown';
  /** NTFS: bytes the volume spans (boot sector's sector count). */
  readonly size?: number;
  readonly label?: string;
  readonly clusterSize?: number;
}

export interface PartitionInfo {
  readonly index: number;
  /** Byte offset in the disk and length. */
  readonly offset: number;
  readonly size: number;
  readonly type: string;
  readonly typeName?: string;
  readonly name?: string;
  readonly volume?: VolumeInfo;
}

export interface DiskInfo {
  readonly partitionTable: 'GPT' | 'MBR' | 'none';
  readonly diskGuid?: string;
  readonly partitions: PartitionInfo[];
  /** A file system that starts at offset 0 (a volume image, no partition table). */
  readonly volume?: VolumeInfo;
}

const SECTOR = 512;
const GPT_TYPES: Record<string, string> = {
  'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7': 'Microsoft basic data',
  'C12A7328-F81F-11D2-BA4B-00A0C93EC93B': 'EFI system',
  'E3C9E316-0B5C-4DB8-817D-F92DF00215AE': 'Microsoft reserved',
  'DE94BBA4-06D1-4D40-A16A-BFD50179D6AC': 'Windows recovery',
  '5808C8AA-7E8F-42E0-85D2-E1E90434CFB3': 'Windows LDM metadata',
  'AF9B60A0-1431-4F62-BC68-3311714A69AD': 'Windows LDM data',
  'E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D': 'Windows storage spaces',
  '0FC63DAF-8483-4772-8E79-3D69D8477DE4': 'Linux file system',
  'E6D6D379-F507-44C2-A23C-238F2A3DF928': 'Linux LVM',
  '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F': 'Linux swap',
  '21686148-6449-6E6F-744E-656564454649': 'BIOS boot',
};
const MBR_TYPES: Record<number, string> = {
  0x07: 'NTFS/exFAT', 0x0b: 'FAT32', 0x0c: 'FAT32 (LBA)', 0x27: 'Windows recovery', 0x42: 'Windows dynamic', 0x82: 'Linux swap',
  0x83: 'Linux', 0x8e: 'Linux LVM', 0xee: 'GPT protective', 0xef: 'EFI system',
};

export function guidText(b: Buffer, at: number): string {
  const h = (s: number, e: number, rev: boolean) => {
    const part = Buffer.from(b.subarray(at + s, at + e));
    return (rev ? part.reverse() : part).toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`.toUpperCase();
}

/** `length` bytes of the internal file at `offset` (short at the end of the file). */
export async function readRange(reader: VbkReader, entry: TreeEntry, offset: number, length: number): Promise<Buffer> {
  const size = entry.item.size ?? 0;
  if (offset >= size || length <= 0) return Buffer.alloc(0);
  const out = Buffer.alloc(Math.min(length, size - offset));
  for await (const ref of reader.blocks(entry)) {
    if (ref.offset + ref.size <= offset) continue;
    if (ref.offset >= offset + out.length) break;
    if (!ref.fib) continue; // zeros, and `out` starts as zeros
    const block = await reader.readBlock(entry, ref);
    const from = Math.max(offset, ref.offset);
    const to = Math.min(offset + out.length, ref.offset + ref.size);
    block.data.copy(out, from - offset, from - ref.offset, to - ref.offset);
  }
  return out;
}

export async function describeDisk(reader: VbkReader, entry: TreeEntry): Promise<DiskInfo> {
  const head = await readRange(reader, entry, 0, 34 * SECTOR);
  const volume = head.length >= SECTOR ? await describeVolume(reader, entry, 0, head) : undefined;
  if (head.length < SECTOR || head.readUInt16LE(510) !== 0xaa55 || (volume && volume.fileSystem !== 'unknown')) {
    return { partitionTable: 'none', partitions: [], ...(volume && volume.fileSystem !== 'unknown' ? { volume } : {}) };
  }
  const mbr = [0, 1, 2, 3].map((i) => {
    const at = 446 + i * 16;
    return { index: i + 1, type: head[at + 4]!, start: head.readUInt32LE(at + 8), sectors: head.readUInt32LE(at + 12) };
  });
  if (mbr.some((p) => p.type === 0xee) && head.length >= 2 * SECTOR && head.toString('latin1', SECTOR, SECTOR + 8) === 'EFI PART') {
    return describeGpt(reader, entry, head);
  }
  const partitions: PartitionInfo[] = [];
  for (const p of mbr) {
    if (p.type === 0 || p.sectors === 0) continue;
    const offset = p.start * SECTOR;
    partitions.push({
      index: p.index, offset, size: p.sectors * SECTOR, type: `0x${p.type.toString(16).padStart(2, '0')}`,
      ...(MBR_TYPES[p.type] ? { typeName: MBR_TYPES[p.type] } : {}),
      volume: await describeVolume(reader, entry, offset),
    });
  }
  return { partitionTable: 'MBR', partitions };
}

async function describeGpt(reader: VbkReader, entry: TreeEntry, head: Buffer): Promise<DiskInfo> {
  const h = head.subarray(SECTOR, 2 * SECTOR);
  const entriesLba = Number(h.readBigUInt64LE(0x48));
  const count = Math.min(h.readUInt32LE(0x50), 256);
  const entrySize = h.readUInt32LE(0x54);
  const diskGuid = guidText(h, 0x38);
  if (entrySize < 128 || entrySize > 1024 || entriesLba < 2 || entriesLba > 1024) return { partitionTable: 'GPT', diskGuid, partitions: [] };
  const table = await readRange(reader, entry, entriesLba * SECTOR, count * entrySize);
  const partitions: PartitionInfo[] = [];
  for (let i = 0; (i + 1) * entrySize <= table.length; i++) {
    const at = i * entrySize;
    if (table.subarray(at, at + 16).every((x) => x === 0)) continue;
    const type = guidText(table, at);
    const first = Number(table.readBigUInt64LE(at + 32));
    const last = Number(table.readBigUInt64LE(at + 40));
    const name = table.toString('utf16le', at + 56, at + 128).replace(/\0.*$/s, '');
    const offset = first * SECTOR;
    partitions.push({
      index: i + 1, offset, size: Math.max(0, last - first + 1) * SECTOR, type,
      ...(GPT_TYPES[type] ? { typeName: GPT_TYPES[type] } : {}),
      ...(name ? { name } : {}),
      volume: await describeVolume(reader, entry, offset),
    });
  }
  return { partitionTable: 'GPT', diskGuid, partitions };
}

async function describeVolume(reader: VbkReader, entry: TreeEntry, offset: number, head?: Buffer): Promise<VolumeInfo> {
  const boot = head && head.length >= 2048 ? head : await readRange(reader, entry, offset, 2048);
  if (boot.length < SECTOR) return { fileSystem: 'unknown' };
  if (boot.toString('latin1', 3, 11) === 'NTFS    ') return describeNtfs(reader, entry, offset, boot);
  if (boot.toString('latin1', 3, 11) === 'EXFAT   ') return { fileSystem: 'exFAT' };
  if (boot.toString('latin1', 0x52, 0x5a) === 'FAT32   ') return { fileSystem: 'FAT32' };
  if (boot.length >= 1024 + 58 && boot.readUInt16LE(1024 + 56) === 0xef53) return { fileSystem: 'ext2/3/4' };
  return { fileSystem: 'unknown' };
}

async function describeNtfs(reader: VbkReader, entry: TreeEntry, offset: number, boot: Buffer): Promise<VolumeInfo> {
  const bps = boot.readUInt16LE(0x0b);
  const spc = boot[0x0d]!;
  const cluster = bps * (spc > 0x80 ? 2 ** (256 - spc) : spc);
  const size = Number(boot.readBigUInt64LE(0x28)) * bps;
  const base = { fileSystem: 'NTFS' as const, size, clusterSize: cluster };
  if (![512, 1024, 2048, 4096].includes(bps) || cluster === 0 || cluster > 2 * 1024 * 1024) return base;
  const raw = boot.readInt8(0x40);
  const recordSize = raw > 0 ? raw * cluster : 2 ** -raw;
  if (recordSize < 512 || recordSize > 65536) return base;
  const mft = Number(boot.readBigUInt64LE(0x30)) * cluster;
  // Record 3 of the MFT is $Volume; its $VOLUME_NAME attribute (0x60) holds the label.
  const rec = await readRange(reader, entry, offset + mft + 3 * recordSize, recordSize);
  const label = volumeName(rec, bps);
  return label === undefined ? base : { ...base, label };
}

function volumeName(rec: Buffer, bps: number): string | undefined {
  if (rec.length < 48 || rec.toString('latin1', 0, 4) !== 'FILE') return undefined;
  const usa = rec.readUInt16LE(4);
  const usaCount = rec.readUInt16LE(6);
  const stride = Math.min(bps, 512);
  for (let i = 1; i < usaCount; i++) {
    const end = i * stride - 2;
    if (usa + i * 2 + 2 > rec.length || end + 2 > rec.length) return undefined;
    rec[end] = rec[usa + i * 2]!;
    rec[end + 1] = rec[usa + i * 2 + 1]!;
  }
  let at = rec.readUInt16LE(0x14);
  for (let n = 0; n < 64 && at + 16 <= rec.length; n++) {
    const type = rec.readUInt32LE(at);
    const len = rec.readUInt32LE(at + 4);
    if (type === 0xffffffff || len < 16 || at + len > rec.length) return undefined;
    if (type === 0x60 && rec[at + 8] === 0) {
      const vlen = rec.readUInt32LE(at + 0x10);
      const voff = rec.readUInt16LE(at + 0x14);
      if (voff + vlen > len) return undefined;
      return rec.toString('utf16le', at + voff, at + voff + vlen);
    }
    at += len;
  }
  return undefined;
}
