/**
 * The WIM file header (208 bytes at offset 0, [MS-WIM] / wimlib's `struct wim_header_disk`), read directly so that
 * every backend (DISM has no way to print it) knows the boot index, and so that a file that is not a WIM at all is
 * refused with a clear message before any tool runs.
 *
 *   0x00 magic "MSWIM\0\0\0"     0x08 header size (208)   0x0C version   0x10 flags   0x14 chunk size
 *   0x18 GUID (16)               0x28 part number (u16)   0x2A total parts (u16)      0x2C image count
 *   0x30 blob table reshdr (24)  0x48 XML data reshdr (24) 0x60 boot metadata reshdr (24)
 *   0x78 boot index (u32)        0x7C integrity table reshdr (24)   0x94 unused (60)
 */
import { InputError } from '../errors.js';
import { type ResourceHeader, parseReshdr } from './engine/resource.js';
import { type WimFile, openWimFile, wimName } from './engine/wim-file.js';

export const WIM_HEADER_SIZE = 208;
const MAGIC = Buffer.from('MSWIM\0\0\0', 'latin1');
const PIPABLE_MAGIC = Buffer.from('WLPWM\0\0\0', 'latin1');

export interface WimHeader {
  version: number;
  flags: number;
  chunkSize: number;
  partNumber: number;
  totalParts: number;
  imageCount: number;
  /** 0 when no image is marked bootable. */
  bootIndex: number;
  pipable: boolean;
  guid: Buffer;
  /** Resource headers of the blob (lookup) table, the XML data, the boot image's metadata, the integrity table. */
  blobTable: ResourceHeader;
  xml: ResourceHeader;
  bootMetadata: ResourceHeader;
  integrity: ResourceHeader;
}

/** Header flags ([MS-WIM] FLAG_HEADER_*). */
export const WIM_FLAG_COMPRESSION = 0x2;
export const WIM_FLAG_COMPRESS_XPRESS = 0x20000;
export const WIM_FLAG_COMPRESS_LZX = 0x40000;
export const WIM_FLAG_COMPRESS_LZMS = 0x80000;
export const WIM_FLAG_COMPRESS_XPRESS2 = 0x200000;
/** The version of solid (ESD) WIMs; ordinary WIMs are 0x10d00. */
export const WIM_VERSION_SOLID = 0xe00;

function headerFields(b: Buffer, pipable: boolean): WimHeader {
  return {
    version: b.readUInt32LE(0x0c),
    flags: b.readUInt32LE(0x10),
    chunkSize: b.readUInt32LE(0x14),
    partNumber: b.readUInt16LE(0x28),
    totalParts: b.readUInt16LE(0x2a),
    imageCount: b.readUInt32LE(0x2c),
    bootIndex: b.readUInt32LE(0x78),
    pipable,
    guid: Buffer.from(b.subarray(0x18, 0x28)),
    blobTable: parseReshdr(b, 0x30, 'blob table'),
    xml: parseReshdr(b, 0x48, 'XML data'),
    bootMetadata: parseReshdr(b, 0x60, 'boot metadata'),
    integrity: parseReshdr(b, 0x7c, 'integrity table'),
  };
}

/** Decodes the header bytes; `name` is used in messages. Throws InputError when they are not a WIM header. */
export function parseWimHeader(bytes: Uint8Array, name: string): WimHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < WIM_HEADER_SIZE) {
    throw new InputError(`${name}: not a WIM file (only ${b.length} bytes, a WIM header needs ${WIM_HEADER_SIZE})`);
  }
  const magic = b.subarray(0, 8);
  const pipable = magic.equals(PIPABLE_MAGIC);
  if (!magic.equals(MAGIC) && !pipable) {
    throw new InputError(`${name}: not a WIM file (no "MSWIM" signature at its start)`, 'Use the sources\\boot.wim of the original media.');
  }
  const headerSize = b.readUInt32LE(8);
  if (headerSize !== WIM_HEADER_SIZE) {
    throw new InputError(`${name}: damaged WIM header (header size ${headerSize}, expected ${WIM_HEADER_SIZE})`);
  }
  let h: WimHeader;
  try {
    h = headerFields(b, pipable);
  } catch (err) {
    throw new InputError(`${name}: damaged WIM header (${(err as Error).message})`);
  }
  if (h.imageCount === 0 || h.imageCount > 10_000) {
    throw new InputError(`${name}: damaged WIM header (image count ${h.imageCount})`);
  }
  if (h.bootIndex > h.imageCount) {
    throw new InputError(`${name}: damaged WIM header (boot index ${h.bootIndex} but only ${h.imageCount} image(s))`);
  }
  if (h.totalParts !== 1 || h.partNumber !== 1) {
    throw new InputError(`${name}: part ${h.partNumber} of a split WIM (${h.totalParts} parts); a boot image is never split`);
  }
  return h;
}

/** Reads and decodes the header of a WIM (a path, or one held open). */
export async function readWimHeader(file: WimFile): Promise<WimHeader> {
  const fh = await openWimFile(file, 'r');
  try {
    const buf = Buffer.alloc(WIM_HEADER_SIZE);
    const { bytesRead } = await fh.read(buf, 0, WIM_HEADER_SIZE, 0);
    return parseWimHeader(buf.subarray(0, bytesRead), wimName(file));
  } finally {
    await fh.close();
  }
}

/**
 * The image Windows boot manager loads: the header's boot index; a WIM with a single image and no boot index set
 * boots that image (index 1). Several images and none marked bootable: InputError.
 */
export function effectiveBootIndex(h: Pick<WimHeader, 'bootIndex' | 'imageCount'>, name: string): number {
  if (h.bootIndex >= 1) return h.bootIndex;
  if (h.imageCount === 1) return 1;
  throw new InputError(`${name}: ${h.imageCount} images and none is marked bootable (boot index 0)`);
}

/** Throws InputError unless `index` names an image of the WIM (1-based). */
export function checkImageIndex(h: Pick<WimHeader, 'imageCount'>, index: number, name: string): void {
  if (!Number.isSafeInteger(index) || index < 1 || index > h.imageCount) {
    throw new InputError(`${name}: has no image ${index} (it holds ${h.imageCount} image${h.imageCount === 1 ? '' : 's'})`);
  }
}
