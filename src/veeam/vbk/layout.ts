/**
 * Byte layout of a Veeam backup storage file (.vbk/.vib), as far as it is confirmed on real files (storage formats 9
 * and 13). Only decoding of fixed-size records lives here; reading and checking is in store.ts and reader.ts.
 *
 * File: 4 KiB header at 0; two metadata slots from 0x1000 (the second one slot-size later); metadata banks and data
 * blocks anywhere after. A slot (CRC-32C over its bytes after the checksum) points at banks; a bank is a header page,
 * data pages and a spare page, and has one CRC-32C over all of it. Metadata objects are vectors of fixed-size records
 * spread over pages; pages are addressed as (bank, page).
 */
export const PAGE = 0x1000;
export const SLOT_OFFSET = 0x1000;
/** Storage format versions read and checked on real files. */
export const SUPPORTED_VERSIONS = [9, 13] as const;

export interface PageRef {
  readonly bank: number;
  readonly page: number;
}
export const isNullRef = (r: PageRef): boolean => r.bank === -1 && r.page === -1;
export const refText = (r: PageRef): string => `${r.bank}:${r.page}`;

export function readRef(b: Buffer, at: number): PageRef {
  return { page: b.readInt32LE(at), bank: b.readInt32LE(at + 4) };
}

export interface FileHeader {
  readonly version: number;
  readonly inited: number;
  readonly digestType: string;
  readonly slotFormat: number;
  readonly blockSize: number;
  readonly clusterAlign: number;
}

export function parseFileHeader(b: Buffer): FileHeader {
  const digestLen = b.readUInt32LE(8);
  return {
    version: b.readUInt32LE(0),
    inited: b.readUInt32LE(4),
    digestType: digestLen <= 250 ? b.toString('latin1', 12, 12 + digestLen) : '',
    slotFormat: b.readUInt32LE(0x107),
    blockSize: b.readUInt32LE(0x10b),
    clusterAlign: b.readUInt32LE(0x10f),
  };
}

/** Bytes from one slot to the next: a slot has room for the bank table of its format. */
export function slotSize(slotFormat: number): number {
  const maxBanks = slotFormat === 0 ? 0xf8 : 0x7f00;
  return ((((maxBanks * 0x10) & 0xfffffff0) + 120) & 0xfffff000) + 0x1000;
}

export interface BankInfo {
  readonly crc: number;
  readonly offset: number;
  readonly size: number;
}

export interface Slot {
  readonly index: number;
  readonly offset: number;
  readonly crc: number;
  readonly hasSnapshot: boolean;
  readonly snapshotVersion: bigint;
  readonly storageEof: number;
  readonly rootDir: PageRef;
  readonly rootChildren: number;
  readonly dataStore: PageRef;
  readonly blockCount: number;
  readonly cryptoStore: PageRef;
  readonly maxBanks: number;
  readonly banks: readonly BankInfo[];
}

export const SLOT_BANKS_AT = 0x7c;

/** Decodes a slot whose bytes are already known to be long enough (0x7c + maxBanks * 16). */
export function parseSlot(b: Buffer, index: number, offset: number): Slot {
  const allocated = b.readUInt32LE(0x78);
  const banks: BankInfo[] = [];
  for (let i = 0; i < allocated; i++) {
    const at = SLOT_BANKS_AT + i * 16;
    banks.push({ crc: b.readUInt32LE(at), offset: Number(b.readBigUInt64LE(at + 4)), size: b.readUInt32LE(at + 12) });
  }
  return {
    index,
    offset,
    crc: b.readUInt32LE(0),
    hasSnapshot: b.readUInt32LE(4) === 1,
    snapshotVersion: b.readBigUInt64LE(8),
    storageEof: Number(b.readBigUInt64LE(0x10)),
    rootDir: readRef(b, 0x1c),
    rootChildren: Number(b.readBigInt64LE(0x24)),
    dataStore: readRef(b, 0x2c),
    blockCount: Number(b.readBigInt64LE(0x34)),
    cryptoStore: readRef(b, 0x5c),
    maxBanks: b.readUInt32LE(0x74),
    banks,
  };
}

