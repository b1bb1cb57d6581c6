/**
 * The XPRESS and LZX chunk decoders on inputs wimlib's compressor does not make: an LZX uncompressed block (its
 * 16-bit alignment and repeat offsets), and random garbage (which must end in WimFormatError or a chunk of the
 * right size, never another error or a hang). Real compressed WIMs are covered by test/integration/wim-engine.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WimFormatError } from '../../src/wim/engine/errors.js';
import { buildHuffmanTable } from '../../src/wim/engine/huffman.js';
import { lzxDecompress } from '../../src/wim/engine/lzx.js';
import { xpressDecompress } from '../../src/wim/engine/xpress.js';

/** One LZX uncompressed block of `data` (no 0xE8 bytes, so the call translation leaves it alone). */
function lzxStored(data: Buffer): Buffer {
  const n = data.length;
  // bits: 3 type (3 = uncompressed), 1 (0 = size follows), 16 size, then padding to the 16-bit boundary
  const bits = (0b011 << 17) | (0 << 16) | n; // 20 bits
  const w0 = (bits >>> 4) & 0xffff;
  const w1 = (bits & 0xf) << 12;
  const head = Buffer.alloc(4 + 12);
  head.writeUInt16LE(w0, 0);
  head.writeUInt16LE(w1, 2);
  head.writeUInt32LE(1, 4);
  head.writeUInt32LE(1, 8);
  head.writeUInt32LE(1, 12);
  return Buffer.concat([head, data, Buffer.alloc(n & 1)]);
}

describe('WIM chunk decoders', () => {
  it('LZX: an uncompressed block is copied after its alignment and repeat offsets', () => {
    for (const n of [1, 2, 333, 1000, 32767]) {
      const data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = (i * 31 + 7) % 200;
      assert.deepEqual(Buffer.from(lzxDecompress(lzxStored(data), n)), data, `${n} bytes`);
    }
  });

  it('LZX: a chunk shorter than its data, or with an unknown block type, is refused', () => {
    const data = Buffer.alloc(100, 1);
    assert.throws(() => lzxDecompress(lzxStored(data).subarray(0, 60), 100), WimFormatError);
    assert.throws(() => lzxDecompress(Buffer.from([0xff, 0xff, 0xff, 0xff]), 100), WimFormatError);
    assert.throws(() => lzxDecompress(lzxStored(data), 99), WimFormatError); // block larger than what remains
  });

  it('Huffman tables: over-subscribed lengths are refused, an incomplete code leaves holes', () => {
    assert.throws(() => buildHuffmanTable(Uint8Array.from([1, 1, 1]), 15, 't'), WimFormatError);
    const t = buildHuffmanTable(Uint8Array.from([1, 0, 2]), 15, 't');
    assert.equal(t.bits, 2);
    assert.deepEqual([...t.entries].map((e) => (e === 0 ? -1 : e >> 5)), [0, 0, 2, -1]);
  });

  it('random garbage: WimFormatError or a chunk of the asked size, never anything else', () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let refused = 0;
    for (let i = 0; i < 3000; i++) {
      const input = Buffer.alloc(1 + Math.floor(rnd() * 2000));
      for (let k = 0; k < input.length; k++) input[k] = rnd() < 0.3 ? 0 : Math.floor(rnd() * 256);
      if (i % 2 === 0 && input.length > 256) for (let k = 0; k < 256; k++) input[k] = rnd() < 0.5 ? 0x88 : 0x77; // plausible XPRESS lengths
      const size = 1 + Math.floor(rnd() * 32768);
      for (const decode of [() => lzxDecompress(input, size), () => xpressDecompress(input, size)]) {
        try {
          assert.equal(decode().length, size);
        } catch (e) {
          if (!(e instanceof WimFormatError)) throw e;
          refused++;
        }
      }
    }
    assert.ok(refused > 0);
  });
});
