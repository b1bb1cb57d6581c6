/**
 * The metadata side of a backup file: header, the two slots (the valid one with the newest snapshot is used), banks
 * checked against their CRC-32C when first read, pages, and the vectors and blobs built from pages. Banks are kept in
 * a small cache, so memory stays bounded whatever the file size; every count and pointer read from the file is
 * checked against what the file can hold before it is followed.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { crc32c } from './crc32c.js';
import { VbkDamageError, VbkFormatError, type DamageLocation } from './errors.js';
import {
  type BankInfo, type FileHeader, isNullRef, PAGE, type PageRef, parseFileHeader, parseSlot, refText, type Slot, SLOT_BANKS_AT,
  SLOT_OFFSET, slotSize, SUPPORTED_VERSIONS,
} from './layout.js';

const BANK_CACHE = 6;
/** Largest bank we accept (Veeam's hold up to 1024 data pages plus a few; 8 MiB leaves room). */
const MAX_BANK = 8 * 1024 * 1024;
const MAX_BLOB = 4 * 1024 * 1024;

export type VectorStyle = 'linked' | 'indexed';

export interface SlotState {
  readonly index: number;
  readonly offset: number;
  readonly slot?: Slot;
  /** Why the slot is not used, when it is not valid. */
  readonly problem?: string;
}

