/**
 * An open WIM file, read by our own engine: header, blob (lookup) table, XML data and, on demand, image metadata
 * and file data. Every size and offset read from the file is checked against the file and against fixed limits
 * before anything is allocated, so a hostile WIM gives an InputError (exit code 2) and never a hang or a huge
 * allocation. Solid (LZMS/ESD), pipable and split WIMs are refused with a message saying so.
 */
import { InputError } from '../../errors.js';
import {
  WIM_FLAG_COMPRESSION, WIM_FLAG_COMPRESS_LZMS, WIM_FLAG_COMPRESS_LZX, WIM_FLAG_COMPRESS_XPRESS, WIM_FLAG_COMPRESS_XPRESS2,
  WIM_HEADER_SIZE, WIM_VERSION_SOLID, type WimHeader, checkImageIndex, parseWimHeader,
} from '../header.js';
import { WimFormatError } from './errors.js';
import { type ImageMetadata, parseMetadata } from './metadata.js';
import { type BlobEntry, BlobTable } from './blob-table.js';
import { cached, imageKey, remember, resourceKey } from './parsed-cache.js';
import {
  type Compression, type ResourceHeader, type ResourceReadOptions, decodeResource, readResource, readStored,
} from './resource.js';
import { sha1 } from './metadata-write.js';
import { type WimFile, type WimHandle, openWimFile, wimName } from './wim-file.js';

/** Limits for the parts read whole (real boot.wim: blob table < 1 MiB, XML < 64 KiB, metadata < 64 MiB). */
const MAX_BLOB_TABLE = 256 * 2 ** 20;
const MAX_XML = 16 * 2 ** 20;
const MAX_METADATA = 512 * 2 ** 20;

const hex = (h: Buffer): string => h.toString('hex');

export class WimArchive {
  private constructor(
    /** The file's path, or the name a held WIM goes by (in messages and cache keys). */
    readonly path: string,
    private readonly fh: WimHandle,
    readonly fileSize: number,
    readonly header: WimHeader,
    readonly compression: Compression,
    readonly blobTable: BlobTable,
    readonly xml: string,
  ) {}

  /** The blob table in file order, metadata entries included. */
  get blobs(): readonly BlobEntry[] {
    return this.blobTable.entries;
  }

  /** Metadata resources in image order (image 1 first). */
  get images(): readonly BlobEntry[] {
    return this.blobTable.images;
  }

  /** Opens and checks a WIM; the caller closes it. Damaged or unsupported: InputError naming the file. */
  static async open(file: WimFile, mode: 'r' | 'r+' = 'r'): Promise<WimArchive> {
    const path = wimName(file);
    const fh = await openWimFile(file, mode);
    try {
      return await WimArchive.load(path, fh);
    } catch (err) {
      await fh.close();
      throw asInputError(err, path);
    }
  }

  private static async load(path: string, fh: WimHandle): Promise<WimArchive> {
    const fileSize = (await fh.stat()).size;
    const hb = Buffer.alloc(WIM_HEADER_SIZE);
    const { bytesRead } = await fh.read(hb, 0, WIM_HEADER_SIZE, 0);
    const header = parseWimHeader(hb.subarray(0, bytesRead), path);
    if (header.pipable) throw new InputError(`${path}: a pipable WIM (wimlib's streaming format); convert it with wimlib-imagex optimize first`);
    const compression = compressionOf(header, path);
    const readAt = readerOf(fh);
    const opts = (what: string, maxBytes: number) => ({ compression, chunkSize: header.chunkSize, fileSize, maxBytes, what });
    const tableOpts = opts('blob table', MAX_BLOB_TABLE);
    const tableStored = await readStored(readAt, header.blobTable, tableOpts);
    // Parsed once per process while its bytes stay the same (a build opens one boot.wim several times).
    const tableKey = `blob table\0${resourceKey(path, header.blobTable, tableOpts)}`;
    let table = cached<BlobTable>(tableKey, tableStored);
    if (!table) {
      table = BlobTable.parse(decodeResource(tableStored, header.blobTable, tableOpts), path);
      remember(tableKey, tableStored, table);
    }
    if (table.images.length !== header.imageCount) {
      throw new WimFormatError(`the header says ${header.imageCount} image(s) but the blob table has ${table.images.length} metadata resource(s)`);
    }
    const xmlBytes = await readResource(readAt, header.xml, opts('XML data', MAX_XML));
    const xml = decodeXml(xmlBytes);
    return new WimArchive(path, fh, fileSize, header, compression, table, xml);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }

  get handle(): WimHandle {
    return this.fh;
  }

  /** The file data blob with SHA-1 `hash`. */
  blob(hash: Buffer): BlobEntry | undefined {
    const row = this.blobTable.find(hash, 0);
    return row < 0 ? undefined : this.blobTable.entry(row);
  }

