/**
 * Path tables (ECMA-119 9.4): every directory once, ordered by level, then parent number, then name, each with
 * the LBA of its extent and its parent's 1-based number. Written twice: little-endian (L) and big-endian (M).
 */
import { encodeUcs2be } from './bytes.js';

export interface PathTableEntry {
  /** The directory's identifier as stored ("\0" for the root). */
  id: string;
  lba: number;
  /** 1-based number of the parent directory in this table (the root is its own parent: 1). */
  parent: number;
}

function idBytes(id: string, joliet: boolean): Buffer {
  return id === '\0' ? Buffer.from([0]) : joliet ? encodeUcs2be(id) : Buffer.from(id, 'latin1');
}

export function pathTableSize(entries: readonly PathTableEntry[], joliet: boolean): number {
  let size = 0;
  for (const e of entries) {
    const n = idBytes(e.id, joliet).length;
    size += 8 + n + (n % 2);
  }
  return size;
}

export function encodePathTable(entries: readonly PathTableEntry[], joliet: boolean, bigEndian: boolean): Buffer {
  const out = Buffer.alloc(pathTableSize(entries, joliet));
  let o = 0;
  for (const e of entries) {
    const name = idBytes(e.id, joliet);
    out[o] = name.length;
    out[o + 1] = 0;
    if (bigEndian) {
      out.writeUInt32BE(e.lba, o + 2);
      out.writeUInt16BE(e.parent, o + 6);
    } else {
      out.writeUInt32LE(e.lba, o + 2);
      out.writeUInt16LE(e.parent, o + 6);
    }
    name.copy(out, o + 8);
    o += 8 + name.length + (name.length % 2);
  }
  return out;
}

export function decodePathTable(buf: Buffer, bigEndian: boolean): { nameLength: number; lba: number; parent: number }[] {
  const entries = [];
  let o = 0;
  while (o + 8 <= buf.length) {
    const nameLength = buf[o]!;
    if (nameLength === 0) break;
    entries.push({
      nameLength,
      lba: bigEndian ? buf.readUInt32BE(o + 2) : buf.readUInt32LE(o + 2),
      parent: bigEndian ? buf.readUInt16BE(o + 6) : buf.readUInt16LE(o + 6),
    });
    o += 8 + nameLength + (nameLength % 2);
  }
  return entries;
}