export class VbkStore {
  /** Damage found and worked around (a bank copy of the active slot, repaired from its mirror). */
  readonly repaired: DamageLocation[] = [];
  private readonly banks = new Map<number, Buffer>();
  /** Banks with no intact copy: asked for again, they fail again without another read. */
  private readonly failed = new Map<number, VbkDamageError>();
  readonly totalPages: number;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly fileSize: number,
    readonly header: FileHeader,
    readonly slots: readonly SlotState[],
    readonly slot: Slot,
  ) {
    this.totalPages = slot.banks.reduce((n, b) => n + Math.floor(b.size / PAGE), 0);
  }

  get name(): string {
    return basename(this.path);
  }

  /** Storage format 9 keeps vectors as linked pages; 13 keeps a table of page pointers. */
  get style(): VectorStyle {
    return this.header.version >= 13 ? 'indexed' : 'linked';
  }

  static async open(path: string): Promise<VbkStore> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new VbkFormatError(path, code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? String(e)})`, 'Check the path.');
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new VbkFormatError(path, 'is not a regular file', 'Give the path of a .vbk file.');
      const head = Buffer.alloc(PAGE);
      const { bytesRead } = await fh.read(head, 0, PAGE, 0);
      const notVeeam = 'Give a Veeam backup file (.vbk); for the chain metadata (.vbm) use "lifeboat audit".';
      if (bytesRead < 0x113) throw new VbkFormatError(path, `is not a Veeam backup file: only ${bytesRead} bytes`, notVeeam);
      const header = parseFileHeader(head);
      if (header.inited !== 1 || header.digestType !== 'md5' || header.blockSize === 0 || header.blockSize > 0x4000000 || header.version === 0 || header.version > 0x100) {
        throw new VbkFormatError(path, 'is not a Veeam backup file (no Veeam storage header at offset 0)', notVeeam);
      }
      if (!(SUPPORTED_VERSIONS as readonly number[]).includes(header.version)) {
        throw new VbkFormatError(
          path,
          `is a Veeam backup in storage format ${header.version}; Lifeboat reads formats ${SUPPORTED_VERSIONS.join(' and ')} only`,
          'Check it with Veeam instead: "Veeam.Backup.Validator.exe /file:<file>" on the backup server, or restore from it with the recovery media.',
        );
      }
      const stride = slotSize(header.slotFormat);
      const states: SlotState[] = [];
      for (const index of [0, 1]) states.push(await readSlot(fh, st.size, SLOT_OFFSET + index * stride, index, stride));
      const valid = states.filter((s) => s.slot).sort((a, b) => (a.slot!.snapshotVersion > b.slot!.snapshotVersion ? -1 : 1));
      const active = valid[0]?.slot;
      if (!active) {
        throw new VbkFormatError(
          path,
          `has no valid metadata slot (${states.map((s) => `slot ${s.index}: ${s.problem}`).join('; ')})`,
          'The file is truncated or its headers are damaged; use another copy or restore point.',
        );
      }
      return new VbkStore(path, fh, st.size, header, states, active);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    this.banks.clear();
    await this.fh.close();
  }

  /** Exactly `length` bytes at `offset` (into `target` when it is large enough), or undefined where the file ends first. */
  async readExact(offset: number, length: number, target?: Buffer): Promise<Buffer | undefined> {
    if (offset < 0 || length < 0 || offset + length > this.fileSize) return undefined;
    const b = target && target.length >= length ? target.subarray(0, length) : Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(b, done, length - done, offset + done);
      if (bytesRead === 0) return undefined;
      done += bytesRead;
    }
    return b;
  }

  format(message: string): VbkFormatError {
    return new VbkFormatError(this.path, message, 'The file\'s metadata is inconsistent: it is damaged or not written by Veeam.');
  }

  damage(d: Omit<DamageLocation, 'file'>): VbkDamageError {
    return new VbkDamageError({ file: this.path, ...d });
  }

  /** Reads one bank copy and checks it; returns the bytes or why they are not good. */
  async readBank(info: BankInfo): Promise<{ bytes?: Buffer; problem?: string }> {
    if (info.size < 2 * PAGE || info.size > MAX_BANK || info.size % PAGE !== 0) return { problem: `impossible bank size ${info.size}` };
    const bytes = await this.readExact(info.offset, info.size);
    if (!bytes) return { problem: `it lies beyond the end of the file (offset ${info.offset}, ${info.size} bytes; file ${this.fileSize} bytes)` };
    const crc = crc32c(bytes);
    if (crc !== info.crc) return { problem: `CRC-32C ${hex(crc)} where the slot records ${hex(info.crc)}` };
    return { bytes };
  }

  /** A bank of the active slot, checked; a damaged copy is replaced by the mirror slot's copy when that is intact. */
  async bank(index: number): Promise<Buffer> {
    if (this.failed.has(index)) throw this.failed.get(index)!;
    const cached = this.banks.get(index);
    if (cached) {
      this.banks.delete(index);
      this.banks.set(index, cached);
      return cached;
    }
    const info = this.slot.banks[index];
    if (!info) throw this.format(`page reference to bank ${index}, but the slot has ${this.slot.banks.length} banks`);
    let { bytes, problem } = await this.readBank(info);
    if (!bytes) {
      const where = { what: `metadata bank ${index} (slot ${this.slot.index}, offset ${info.offset})`, fileOffset: info.offset, reason: problem ?? '' };
      const mirror = this.slots.find((s) => s.slot && s.index !== this.slot.index && s.slot.snapshotVersion === this.slot.snapshotVersion)?.slot;
      const copy = mirror?.banks[index];
      if (copy && copy.crc === info.crc) bytes = (await this.readBank(copy)).bytes;
      if (!bytes) {
        const error = this.damage(where);
        this.failed.set(index, error);
        throw error;
      }
      if (!this.repaired.some((r) => r.what === where.what)) this.repaired.push({ file: this.path, ...where });
    }
    if (this.banks.size >= BANK_CACHE) this.banks.delete(this.banks.keys().next().value!);
    this.banks.set(index, bytes);
    return bytes;
  }

  /** One 4 KiB metadata page. */
  async page(ref: PageRef, what: string): Promise<Buffer> {
    if (isNullRef(ref)) throw this.format(`${what}: page reference is empty`);
    const bank = await this.bank(ref.bank);
    const pages = bank.readUInt16LE(0);
    if (ref.page < 0 || ref.page >= pages || (ref.page + 2) * PAGE > bank.length) {
      throw this.format(`${what}: page ${refText(ref)} is outside its bank (${pages} pages)`);
    }
    if (bank[4 + ref.page] !== 0) throw this.format(`${what}: page ${refText(ref)} is marked free in its bank`);
    return bank.subarray(PAGE + ref.page * PAGE, PAGE * 2 + ref.page * PAGE);
  }

  vector(ref: PageRef, itemSize: number, count: number, what: string): MetaVector {
    if (!Number.isSafeInteger(count) || count < 0) throw this.format(`${what}: impossible item count ${count}`);
    return new MetaVector(this, ref, itemSize, count, what);
  }

  /** A blob (property dictionaries): linked pages, its length in the first page. */
  async blob(ref: PageRef, what: string): Promise<Buffer> {
    let page = await this.page(ref, what);
    const size = page.readUInt32LE(8);
    if (size > MAX_BLOB) throw this.format(`${what}: blob of ${size} bytes`);
    const out = Buffer.alloc(size);
    let done = 0;
    for (let hops = 0; ; hops++) {
      const n = Math.min(size - done, PAGE - 12);
      page.copy(out, done, 12, 12 + n);
      done += n;
      if (done >= size) return out;
      const next = { page: page.readInt32LE(0), bank: page.readInt32LE(4) };
      if (isNullRef(next) || hops > this.totalPages) throw this.format(`${what}: blob ends after ${done} of ${size} bytes`);
      page = await this.page(next, what);
    }
  }
}

async function readSlot(fh: FileHandle, fileSize: number, offset: number, index: number, stride: number): Promise<SlotState> {
  const base = { index, offset };
  const head = Buffer.alloc(SLOT_BANKS_AT);
  const { bytesRead } = await fh.read(head, 0, head.length, offset);
  if (bytesRead < head.length) return { ...base, problem: 'beyond the end of the file' };
  const flag = head.readUInt32LE(4);
  if (flag === 0) return { ...base, problem: 'empty' };
  if (flag !== 1) return { ...base, problem: `snapshot flag ${flag} is neither 0 nor 1` };
  const maxBanks = head.readUInt32LE(0x74);
  const length = SLOT_BANKS_AT + maxBanks * 16;
  if (length > stride) return { ...base, problem: `impossible bank table size ${maxBanks}` };
  const b = Buffer.alloc(length);
  const r = await fh.read(b, 0, length, offset);
  if (r.bytesRead < length) return { ...base, problem: 'cut off by the end of the file' };
  const crc = crc32c(b.subarray(4));
  if (crc !== b.readUInt32LE(0)) return { ...base, problem: `CRC-32C ${hex(crc)} where it records ${hex(b.readUInt32LE(0))}` };
  if (b.readUInt32LE(0x78) > maxBanks) return { ...base, problem: 'more banks than it has room for' };
  const slot = parseSlot(b, index, offset);
  if (slot.storageEof > fileSize) {
    return { ...base, problem: `the file is truncated: the slot says it ends at ${slot.storageEof} bytes, it has ${fileSize}` };
  }
  return { ...base, slot };
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

/** An array of fixed-size records spread over metadata pages; records do not cross pages. */
export class MetaVector {
  private dataPages?: PageRef[];
  readonly perPage: number;
  private readonly dataOffset: number;

  constructor(
    private readonly store: VbkStore,
    readonly ref: PageRef,
    readonly itemSize: number,
    readonly count: number,
    readonly what: string,
  ) {
    this.dataOffset = store.style === 'linked' ? 8 : 0;
    this.perPage = Math.floor((PAGE - this.dataOffset) / itemSize);
  }

  /** The pages holding the records, in order (followed once, bounded by the pages the file has). */
  async pages(): Promise<PageRef[]> {
    if (this.dataPages) return this.dataPages;
    const needed = Math.ceil(this.count / this.perPage);
    if (needed > this.store.totalPages) throw this.store.format(`${this.what}: ${this.count} records need more pages than the file has`);
    const out: PageRef[] = [];
    if (needed > 0 && this.store.style === 'linked') {
      let ref = this.ref;
      for (;;) {
        out.push(ref);
        if (out.length === needed) break;
        const page = await this.store.page(ref, this.what);
        ref = { page: page.readInt32LE(0), bank: page.readInt32LE(4) };
        if (isNullRef(ref)) throw this.store.format(`${this.what}: ends after ${out.length} of ${needed} pages`);
      }
    } else if (needed > 0) {
      // Index pages: next pointer, then page pointers; the first pointer of the first index page is the page itself.
      let ref = this.ref;
      let first = true;
      for (let hops = 0; out.length < needed; hops++) {
        if (hops > this.store.totalPages) throw this.store.format(`${this.what}: its page table loops`);
        const page = await this.store.page(ref, this.what);
        if (first && (page.readInt32LE(8) !== ref.page || page.readInt32LE(12) !== ref.bank)) {
          throw this.store.format(`${this.what}: page ${refText(ref)} does not start a page table`);
        }
        for (let at = first ? 16 : 8; at + 8 <= PAGE && out.length < needed; at += 8) {
          const p = { page: page.readInt32LE(at), bank: page.readInt32LE(at + 4) };
          if (isNullRef(p)) throw this.store.format(`${this.what}: page table ends after ${out.length} of ${needed} pages`);
          out.push(p);
        }
        first = false;
        ref = { page: page.readInt32LE(0), bank: page.readInt32LE(4) };
        if (out.length < needed && isNullRef(ref)) throw this.store.format(`${this.what}: page table ends after ${out.length} of ${needed} pages`);
      }
    }
    this.dataPages = out;
    return out;
  }

  /** The page and offset of record `i`. */
  async locate(i: number): Promise<{ page: Buffer; at: number }> {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.count) throw this.store.format(`${this.what}: record ${i} of ${this.count}`);
    const pages = await this.pages();
    const page = await this.store.page(pages[Math.floor(i / this.perPage)]!, this.what);
    return { page, at: this.dataOffset + (i % this.perPage) * this.itemSize };
  }

  async map<T>(parse: (b: Buffer, at: number) => T): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) {
      const { page, at } = await this.locate(i);
      out.push(parse(page, at));
    }
    return out;
  }
}
