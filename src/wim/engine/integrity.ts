/**
 * The integrity table: SHA-1 of every 10 MiB chunk of the file from the end of the header to the end of the blob
 * table. Layout: u32 table size, u32 number of entries, u32 chunk size, then the 20-byte hashes. After an append
 * the old bytes are unchanged, so entries of chunks lying wholly before the old blob table's end are taken from
 * the old table (as wimlib does) and only the rest is hashed.
 */
import { createHash } from 'node:crypto';
import { WIM_HEADER_SIZE } from '../header.js';
import type { WimHandle } from './wim-file.js';

export const INTEGRITY_CHUNK = 10 * 2 ** 20;

export interface OldIntegrity {
  table: Buffer;
  /** End of the blob table the old table covered. */
  coveredEnd: number;
}

/** Builds the table for [208, end) of `fh`; `old` lets unchanged chunks be reused. */
export async function buildIntegrityTable(fh: WimHandle, end: number, old?: OldIntegrity,
  onProgress?: (done: number, total: number) => void): Promise<Buffer> {
  const total = end - WIM_HEADER_SIZE;
  const n = Math.ceil(total / INTEGRITY_CHUNK);
  const out = Buffer.alloc(12 + n * 20);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt32LE(n, 4);
  out.writeUInt32LE(INTEGRITY_CHUNK, 8);
  let reusable = 0;
  if (old && old.table.length >= 12 && old.table.readUInt32LE(8) === INTEGRITY_CHUNK) {
    const oldN = old.table.readUInt32LE(4);
    if (12 + oldN * 20 <= old.table.length) reusable = Math.min(oldN, Math.floor((old.coveredEnd - WIM_HEADER_SIZE) / INTEGRITY_CHUNK));
  }
  const buf = Buffer.allocUnsafe(Math.min(INTEGRITY_CHUNK, 4 * 2 ** 20));
  for (let i = 0; i < n; i++) {
    if (i < reusable) {
      old!.table.copy(out, 12 + i * 20, 12 + i * 20, 32 + i * 20);
      continue;
    }
    const start = WIM_HEADER_SIZE + i * INTEGRITY_CHUNK;
    const stop = Math.min(end, start + INTEGRITY_CHUNK);
    const h = createHash('sha1');
    for (let p = start; p < stop;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, stop - p), p);
      if (bytesRead === 0) throw new Error(`integrity table: unexpected end of file at ${p}`);
      h.update(buf.subarray(0, bytesRead));
      p += bytesRead;
    }
    h.digest().copy(out, 12 + i * 20);
    onProgress?.(stop - WIM_HEADER_SIZE, total);
  }
  return out;
}
