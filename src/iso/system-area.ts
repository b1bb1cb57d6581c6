/**
 * The system area: the first 32 KiB of an ISO, unused by ISO 9660, where hybrid images keep an MBR and/or a GPT so
 * that the same file boots when written to a USB stick. When a remaster changes the image size or moves a boot
 * image, the partition tables and the boot-code addresses that pointed at the old places are rewritten to match.
 */
import { crc32 } from 'node:zlib';
import { hasMbrSignature, readPartitionEntries, writePartitionEntry } from '../disk/mbr.js';

export const SYSTEM_AREA_BYTES = 32 * 1024;
const GPT_SIGNATURE = 'EFI PART';
const HFS_PLUS_GUID = '48465300-0000-11AA-AA11-00306543ECAC';

export interface MbrPartition {
  index: number;
  bootable: boolean;
  type: number;
  /** First sector (512 bytes). */
  start: number;
  sectors: number;
}

export interface GptPartition {
  index: number;
  typeGuid: string;
  name: string;
  firstLba: number;
  lastLba: number;
}

export interface SystemAreaInfo {
  empty: boolean;
  mbr?: { partitions: MbrPartition[]; hasBootCode: boolean };
  gpt?: { partitions: GptPartition[]; entriesLba: number; entries: number; entrySize: number; backupLba: number };
  /** Which hybrid boot code the MBR carries, recognised by the boot image address it holds at byte 0x1B0. */
  hybrid?: 'grub2' | 'isohybrid' | 'mbr';
}

function guidText(b: Buffer): string {
  const h = b.toString('hex');
  const le = (s: string) => s.match(/../g)!.reverse().join('');
  return `${le(h.slice(0, 8))}-${le(h.slice(8, 12))}-${le(h.slice(12, 16))}-${h.slice(16, 20)}-${h.slice(20)}`.toUpperCase();
}

function mbrPartitions(area: Buffer): MbrPartition[] {
  if (!hasMbrSignature(area)) return [];
  return readPartitionEntries(area).map((e) => ({ index: e.index + 1, bootable: e.status === 0x80, type: e.type, start: e.startLba, sectors: e.sectorCount }));
}

interface GptHeader {
  entriesLba: number;
  entries: number;
  entrySize: number;
  backupLba: number;
  headerSize: number;
}

function gptHeader(area: Buffer): GptHeader | undefined {
  if (area.toString('latin1', 512, 520) !== GPT_SIGNATURE) return undefined;
  const headerSize = area.readUInt32LE(512 + 12);
  const entriesLba = Number(area.readBigUInt64LE(512 + 72));
  const entries = area.readUInt32LE(512 + 80);
  const entrySize = area.readUInt32LE(512 + 84);
  if (headerSize < 92 || headerSize > 512 || entrySize < 128 || entrySize > 4096 || entries > 4096) return undefined;
  // Entries outside the system area cannot be read (or rewritten) from it.
  if (entriesLba < 2 || (entriesLba * 512 + entries * entrySize) > SYSTEM_AREA_BYTES) return undefined;
  return { entriesLba, entries, entrySize, backupLba: Number(area.readBigUInt64LE(512 + 32)), headerSize };
}

function gptPartitions(area: Buffer, h: GptHeader): GptPartition[] {
  const parts: GptPartition[] = [];
  for (let i = 0; i < h.entries; i++) {
    const o = h.entriesLba * 512 + i * h.entrySize;
    const type = area.subarray(o, o + 16);
    if (type.every((x) => x === 0)) continue;
    parts.push({
      index: i + 1,
      typeGuid: guidText(type),
      name: area.subarray(o + 56, o + 128).toString('utf16le').replace(/\0.*$/s, ''),
      firstLba: Number(area.readBigUInt64LE(o + 32)),
      lastLba: Number(area.readBigUInt64LE(o + 40)),
    });
  }
  return parts;
}

