/**
 * Reads an ISO 9660 image: volume descriptors, the directory tree (Joliet names when present), El Torito boot
 * entries with the real size of each image, and the system area. Every structure is bounds-checked: the input may be
 * truncated, damaged or hostile, and a bad image ends in an IsoFormatError, never a hang or a crash.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { SECTOR } from './bytes.js';
import {
  type BootCatalog, type BootEntry, BootCatalogError, type Emulation, catalogEntries, decodeBootCatalog, emulationOf,
  platformName,
} from './boot-catalog.js';
import { type SizeBasis, bootImageSize, hasBootInfoTable, hasGrub2BootInfo } from './boot-images.js';
import { type DirectoryRecord, MIN_RECORD_LENGTH, RecordFlags, decodeDirectoryRecord } from './directory-record.js';
import { IsoFormatError } from './errors.js';
import { displayIsoName } from './names.js';
import { SYSTEM_AREA_BYTES, type SystemAreaInfo, inspectSystemArea } from './system-area.js';
import type { Extent } from './tree.js';
import { DescriptorType, type VolumeDescriptor, decodeBootRecord, decodeVolumeDescriptor, descriptorType } from './volume-descriptor.js';

/** Limits that keep a hostile image from exhausting time or memory. */
export const LIMITS = {
  descriptors: 64,
  depth: 255,
  entries: 1_000_000,
  directoryBytes: 64 * 1024 * 1024,
  /** All directories together: many directories each claiming a large extent must not mean reading gigabytes. */
  treeBytes: 512 * 1024 * 1024,
  catalogSectors: 8,
};

export interface IsoEntry {
  name: string;
  path: string;
  isDir: boolean;
  size: number;
  /** Where the data lies in the image, in bytes (several extents for multi-extent files). */
  extents: Extent[];
  recorded: Date;
  hidden: boolean;
  children: IsoEntry[];
  /** Where a directory's records lie. */
  dirLba?: number;
}

export interface BootImageInfo {
  /** 1-based position in the catalog (default entry first). */
  index: number;
  platformId: number;
  platform: string;
  bootable: boolean;
  emulation: Emulation;
  loadSegment: number;
  sectorCount: number;
  lba: number;
  size: number;
  sizeBasis: SizeBasis;
  /** Path of the tree file that holds the image, when the image is a file of the tree. */
  file?: string;
  bootInfoTable: boolean;
  grub2BootInfo: boolean;
  entry: BootEntry;
}

