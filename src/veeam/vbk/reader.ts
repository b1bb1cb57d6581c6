/**
 * Reading a backup file: the directory tree, file properties, each internal file's block list and its data, every
 * block checked against the MD5 digest Veeam recorded for it. Streaming: one block in memory at a time.
 */
import { createHash } from 'node:crypto';
import { DecompressError, decompressBlock } from './decompress.js';
import { VbkFormatError } from './errors.js';
import {
  BLOCK_IN_BLOB, BLOCKS_PER_TABLE, DIR_ITEM_SIZE, type DirItem, FIB_BLOCK_SIZE, type FibBlock, FibBlockType, isNullRef, isZero,
  ItemType, type MetaTable, PAGE, type PageRef, parseDirItem, parseFibBlock, parseMetaTable, parseStoredBlock, refText,
  STORED_BLOCK_SIZE, type StoredBlock, TABLE_SIZE,
} from './layout.js';
import { type MetaVector, VbkStore } from './store.js';
import { parseProperties, type Property } from './properties.js';

const MAX_DEPTH = 32;
const ZEROS = Buffer.alloc(16 * 1024 * 1024);
/** Largest block we accept (Veeam's largest block size setting is 8 MiB). */
const MAX_BLOCK = 16 * 1024 * 1024;

export const ENCRYPTED_HINT =
  'Lifeboat does not decrypt backups: check or restore it with Veeam and the backup password (the recovery media, or "Veeam.Backup.Validator.exe" on the backup server).';

export interface TreeEntry {
  /** Path inside the backup, folders joined with "/". */
  readonly path: string;
  readonly item: DirItem;
  readonly depth: number;
}

export interface BlockRef {
  /** Index of the (first) block in the file. */
  readonly index: number;
  /** Blocks this reference covers: 1, or a whole table of zero blocks that has nothing stored. */
  readonly count: number;
  /** Where the block starts in the internal file. */
  readonly offset: number;
  readonly size: number;
  /** Undefined for a block that is all zeros and not stored (sparse). */
  readonly fib?: FibBlock;
}

export interface ReadBlock extends BlockRef {
  readonly data: Buffer;
  /** Bytes read from the backup file for it. */
  readonly storedBytes: number;
  readonly stored?: StoredBlock;
}

export class VbkReader {
  private storeVec?: MetaVector;
  private readonly zeroDigests = new Map<number, string>();
  /** Buffers reused from block to block, so that reading a large file does not churn memory. */
  private readonly rawBuffer = Buffer.allocUnsafe(2 * 1024 * 1024);
  private readonly dataBuffer = Buffer.allocUnsafe(2 * 1024 * 1024);

  private constructor(readonly store: VbkStore) {}

  static async open(path: string): Promise<VbkReader> {
    const store = await VbkStore.open(path);
    const reader = new VbkReader(store);
    try {
      const bank0 = await store.bank(0).catch((e: unknown) => {
        if (e instanceof VbkFormatError) throw e;
        return undefined; // damage is reported where the bank is needed
      });
      if (bank0 && !isZero(bank0.subarray(0xc04, 0xc14))) throw new VbkFormatError(path, 'is an encrypted backup', ENCRYPTED_HINT);
      if (!isNullRef(store.slot.cryptoStore) && store.header.version >= 13) throw new VbkFormatError(path, 'is an encrypted backup', ENCRYPTED_HINT);
    } catch (e) {
      await store.close();
      throw e;
    }
    return reader;
  }

