/**
 * The 512-byte footer that turns a raw disk image into a fixed VHD (Microsoft's Virtual Hard Disk format 1.0):
 * Windows attaches it with a double-click, and the data before the footer stays a raw image for Linux tools.
 */
import { randomUUID } from 'node:crypto';

const VHD_EPOCH = Date.UTC(2000, 0, 1);

/** Cylinders/heads/sectors as the VHD specification computes them from the sector count. */
export function vhdGeometry(totalSectors: number): { cylinders: number; heads: number; sectors: number } {
  let total = Math.min(totalSectors, 65535 * 16 * 255);
  let sectors: number;
  let heads: number;
  let cylTimesHeads: number;
  if (total >= 65535 * 16 * 63) {
    sectors = 255;
    heads = 16;
    cylTimesHeads = Math.floor(total / sectors);
  } else {
    sectors = 17;
    cylTimesHeads = Math.floor(total / sectors);
    heads = Math.floor((cylTimesHeads + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cylTimesHeads >= heads * 1024 || heads > 16) {
      sectors = 31;
      heads = 16;
      cylTimesHeads = Math.floor(total / sectors);
    }
    if (cylTimesHeads >= heads * 1024) {
      sectors = 63;
      heads = 16;
      cylTimesHeads = Math.floor(total / sectors);
    }
  }
  return { cylinders: Math.floor(cylTimesHeads / heads), heads, sectors };
}

export function vhdFooter(size: number, now = new Date()): Buffer {
  const f = Buffer.alloc(512);
  f.write('conectix', 0, 'latin1');
  f.writeUInt32BE(2, 8); // features: reserved bit set
  f.writeUInt32BE(0x00010000, 12); // format version 1.0
  f.writeBigUInt64BE(0xffffffffffffffffn, 16); // data offset: none for a fixed disk
  f.writeUInt32BE(Math.max(0, Math.floor((now.getTime() - VHD_EPOCH) / 1000)) >>> 0, 24);
  f.write('lfbt', 28, 'latin1'); // creator application
  f.writeUInt32BE(0x00010000, 32);
  f.write('Wi2k', 36, 'latin1'); // creator host OS
  f.writeBigUInt64BE(BigInt(size), 40); // original size
  f.writeBigUInt64BE(BigInt(size), 48); // current size
  const g = vhdGeometry(Math.floor(size / 512));
  f.writeUInt16BE(g.cylinders, 56);
  f[58] = g.heads;
  f[59] = g.sectors;
  f.writeUInt32BE(2, 60); // disk type: fixed
  Buffer.from(randomUUID().replace(/-/g, ''), 'hex').copy(f, 68);
  let sum = 0;
  for (const byte of f) sum += byte;
  f.writeUInt32BE(~sum >>> 0, 64);
  return f;
}
