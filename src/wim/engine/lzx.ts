/**
 * LZX decompression of one WIM chunk, after the LZX format described in Microsoft's [MS-PATCH] (LZX DELTA) and
 * the WIM specifics documented by wimlib: every chunk is compressed on its own (window = chunk size, repeat offsets
 * start at 1, code lengths start at 0), the x86 call (E8) translation is always on with a file size of 12000000,
 * and a block size starting with a 1 bit means 32768.
 *
 * Bits are read as 16-bit little-endian words, most significant bit first. A block is: 3 bits type (1 verbatim,
 * 2 aligned offset, 3 uncompressed), its size, then for aligned blocks 8 x 3-bit aligned code lengths, then the
 * main code lengths (first 256 symbols, then the rest) and the length code lengths, each part sent as deltas
 * through a 20-symbol pretree.
 */
import { WimFormatError } from './errors.js';
import { type HuffmanTable, buildHuffmanTable } from './huffman.js';

const NUM_CHARS = 256;
const LEN_SYMBOLS = 249;
const PRETREE_SYMBOLS = 20;
const ALIGNED_SYMBOLS = 8;
const MAX_CODE_LEN = 16;
const E8_FILE_SIZE = 12_000_000;
const DEFAULT_BLOCK_SIZE = 32768;

/** Extra offset bits per offset slot, and the first formatted offset of each slot. */
const EXTRA_BITS = new Uint8Array(50);
const SLOT_BASE = new Uint32Array(51);
for (let s = 0; s < 50; s++) {
  EXTRA_BITS[s] = s < 4 ? 0 : Math.min((s >> 1) - 1, 17);
  SLOT_BASE[s + 1] = SLOT_BASE[s]! + (s < 3 ? 1 : 1 << EXTRA_BITS[s]!);
}
// Slots 0..2 are the repeat offsets; slot 3 is formatted offset 3 (a real offset of 1).
SLOT_BASE[0] = 0; SLOT_BASE[1] = 1; SLOT_BASE[2] = 2; SLOT_BASE[3] = 3;

/** Number of offset slots for a window of 2^order bytes (15..21). */
function offsetSlots(order: number): number {
  const windowSize = 2 ** order;
  let slots = 0;
  while (slots < 50 && SLOT_BASE[slots]! < windowSize) slots++;
  return slots;
}

class BitReader {
  buf = 0;
  count = 0;
  pos: number;
  constructor(readonly input: Uint8Array, start = 0) {
    this.pos = start;
  }
  /** Makes at least 17 bits available (zeros past the end of the input). */
  private fill(): void {
    while (this.count <= 16) {
      const p = this.pos;
      const w = p + 1 < this.input.length ? this.input[p]! | (this.input[p + 1]! << 8) : 0;
      this.pos += 2;
      this.buf = ((this.buf << 16) | w) >>> 0;
      this.count += 16;
    }
  }
  bits(n: number): number {
    if (n === 0) return 0;
    if (this.count < n) this.fill();
    this.count -= n;
    const v = (this.buf >>> this.count) & ((1 << n) - 1);
    return v;
  }
  symbol(t: HuffmanTable, what: string): number {
    if (this.count < 16) this.fill();
    if (t.bits === 0) throw new WimFormatError(`LZX: ${what} code is empty but a symbol is needed`);
    const e = t.entries[(this.buf >>> (this.count - t.bits)) & ((1 << t.bits) - 1)]!;
    if (e === 0) throw new WimFormatError(`LZX: invalid ${what} code`);
    this.count -= e & 31;
    return e >> 5;
  }
  /** Skips to the next 16-bit boundary (1 to 16 bits, as LZX requires before an uncompressed block's data). */
  align(): void {
    // Padding is the rest of the current word, or a whole word when the current one is used up. Words read
    // ahead beyond that go back to the byte stream.
    const partial = this.count & 15;
    const ahead = partial === 0 ? this.count / 16 - 1 : (this.count - partial) / 16;
    this.pos -= ahead * 2;
    this.count = 0;
    this.buf = 0;
  }
  overrun(): boolean {
    return this.pos > this.input.length + 4;
  }
}

