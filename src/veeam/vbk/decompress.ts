/**
 * Block decompression by Veeam's compression code: none (0xFF), LZ4 (7, with Veeam's 12-byte header), zlib (3, 4:
 * Node's zlib), zstd (8, 9: fzstd). LZ4 blocks also carry a CRC-32C of their data, checked here. Every method is asked for exactly the block's size and no more, so a hostile
 * block cannot make memory grow. RLE (2) has no public description and no sample file to check a decoder against, so
 * it is refused with a message rather than guessed.
 */
import { inflateRawSync, inflateSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { crc32c } from './crc32c.js';
import { lz4DecodeBlock } from './lz4.js';

export const COMPRESSION_NAMES: Record<number, string> = {
  0xff: 'none', 2: 'RLE', 3: 'zlib (high)', 4: 'zlib (low)', 7: 'LZ4', 8: 'zstd (level 3)', 9: 'zstd (level 9)',
};

export const LZ4_MAGIC = 0xf800000f;

export class DecompressError extends Error {
  constructor(message: string, readonly unsupported = false) {
    super(message);
  }
}

/** The block's data, exactly `size` bytes, or a DecompressError saying why not. LZ4 decodes into `target` if given. */
export function decompressBlock(method: number, data: Buffer, size: number, target?: Buffer): Buffer {
  try {
    switch (method) {
      case 0xff:
        if (data.length !== size) throw new DecompressError(`stored ${data.length} bytes for a ${size}-byte block`);
        return data;
      case 7: {
        if (data.length < 12 || data.readUInt32LE(0) !== LZ4_MAGIC) throw new DecompressError('LZ4 block without its header');
        if (data.readUInt32LE(8) !== size) throw new DecompressError(`LZ4 header says ${data.readUInt32LE(8)} bytes, the block ${size}`);
        const out = lz4DecodeBlock(data.subarray(12), size, target);
        const crc = crc32c(out);
        if (crc !== data.readUInt32LE(4)) throw new DecompressError(`LZ4 data has CRC-32C ${crc.toString(16)} where its header records ${data.readUInt32LE(4).toString(16)}`);
        return out;
      }
      case 3:
      case 4: {
        const inflate = data[0] !== undefined && (data[0] & 0x0f) === 8 && ((data[0] << 8) | (data[1] ?? 0)) % 31 === 0 ? inflateSync : inflateRawSync;
        const out = inflate(data, { maxOutputLength: Math.max(size, 1) });
        if (out.length !== size) throw new DecompressError(`zlib gives ${out.length} bytes, expected ${size}`);
        return out;
      }
      case 8:
      case 9: {
        const out = zstdDecompress(data, new Uint8Array(size));
        if (out.length !== size) throw new DecompressError(`zstd gives ${out.length} bytes, expected ${size}`);
        return Buffer.from(out.buffer, out.byteOffset, out.length);
      }
      default:
        throw new DecompressError(`compression ${COMPRESSION_NAMES[method] ?? `code ${method}`} is not supported`, true);
    }
  } catch (e) {
    if (e instanceof DecompressError) throw e;
    throw new DecompressError(`${COMPRESSION_NAMES[method] ?? method} data does not decode: ${(e as Error).message}`);
  }
}
