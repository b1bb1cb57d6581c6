/**
 * The El Torito boot catalog (El Torito 1.0, section 2): a validation entry, the initial/default entry, then
 * any number of sections (header + entries, each entry optionally followed by extension entries).
 * Decoding keeps every byte that matters (selection criteria, extensions, unknown platform ids) so that an
 * encode of a decode reproduces the catalog with only the load RBAs changed.
 */
import { SECTOR } from './bytes.js';

export const PLATFORM_BIOS = 0x00;
export const PLATFORM_EFI = 0xef;

export type Emulation = 'none' | 'floppy-1.2M' | 'floppy-1.44M' | 'floppy-2.88M' | 'hard-disk' | 'unknown';

const EMULATIONS: Emulation[] = ['none', 'floppy-1.2M', 'floppy-1.44M', 'floppy-2.88M', 'hard-disk'];

export function emulationOf(mediaType: number): Emulation {
  return EMULATIONS[mediaType & 0x0f] ?? 'unknown';
}

export const FLOPPY_BYTES: Partial<Record<Emulation, number>> = {
  'floppy-1.2M': 1_228_800,
  'floppy-1.44M': 1_474_560,
  'floppy-2.88M': 2_949_120,
};

export function platformName(id: number): string {
  return { 0: 'BIOS', 1: 'PowerPC', 2: 'Mac', 0xef: 'UEFI' }[id] ?? `0x${id.toString(16).padStart(2, '0')}`;
}

export interface BootEntry {
  bootable: boolean;
  /** Raw media type byte: low nibble the emulation, high bits vendor flags (kept as they were). */
  mediaType: number;
  loadSegment: number;
  systemType: number;
  /** Virtual 512-byte sectors the BIOS loads (no-emulation); informational for other modes. */
  sectorCount: number;
  /** LBA of the image (2048-byte blocks). */
  loadRba: number;
  /** Bytes 12-31 of the entry: selection criteria in section entries, zero in the default entry. */
  tail: Buffer;
  /** Raw 32-byte extension entries (0x44) that followed this entry. */
  extensions: Buffer[];
}

export interface BootSection {
  platformId: number;
  /** Bytes 4-31 of the section header (ID string). */
  id: Buffer;
  entries: BootEntry[];
}

export interface BootCatalog {
  platformId: number;
  /** Bytes 4-27 of the validation entry (ID string). */
  id: Buffer;
  defaultEntry: BootEntry;
  sections: BootSection[];
}

/** Every entry with the platform it applies to, default entry first. */
export function catalogEntries(c: BootCatalog): { platformId: number; entry: BootEntry }[] {
  return [
    { platformId: c.platformId, entry: c.defaultEntry },
    ...c.sections.flatMap((s) => s.entries.map((entry) => ({ platformId: s.platformId, entry }))),
  ];
}

export class BootCatalogError extends Error {}

function decodeEntry(b: Buffer, o: number): BootEntry {
  const indicator = b[o]!;
  if (indicator !== 0x88 && indicator !== 0x00) {
    throw new BootCatalogError(`boot entry at catalog byte ${o} has indicator 0x${indicator.toString(16)} (expected 0x88 or 0x00)`);
  }
  return {
    bootable: indicator === 0x88,
    mediaType: b[o + 1]!,
    loadSegment: b.readUInt16LE(o + 2),
    systemType: b[o + 4]!,
    sectorCount: b.readUInt16LE(o + 6),
    loadRba: b.readUInt32LE(o + 8),
    tail: Buffer.from(b.subarray(o + 12, o + 32)),
    extensions: [],
  };
}

function checksum16(entry: Buffer): number {
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum = (sum + entry.readUInt16LE(i)) & 0xffff;
  return sum;
}