/**
 * Reads code lengths `lens[from..to)` as deltas from their previous values, through a pretree. Like the symbol
 * loop, it keeps the bit reader's state in locals (it runs ~900 times per MiB, mostly before the JIT); words are
 * fetched exactly when BitReader would fetch them, so where a chunk counts as overrun does not change.
 */
function readLengths(r: BitReader, lens: Uint8Array, from: number, to: number): void {
  const pre = scratch.pre;
  for (let i = 0; i < PRETREE_SYMBOLS; i++) pre[i] = r.bits(4);
  const pt = buildHuffmanTable(pre, 15, 'LZX pretree', scratch.pretree);
  if (pt.bits === 0 && from < to) throw new WimFormatError('LZX: pretree code is empty but a symbol is needed');
  const entries = pt.entries, ptBits = pt.bits, mask = (1 << ptBits) - 1;
  const input = r.input, inLen = input.length;
  let buf = r.buf, count = r.count, pos = r.pos;
  let i = from;
  while (i < to) {
    if (count < 16) {
      while (count <= 16) {
        buf = ((buf << 16) | (pos + 1 < inLen ? input[pos]! | (input[pos + 1]! << 8) : 0)) >>> 0;
        pos += 2;
        count += 16;
      }
    }
    let e = entries[(buf >>> (count - ptBits)) & mask]!;
    if (e === 0) throw new WimFormatError('LZX: invalid pretree code');
    count -= e & 31;
    const sym = e >> 5;
    if (sym <= 16) {
      lens[i] = (lens[i]! + 17 - sym) % 17;
      i++;
      continue;
    }
    // 17: 4 + 4 bits zeros; 18: 20 + 5 bits zeros; 19: 4 + 1 bit copies of the next symbol's value.
    const n = sym === 17 ? 4 : sym === 18 ? 5 : 1;
    if (count < n) {
      while (count <= 16) {
        buf = ((buf << 16) | (pos + 1 < inLen ? input[pos]! | (input[pos + 1]! << 8) : 0)) >>> 0;
        pos += 2;
        count += 16;
      }
    }
    count -= n;
    const run = (sym === 18 ? 20 : 4) + ((buf >>> count) & ((1 << n) - 1));
    let v = 0;
    if (sym === 19) {
      if (count < 16) {
        while (count <= 16) {
          buf = ((buf << 16) | (pos + 1 < inLen ? input[pos]! | (input[pos + 1]! << 8) : 0)) >>> 0;
          pos += 2;
          count += 16;
        }
      }
      e = entries[(buf >>> (count - ptBits)) & mask]!;
      if (e === 0) throw new WimFormatError('LZX: invalid pretree code');
      count -= e & 31;
      const s2 = e >> 5;
      if (s2 > 16) throw new WimFormatError('LZX: invalid code length run');
      v = (lens[i]! + 17 - s2) % 17;
    }
    lens.fill(v, i, Math.min(to, i + run));
    i += run;
  }
  r.buf = buf; r.count = count; r.pos = pos;
  if (r.overrun()) throw new WimFormatError('LZX: chunk ends inside its code lengths');
}

/** Undoes the x86 call translation: E8 followed by an absolute 32-bit target becomes a relative one again. */
function undoE8(out: Uint8Array): void {
  if (out.length <= 10) return;
  const limit = out.length - 10;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  // indexOf jumps to the next E8 natively: most data (a directory tree above all) has few of them.
  for (let i = out.indexOf(0xe8); i >= 0 && i < limit; i = out.indexOf(0xe8, i + 1)) {
    const abs = view.getInt32(i + 1, true);
    if (abs >= -i && abs < E8_FILE_SIZE) {
      view.setInt32(i + 1, abs >= 0 ? abs - i : abs + E8_FILE_SIZE, true);
    }
    i += 4;
  }
}

/**
 * The symbols of one verbatim or aligned block, up to `blockEnd`; returns the new output position. Kept small and
 * apart from the block headers: it holds the bit reader's state and the repeat offsets in locals and reads only
 * typed arrays (no calls, no property loads in the loop), so V8 compiles it soon and cheaply, and a rarely taken
 * branch (aligned offsets, long lengths) does not throw the compiled code away.
 */
