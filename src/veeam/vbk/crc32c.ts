/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum Veeam keeps for its metadata slots and banks.
 * Node has no CRC-32C; metadata is a small share of a backup, so a slicing-by-4 table version is fast enough.
 */
const TABLES: Uint32Array[] = (() => {
  const t0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t0[i] = c >>> 0;
  }
  const tables = [t0];
  for (let n = 1; n < 4; n++) {
    const prev = tables[n - 1]!;
    const t = new Uint32Array(256);
    for (let i = 0; i < 256; i++) t[i] = (prev[i]! >>> 8) ^ t0[prev[i]! & 0xff]!;
    tables.push(t);
  }
  return tables;
})();

export function crc32c(data: Uint8Array, seed = 0): number {
  const [t0, t1, t2, t3] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = ~seed >>> 0;
  let i = 0;
  const end4 = data.length - (data.length % 4);
  for (; i < end4; i += 4) {
    crc ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    crc = t3[crc & 0xff]! ^ t2[(crc >>> 8) & 0xff]! ^ t1[(crc >>> 16) & 0xff]! ^ t0[crc >>> 24]!;
  }
  for (; i < data.length; i++) crc = t0[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