/** Decodes a catalog from its sectors (the caller reads a bounded number of them). */
export function decodeBootCatalog(b: Buffer): BootCatalog {
  if (b.length < 64) throw new BootCatalogError('boot catalog is shorter than two entries');
  if (b[0] !== 0x01 || b[30] !== 0x55 || b[31] !== 0xaa) {
    throw new BootCatalogError('boot catalog validation entry is missing (no 0x01 header or 0x55AA key bytes)');
  }
  if (checksum16(b.subarray(0, 32)) !== 0) throw new BootCatalogError('boot catalog validation entry checksum is wrong');
  const catalog: BootCatalog = {
    platformId: b[1]!,
    id: Buffer.from(b.subarray(4, 28)),
    defaultEntry: decodeEntry(b, 32),
    sections: [],
  };
  let o = 64;
  let last: BootEntry = catalog.defaultEntry;
  while (o + 32 <= b.length) {
    const kind = b[o]!;
    if (kind === 0x90 || kind === 0x91) {
      const count = b.readUInt16LE(o + 2);
      const section: BootSection = { platformId: b[o + 1]!, id: Buffer.from(b.subarray(o + 4, o + 32)), entries: [] };
      o += 32;
      for (let i = 0; i < count; i++) {
        if (o + 32 > b.length) throw new BootCatalogError(`boot catalog section announces ${count} entries but ends after ${i}`);
        last = decodeEntry(b, o);
        section.entries.push(last);
        o += 32;
        // Extension entries: 0x44, bit 5 of byte 1 says another follows.
        while (o + 32 <= b.length && b[o] === 0x44) {
          last.extensions.push(Buffer.from(b.subarray(o, o + 32)));
          const more = (b[o + 1]! & 0x20) !== 0;
          o += 32;
          if (!more) break;
        }
      }
      catalog.sections.push(section);
      if (kind === 0x91) break;
    } else if (kind === 0x44 && last) {
      last.extensions.push(Buffer.from(b.subarray(o, o + 32)));
      o += 32;
    } else {
      break; // end of catalog (zero fill or unknown data)
    }
  }
  return catalog;
}

function encodeEntry(e: BootEntry): Buffer {
  const b = Buffer.alloc(32);
  b[0] = e.bootable ? 0x88 : 0x00;
  b[1] = e.mediaType;
  b.writeUInt16LE(e.loadSegment, 2);
  b[4] = e.systemType;
  b.writeUInt16LE(e.sectorCount, 6);
  b.writeUInt32LE(e.loadRba, 8);
  e.tail.copy(b, 12, 0, 20);
  return b;
}

export function catalogByteLength(c: BootCatalog): number {
  let n = 64 + c.defaultEntry.extensions.length * 32;
  for (const s of c.sections) n += 32 + s.entries.reduce((a, e) => a + 32 + e.extensions.length * 32, 0);
  return n;
}

/** Encodes the catalog padded to whole sectors. */
export function encodeBootCatalog(c: BootCatalog): Buffer {
  const out = Buffer.alloc(Math.ceil(catalogByteLength(c) / SECTOR) * SECTOR);
  const v = out.subarray(0, 32);
  v[0] = 0x01;
  v[1] = c.platformId;
  c.id.copy(v, 4, 0, 24);
  v[30] = 0x55;
  v[31] = 0xaa;
  v.writeUInt16LE((0x10000 - checksum16(v)) & 0xffff, 28);
  let o = 32;
  const put = (b: Buffer) => {
    b.copy(out, o);
    o += 32;
  };
  put(encodeEntry(c.defaultEntry));
  c.defaultEntry.extensions.forEach(put);
  c.sections.forEach((s, i) => {
    const h = Buffer.alloc(32);
    h[0] = i === c.sections.length - 1 ? 0x91 : 0x90;
    h[1] = s.platformId;
    h.writeUInt16LE(s.entries.length, 2);
    s.id.copy(h, 4, 0, 28);
    put(h);
    for (const e of s.entries) {
      put(encodeEntry(e));
      e.extensions.forEach(put);
    }
  });
  return out;
}

/** A new catalog entry for `iso create`: no-emulation, load segment 0 (meaning 0x7C0), bootable. */
export function newEntry(sectorCount: number): BootEntry {
  return { bootable: true, mediaType: 0, loadSegment: 0, systemType: 0, sectorCount, loadRba: 0, tail: Buffer.alloc(20), extensions: [] };
}