function decodeSymbols(
  r: BitReader, reps: Uint32Array, input: Uint8Array, out: Uint8Array, o: number, blockEnd: number,
  mainEntries: Uint16Array, mainBits: number, lenEntries: Uint16Array, lenBits: number,
  isAligned: boolean, alignedEntries: Uint16Array, alignedBits: number,
): number {
  const inLen = input.length;
  const mainMask = (1 << mainBits) - 1, lenMask = (1 << lenBits) - 1;
  const alignedMask = (1 << alignedBits) - 1;
  let buf = r.buf, count = r.count, pos = r.pos;
  let r0 = reps[0]!, r1 = reps[1]!, r2 = reps[2]!;
  while (o < blockEnd) {
    while (count <= 16) {
      buf = ((buf << 16) | (pos + 1 < inLen ? input[pos]! | (input[pos + 1]! << 8) : 0)) >>> 0;
      pos += 2;
      count += 16;
    }
    let e = mainEntries[(buf >>> (count - mainBits)) & mainMask]!;
    if (e === 0) throw new WimFormatError('LZX: invalid main code');
    count -= e & 31;
    const sym = e >> 5;
    if (sym < NUM_CHARS) {
      out[o++] = sym;
      continue;
    }
    const m = sym - NUM_CHARS;
    let length = (m & 7) + 2;
    if ((m & 7) === 7) {
      while (count <= 16) {
        buf = ((buf << 16) | (pos + 1 < inLen ? input[pos]! | (input[pos + 1]! << 8) : 0)) >>> 0;
        pos += 2;
        count += 16;
      }
      if (lenBits === 0) throw new WimFormatError('LZX: length code is empty but a symbol is needed');
      e = lenEntries[(buf >>> (count - lenBits)) & lenMask]!;
      if (e === 0) throw new WimFormatError('LZX: invalid length code');
      count -= e & 31;
      length += e >> 5;
    }
    const slot = m >> 3;
    let offset: number;
    if (slot === 0) {
      offset = r0;
    } else if (slot === 1) {
      offset = r1; r1 = r0; r0 = offset;
    } else if (slot === 2) {
      offset = r2; r2 = r0; r0 = offset;
    } else {
      const extra = EXTRA_BITS[slot]!;
      // Verbatim: `extra` bits (at most 17). Aligned, with 3 or more extra bits: extra - 3 bits, then the low
      // 3 bits as an aligned-code symbol.
      const direct = isAligned && extra >= 3 ? extra - 3 : extra;
      while (count <= 16) {
        buf = ((buf << 16) | (pos + 1 < inLen ? input[pos]! | (input[pos + 1]! << 8) : 0)) >>> 0;
        pos += 2;
        count += 16;
      }
      count -= direct;
      let v = (buf >>> count) & ((1 << direct) - 1);
      if (direct !== extra) {
        while (count <= 16) {
          buf = ((buf << 16) | (pos + 1 < inLen ? input[pos]! | (input[pos + 1]! << 8) : 0)) >>> 0;
          pos += 2;
          count += 16;
        }
        if (alignedBits === 0) throw new WimFormatError('LZX: aligned offset code is empty but a symbol is needed');
        const a = alignedEntries[(buf >>> (count - alignedBits)) & alignedMask]!;
        if (a === 0) throw new WimFormatError('LZX: invalid aligned offset code');
        count -= a & 31;
        v = (v << 3) + (a >> 5);
      }
      offset = SLOT_BASE[slot]! + v - 2;
      r2 = r1; r1 = r0; r0 = offset;
    }
    if (offset > o || offset === 0) throw new WimFormatError(`LZX: a match reaches ${offset} bytes back from position ${o}`);
    if (length > blockEnd - o) throw new WimFormatError('LZX: a match runs past the end of its block');
    if (pos > inLen + 4) throw new WimFormatError('LZX: chunk ends before its data');
    let src = o - offset;
    if (length >= 16 && offset >= length) {
      // Long and not overlapping itself: one native copy beats the byte loop, above all before the JIT.
      out.copyWithin(o, src, src + length);
      o += length;
    } else {
      const stop = o + length;
      while (o < stop) out[o++] = out[src++]!;
    }
  }
  r.buf = buf; r.count = count; r.pos = pos;
  reps[0] = r0; reps[1] = r1; reps[2] = r2;
  return o;
}

