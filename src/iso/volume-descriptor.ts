/**
 * Volume descriptors (ECMA-119 8): primary, supplementary (Joliet), boot record (El Torito) and set terminator.
 * Each kind has a decode and an encode function working on one 2048-byte sector.
 */
import { SECTOR, decodeUcs2be, decodeVolumeDate, encodeVolumeDate, readAsciiField, writeUcs2Field } from './bytes.js';
import { type Field, both16, both32, bytes, decodeFields, encodeFields, latin1, u32be, u32le, u8 } from '../disk/fields.js';
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

/**
 * The layout of a primary or supplementary descriptor (ECMA-119 8.4, 8.5), one table for reading and writing;
 * `text` fields are d-characters in the primary descriptor and UCS-2 big-endian in a Joliet one.
 */
function descriptorTable(text: (offset: number, length: number) => Field<string>, joliet: boolean) {
  return {
    type: u8(0),
    standardId: latin1(1, 5),
    version: u8(6),
    systemId: text(8, 32),
    volumeId: text(40, 32),
    volumeSpaceSize: both32(80),
    /** Escape sequences: Joliet's UCS-2 level. */
    escapes: bytes(88, 32),
    volumeSetSize: both16(120),
    volumeSequenceNumber: both16(124),
    logicalBlockSize: both16(128),
    pathTableSize: both32(132),
    typeLPathTable: u32le(140),
    typeMPathTable: u32be(148),
    root: directoryRecordField(156, joliet),
    volumeSetId: text(190, 128),
    publisherId: text(318, 128),
    preparerId: text(446, 128),
    applicationId: text(574, 128),
    copyrightFileId: text(702, 37),
    abstractFileId: text(739, 37),
    bibliographicFileId: text(776, 37),
    created: volumeDate(813),
    modified: volumeDate(830),
    expires: volumeDate(847),
    effective: volumeDate(864),
    fileStructureVersion: u8(881),
  };
}

function ucs2(offset: number, length: number): Field<string> {
  return {
    offset,
    read: (b, at) => decodeUcs2be(b.subarray(at, at + length)).replace(/[\s\0]+$/, ''),
    write: (b, at, v) => writeUcs2Field(b, at, length, v),
  };
}

function volumeDate(offset: number): Field<Date | undefined> {
  return { offset, read: (b, at) => decodeVolumeDate(b, at), write: (b, at, v) => void encodeVolumeDate(v).copy(b, at) };
}

function directoryRecordField(offset: number, joliet: boolean): Field<DirectoryRecord> {
  return { offset, read: (b, at) => decodeDirectoryRecord(b, at, joliet), write: (b, at, v) => void encodeDirectoryRecord(v).copy(b, at) };
}

export const PRIMARY = descriptorTable((o, l) => latin1(o, l), false);
export const JOLIET = descriptorTable(ucs2, true);

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
function jolietLevelOf(esc: Buffer): number | undefined {
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
  const jolietLevel = type === DescriptorType.Supplementary ? jolietLevelOf(decodeFields(PRIMARY, sector).escapes) : undefined;
  const f = decodeFields(jolietLevel ? JOLIET : PRIMARY, sector);
  return {
    kind: type === DescriptorType.Primary ? 'primary' : jolietLevel ? 'joliet' : 'supplementary',
    systemId: f.systemId,
    volumeId: f.volumeId,
    volumeSpaceSize: f.volumeSpaceSize,
    pathTableSize: f.pathTableSize,
    typeLPathTable: f.typeLPathTable,
    typeMPathTable: f.typeMPathTable,
    root: f.root,
    volumeSetId: f.volumeSetId,
    publisherId: f.publisherId,
    preparerId: f.preparerId,
    applicationId: f.applicationId,
    created: f.created,
    modified: f.modified,
    jolietLevel,
  };
}

/** What the writer puts in a descriptor; every date field but expiry is `date`. */
export type VolumeDescriptorInput = Pick<
  VolumeDescriptor,
  'systemId' | 'volumeId' | 'volumeSpaceSize' | 'pathTableSize' | 'typeLPathTable' | 'typeMPathTable' | 'root' | 'publisherId' | 'preparerId' | 'applicationId'
> & { joliet: boolean; date: Date };

export function encodeVolumeDescriptor(v: VolumeDescriptorInput): Buffer {
  return encodeFields(v.joliet ? JOLIET : PRIMARY, {
    type: v.joliet ? DescriptorType.Supplementary : DescriptorType.Primary,
    standardId: STANDARD_ID,
    version: 1,
    systemId: v.systemId,
    volumeId: v.volumeId,
    volumeSpaceSize: v.volumeSpaceSize,
    escapes: Buffer.from(v.joliet ? '%/E' : '', 'latin1'), // Joliet: UCS-2 level 3
    volumeSetSize: 1,
    volumeSequenceNumber: 1,
    logicalBlockSize: SECTOR,
    pathTableSize: v.pathTableSize,
    typeLPathTable: v.typeLPathTable,
    typeMPathTable: v.typeMPathTable,
    root: v.root,
    volumeSetId: '',
    publisherId: v.publisherId,
    preparerId: v.preparerId,
    applicationId: v.applicationId,
    copyrightFileId: '',
    abstractFileId: '',
    bibliographicFileId: '',
    created: v.date,
    modified: v.date,
    expires: undefined,
    effective: v.date,
    fileStructureVersion: 1,
  }, Buffer.alloc(SECTOR));
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
