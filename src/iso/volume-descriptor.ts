/**
 * Volume descriptors (ECMA-119 8): primary, supplementary (Joliet), boot record (El Torito) and set terminator.
 * Each kind has a decode and an encode function working on one 2048-byte sector.
 */
import {
  SECTOR, decodeUcs2be, decodeVolumeDate, encodeVolumeDate, readAsciiField, readBoth32, writeAsciiField,
  writeBoth16, writeBoth32, writeUcs2Field,
} from './bytes.js';
import { type DirectoryRecord, decodeDirectoryRecord, encodeDirectoryRecord } from './directory-record.js';

export const STANDARD_ID = 'CD001';
export const EL_TORITO_ID = 'EL TORITO SPECIFICATION';

export const enum DescriptorType {
  BootRecord = 0,
  Primary = 1,
  Supplementary = 2,
  Partition = 3,
  Terminator = 255,
}

/** The fields of a primary or supplementary descriptor that matter for reading and writing a file tree. */
export interface VolumeDescriptor {
  kind: 'primary' | 'joliet' | 'supplementary';
  systemId: string;
  volumeId: string;
  /** Sectors in the volume. */
  volumeSpaceSize: number;
  pathTableSize: number;
  typeLPathTable: number;
  typeMPathTable: number;
  root: DirectoryRecord;
  volumeSetId: string;
  publisherId: string;
  preparerId: string;
  applicationId: string;
  created?: Date;
  modified?: Date;
  /** Joliet UCS-2 level (1-3) from the escape sequences, when this is a Joliet descriptor. */
  jolietLevel?: number;
}

export function descriptorType(sector: Buffer): number | undefined {
  if (sector.toString('latin1', 1, 6) !== STANDARD_ID) return undefined;
  return sector[0];
}

/** Joliet is a supplementary descriptor whose escape sequences are %/@, %/C or %/E (UCS-2 levels 1-3). */
function jolietLevelOf(sector: Buffer): number | undefined {
  const esc = sector.subarray(88, 120);
  for (let i = 0; i + 2 < esc.length; i++) {
    if (esc[i] === 0x25 && esc[i + 1] === 0x2f) {
      const level = { 0x40: 1, 0x43: 2, 0x45: 3 }[esc[i + 2]!];
      if (level) return level;
    }
  }
  return undefined;
}

export function decodeVolumeDescriptor(sector: Buffer): VolumeDescriptor {
  const type = sector[0];
  const jolietLevel = type === DescriptorType.Supplementary ? jolietLevelOf(sector) : undefined;
  const text = jolietLevel
    ? (o: number, l: number) => decodeUcs2be(sector.subarray(o, o + l)).replace(/[\s\0]+$/, '')
    : (o: number, l: number) => readAsciiField(sector, o, l);
  return {
    kind: type === DescriptorType.Primary ? 'primary' : jolietLevel ? 'joliet' : 'supplementary',
    systemId: text(8, 32),
    volumeId: text(40, 32),
    volumeSpaceSize: readBoth32(sector, 80),
    pathTableSize: readBoth32(sector, 132),
    typeLPathTable: sector.readUInt32LE(140),
    typeMPathTable: sector.readUInt32BE(148),
    root: decodeDirectoryRecord(sector, 156, !!jolietLevel),
    volumeSetId: text(190, 128),
    publisherId: text(318, 128),
    preparerId: text(446, 128),
    applicationId: text(574, 128),
    created: decodeVolumeDate(sector, 813),
    modified: decodeVolumeDate(sector, 830),
    jolietLevel,
  };
}

export interface VolumeDescriptorInput {
  joliet: boolean;
  systemId: string;
  volumeId: string;
  volumeSpaceSize: number;
  pathTableSize: number;
  typeLPathTable: number;
  typeMPathTable: number;
  root: DirectoryRecord;
  publisherId: string;
  preparerId: string;
  applicationId: string;
  date: Date;
}

export function encodeVolumeDescriptor(v: VolumeDescriptorInput): Buffer {
  const s = Buffer.alloc(SECTOR);
  s[0] = v.joliet ? DescriptorType.Supplementary : DescriptorType.Primary;
  s.write(STANDARD_ID, 1, 'latin1');
  s[6] = 1;
  const field = v.joliet
    ? (o: number, l: number, t: string) => writeUcs2Field(s, o, l, t)
    : (o: number, l: number, t: string) => writeAsciiField(s, o, l, t);
  field(8, 32, v.systemId);
  field(40, 32, v.volumeId);
  writeBoth32(s, 80, v.volumeSpaceSize);
  if (v.joliet) s.write('%/E', 88, 'latin1'); // UCS-2 level 3
  writeBoth16(s, 120, 1); // volume set size
  writeBoth16(s, 124, 1); // volume sequence number
  writeBoth16(s, 128, SECTOR);
  writeBoth32(s, 132, v.pathTableSize);
  s.writeUInt32LE(v.typeLPathTable, 140);
  s.writeUInt32BE(v.typeMPathTable, 148);
  encodeDirectoryRecord(v.root).copy(s, 156);
  field(190, 128, '');
  field(318, 128, v.publisherId);
  field(446, 128, v.preparerId);
  field(574, 128, v.applicationId);
  field(702, 37, '');
  field(739, 37, '');
  field(776, 37, '');
  encodeVolumeDate(v.date).copy(s, 813);
  encodeVolumeDate(v.date).copy(s, 830);
  encodeVolumeDate(undefined).copy(s, 847);
  encodeVolumeDate(v.date).copy(s, 864);
  s[881] = 1; // file structure version
  return s;
}

/** El Torito boot record volume descriptor: points at the boot catalog. */
export function encodeBootRecord(catalogLba: number): Buffer {
  const s = Buffer.alloc(SECTOR);
  s[0] = DescriptorType.BootRecord;
  s.write(STANDARD_ID, 1, 'latin1');
  s[6] = 1;
  s.write(EL_TORITO_ID, 7, 'latin1');
  s.writeUInt32LE(catalogLba, 0x47);
  return s;
}

/** The boot catalog LBA when this boot record is El Torito's, else undefined. */
export function decodeBootRecord(sector: Buffer): number | undefined {
  if (readAsciiField(sector, 7, 32) !== EL_TORITO_ID) return undefined;
  return sector.readUInt32LE(0x47);
}

export function encodeTerminator(): Buffer {
  const s = Buffer.alloc(SECTOR);
  s[0] = DescriptorType.Terminator;
  s.write(STANDARD_ID, 1, 'latin1');
  s[6] = 1;
  return s;
}