  get path(): string {
    return this.store.path;
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  /** The items of a folder (the root when no folder is given). */
  async list(folder?: DirItem): Promise<DirItem[]> {
    const ref = folder ? folder.children! : this.store.slot.rootDir;
    const count = folder ? folder.childCount! : this.store.slot.rootChildren;
    const what = folder ? `folder "${folder.name}"` : 'root folder';
    if (count === 0) return [];
    if (count > this.store.totalPages * Math.floor(PAGE / DIR_ITEM_SIZE)) throw this.store.format(`${what} claims ${count} items`);
    return this.store.vector(ref, DIR_ITEM_SIZE, count, what).map(parseDirItem);
  }

  /** Every item, depth first, folders before their contents. */
  async tree(): Promise<TreeEntry[]> {
    const out: TreeEntry[] = [];
    const seen = new Set<string>();
    const walk = async (folder: DirItem | undefined, prefix: string, depth: number): Promise<void> => {
      if (depth > MAX_DEPTH) throw this.store.format(`folders nest deeper than ${MAX_DEPTH} levels at "${prefix}"`);
      if (folder) {
        const key = refText(folder.children!);
        if (seen.has(key)) throw this.store.format(`folder "${prefix}" is listed twice (a loop in the directory)`);
        seen.add(key);
      }
      for (const item of await this.list(folder)) {
        const path = prefix ? `${prefix}/${item.name}` : item.name;
        out.push({ path, item, depth });
        if (item.type === ItemType.Folder) await walk(item, path, depth + 1);
      }
    };
    await walk(undefined, '', 0);
    return out;
  }

  async find(path: string): Promise<TreeEntry | undefined> {
    const want = path.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
    return (await this.tree()).find((e) => e.path === want);
  }

  async properties(item: DirItem): Promise<Property[]> {
    if (isNullRef(item.props)) return [];
    const blob = await this.store.blob(item.props, `properties of "${item.name}"`);
    return parseProperties(blob, (m) => this.store.format(`properties of "${item.name}": ${m}`));
  }

  private dataStore(): MetaVector {
    this.storeVec ??= this.store.vector(this.store.slot.dataStore, STORED_BLOCK_SIZE, this.store.slot.blockCount, 'block store');
    return this.storeVec;
  }

  async storedBlock(id: number, what: string): Promise<StoredBlock> {
    if (id >= this.store.slot.blockCount) throw this.store.format(`${what} names stored block ${id}, the store has ${this.store.slot.blockCount}`);
    const { page, at } = await this.dataStore().locate(id);
    return parseStoredBlock(page, at);
  }

  /** The blocks of an internal file in order, with their place in it; checks that they add up to its size. */
  async *blocks(entry: TreeEntry): AsyncGenerator<BlockRef> {
    const item = entry.item;
    if (item.type !== ItemType.InternalFile) {
      const kind = item.type === ItemType.Increment || item.type === ItemType.Patch ? 'an increment' : item.type === ItemType.Folder ? 'a folder' : `of kind ${item.type}`;
      throw new VbkFormatError(this.path, `"${entry.path}" is ${kind}, not a file Lifeboat can read`, 'Choose an internal file ("lifeboat backup ls" lists them).');
    }
    const size = item.size!;
    const std = this.store.header.blockSize;
    if (size < 0 || !Number.isSafeInteger(size) || item.blockCount! < 0 || item.blockCount! > Math.ceil(size / 1) + 1) throw this.store.format(`"${entry.path}": impossible size or block count`);
    if (item.blockCount === 0 && size === 0) return;
    const what = `block table of "${entry.path}"`;
    const tableCount = Math.ceil(item.blockCount! / BLOCKS_PER_TABLE) + 1;
    const tables = this.store.vector(item.blocks!, TABLE_SIZE, Math.min(tableCount, this.store.totalPages * 170), what);
    let offset = 0;
    let index = 0;
    for (let t = 0; t < tables.count && offset < size; t++) {
      const { page, at } = await tables.locate(t);
      const table: MetaTable = parseMetaTable(page, at);
      if (table.blockCount === 0 && isNullRef(table.blocks)) {
        // A table with nothing stored: its blocks are all zeros (one reference for the run, so that a file that
        // claims a huge size of zeros costs no time to walk).
        const n = Math.min(BLOCKS_PER_TABLE * std, size - offset);
        const count = Math.ceil(n / std);
        yield { index, count, offset, size: n };
        index += count;
        offset += n;
        continue;
      }
      if (table.blockCount <= 0 || table.blockCount > BLOCKS_PER_TABLE) throw this.store.format(`${what}: table ${t} holds ${table.blockCount} blocks`);
      const fibs = this.store.vector(table.blocks, FIB_BLOCK_SIZE, table.blockCount, `${what}, table ${t}`);
      for (let i = 0; i < table.blockCount; i++) {
        const { page: p, at: a } = await fibs.locate(i);
        const fib = parseFibBlock(p, a);
        if (fib.size === 0 || fib.size > MAX_BLOCK || offset + fib.size > size) {
          throw this.store.format(`${what}: block ${index} of ${fib.size} bytes at offset ${offset} does not fit a file of ${size} bytes`);
        }
        if (!isZero(fib.keyset)) throw new VbkFormatError(this.path, `"${entry.path}" is encrypted`, ENCRYPTED_HINT);
        yield { index: index++, count: 1, offset, size: fib.size, fib };
        offset += fib.size;
      }
    }
    if (offset !== size) throw this.store.format(`${what}: blocks add up to ${offset} bytes, the file has ${size}`);
  }

  private zeroDigest(size: number): string {
    let d = this.zeroDigests.get(size);
    if (!d) {
      d = createHash('md5').update(Buffer.alloc(size)).digest('hex');
      this.zeroDigests.set(size, d);
    }
    return d;
  }

  /**
   * A block's data, decompressed and checked against its recorded MD5; damage throws VbkDamageError. The data may
   * live in a buffer the next readBlock reuses: use or copy it before reading on.
   */
  async readBlock(entry: TreeEntry, ref: BlockRef): Promise<ReadBlock> {
    const where = { internalFile: entry.path, blockIndex: ref.index, internalOffset: ref.offset };
    const what = `block ${ref.index} of "${entry.path}" (offset ${ref.offset})`;
    const fib = ref.fib;
    if (!fib) return { ...ref, data: this.zeros(ref.size), storedBytes: 0 };
    if (fib.type === FibBlockType.Sparse) {
      if (fib.digest.toString('hex') !== this.zeroDigest(fib.size)) throw this.store.damage({ ...where, what, reason: 'a zero block whose digest is not that of zeros' });
      return { ...ref, data: this.zeros(ref.size), storedBytes: 0 };
    }
    if (fib.type !== FibBlockType.Normal) throw this.store.format(`${what}: unknown block kind ${fib.type}`);
    const stored = await this.storedBlock(fib.id, what);
    if (!isZero(stored.keyset)) throw new VbkFormatError(this.path, `"${entry.path}" is encrypted`, ENCRYPTED_HINT);
    if (stored.location !== BLOCK_IN_BLOB) throw this.store.format(`${what}: stored block ${fib.id} has location ${stored.location}, not in this file`);
    if (stored.size !== fib.size) throw this.store.format(`${what}: the store says ${stored.size} bytes, the file's table ${fib.size}`);
    if (stored.compressedSize > stored.allocSize || stored.compressedSize > MAX_BLOCK + 4096) {
      throw this.store.format(`${what}: ${stored.compressedSize} compressed bytes in ${stored.allocSize} allocated`);
    }
    const raw = await this.store.readExact(stored.offset, stored.compressedSize, this.rawBuffer);
    const damage = (reason: string) => this.store.damage({ ...where, what, fileOffset: stored.offset, reason });
    if (!raw) throw damage(`its data at offset ${stored.offset} lies beyond the end of the file (${this.store.fileSize} bytes): the file is truncated`);
    let data: Buffer;
    try {
      data = decompressBlock(stored.compression, raw, stored.size, this.dataBuffer);
    } catch (e) {
      if (e instanceof DecompressError && e.unsupported) {
        throw new VbkFormatError(this.path, `${what}: ${e.message}`, 'Check or restore this backup with Veeam.');
      }
      throw damage((e as Error).message);
    }
    const digest = createHash('md5').update(data).digest();
    if (!digest.equals(fib.digest)) throw damage(`MD5 ${digest.toString('hex')} where Veeam recorded ${fib.digest.toString('hex')}`);
    return { ...ref, data, storedBytes: stored.compressedSize, stored };
  }

  /** The internal file's bytes, block by block, each checked (each chunk valid until the next is asked for). */
  async *content(entry: TreeEntry): AsyncGenerator<Buffer> {
    for await (const ref of this.blocks(entry)) {
      if (ref.fib) {
        yield (await this.readBlock(entry, ref)).data;
        continue;
      }
      const step = this.store.header.blockSize;
      for (let done = 0; done < ref.size; done += step) yield this.zeros(Math.min(step, ref.size - done));
    }
  }

  /** Zeros, from one shared buffer when small enough (never written to). */
  private zeros(size: number): Buffer {
    if (size <= ZEROS.length) return ZEROS.subarray(0, size);
    return Buffer.alloc(size);
  }

  /** Internal files only (not folders), with their tree entries. */
  async files(): Promise<TreeEntry[]> {
    return (await this.tree()).filter((e) => e.item.type !== ItemType.Folder);
  }
}

export type { PageRef };