export class IsoImage {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    /** Bytes in the file. */
    readonly size: number,
    readonly primary: VolumeDescriptor,
    readonly joliet: VolumeDescriptor | undefined,
    readonly root: IsoEntry,
    readonly catalogLba: number | undefined,
    readonly catalog: BootCatalog | undefined,
    readonly bootImages: BootImageInfo[],
    readonly systemArea: Buffer,
    readonly systemAreaInfo: SystemAreaInfo,
    /** Which names the tree shows. */
    readonly namespace: Naming,
  ) {}

  static async open(path: string): Promise<IsoImage> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new IsoFormatError(`cannot read "${path}": ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}`, 'Check the path and that the file is readable.');
    }
    try {
      return await IsoImage.parse(path, fh);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  private static async parse(path: string, fh: FileHandle): Promise<IsoImage> {
    const stat = await fh.stat();
    if (!stat.isFile() && !stat.isBlockDevice()) throw new IsoFormatError(`"${path}" is not a regular file`);
    const size = stat.size;
    const fail = (what: string): never => {
      // Names from a damaged image can hold control characters (even terminal escapes): show them escaped.
      const shown = what.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
      throw new IsoFormatError(`"${path}" is not a usable ISO 9660 image: ${shown}`, 'Use the ISO file as downloaded or created; if it was copied, copy it again.');
    };
    const read = async (offset: number, length: number): Promise<Buffer> => {
      if (offset < 0 || length < 0 || offset + length > size) fail(`a structure at byte ${offset} (+${length}) lies past the end of the file (${size} bytes): the file is truncated or damaged`);
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      if (bytesRead !== length) fail(`short read at byte ${offset}`);
      return buf;
    };
    if (size < (16 + 2) * SECTOR) fail(`it is only ${size} bytes long, too short to hold volume descriptors`);

    let primary: VolumeDescriptor | undefined;
    let joliet: VolumeDescriptor | undefined;
    let catalogLba: number | undefined;
    let terminated = false;
    let i = 0;
    for (; i < LIMITS.descriptors && (16 + i + 1) * SECTOR <= size; i++) {
      const sector = await read((16 + i) * SECTOR, SECTOR);
      const type = descriptorType(sector);
      // Past sector 16 this means the set ran on without its terminator (overwritten, or never written).
      if (type === undefined) fail(`${i > 0 ? 'its volume descriptor set has no terminator: ' : ''}sector ${16 + i} is not a volume descriptor (no "CD001")`);
      if (type === DescriptorType.Terminator) {
        terminated = true;
        break;
      }
      try {
        if (type === DescriptorType.Primary && !primary) primary = decodeVolumeDescriptor(sector);
        else if (type === DescriptorType.Supplementary) {
          const svd = decodeVolumeDescriptor(sector);
          if (svd.kind === 'joliet' && !joliet) joliet = svd;
        } else if (type === DescriptorType.BootRecord) catalogLba ??= decodeBootRecord(sector);
      } catch (e) {
        fail(`volume descriptor in sector ${16 + i} is damaged (${(e as Error).message})`);
      }
    }
    // Running out of file before the terminator is truncation, not a missing terminator: say so.
    if (!terminated && i < LIMITS.descriptors) fail(`the file ends at sector ${16 + i}, before the volume descriptor set terminator: it is truncated`);
    if (!terminated) fail(`its volume descriptor set has no terminator within ${LIMITS.descriptors} sectors`);
    if (!primary) fail('it has no primary volume descriptor');
    const pvd = primary!;

    const systemArea = await read(0, SYSTEM_AREA_BYTES);
    const tree = new TreeReader(read, size, fail);
    // Rock Ridge names are the originals (case, length) where the base has them; then Joliet; then plain ISO names.
    const rootData = await read(pvd.root.lba * SECTOR, Math.min(SECTOR, pvd.root.size));
    const naming: Naming = hasRockRidge(rootData) ? 'rockridge' : joliet ? 'joliet' : 'iso9660';
    const root = await tree.readRoot(naming === 'joliet' ? joliet!.root : pvd.root, naming);

    let catalog: BootCatalog | undefined;
    const bootImages: BootImageInfo[] = [];
    if (catalogLba !== undefined) {
      if ((catalogLba + 1) * SECTOR > size) fail(`its El Torito boot catalog points to sector ${catalogLba}, past the end of the file`);
      const sectors = Math.min(LIMITS.catalogSectors, Math.floor(size / SECTOR) - catalogLba);
      try {
        catalog = decodeBootCatalog(await read(catalogLba * SECTOR, sectors * SECTOR));
      } catch (e) {
        if (e instanceof BootCatalogError) fail(`its El Torito boot catalog is damaged: ${e.message}`);
        throw e;
      }
      const fileAt = new Map<number, IsoEntry>();
      for (const f of allFiles(root)) if (f.extents[0] && f.size > 0) fileAt.set(f.extents[0].offset / SECTOR, f);
      const starts = structureStarts(root, [pvd, joliet], catalogLba, catalogEntries(catalog!).map((e) => e.entry.loadRba), Math.ceil(size / SECTOR));
      let index = 0;
      for (const { platformId, entry } of catalogEntries(catalog)) {
        index++;
        const lba = entry.loadRba;
        if (lba < 16 || (lba + 1) * SECTOR > size) fail(`El Torito entry ${index} points to sector ${lba}, outside the image`);
        const file = fileAt.get(lba);
        const next = starts.find((s) => s > lba) ?? Math.ceil(size / SECTOR);
        const firstSector = await read(lba * SECTOR, Math.min(SECTOR, size - lba * SECTOR));
        const { size: imageSize, basis } = bootImageSize({ platformId, entry, fileSize: file?.size, firstSector, gapBytes: (next - lba) * SECTOR });
        if (lba * SECTOR + imageSize > size) fail(`El Torito entry ${index} (${imageSize} bytes at sector ${lba}) extends past the end of the file`);
        const head = await read(lba * SECTOR, Math.min(imageSize, 4096));
        bootImages.push({
          index, platformId, platform: platformName(platformId), bootable: entry.bootable, emulation: emulationOf(entry.mediaType),
          loadSegment: entry.loadSegment, sectorCount: entry.sectorCount, lba, size: imageSize, sizeBasis: basis, file: file?.path,
          bootInfoTable: hasBootInfoTable(head, lba), grub2BootInfo: hasGrub2BootInfo(head, lba), entry,
        });
      }
    }
    const systemAreaInfo = inspectSystemArea(systemArea, bootImages.map((b) => b.lba));
    return new IsoImage(path, fh, size, pvd, joliet, root, catalogLba, catalog, bootImages, systemArea, systemAreaInfo, naming);
  }

  find(isoPath: string): IsoEntry | undefined {
    let node: IsoEntry | undefined = this.root;
    for (const part of isoPath.split('/').filter(Boolean)) {
      node = node?.children.find((c) => c.name.toLowerCase() === part.toLowerCase());
    }
    return node;
  }

  async readBytes(offset: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, offset);
    if (bytesRead !== length) throw new IsoFormatError(`"${this.path}": short read at byte ${offset}; the file changed or is truncated`);
    return buf;
  }

  /** Streams the bytes of the given extents in chunks of at most `chunk` bytes; each chunk is a new buffer. */
  async *stream(extents: readonly Extent[], chunk = 1 << 20): AsyncGenerator<Buffer> {
    for (const e of extents) {
      for (let done = 0; done < e.length; done += chunk) yield this.readBytes(e.offset + done, Math.min(chunk, e.length - done));
    }
  }

  /**
   * Like `stream`, but every chunk is a view of one reused buffer: valid only until the next one is asked for.
   * For large copies, where a new buffer per chunk would leave hundreds of MB for the garbage collector.
   */
  async *streamReusing(extents: readonly Extent[], chunk = 1 << 20): AsyncGenerator<Buffer> {
    const buffer = Buffer.allocUnsafe(chunk);
    for (const e of extents) {
      for (let done = 0; done < e.length; done += chunk) {
        const want = Math.min(chunk, e.length - done);
        const { bytesRead } = await this.fh.read(buffer, 0, want, e.offset + done);
        if (bytesRead !== want) throw new IsoFormatError(`"${this.path}": short read at byte ${e.offset + done}; the file changed or is truncated`);
        yield buffer.subarray(0, want);
      }
    }
  }

  async sha256(offset: number, length: number): Promise<string> {
    const h = createHash('sha256');
    for await (const b of this.stream([{ offset, length }])) h.update(b);
    return h.digest('hex');
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

export type Naming = 'rockridge' | 'joliet' | 'iso9660';

/** Sorted start LBAs of everything the image records: files, directories, path tables, catalog, boot images. */
function structureStarts(root: IsoEntry, volumes: (VolumeDescriptor | undefined)[], catalogLba: number | undefined, bootLbas: number[], end: number): number[] {
  const starts = new Set<number>([...bootLbas, end]);
  if (catalogLba !== undefined) starts.add(catalogLba);
  for (const v of volumes) {
    if (!v) continue;
    starts.add(v.typeLPathTable).add(v.typeMPathTable).add(v.root.lba);
  }
  const visit = (e: IsoEntry) => {
    for (const x of e.extents) if (x.length > 0) starts.add(x.offset / SECTOR);
    if (e.dirLba !== undefined) starts.add(e.dirLba);
    e.children.forEach(visit);
  };
  visit(root);
  return [...starts].sort((a, b) => a - b);
}

/** The System Use area of a directory record: after the name and its padding byte. */
function systemUse(data: Buffer, offset: number): Buffer {
  const nameLength = data[offset + 32]!;
  const start = offset + 33 + nameLength + (nameLength % 2 === 0 ? 1 : 0);
  return data.subarray(Math.min(start, offset + data[offset]!), offset + data[offset]!);
}

/** SUSP entries (signature, length, version, data) of a System Use area; stops at anything malformed. */
function* suspEntries(area: Buffer): Generator<{ sig: string; body: Buffer }> {
  for (let o = 0; o + 4 <= area.length; ) {
    const length = area[o + 2]!;
    if (length < 4 || o + length > area.length) return;
    yield { sig: area.toString('latin1', o, o + 2), body: area.subarray(o + 4, o + length) };
    o += length;
  }
}

/** Rock Ridge is announced by an SP entry (check bytes BE EF) in the root's "." record. */
function hasRockRidge(rootSector: Buffer): boolean {
  if (rootSector.length < MIN_RECORD_LENGTH || rootSector[0]! < MIN_RECORD_LENGTH) return false;
  for (const e of suspEntries(systemUse(rootSector, 0))) if (e.sig === 'SP' && e.body[0] === 0xbe && e.body[1] === 0xef) return true;
  return false;
}

/** The Rock Ridge name (NM entries, concatenated) of the record at `offset`, if it has one. */
function rockRidgeName(data: Buffer, offset: number): string | undefined {
  let name: string | undefined;
  for (const e of suspEntries(systemUse(data, offset))) {
    if (e.sig !== 'NM' || e.body.length < 1) continue;
    const flags = e.body[0]!;
    if (flags & 0x06) continue; // "." or ".." aliases
    name = (name ?? '') + e.body.subarray(1).toString('utf8');
  }
  return name;
}

export function* allFiles(dir: IsoEntry): Generator<IsoEntry> {
  for (const c of dir.children) {
    if (c.isDir) yield* allFiles(c);
    else yield c;
  }
}

/** Walks directory extents breadth-first with loop, depth and size limits. */
class TreeReader {
  private entries = 0;
  private directoryBytes = 0;
  constructor(
    private readonly read: (offset: number, length: number) => Promise<Buffer>,
    private readonly size: number,
    private readonly fail: (what: string) => never,
  ) {}

  async readRoot(rootRecord: DirectoryRecord, naming: Naming): Promise<IsoEntry> {
    const root: IsoEntry = { name: '', path: '', isDir: true, size: 0, extents: [], recorded: rootRecord.recorded, hidden: false, children: [] };
    const visited = new Set<number>();
    const queue: { entry: IsoEntry; record: DirectoryRecord; depth: number }[] = [{ entry: root, record: rootRecord, depth: 0 }];
    while (queue.length > 0) {
      const { entry, record, depth } = queue.shift()!;
      const lba = record.lba + record.extAttrLength;
      if (visited.has(lba)) this.fail(`directory "${entry.path || '/'}" loops back to a directory already read (sector ${lba})`);
      visited.add(lba);
      if (depth > LIMITS.depth) this.fail(`directories nest deeper than ${LIMITS.depth} levels`);
      if (record.size > LIMITS.directoryBytes) this.fail(`directory "${entry.path || '/'}" claims ${record.size} bytes, over the limit of ${LIMITS.directoryBytes} bytes for one directory`);
      this.directoryBytes += record.size;
      if (this.directoryBytes > LIMITS.treeBytes) this.fail(`its directories add up to more than the limit of ${LIMITS.treeBytes} bytes (at "${entry.path || '/'}")`);
      entry.dirLba = lba;
      const data = await this.read(lba * SECTOR, record.size);
      for (const child of this.parseDirectory(data, entry, naming)) {
        entry.children.push(child.entry);
        if (child.entry.isDir) queue.push({ entry: child.entry, record: child.record, depth: depth + 1 });
      }
    }
    return root;
  }

  private *parseDirectory(data: Buffer, parent: IsoEntry, naming: Naming): Generator<{ entry: IsoEntry; record: DirectoryRecord }> {
    const joliet = naming === 'joliet';
    let pending: { entry: IsoEntry; record: DirectoryRecord } | undefined;
    let o = 0;
    while (o < data.length) {
      const length = data[o]!;
      if (length === 0) {
        o = (Math.floor(o / SECTOR) + 1) * SECTOR; // records never cross a sector: the rest is padding
        continue;
      }
      const where = `directory "${parent.path || '/'}"`;
      if (length < MIN_RECORD_LENGTH || o + length > data.length) this.fail(`${where} has a record of length ${length} at byte ${o} that does not fit`);
      let r: DirectoryRecord;
      try {
        r = decodeDirectoryRecord(data, o, joliet);
      } catch (e) {
        this.fail(`${where}: ${(e as Error).message}`);
      }
      const rrName = naming === 'rockridge' ? rockRidgeName(data, o) : undefined;
      o += length;
      if (r!.id === '\0' || r!.id === '\x01') continue;
      const rec = r!;
      if (++this.entries > LIMITS.entries) this.fail(`it has more than ${LIMITS.entries} entries`);
      const isDir = (rec.flags & RecordFlags.Directory) !== 0;
      const start = (rec.lba + rec.extAttrLength) * SECTOR;
      if (rec.size > 0 && rec.lba === 0) this.fail(`${where}: "${rec.id}" claims ${rec.size} bytes at sector 0, inside the system area: the record is damaged`);
      if (rec.size > 0 && start + rec.size > this.size) {
        this.fail(`${where}: "${rec.id}" claims ${rec.size} bytes at sector ${rec.lba}, past the end of the file (${this.size} bytes): the file is truncated or the record is damaged`);
      }
      const name = rrName ?? (joliet ? rec.id.replace(/;\d+$/, '') : displayIsoName(rec.id));
      if (name === '' || name.includes('/') || name === '.' || name === '..') this.fail(`${where} has an entry with an unusable name "${rec.id}"`);
      const extent = { offset: start, length: rec.size };
      if (pending && pending.entry.name === name && !isDir) {
        pending.entry.extents.push(extent);
        pending.entry.size += rec.size;
      } else {
        if (pending) yield pending;
        pending = {
          entry: {
            name, path: `${parent.path}/${name}`, isDir, size: isDir ? 0 : rec.size, extents: isDir ? [] : [extent],
            recorded: rec.recorded, hidden: (rec.flags & RecordFlags.Hidden) !== 0, children: [],
          },
          record: rec,
        };
      }
      if (!(rec.flags & RecordFlags.MultiExtent) || isDir) {
        yield pending;
        pending = undefined;
      }
    }
    if (pending) yield pending;
  }
}