/** Describes a system area, given where the image's boot images start (2048-byte LBAs) to recognise hybrid MBRs. */
export function inspectSystemArea(area: Buffer, bootImageLbas: readonly number[] = []): SystemAreaInfo {
  const info: SystemAreaInfo = { empty: area.every((b) => b === 0) };
  if (info.empty) return info;
  const partitions = mbrPartitions(area);
  const hasBootCode = area.subarray(0, 440).some((b) => b !== 0);
  if (partitions.length > 0 || hasBootCode) info.mbr = { partitions, hasBootCode };
  const h = gptHeader(area);
  if (h) info.gpt = { partitions: gptPartitions(area, h), entriesLba: h.entriesLba, entries: h.entries, entrySize: h.entrySize, backupLba: h.backupLba };
  if (hasBootCode) {
    const at1b0 = area.readBigUInt64LE(0x1b0);
    if (bootImageLbas.some((lba) => at1b0 === BigInt(lba) * 4n + 4n)) info.hybrid = 'grub2';
    else if (bootImageLbas.some((lba) => area.readUInt32LE(0x1b0) === lba * 4)) info.hybrid = 'isohybrid';
    else if (partitions.length > 0) info.hybrid = 'mbr';
  }
  return info;
}

/** Bytes to reserve at the end of the image for a backup GPT (0 when the area has no GPT). */
export function gptBackupBytes(area: Buffer): number {
  const h = gptHeader(area);
  return h ? Math.ceil((h.entries * h.entrySize) / 512) * 512 + 512 : 0;
}

export interface SystemAreaMove {
  /** Old and new start of a boot image, in 2048-byte LBAs. */
  oldLba: number;
  newLba: number;
}

export interface SystemAreaUpdate {
  oldImageBytes: number;
  newImageBytes: number;
  /** Where the ISO file system ended (its volume space size) in the old and in the new image. */
  oldVolumeBytes: number;
  newVolumeBytes: number;
  /** Whether partitions were appended after the ISO file system (they move with its end; see appendedArea). */
  appended: boolean;
  moves: readonly SystemAreaMove[];
}

/**
 * The partitions appended after the ISO file system (as `xorriso -append_partition` makes them: an EFI system
 * partition, and the gap partitions around it), as one byte range of the old image to carry over whole, or
 * undefined when there are none. Ranges past the end of the image are not carried.
 */
export function appendedArea(area: Buffer, volumeBytes: number, imageBytes: number): { offset: number; length: number } | undefined {
  const volumeEnd = volumeBytes / 512;
  const ends: number[] = [];
  for (const p of mbrPartitions(area)) if (p.type !== 0xee && p.start >= volumeEnd) ends.push(p.start + p.sectors);
  const h = gptHeader(area);
  if (h) for (const p of gptPartitions(area, h)) if (p.firstLba >= volumeEnd) ends.push(p.lastLba + 1);
  const end = Math.min(Math.max(0, ...ends) * 512, imageBytes);
  return end > volumeBytes ? { offset: volumeBytes, length: end - volumeBytes } : undefined;
}

/**
 * Where a partition that did not hold a moved boot image goes: appended ones follow the end of the ISO file system;
 * one that ended at the end of the ISO file system (before appended partitions) ends at its new end; one that
 * covered the whole image ends at the new image's end (`toImageEnd`); anything else stays. Sectors of 512 bytes.
 */
function relocate(first: number, last: number, u: SystemAreaUpdate): { first: number; last: number } | 'to-image-end' | undefined {
  const oldVolumeEnd = u.oldVolumeBytes / 512;
  const delta = (u.newVolumeBytes - u.oldVolumeBytes) / 512;
  const oldTotal = Math.ceil(u.oldImageBytes / 512);
  if (first >= oldVolumeEnd && first < oldTotal) return { first: first + delta, last: last + delta };
  if (first >= oldTotal) return undefined;
  if (u.appended && last + 1 <= oldVolumeEnd && last + 1 >= oldVolumeEnd - END_SLACK_SECTORS) return { first, last: last + delta };
  if (last + 1 >= oldTotal - END_SLACK_SECTORS) return 'to-image-end';
  return undefined;
}

