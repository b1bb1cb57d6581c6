/**
 * WIM resources: a 24-byte resource header (7 bytes stored size + 1 byte flags, 8 bytes offset, 8 bytes original
 * size) names a run of bytes in the file. A compressed resource starts with a chunk table: for N chunks of the
 * WIM's chunk size, N-1 offsets (4 bytes each, 8 when the original is 4 GiB or more) of chunks 2..N counted from
 * the end of the table. A chunk whose stored size equals its original size is stored as is.
 */
import { WimFormatError } from './errors.js';
import { lzxDecompress } from './lzx.js';
import { xpressDecompress } from './xpress.js';

export const RESHDR_SIZE = 24;
export const RESHDR_FLAG_FREE = 0x01;
export const RESHDR_FLAG_METADATA = 0x02;
export const RESHDR_FLAG_COMPRESSED = 0x04;
export const RESHDR_FLAG_SPANNED = 0x08;
export const RESHDR_FLAG_SOLID = 0x10;

export interface ResourceHeader {
  /** Bytes the resource takes in the file. */
  sizeInWim: number;
  flags: number;
  offset: number;
  /** Bytes once decompressed. */
  originalSize: number;
}

export type Compression = 'none' | 'xpress' | 'lzx';

/** Where to read a resource's bytes from: a positional read of the WIM file. */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

/** A little-endian 64-bit count or offset (read as two halves: no BigInt on the hot path); beyond 2^53: damaged. */
export function u64(b: Buffer, off: number, what: string): number {
  const high = b.readUInt32LE(off + 4);
  if (high >= 0x20_0000) throw new WimFormatError(`${what}: value at ${off} is out of range`);
  return high * 0x1_0000_0000 + b.readUInt32LE(off);
}

/** Writes a 64-bit count or offset (at most 2^53). */
export function writeU64(b: Buffer, value: number, off: number): void {
  b.writeUInt32LE(value % 0x1_0000_0000, off);
  b.writeUInt32LE(Math.floor(value / 0x1_0000_0000), off + 4);
}

export function parseReshdr(b: Buffer, off: number, what: string): ResourceHeader {
  const low = b.readUInt32LE(off);
  const high = b.readUInt16LE(off + 4) + b[off + 6]! * 0x10000;
  return {
    sizeInWim: high * 0x1_0000_0000 + low,
    flags: b[off + 7]!,
    offset: u64(b, off + 8, what),
    originalSize: u64(b, off + 16, what),
  };
}

export function writeReshdr(b: Buffer, off: number, r: ResourceHeader): void {
  b.writeUInt32LE(r.sizeInWim % 0x1_0000_0000, off);
  const high = Math.floor(r.sizeInWim / 0x1_0000_0000);
  b.writeUInt16LE(high & 0xffff, off + 4);
  b[off + 6] = (high >> 16) & 0xff;
  b[off + 7] = r.flags;
  writeU64(b, r.offset, off + 8);
  writeU64(b, r.originalSize, off + 16);
}

export const EMPTY_RESHDR: ResourceHeader = { sizeInWim: 0, flags: 0, offset: 0, originalSize: 0 };

export interface ResourceReadOptions {
  compression: Compression;
  chunkSize: number;
  /** Length of the WIM file: a resource must lie inside it. */
  fileSize: number;
  /** Largest original size accepted (hostile files claim huge sizes). */
  maxBytes: number;
  what: string;
}

/** Reads and decompresses a whole resource. Throws WimFormatError when it is damaged or too large. */
export async function readResource(readAt: ReadAt, r: ResourceHeader, o: ResourceReadOptions): Promise<Buffer> {
  return decodeResource(await readStored(readAt, r, o), r, o);
}

/** The resource's bytes as stored in the file (after the checks that bound them). */
export async function readStored(readAt: ReadAt, r: ResourceHeader, o: ResourceReadOptions): Promise<Buffer> {
  if (r.flags & RESHDR_FLAG_SOLID) {
    throw new WimFormatError(`${o.what} is in a solid (LZMS/ESD) resource; solid WIMs are not supported`);
  }
  if (r.originalSize > o.maxBytes) {
    throw new WimFormatError(`${o.what} claims ${r.originalSize} bytes; more than the ${o.maxBytes} accepted`);
  }
  if (r.offset + r.sizeInWim > o.fileSize) {
    throw new WimFormatError(`${o.what} (${r.sizeInWim} bytes at ${r.offset}) runs past the end of the file (${o.fileSize} bytes)`);
  }
  if (!(r.flags & RESHDR_FLAG_COMPRESSED)) {
    if (r.sizeInWim !== r.originalSize) {
      throw new WimFormatError(`${o.what}: stored uncompressed but ${r.sizeInWim} bytes stored for ${r.originalSize}`);
    }
  } else if (o.compression === 'none') {
    throw new WimFormatError(`${o.what} is marked compressed in a WIM without compression`);
  }
  if (r.originalSize === 0 && r.flags & RESHDR_FLAG_COMPRESSED) return Buffer.alloc(0);
  return readAt(r.offset, r.sizeInWim);
}

/** The plain bytes of a resource from its stored bytes (`raw`, as readStored returned them). */
export function decodeResource(raw: Buffer, r: ResourceHeader, o: ResourceReadOptions): Buffer {
  if (!(r.flags & RESHDR_FLAG_COMPRESSED)) return raw;
  const n = Math.ceil(r.originalSize / o.chunkSize);
  if (n === 0) return Buffer.alloc(0);
  const entry = r.originalSize > 0xffff_ffff ? 8 : 4;
  const tableSize = (n - 1) * entry;
  if (tableSize > r.sizeInWim) throw new WimFormatError(`${o.what}: chunk table is larger than the resource`);
  const dataSize = r.sizeInWim - tableSize;
  const starts: number[] = [0];
  for (let i = 0; i < n - 1; i++) {
    const v = entry === 4 ? raw.readUInt32LE(i * 4) : u64(raw, i * 8, o.what);
    if (v < starts[i]! || v > dataSize) throw new WimFormatError(`${o.what}: chunk table entry ${i + 1} is out of order or out of range`);
    starts.push(v);
  }
  starts.push(dataSize);
  const out = Buffer.allocUnsafe(r.originalSize);
  const windowOrder = Math.max(15, Math.ceil(Math.log2(o.chunkSize)));
  for (let i = 0; i < n; i++) {
    const want = Math.min(o.chunkSize, r.originalSize - i * o.chunkSize);
    const chunk = raw.subarray(tableSize + starts[i]!, tableSize + starts[i + 1]!);
    if (chunk.length === want) out.set(chunk, i * o.chunkSize);
    else if (chunk.length > want) throw new WimFormatError(`${o.what}: chunk ${i + 1} is larger stored than plain`);
    else {
      try {
        if (o.compression === 'lzx') lzxDecompress(chunk, want, windowOrder, new Uint8Array(out.buffer, out.byteOffset + i * o.chunkSize, want));
        else out.set(xpressDecompress(chunk, want), i * o.chunkSize);
      } catch (err) {
        if (err instanceof WimFormatError) throw new WimFormatError(`${o.what}: chunk ${i + 1}: ${err.message}`);
        throw err;
      }
    }
  }
  return out;
}
