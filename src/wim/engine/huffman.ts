/**
 * Canonical Huffman decoding tables, shared by the XPRESS and LZX decoders. Both formats send only the code length
 * of every symbol; codes are then assigned in order of (length, symbol value), shortest first, and read most
 * significant bit first. The table is indexed by the next `bits` bits of input (`bits` = the longest code used);
 * each entry holds `symbol << 5 | length`, 0 where no code starts with those bits (an incomplete code: the input is
 * damaged if it ever lands there).
 */
import { WimFormatError } from './errors.js';

export interface HuffmanTable {
  /** Index width: the longest code length in use (0 when no symbol has a code). */
  bits: number;
  entries: Uint16Array;
}

/** Builds the decoding table for `lengths` (one per symbol, 0 = unused, at most `maxLen`). */
export function buildHuffmanTable(lengths: Uint8Array, maxLen: number, what: string, scratch?: Uint16Array): HuffmanTable {
  const count = new Uint16Array(maxLen + 1);
  let longest = 0;
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s]!;
    if (l > maxLen) throw new WimFormatError(`${what}: code length ${l} over the limit of ${maxLen}`);
    if (l > 0) {
      count[l]!++;
      if (l > longest) longest = l;
    }
  }
  // A caller decoding many blocks passes one scratch array (2^maxLen entries) to spare the garbage collector.
  const entries = scratch && scratch.length >= 1 << longest ? scratch.subarray(0, 1 << longest).fill(0) : new Uint16Array(1 << longest);
  if (longest === 0) return { bits: 0, entries };
  // Kraft sum: more codes than the lengths allow means the lengths are garbage.
  let room = 1;
  const next = new Uint32Array(longest + 2);
  for (let l = 1; l <= longest; l++) {
    room = room * 2 - count[l]!;
    if (room < 0) throw new WimFormatError(`${what}: code lengths over-subscribe the code space`);
  }
  let code = 0;
  for (let l = 1; l <= longest; l++) {
    code = (code + count[l - 1]!) << 1;
    next[l] = code;
  }
  for (let s = 0; s < lengths.length; s++) {
    const l = lengths[s]!;
    if (l === 0) continue;
    const c = next[l]!++;
    const span = longest - l;
    const first = c << span;
    const entry = (s << 5) | l;
    entries.fill(entry, first, first + (1 << span));
  }
  return { bits: longest, entries };
}
