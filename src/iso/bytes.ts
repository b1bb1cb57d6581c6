/**
 * Binary field helpers for ECMA-119: both-endian integers, the two date formats and padded string fields.
 * All offsets are byte offsets into the given buffer.
 */

export const SECTOR = 2048;

export function sectorsFor(bytes: number): number {
  return Math.ceil(bytes / SECTOR);
}

/** 32-bit value stored little-endian then big-endian (8 bytes), ECMA-119 7.3.3. */
export function writeBoth32(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value, offset);
  buf.writeUInt32BE(value, offset + 4);
}

/** 16-bit value stored little-endian then big-endian (4 bytes), ECMA-119 7.2.3. */
export function writeBoth16(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt16LE(value, offset);
  buf.writeUInt16BE(value, offset + 2);
}

/** Reads the little-endian half of a both-endian field: the half every real-world writer gets right. */
export function readBoth32(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset);
}

export function readAsciiField(buf: Buffer, offset: number, length: number): string {
  return buf.toString('latin1', offset, offset + length).replace(/[\s\0]+$/, '');
}

/** UCS-2 big-endian, as Joliet stores names and volume fields. */
export function encodeUcs2be(text: string): Buffer {
  const le = Buffer.from(text, 'utf16le');
  return le.swap16();
}

export function decodeUcs2be(buf: Buffer): string {
  const copy = Buffer.from(buf.subarray(0, buf.length & ~1));
  return copy.swap16().toString('utf16le');
}

export function writeUcs2Field(buf: Buffer, offset: number, length: number, text: string): void {
  for (let i = offset; i + 1 < offset + length; i += 2) buf.writeUInt16BE(0x20, i);
  encodeUcs2be(text).copy(buf, offset, 0, length & ~1);
}

/** 7-byte directory record date (ECMA-119 9.1.5), always written in UTC. */
export function encodeRecordDate(date: Date): Buffer {
  const b = Buffer.alloc(7);
  b[0] = Math.min(255, Math.max(0, date.getUTCFullYear() - 1900));
  b[1] = date.getUTCMonth() + 1;
  b[2] = date.getUTCDate();
  b[3] = date.getUTCHours();
  b[4] = date.getUTCMinutes();
  b[5] = date.getUTCSeconds();
  b[6] = 0;
  return b;
}

export function decodeRecordDate(buf: Buffer, offset: number): Date {
  const year = 1900 + buf[offset]!;
  const offsetQuarters = buf.readInt8(offset + 6);
  const utc = Date.UTC(year, buf[offset + 1]! - 1, buf[offset + 2]!, buf[offset + 3]!, buf[offset + 4]!, buf[offset + 5]!);
  const time = utc - offsetQuarters * 15 * 60_000;
  return Number.isFinite(time) ? new Date(time) : new Date(0);
}

/** 17-byte volume descriptor date (ECMA-119 8.4.26.1); `undefined` writes the "not specified" form. */
export function encodeVolumeDate(date: Date | undefined): Buffer {
  const b = Buffer.alloc(17, 0x30);
  b[16] = 0;
  if (!date) return b;
  const p = (n: number, w: number) => String(n).padStart(w, '0');
  const text =
    p(date.getUTCFullYear(), 4) + p(date.getUTCMonth() + 1, 2) + p(date.getUTCDate(), 2) +
    p(date.getUTCHours(), 2) + p(date.getUTCMinutes(), 2) + p(date.getUTCSeconds(), 2) +
    p(Math.floor(date.getUTCMilliseconds() / 10), 2);
  b.write(text, 0, 'latin1');
  return b;
}

export function decodeVolumeDate(buf: Buffer, offset: number): Date | undefined {
  const text = buf.toString('latin1', offset, offset + 16);
  if (!/^\d{16}$/.test(text) || text === '0000000000000000') return undefined;
  const n = (a: number, b: number) => Number(text.slice(a, b));
  const utc = Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14), n(14, 16) * 10);
  const time = utc - buf.readInt8(offset + 16) * 15 * 60_000;
  return Number.isFinite(time) ? new Date(time) : undefined;
}