/** Table space reused by every block of every chunk (decoding is synchronous, so one set is enough). */
const scratch = {
  main: new Uint16Array(1 << MAX_CODE_LEN), len: new Uint16Array(1 << MAX_CODE_LEN), aligned: new Uint16Array(1 << 7),
  pre: new Uint8Array(PRETREE_SYMBOLS), pretree: new Uint16Array(1 << 15),
};
const NO_ENTRIES: Uint16Array = new Uint16Array(0);

/**
 * Decompresses one chunk into exactly `outSize` bytes. `windowOrder` is log2 of the WIM's chunk size (15..21).
 * `into` (exactly `outSize` bytes), when given, receives them: a whole resource decodes in place, with no array and
 * copy per chunk. Throws WimFormatError on damaged input; work is bounded by `outSize` and the input length.
 */
export function lzxDecompress(input: Uint8Array, outSize: number, windowOrder = 15, into?: Uint8Array): Uint8Array {
  if (windowOrder < 15 || windowOrder > 21) throw new WimFormatError(`LZX window of 2^${windowOrder} bytes is not supported`);
  if (outSize > 2 ** windowOrder) throw new WimFormatError(`LZX chunk of ${outSize} bytes is larger than its window`);
  const numMain = NUM_CHARS + offsetSlots(windowOrder) * 8;
  const mainLens = new Uint8Array(numMain);
  const lenLens = new Uint8Array(LEN_SYMBOLS);
  const alignedLens = new Uint8Array(ALIGNED_SYMBOLS);
  if (into && into.length !== outSize) throw new Error(`LZX: output space of ${into.length} bytes for a ${outSize}-byte chunk`);
  const out = into ?? new Uint8Array(outSize); // every byte is written before a chunk counts as decoded
  const r = new BitReader(input);
  const reps = new Uint32Array([1, 1, 1]); // the repeat offsets R0, R1, R2
  let o = 0;
  while (o < outSize) {
    const type = r.bits(3);
    let size = r.bits(1) ? DEFAULT_BLOCK_SIZE : r.bits(16);
    if (windowOrder >= 16 && size !== DEFAULT_BLOCK_SIZE) size = (size << 8) | r.bits(8);
    if (size === 0 || size > outSize - o) throw new WimFormatError(`LZX: block of ${size} bytes where ${outSize - o} remain`);
    const blockEnd = o + size;
    if (type === 3) {
      r.align();
      const p = r.pos;
      if (p + 12 + size > input.length) throw new WimFormatError('LZX: uncompressed block runs past the chunk');
      const dv = new DataView(input.buffer, input.byteOffset + p, 12);
      reps[0] = dv.getUint32(0, true); reps[1] = dv.getUint32(4, true); reps[2] = dv.getUint32(8, true);
      out.set(input.subarray(p + 12, p + 12 + size), o);
      o = blockEnd;
      r.pos = p + 12 + size + (size & 1);
      continue;
    }
    if (type !== 1 && type !== 2) throw new WimFormatError(`LZX: unknown block type ${type}`);
    // A verbatim block gets an empty aligned table, so the loop below always sees the same types.
    let alignedEntries = NO_ENTRIES, alignedBits = 0;
    const isAligned = type === 2;
    if (isAligned) {
      for (let i = 0; i < ALIGNED_SYMBOLS; i++) alignedLens[i] = r.bits(3);
      const t = buildHuffmanTable(alignedLens, 7, 'LZX aligned offset code', scratch.aligned);
      alignedEntries = t.entries;
      alignedBits = t.bits;
    }
    readLengths(r, mainLens, 0, NUM_CHARS);
    readLengths(r, mainLens, NUM_CHARS, numMain);
    const main = buildHuffmanTable(mainLens, MAX_CODE_LEN, 'LZX main code', scratch.main);
    readLengths(r, lenLens, 0, LEN_SYMBOLS);
    const lenTable = buildHuffmanTable(lenLens, MAX_CODE_LEN, 'LZX length code', scratch.len);

    if (main.bits === 0) throw new WimFormatError('LZX: main code is empty but the block has data');
    o = decodeSymbols(r, reps, input, out, o, blockEnd, main.entries, main.bits, lenTable.entries, lenTable.bits, isAligned, alignedEntries, alignedBits);
    if (r.overrun()) throw new WimFormatError('LZX: chunk ends before its data');
  }
  undoE8(out);
  return out;
}
