/**
 * LZ4 block decoding (the raw block format, no frame). Our own: the pure-JavaScript npm decoders are unmaintained and
 * the native ones do not fit the portable Windows build; the block format is small and fully specified. Every length
 * and offset is checked, so a hostile block ends in an error, never a read outside the buffers.
 */
export class Lz4Error extends Error {}

/** Decodes `src` into exactly `size` bytes (into `target` when given: a buffer reused from block to block). */
export function lz4DecodeBlock(src: Uint8Array, size: number, target?: Buffer): Buffer {
  const out = target && target.length >= size ? target.subarray(0, size) : Buffer.allocUnsafe(size);
  let ip = 0;
  let op = 0;
  const end = src.length;
  for (;;) {
    if (ip >= end) throw new Lz4Error('input ends before a sequence');
    const token = src[ip++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      for (;;) {
        if (ip >= end) throw new Lz4Error('input ends in a literal length');
        const b = src[ip++]!;
        literals += b;
        if (b !== 255) break;
      }
    }
    if (ip + literals > end) throw new Lz4Error('literals run past the input');
    if (op + literals > size) throw new Lz4Error('literals run past the output');
    out.set(src.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip === end) break;
    if (ip + 2 > end) throw new Lz4Error('input ends in a match offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Lz4Error(`match offset ${offset} points before the start`);
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      for (;;) {
        if (ip >= end) throw new Lz4Error('input ends in a match length');
        const b = src[ip++]!;
        length += b;
        if (b !== 255) break;
      }
    }
    if (op + length > size) throw new Lz4Error('match runs past the output');
    const from = op - offset;
    if (offset >= length) {
      out.copyWithin(op, from, from + length);
    } else if (offset === 1) {
      out.fill(out[from]!, op, op + length);
    } else {
      // An overlapping match repeats the last `offset` bytes: copy what is already there, doubling each time.
      for (let done = 0; done < length; ) {
        const n = Math.min(op + done - from, length - done);
        out.copyWithin(op + done, from, from + n);
        done += n;
      }
    }
    op += length;
  }
  if (op !== size) throw new Lz4Error(`decodes to ${op} bytes, expected ${size}`);
  return out;
}
