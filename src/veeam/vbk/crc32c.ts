/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): Veeam's checksum for metadata slots and banks and for the
 * data inside LZ4 blocks. Node has no CRC-32C and the fast npm ones are native addons (which the portable Windows
 * build cannot load), so this is a slicing-by-8 table version in plain JavaScript.
 */
const TABLES = new Int32Array(256 * 8);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLES[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) {
    const prev = TABLES[(t - 1) * 256 + i]!;
    TABLES[t * 256 + i] = (prev >>> 8) ^ TABLES[prev & 0xff]!;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function crc32c(data: Uint8Array, seed = 0): number {
  const t = TABLES;
  let crc = ~seed;
  let i = 0;
  const n = data.length;
  const end8 = n - (n & 7);
  if (LITTLE_ENDIAN && (data.byteOffset & 3) === 0 && end8 > 0) {
    // Aligned (block buffers are): read whole 32-bit words.
    const words = new Uint32Array(data.buffer, data.byteOffset, end8 >>> 2);
    for (let w = 0; w < words.length; w += 2) {
      const lo = crc ^ words[w]!;
      const hi = words[w + 1]!;
      crc =
        t[1792 + (lo & 0xff)]! ^ t[1536 + ((lo >>> 8) & 0xff)]! ^ t[1280 + ((lo >>> 16) & 0xff)]! ^ t[1024 + (lo >>> 24)]! ^
        t[768 + (hi & 0xff)]! ^ t[512 + ((hi >>> 8) & 0xff)]! ^ t[256 + ((hi >>> 16) & 0xff)]! ^ t[hi >>> 24]!;
    }
    i = end8;
  }
  for (; i < end8; i += 8) {
    const lo = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    const hi = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    crc =
      t[1792 + (lo & 0xff)]! ^ t[1536 + ((lo >>> 8) & 0xff)]! ^ t[1280 + ((lo >>> 16) & 0xff)]! ^ t[1024 + (lo >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^ t[512 + ((hi >>> 8) & 0xff)]! ^ t[256 + ((hi >>> 16) & 0xff)]! ^ t[hi >>> 24]!;
  }
  for (; i < n; i++) crc = t[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