export interface PatchedSystemArea {
  area: Buffer;
  /** The backup GPT (entries then header) to write at the very end of the new image, if any. */
  gptBackup?: Buffer;
}

/** Partition ends this close to the old image end are taken as "describes the whole image". */
const END_SLACK_SECTORS = 2048;

function chsGeometry(chsLast: Buffer, lastSector: number): { heads: number; sectors: number } {
  // Infer the geometry the original tool used from its end CHS; fall back to isohybrid's 64/32.
  const h = chsLast[0]!;
  const s = chsLast[1]! & 0x3f;
  const c = ((chsLast[1]! & 0xc0) << 2) | chsLast[2]!;
  for (const g of [{ heads: h + 1, sectors: s }, { heads: 64, sectors: 32 }, { heads: 255, sectors: 63 }]) {
    if (g.sectors > 0 && g.heads > 0 && (c * g.heads + h) * g.sectors + s - 1 === lastSector) return g;
  }
  return { heads: 64, sectors: 32 };
}

function chsOf(lba: number, g: { heads: number; sectors: number }): Buffer {
  const c = Math.floor(lba / (g.heads * g.sectors));
  if (c > 1023) return Buffer.from([0xfe, 0xff, 0xff]);
  const h = Math.floor(lba / g.sectors) % g.heads;
  const s = (lba % g.sectors) + 1;
  return Buffer.from([h, s | ((c >> 2) & 0xc0), c & 0xff]);
}

function patchMbr(area: Buffer, u: SystemAreaUpdate): void {
  if (!hasMbrSignature(area)) return;
  const newTotal = Math.ceil(u.newImageBytes / 512);
  for (const e of readPartitionEntries(area)) {
    let start = e.startLba;
    let sectors = e.sectorCount;
    const oldLast = start + sectors - 1;
    const geometry = chsGeometry(e.chsLast, oldLast);
    const move = u.moves.find((m) => m.oldLba * 4 === start);
    const to = e.type === 0xee || move ? undefined : relocate(start, oldLast, u);
    if (e.type === 0xee) {
      sectors = Math.min(newTotal - start, 0xffffffff);
    } else if (move) {
      start = move.newLba * 4;
    } else if (to === 'to-image-end') {
      sectors = newTotal - start;
    } else if (to) {
      start = to.first;
      sectors = to.last - to.first + 1;
    } else {
      continue;
    }
    writePartitionEntry(area, e.index, { startLba: start, sectorCount: sectors, chsFirst: chsOf(start, geometry), chsLast: chsOf(start + sectors - 1, geometry) });
  }
  // Boot code that records where its El Torito image starts (GRUB2 hybrid: LBA*4+4 as u64; isohybrid: LBA*4 as u32).
  const at1b0 = area.readBigUInt64LE(0x1b0);
  for (const m of u.moves) {
    if (at1b0 === BigInt(m.oldLba) * 4n + 4n) area.writeBigUInt64LE(BigInt(m.newLba) * 4n + 4n, 0x1b0);
    else if (area.readUInt32LE(0x1b0) === m.oldLba * 4 && m.oldLba > 0) area.writeUInt32LE(m.newLba * 4, 0x1b0);
  }
}

function gptHeaderCrc(header: Buffer, size: number): number {
  header.writeUInt32LE(0, 16);
  return crc32(header.subarray(0, size));
}