  /** Reads a resource whole, its SHA-1 checked against `hash` when given. */
  async readResource(r: ResourceHeader, what: string, maxBytes: number, hash?: Buffer): Promise<Buffer> {
    try {
      const o = this.readOptions(what, maxBytes);
      const data = decodeResource(await readStored(readerOf(this.fh), r, o), r, o);
      if (hash && !sha1(data).equals(hash)) throw new WimFormatError(`${what}: its SHA-1 does not match the blob table`);
      return data;
    } catch (err) {
      throw asInputError(err, this.path);
    }
  }

  private readOptions(what: string, maxBytes: number): ResourceReadOptions {
    return { compression: this.compression, chunkSize: this.header.chunkSize, fileSize: this.fileSize, maxBytes, what };
  }

  /**
   * Parsed metadata of image `index` (1-based). Parsed once per process while its stored bytes stay the same
   * (parsed-cache.ts); `forEdit` hands the caller a tree of its own to change (the update does).
   */
  async image(index: number, opts: { forEdit?: boolean } = {}): Promise<ImageMetadata> {
    checkImageIndex(this.header, index, this.path);
    const e = this.images[index - 1]!;
    const what = `metadata of image ${index}`;
    const o = this.readOptions(what, MAX_METADATA);
    let stored: Buffer;
    try {
      stored = await readStored(readerOf(this.fh), e.reshdr, o);
    } catch (err) {
      throw asInputError(err, this.path);
    }
    const key = imageKey(this.path, e.reshdr, o, e.hash);
    const kept = cached<ImageMetadata>(key, stored, opts.forEdit === true);
    if (kept) return kept;
    let buf: Buffer;
    try {
      buf = decodeResource(stored, e.reshdr, o);
      if (!sha1(buf).equals(e.hash)) throw new WimFormatError(`${what}: its SHA-1 does not match the blob table`);
    } catch (err) {
      throw asInputError(err, this.path);
    }
    let image: ImageMetadata;
    try {
      image = parseMetadata(buf);
    } catch (err) {
      throw asInputError(err, this.path, `image ${index}: `);
    }
    if (!opts.forEdit) remember(key, stored, image);
    return image;
  }

  /** A file's data by its hash; `maxBytes` bounds it (InputError beyond). */
  async readBlob(hash: Buffer, maxBytes: number, what: string): Promise<Buffer> {
    const e = this.blob(hash);
    if (!e) throw new InputError(`${this.path}: ${what}: its data (SHA-1 ${hex(hash)}) is missing from the blob table`);
    return this.readResource(e.reshdr, what, maxBytes, hash);
  }
}

function compressionOf(h: WimHeader, path: string): Compression {
  if (h.version === WIM_VERSION_SOLID || h.flags & WIM_FLAG_COMPRESS_LZMS) {
    throw new InputError(`${path}: an LZMS-compressed solid WIM (ESD); only ordinary WIMs (LZX, XPRESS or none) are supported`,
      'Use the boot.wim of the recovery media, or convert with: wimlib-imagex export SRC all DEST.wim --compress=LZX');
  }
  if (!(h.flags & WIM_FLAG_COMPRESSION)) return 'none';
  if (h.flags & WIM_FLAG_COMPRESS_LZX) return checkChunk(h, path, 'lzx', 15, 21);
  if (h.flags & WIM_FLAG_COMPRESS_XPRESS) return checkChunk(h, path, 'xpress', 12, 16);
  if (h.flags & WIM_FLAG_COMPRESS_XPRESS2) throw new InputError(`${path}: uses XPRESS2 compression, which is not supported`);
  throw new InputError(`${path}: damaged WIM header (compressed, but no known compression type in flags 0x${h.flags.toString(16)})`);
}

function checkChunk(h: WimHeader, path: string, c: Compression, minOrder: number, maxOrder: number): Compression {
  const order = Math.log2(h.chunkSize);
  if (!Number.isInteger(order) || order < minOrder || order > maxOrder) {
    throw new InputError(`${path}: chunk size ${h.chunkSize} is not supported for ${c.toUpperCase()} (2^${minOrder} to 2^${maxOrder})`);
  }
  return c;
}

function readerOf(fh: WimHandle) {
  return async (position: number, length: number): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) throw new WimFormatError(`unexpected end of file at ${position + done}`);
      done += bytesRead;
    }
    return buf;
  };
}

/** The XML data: UTF-16LE, normally with a byte order mark. */
export function decodeXml(b: Buffer): string {
  const start = b.length >= 2 && b[0] === 0xff && b[1] === 0xfe ? 2 : 0;
  return b.toString('utf16le', start, b.length - ((b.length - start) % 2));
}

/** WimFormatError (no file name) becomes an InputError naming the file; other errors pass through. */
export function asInputError(err: unknown, path: string, prefix = ''): unknown {
  if (err instanceof WimFormatError) {
    return new InputError(`${path}: damaged WIM: ${prefix}${err.message}`, 'Use an intact copy of the WIM (for a recovery ISO: its sources\\boot.wim).');
  }
  if (err instanceof RangeError) {
    return new InputError(`${path}: damaged WIM: ${prefix}${err.message}`, 'Use an intact copy of the WIM.');
  }
  return err;
}
