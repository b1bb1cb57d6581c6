/**
 * Directory records (ECMA-119 9.1). A record names one extent of a file or directory; a file over 4 GiB is
 * several records with the same name, all but the last flagged multi-extent.
 */
import { decodeRecordDate, decodeUcs2be, encodeRecordDate, encodeUcs2be, readBoth32, writeBoth16, writeBoth32 } from './bytes.js';

export const enum RecordFlags {
  Hidden = 0x01,
  Directory = 0x02,
  MultiExtent = 0x80,
}

export interface DirectoryRecord {
  /** Raw identifier: `\0` for ".", `\1` for "..", otherwise the name as stored (ISO "NAME.EXT;1" or Joliet text). */
  id: string;
  lba: number;
  size: number;
  flags: number;
  recorded: Date;
  /** Extended attribute record length in sectors: data starts this many sectors after `lba`. */
  extAttrLength: number;
  /** Total bytes this record occupies (for decoding). */
  length: number;
}

export const MIN_RECORD_LENGTH = 34;

/** Identifier bytes as stored: Joliet names are UCS-2 BE, ISO names latin1; "." and ".." are single bytes. */
function idBytes(id: string, joliet: boolean): Buffer {
  if (id === '\0' || id === '\x01') return Buffer.from([id.charCodeAt(0)]);
  return joliet ? encodeUcs2be(id) : Buffer.from(id, 'latin1');
}

export function recordLength(id: string, joliet: boolean): number {
  const n = idBytes(id, joliet).length;
  return MIN_RECORD_LENGTH - 1 + n + (n % 2 === 0 ? 1 : 0);
}

export function encodeDirectoryRecord(r: Omit<DirectoryRecord, 'length' | 'extAttrLength'>, joliet = false): Buffer {
  const name = idBytes(r.id, joliet);
  const length = recordLength(r.id, joliet);
  const b = Buffer.alloc(length);
  b[0] = length;
  b[1] = 0;
  writeBoth32(b, 2, r.lba);
  writeBoth32(b, 10, r.size);
  encodeRecordDate(r.recorded).copy(b, 18);
  b[25] = r.flags;
  b[26] = 0;
  b[27] = 0;
  writeBoth16(b, 28, 1);
  b[32] = name.length;
  name.copy(b, 33);
  return b;
}

/**
 * Decodes the record at `offset`. The caller has checked that `buf[offset]` (the length) fits the buffer;
 * this checks the name length against the record length.
 */
export function decodeDirectoryRecord(buf: Buffer, offset: number, joliet: boolean): DirectoryRecord {
  const length = buf[offset]!;
  const nameLength = buf[offset + 32]!;
  if (length < MIN_RECORD_LENGTH || 33 + nameLength > length || offset + length > buf.length) {
    throw new RangeError(`directory record at byte ${offset} has length ${length} and name length ${nameLength}`);
  }
  const raw = buf.subarray(offset + 33, offset + 33 + nameLength);
  let id: string;
  if (nameLength === 1 && (raw[0] === 0 || raw[0] === 1)) id = String.fromCharCode(raw[0]!);
  else id = joliet ? decodeUcs2be(raw) : raw.toString('latin1');
  return {
    id,
    lba: readBoth32(buf, offset + 2),
    size: readBoth32(buf, offset + 10),
    flags: buf[offset + 25]!,
    recorded: decodeRecordDate(buf, offset + 18),
    extAttrLength: buf[offset + 1]!,
    length,
  };
}
