/**
 * XPRESS Huffman decompression of one WIM chunk, after the format described in Microsoft's [MS-XCA] section 2.2
 * ("LZ77+Huffman"). A chunk is at most 64 KiB of output, so it is a single XPRESS block:
 *
 * - 256 bytes: the code lengths of the 512 symbols, 4 bits each, the low nibble first (symbol 2n) then the high one.
 * - Then a bit stream read as 16-bit little-endian words, most significant bit first, with extra length bytes
 *   taken from the byte stream at the current read position between words.
 * - Symbol < 256: a literal byte. Otherwise (symbol - 256): low 4 bits = match length - 3 (15: more in the byte
 *   stream), high 4 bits = number of offset bits; offset = 2^bits + the next `bits` bits.
 */
import { WimFormatError } from './errors.js';
import { buildHuffmanTable } from './huffman.js';

const NUM_SYMBOLS = 512;
const TABLE_BYTES = NUM_SYMBOLS / 2;
const MAX_CODE_LEN = 15;

/** Decompresses `input` into exactly `outSize` bytes (at most 64 KiB). Throws WimFormatError on damaged input. */
export function xpressDecompress(input: Uint8Array, outSize: number): Uint8Array {
  if (outSize > 65536) throw new WimFormatError(`XPRESS chunk of ${outSize} bytes; at most 65536 are allowed`);
  if (input.length < TABLE_BYTES + 4) throw new WimFormatError(`XPRESS chunk of ${input.length} bytes is too short`);
  const lengths = new Uint8Array(NUM_SYMBOLS);
  for (let i = 0; i < TABLE_BYTES; i++) {
    lengths[2 * i] = input[i]! & 0x0f;
    lengths[2 * i + 1] = input[i]! >> 4;
  }
  const table = buildHuffmanTable(lengths, MAX_CODE_LEN, 'XPRESS Huffman table');
  if (table.bits === 0) throw new WimFormatError('XPRESS chunk: its Huffman code is empty');
  const tbits = table.bits;
  const entries = table.entries;
  const out = new Uint8Array(outSize);
  const end = input.length;
  // Past the end of the input the stream reads as zero bits; a chunk that needs them is refused below.
  const u16 = (p: number): number => (p + 1 < end ? input[p]! | (input[p + 1]! << 8) : p < end ? input[p]! : 0);
  let pos = TABLE_BYTES;
  let bits = ((u16(pos) << 16) | u16(pos + 2)) >>> 0; // the next 32 bits of the stream, first bit at the top
  pos += 4;
  let extra = 16; // bits in `bits` beyond the first 16
  let o = 0;

  const consume = (n: number): void => {
    bits = (bits << n) >>> 0;
    extra -= n;
    if (extra < 0) {
      bits = (bits + (u16(pos) << -extra)) >>> 0;
      extra += 16;
      pos += 2;
    }
  };

  while (o < outSize) {
    if (pos > end + 4) throw new WimFormatError('XPRESS chunk ends before its data');
    const entry = entries[bits >>> (32 - tbits)]!;
    if (entry === 0) throw new WimFormatError('XPRESS chunk: a code that the Huffman table does not define');
    const len = entry & 31;
    const sym = entry >> 5;
    consume(len);
    if (sym < 256) {
      out[o++] = sym;
      continue;
    }
    const m = sym - 256;
    let length = m & 15;
    const offsetBits = m >> 4;
    if (length === 15) {
      if (pos >= end) throw new WimFormatError('XPRESS chunk ends inside a match length');
      length = input[pos++]!;
      if (length === 255) {
        if (pos + 2 > end) throw new WimFormatError('XPRESS chunk ends inside a match length');
        length = input[pos]! | (input[pos + 1]! << 8);
        pos += 2;
        if (length === 0) {
          if (pos + 4 > end) throw new WimFormatError('XPRESS chunk ends inside a match length');
          length = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16) | (input[pos + 3]! << 24)) >>> 0;
          pos += 4;
        }
        if (length < 15) throw new WimFormatError('XPRESS chunk: invalid long match length');
        length -= 15;
      }
      length += 15;
    }
    length += 3;
    let offset = 1 << offsetBits;
    if (offsetBits > 0) {
      offset += bits >>> (32 - offsetBits);
      consume(offsetBits);
    }
    if (offset > o) throw new WimFormatError(`XPRESS chunk: a match reaches ${offset} bytes back from position ${o}`);
    if (length > outSize - o) throw new WimFormatError('XPRESS chunk: a match runs past the end of the chunk');
    let src = o - offset;
    const stop = o + length;
    while (o < stop) out[o++] = out[src++]!;
  }
  return out;
}