export const DIR_ITEM_SIZE = 0xc0;
export const enum ItemType {
  Folder = 1,
  ExternalFile = 2,
  InternalFile = 3,
  Patch = 4,
  Increment = 5,
}

export interface DirItem {
  readonly type: number;
  readonly name: string;
  readonly props: PageRef;
  /** Folders: where the children are and how many. */
  readonly children?: PageRef;
  readonly childCount?: number;
  /** Files: the block table, block count and size in bytes. */
  readonly blocks?: PageRef;
  readonly blockCount?: number;
  readonly size?: number;
  readonly updateInProgress?: boolean;
  readonly flags?: number;
  /** Increments: bytes stored. */
  readonly incrementSize?: number;
}

export function parseDirItem(b: Buffer, at: number): DirItem {
  const type = b.readUInt32LE(at);
  const nameLen = Math.min(b.readUInt32LE(at + 4), 0x80);
  const base = { type, name: b.toString('utf8', at + 8, at + 8 + nameLen), props: readRef(b, at + 0x88) };
  if (type === ItemType.Folder) {
    return { ...base, children: readRef(b, at + 0x94), childCount: Number(b.readBigInt64LE(at + 0x9c)) };
  }
  const file = {
    ...base,
    updateInProgress: b.readUInt16LE(at + 0x94) !== 0,
    flags: b.readUInt8(at + 0x97),
    blocks: readRef(b, at + 0x98),
    blockCount: Number(b.readBigInt64LE(at + 0xa0)),
    size: Number(b.readBigInt64LE(at + 0xa8)),
  };
  if (type === ItemType.Increment || type === ItemType.Patch) return { ...file, incrementSize: Number(b.readBigInt64LE(at + 0xb0)) };
  return file;
}

/** A group of up to 0x440 file blocks (full backups). */
export const TABLE_SIZE = 24;
export interface MetaTable {
  readonly blocks: PageRef;
  readonly blockSize: number;
  readonly blockCount: number;
}
export function parseMetaTable(b: Buffer, at: number): MetaTable {
  return { blocks: readRef(b, at), blockSize: Number(b.readBigInt64LE(at + 8)), blockCount: Number(b.readBigInt64LE(at + 16)) };
}
export const BLOCKS_PER_TABLE = 0x440;

/** One block of an internal file (full backups): its size, kind, digest of its data and its data-store id. */
export const FIB_BLOCK_SIZE = 46;
export const enum FibBlockType {
  Normal = 0,
  Sparse = 1,
}
export interface FibBlock {
  readonly size: number;
  readonly type: number;
  readonly digest: Buffer;
  readonly id: number;
  readonly flags: number;
  readonly keyset: Buffer;
}
export function parseFibBlock(b: Buffer, at: number): FibBlock {
  return {
    size: b.readUInt32LE(at),
    type: b.readUInt8(at + 4),
    digest: b.subarray(at + 5, at + 21),
    id: Number(b.readBigUInt64LE(at + 0x15)),
    flags: b.readUInt8(at + 0x1d),
    keyset: b.subarray(at + 0x1e, at + 0x2e),
  };
}

/** Where a stored block lies in the file and how it is compressed. */
export const STORED_BLOCK_SIZE = 60;
export const BLOCK_IN_BLOB = 4;
export interface StoredBlock {
  readonly location: number;
  readonly usage: number;
  readonly offset: number;
  readonly allocSize: number;
  readonly dedup: number;
  readonly digest: Buffer;
  readonly compression: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly keyset: Buffer;
}
export function parseStoredBlock(b: Buffer, at: number): StoredBlock {
  return {
    location: b.readUInt8(at),
    usage: b.readUInt32LE(at + 1),
    offset: Number(b.readBigUInt64LE(at + 5)),
    allocSize: b.readUInt32LE(at + 0xd),
    dedup: b.readUInt8(at + 0x11),
    digest: b.subarray(at + 0x12, at + 0x22),
    compression: b.readUInt8(at + 0x22),
    compressedSize: b.readUInt32LE(at + 0x24),
    size: b.readUInt32LE(at + 0x28),
    keyset: b.subarray(at + 0x2c, at + 0x3c),
  };
}

export const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
