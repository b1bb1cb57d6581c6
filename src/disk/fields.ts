/**
 * Field tables: an on-disk structure described once, as named fields at byte offsets, and read or written through
 * the same table, so no offset is written twice. A table is a plain object of fields; `decodeFields` gives an
 * object with the same keys and the fields' value types, `encodeFields` writes such an object back.
 */

export interface Field<V> {
  offset: number;
  read(b: Buffer, at: number): V;
  write(b: Buffer, at: number, value: V): void;
}

/** Any table of fields (`any`: a field is read and written, so no narrower type covers them all). */
export type FieldTable = Record<string, Field<any>>;
export type FieldValues<T extends FieldTable> = { [K in keyof T]: T[K] extends Field<infer V> ? V : never };

function field<V>(offset: number, read: (b: Buffer, at: number) => V, write: (b: Buffer, at: number, v: V) => void): Field<V> {
  return { offset, read, write };
}

export const u8 = (offset: number) => field(offset, (b, at) => b.readUInt8(at), (b, at, v: number) => void b.writeUInt8(v, at));
export const u16le = (offset: number) => field(offset, (b, at) => b.readUInt16LE(at), (b, at, v: number) => void b.writeUInt16LE(v, at));
export const u32le = (offset: number) => field(offset, (b, at) => b.readUInt32LE(at), (b, at, v: number) => void b.writeUInt32LE(v, at));
export const u32be = (offset: number) => field(offset, (b, at) => b.readUInt32BE(at), (b, at, v: number) => void b.writeUInt32BE(v, at));

/** ECMA-119 both-endian integers: written in both orders, read from the little-endian half (the one every writer gets right). */
export const both16 = (offset: number) =>
  field(offset, (b, at) => b.readUInt16LE(at), (b, at, v: number) => {
    b.writeUInt16LE(v, at);
    b.writeUInt16BE(v, at + 2);
  });
export const both32 = (offset: number) =>
  field(offset, (b, at) => b.readUInt32LE(at), (b, at, v: number) => {
    b.writeUInt32LE(v, at);
    b.writeUInt32BE(v, at + 4);
  });

/** Raw bytes of a fixed length (a copy when read; shorter values are zero-padded when written). */
export const bytes = (offset: number, length: number) =>
  field(offset, (b, at) => Buffer.from(b.subarray(at, at + length)), (b, at, v: Buffer) => {
    b.fill(0, at, at + length);
    b.set(v.subarray(0, length), at);
  });

/** Latin-1 text padded with `pad` to a fixed length; read back without the padding. */
export const latin1 = (offset: number, length: number, pad = 0x20) =>
  field(offset, (b, at) => b.toString('latin1', at, at + length).replace(/[\s\0]+$/, ''), (b, at, v: string) => {
    b.fill(pad, at, at + length);
    b.write(v.slice(0, length), at, 'latin1');
  });

/** Reads every field of `table` from `b`, the structure starting at `base`. */
export function decodeFields<T extends FieldTable>(table: T, b: Buffer, base = 0): FieldValues<T> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(table)) out[name] = f.read(b, base + f.offset);
  return out as FieldValues<T>;
}

/**
 * Writes the fields of `table` that `values` has (an own property, even one that is undefined: some fields encode
 * "not set") into `b`, the structure starting at `base`; the others are left as they are.
 */
export function encodeFields<T extends FieldTable>(table: T, values: Partial<FieldValues<T>>, b: Buffer, base = 0): Buffer {
  for (const [name, f] of Object.entries(table)) {
    if (Object.hasOwn(values, name)) f.write(b, base + f.offset, (values as Record<string, unknown>)[name]);
  }
  return b;
}
