/**
 * The blob (lookup) table: one 50-byte row per resource (resource header at 0, part number at 24, reference count
 * at 26, SHA-1 at 30), file data and image metadata alike, metadata rows in image order. It is kept as the bytes it
 * was read from: an update copies the rows it does not change (reference counts patched in place), so no object
 * is made per row. Rows become BlobEntry objects only when asked for. Lookups by SHA-1 go through a map keyed by
 * the hash's first 30 bits (a small integer: no string per row), built on first use.
 */
import { InputError } from '../../errors.js';
import { WimFormatError } from './errors.js';
import { RESHDR_FLAG_METADATA, RESHDR_FLAG_SOLID, type ResourceHeader, parseReshdr, u64, writeReshdr } from './resource.js';

export const BLOB_ENTRY_SIZE = 50;

export interface BlobEntry {
  reshdr: ResourceHeader;
  partNumber: number;
  refCount: number;
  hash: Buffer;
}

const FLAGS_AT = 7;
export const BLOB_REFCOUNT_AT = 26;
const HASH_AT = 30;

export class BlobTable {
  private byHash?: Map<number, number>;
  /** For each row, the next row with the same key (-1: none). */
  private sameKey?: Int32Array;
  private allEntries?: BlobEntry[];

  private constructor(
    readonly bytes: Buffer,
    /** Metadata resources in image order (image 1 first). */
    readonly images: BlobEntry[],
  ) {}

  /** Checks and wraps the table's bytes; `path` names the WIM in a refusal of solid resources. */
  static parse(bytes: Buffer, path: string): BlobTable {
    if (bytes.length % BLOB_ENTRY_SIZE !== 0) throw new WimFormatError(`blob table of ${bytes.length} bytes is not a whole number of entries`);
    const images: BlobEntry[] = [];
    for (let off = 0; off < bytes.length; off += BLOB_ENTRY_SIZE) {
      const flags = bytes[off + FLAGS_AT]!;
      if (flags & RESHDR_FLAG_SOLID) {
        throw new InputError(`${path}: holds solid (LZMS) resources, as ESD files do; only ordinary WIMs (LZX, XPRESS or none) are supported`,
          'Use the boot.wim of the recovery media, or convert with: wimlib-imagex export SRC all DEST.wim --compress=LZX');
      }
      // Offset and original size must fit in 2^53 (u64 says so): checked on their top bytes, u64 only to refuse.
      if (bytes[off + 15]! !== 0 || bytes[off + 14]! >= 0x20) u64(bytes, off + 8, 'blob table entry');
      if (bytes[off + 23]! !== 0 || bytes[off + 22]! >= 0x20) u64(bytes, off + 16, 'blob table entry');
      if (flags & RESHDR_FLAG_METADATA) images.push(entryAt(bytes, off));
    }
    return new BlobTable(bytes, images);
  }

  /** The row of image `index`'s metadata resource (1-based; the caller checked the index). */
  imageRow(index: number): number {
    let seen = 0;
    for (let row = 0; row < this.rows; row++) if (this.isMetadata(row) && ++seen === index) return row;
    throw new WimFormatError(`the blob table has no metadata resource for image ${index}`);
  }

  get rows(): number {
    return this.bytes.length / BLOB_ENTRY_SIZE;
  }

  /** Every row as an entry, in file order (made on first use; an update does not need them). */
  get entries(): readonly BlobEntry[] {
    if (!this.allEntries) {
      this.allEntries = [];
      for (let off = 0; off < this.bytes.length; off += BLOB_ENTRY_SIZE) this.allEntries.push(entryAt(this.bytes, off));
    }
    return this.allEntries;
  }

  entry(row: number): BlobEntry {
    return entryAt(this.bytes, row * BLOB_ENTRY_SIZE);
  }

  isMetadata(row: number): boolean {
    return (this.bytes[row * BLOB_ENTRY_SIZE + FLAGS_AT]! & RESHDR_FLAG_METADATA) !== 0;
  }

  refCount(row: number): number {
    return this.bytes.readUInt32LE(row * BLOB_ENTRY_SIZE + BLOB_REFCOUNT_AT);
  }

  /** Plain size of the row's resource. */
  originalSize(row: number): number {
    const b = this.bytes, o = row * BLOB_ENTRY_SIZE + 16;
    // Below 2^53 (checked when the table was read): two 32-bit halves, read as bytes.
    return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x100_0000
      + ((b[o + 4]! | (b[o + 5]! << 8) | (b[o + 6]! << 16)) + b[o + 7]! * 0x100_0000) * 0x1_0000_0000;
  }

  /**
   * The first file data row whose SHA-1 is the 20 bytes of `b` at `at`, or -1 (no Buffer made for the hash);
   * with `after`, the next such row after that one (a damaged table may list a hash twice).
   */
  find(b: Buffer, at: number, after = -1): number {
    const t = this.bytes;
    if (!this.byHash) {
      const byHash = new Map<number, number>();
      const sameKey = new Int32Array(this.rows).fill(-1);
      for (let row = this.rows - 1; row >= 0; row--) {
        if (this.isMetadata(row)) continue;
        const k = hashKey(t, row * BLOB_ENTRY_SIZE + HASH_AT);
        const first = byHash.get(k);
        if (first !== undefined) sameKey[row] = first;
        byHash.set(k, row);
      }
      this.byHash = byHash;
      this.sameKey = sameKey;
    }
    let row = after >= 0 ? this.sameKey![after]! : this.byHash.get(hashKey(b, at)) ?? -1;
    while (row >= 0) {
      const h = row * BLOB_ENTRY_SIZE + HASH_AT;
      let i = 0;
      while (i < 20 && t[h + i] === b[at + i]) i++;
      if (i === 20) return row;
      row = this.sameKey![row]!;
    }
    return -1;
  }
}

/** The first 30 bits of the SHA-1 at `at`: a small integer, which V8's maps hash and compare fastest. */
function hashKey(b: Buffer, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | ((b[at + 3]! & 0x3f) << 24);
}

function entryAt(t: Buffer, off: number): BlobEntry {
  return {
    reshdr: parseReshdr(t, off, 'blob table entry'),
    partNumber: t.readUInt16LE(off + 24),
    refCount: t.readUInt32LE(off + BLOB_REFCOUNT_AT),
    hash: t.subarray(off + HASH_AT, off + HASH_AT + 20),
  };
}

/** One row's bytes. */
export function serializeBlobEntry(out: Buffer, off: number, e: BlobEntry): void {
  writeReshdr(out, off, e.reshdr);
  out.writeUInt16LE(e.partNumber, off + 24);
  out.writeUInt32LE(e.refCount, off + BLOB_REFCOUNT_AT);
  e.hash.copy(out, off + HASH_AT);
}

/** Rows `first` to `end` (exclusive) of `from`, copied as they are. */
export function copyBlobRows(out: Buffer, off: number, from: BlobTable, first: number, end: number): void {
  if (end > first) from.bytes.copy(out, off, first * BLOB_ENTRY_SIZE, end * BLOB_ENTRY_SIZE);
}