function patchGpt(area: Buffer, u: SystemAreaUpdate): Buffer | undefined {
  const h = gptHeader(area);
  if (!h) return undefined;
  const oldTotal = Math.ceil(u.oldImageBytes / 512);
  const newTotal = Math.ceil(u.newImageBytes / 512);
  const entriesBytes = h.entries * h.entrySize;
  const entrySectors = Math.ceil(entriesBytes / 512);
  const backupLba = newTotal - 1;
  const lastUsable = backupLba - entrySectors - 1;
  const oldLastUsable = Number(area.readBigUInt64LE(512 + 48));
  const entries = area.subarray(h.entriesLba * 512, h.entriesLba * 512 + entriesBytes);
  const grown: number[] = [];
  for (let i = 0; i < h.entries; i++) {
    const o = i * h.entrySize;
    const type = entries.subarray(o, o + 16);
    if (type.every((x) => x === 0)) continue;
    // An HFS+ hybrid (xorriso's for Macs) describes file system structures a remaster does not write: drop it.
    if (guidText(type) === HFS_PLUS_GUID) {
      entries.fill(0, o, o + h.entrySize);
      continue;
    }
    const first = Number(entries.readBigUInt64LE(o + 32));
    const last = Number(entries.readBigUInt64LE(o + 40));
    const move = u.moves.find((m) => m.oldLba * 4 === first);
    const to = move ? { first: move.newLba * 4, last: last + move.newLba * 4 - first } : relocate(first, last, u);
    if (to === 'to-image-end' || (!to && !u.appended && last >= oldLastUsable - END_SLACK_SECTORS && first < oldTotal)) {
      entries.writeBigUInt64LE(BigInt(Math.min(lastUsable, Math.max(first, newTotal - (oldTotal - last)))), o + 40);
      grown.push(o);
    } else if (to) {
      entries.writeBigUInt64LE(BigInt(to.first), o + 32);
      entries.writeBigUInt64LE(BigInt(Math.min(lastUsable, to.last)), o + 40);
    }
  }
  // A partition grown to the new end must stop before a boot image partition that now lies inside it:
  // firmware (EDK2 among them) ignores overlapping GPT entries.
  for (const o of grown) {
    const first = Number(entries.readBigUInt64LE(o + 32));
    let last = Number(entries.readBigUInt64LE(o + 40));
    for (let j = 0; j < h.entries; j++) {
      const p = j * h.entrySize;
      if (p === o || entries.subarray(p, p + 16).every((x) => x === 0)) continue;
      const otherFirst = Number(entries.readBigUInt64LE(p + 32));
      if (otherFirst > first && otherFirst <= last) last = otherFirst - 1;
    }
    entries.writeBigUInt64LE(BigInt(last), o + 40);
  }
  const header = area.subarray(512, 1024);
  header.writeBigUInt64LE(1n, 24);
  header.writeBigUInt64LE(BigInt(backupLba), 32);
  header.writeBigUInt64LE(BigInt(lastUsable), 48);
  header.writeUInt32LE(crc32(entries), 88);
  header.writeUInt32LE(gptHeaderCrc(header, h.headerSize), 16);

  const backup = Buffer.alloc(entrySectors * 512 + 512);
  entries.copy(backup, 0);
  const bh = backup.subarray(entrySectors * 512);
  header.copy(bh, 0, 0, 512);
  bh.writeBigUInt64LE(BigInt(backupLba), 24);
  bh.writeBigUInt64LE(1n, 32);
  bh.writeBigUInt64LE(BigInt(backupLba - entrySectors), 72);
  bh.writeUInt32LE(gptHeaderCrc(bh, h.headerSize), 16);
  return backup;
}

/** Rewrites the MBR and GPT of a carried-over system area for the new image size and boot image places. */
export function patchSystemArea(original: Buffer, u: SystemAreaUpdate): PatchedSystemArea {
  const area = Buffer.from(original);
  patchMbr(area, u);
  const gptBackup = patchGpt(area, u);
  return { area, gptBackup };
}

/**
 * The alignment the original image size had (a power of two from 2 KiB up to 1 MiB): hybrid tools pad images to
 * cylinder or MiB boundaries, and some firmware dislikes a partition that ends past the end of the disk.
 */
export function imageAlignment(imageBytes: number, area: Buffer): number {
  if (area.every((b) => b === 0)) return 2048;
  let align = 2048;
  while (align < 1 << 20 && imageBytes % (align * 2) === 0) align *= 2;
  return align;
}
