/**
 * The USB image writer: a whole-disk image (MBR, 1 MiB gap, one active FAT32 partition) built from a file tree
 * description in one forward pass.
 *
 * The layout is computed first (geometry, short names, a cluster for every directory and a contiguous cluster run for
 * every file), so everything is written in ascending order: MBR, boot sectors, both FATs, directories, then file data
 * streamed from each entry's source. File contents are never held in memory beyond a 4 MiB write buffer. The image is
 * created sparse at its full size; the block map lists what was written, with a SHA-256 per range.
 *
 * Cluster order on disk: root directory (cluster 2), the other directories breadth-first, then files in tree order
 * (names sorted by UTF-16 code units). The same entries, seed and options give a byte-identical image.
 */
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { InputError, JobError, LifeboatError } from '../errors.js';
import { IoError, ensureFreeSpace, outputError, sourceChanged } from '../util/io-errors.js';
import { type FileRegion, SequentialWriter, WRITE_BEHIND_BYTES, wholeFile } from '../util/sequential-writer.js';
import {
  assignShortNames,
  DIR_ENTRY_SIZE,
  encodeLfnEntries,
  lfnChecksum,
  lfnEntryCount,
  shortNameBytes,
  type AssignedName,
} from './fat-names.js';
import {
  alignUp,
  BACKUP_BOOT_SECTOR,
  clusterOffset,
  computeGeometry,
  fatOffset,
  FSINFO_SECTOR,
  isValidFat32,
  MIN_VOLUME_BYTES,
  ROOT_CLUSTER,
  SECTOR_SIZE,
  type FatGeometry,
} from './fat-layout.js';
import { blockMapOf, type BlockMap } from './block-map.js';
import { FAT32_BOOT_CODE_OFFSET, FAT_BOOT_SECTOR } from '../disk/fat-boot-sector.js';
import { encodeFields } from '../disk/fields.js';
import { DEFAULT_PARTITION_START_LBA, encodeMbr, PARTITION_TYPE_FAT32_LBA } from './mbr.js';

/** Largest file FAT32 can hold: 4 GiB - 1 bytes. */
export const MAX_FAT32_FILE_SIZE = 0xffff_ffff;
const MIB = 2 ** 20;
/** Most entries (32-byte slots, LFN included) one FAT directory may have. */
const MAX_DIR_ENTRIES = 65_536;

/** File contents: any async iterable of bytes (a Node Readable is one) or a web ReadableStream. */
export type ByteSource = AsyncIterable<Uint8Array> | WebReadableStream<Uint8Array>;

/**
 * A file of the tree. Its bytes come from a file on disk (a {@link FileRegion}: a whole file, see
 * {@link fileSource}, or extents of a larger one such as an ISO), which the writer reads ahead and copies in large
 * chunks; or from a function called once, when the file's data is written, that must yield exactly `size` bytes
 * (the writer is done with a chunk when it asks for the next one, so a source may reuse its buffer).
 */
export interface UsbFileEntry {
  /** Absolute path inside the volume, '/' separated, case preserved: `/EFI/BOOT/BOOTX64.EFI`. */
  path: string;
  size: number;
  source: FileRegion | (() => ByteSource | Promise<ByteSource>);
  /** Modification time stored in the directory entry; default: the image's `timestamp`. */
  mtime?: Date;
}

/** A directory of the tree (only needed for empty directories; parents of files are created implicitly). */
export interface UsbDirectoryEntry {
  path: string;
  directory: true;
  mtime?: Date;
}

export type UsbTreeEntry = UsbFileEntry | UsbDirectoryEntry;

/** The `source` of a whole file on disk of `size` bytes. */
export function fileSource(path: string, size: number): FileRegion {
  return wholeFile(path, size);
}

/** Options that decide the layout (and so the image size). */
export interface UsbLayoutOptions {
  /** Volume label, up to 11 characters valid in a short name (upper-cased); default `LIFEBOAT`. */
  label?: string;
  /** Free space to leave in the partition, at least this many bytes; default 64 MiB. */
  marginBytes?: number;
  /** ... and at least this percentage of the space the files and directories take; default 10. */
  marginPercent?: number;
  /** A fixed partition size in bytes (multiple of 4 KiB) instead of the computed one; InputError if the tree does not fit. */
  partitionBytes?: number;
}

export interface UsbImageOptions extends UsbLayoutOptions {
  /** Any string; the volume serial number and the MBR disk signature are derived from it (deterministic output). */
  seed: string;
  /** Time stamp of every directory entry without its own `mtime`; default 1980-01-01 00:00 (the FAT epoch). */
  timestamp?: Date;
  /** MBR boot code (at most 440 bytes, e.g. syslinux mbr.bin); zeros when absent. */
  mbrBootCode?: Uint8Array;
  /** Progress: bytes written so far and the total to write (metadata and file data, not the free space). */
  onProgress?: (writtenBytes: number, totalBytes: number) => void;
  /** Also compute the SHA-256 of the whole image on the way through (saves reading the image back). */
  hashImage?: boolean;
  /** fsync the image before returning (do this before renaming a temp file into place). Default false. */
  sync?: boolean;
  /** Send the image to disk while it is written (fdatasync in the background every 64 MiB). */
  writeBehind?: boolean;
  /** Resolves once bytes [0, end) of an input file may be read (one still being written is read behind its writer). */
  inputReady?: (path: string, end: number) => Promise<void>;
  /**
   * Hash each range of the block map on the way through (default true). false for an image that is changed and
   * mapped again afterwards (a build installs syslinux): the map then gives where the ranges are, with empty hashes.
   */
  hashRanges?: boolean;
}

/** The layout of an image, computed without any I/O. */
export interface UsbImagePlan {
  imageSize: number;
  partition: { startLba: number; sectorCount: number; offset: number; size: number };
  geometry: FatGeometry;
  label: string;
  files: number;
  directories: number;
  /** Sum of the file sizes. */
  dataBytes: number;
  /** Clusters taken by directories and files. */
  usedClusters: number;
  freeClusters: number;
  /** Bytes the writer will write (MBR, boot sectors, used part of both FATs, directories, file data). */
  payloadBytes: number;
}

export interface UsbImageResult extends UsbImagePlan {
  volumeSerial: number;
  diskSignature: number;
  blockMap: BlockMap;
  /** SHA-256 of the whole image, when `hashImage` was set. */
  imageSha256?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Tree and layout

interface FileNode {
  kind: 'file';
  name: string;
  path: string;
  size: number;
  source: UsbFileEntry['source'];
  mtime: Date | undefined;
  cluster: number;
  clusters: number;
}

interface DirNode {
  kind: 'dir';
  name: string;
  path: string;
  parent: DirNode | undefined;
  children: Map<string, FileNode | DirNode>;
  mtime: Date | undefined;
  /** Children sorted by name, with their short names (set by the layout). */
  sorted: { node: FileNode | DirNode; name: AssignedName }[];
  entryCount: number;
  cluster: number;
  clusters: number;
}

interface Layout {
  plan: UsbImagePlan;
  root: DirNode;
  /** Directories in cluster order (root first). */
  dirs: DirNode[];
  /** Non-empty files in cluster order. */
  files: FileNode[];
  /** Cluster runs in ascending order (directories, then files), for the FAT. */
  runs: { start: number; count: number }[];
}

function newDir(name: string, path: string, parent: DirNode | undefined): DirNode {
  return { kind: 'dir', name, path, parent, children: new Map(), mtime: undefined, sorted: [], entryCount: 0, cluster: 0, clusters: 0 };
}

function splitPath(path: string): string[] {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new InputError(`USB image entry "${String(path)}": the path must start with "/".`);
  }
  const parts = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  if (parts.length === 1 && parts[0] === '') return [];
  if (parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new InputError(`USB image entry "${path}": empty, "." or ".." path components are not allowed.`);
  }
  return parts;
}

function buildTree(entries: readonly UsbTreeEntry[]): DirNode {
  const root = newDir('', '/', undefined);
  for (const entry of entries) {
    const parts = splitPath(entry.path);
    let dir = root;
    const last = parts.length - 1;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i] as string;
      const childPath = `/${parts.slice(0, i + 1).join('/')}`;
      const existing = dir.children.get(name);
      const isLeaf = i === last;
      if (isLeaf && !('directory' in entry && entry.directory)) {
        const file = entry as UsbFileEntry;
        if (existing) throw new InputError(`USB image entry "${childPath}" is listed twice (or as a file and a directory).`);
        if (!Number.isSafeInteger(file.size) || file.size < 0) {
          throw new InputError(`USB image entry "${childPath}": bad size ${String(file.size)}.`);
        }
        if (file.size > MAX_FAT32_FILE_SIZE) {
          throw new InputError(
            `"${childPath}" is ${file.size} bytes; FAT32 cannot hold a file of 4 GiB or more (the limit is 4 GiB - 1 byte).`,
            'Split the file (e.g. a WIM with wimlib-imagex split / DISM /Split-Image) or leave it off the USB image.',
          );
        }
        if (typeof file.source !== 'function' && (typeof file.source?.path !== 'string' || file.source.size !== file.size)) {
          throw new InputError(`USB image entry "${childPath}" has no data source of its size.`);
        }
        dir.children.set(name, {
          kind: 'file',
          name,
          path: childPath,
          size: file.size,
          source: file.source,
          mtime: file.mtime,
          cluster: 0,
          clusters: 0,
        });
        continue;
      }
      if (existing && existing.kind === 'file') {
        throw new InputError(`USB image entry "${childPath}" is both a file and a directory.`);
      }
      const sub = existing ?? newDir(name, childPath, dir);
      if (!existing) dir.children.set(name, sub);
      if (isLeaf) sub.mtime = entry.mtime ?? sub.mtime;
      dir = sub;
    }
    if (parts.length === 0 && !('directory' in entry && entry.directory)) {
      throw new InputError(`USB image entry "${entry.path}": a file needs a name.`);
    }
  }
  return root;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Short names and entry counts of every directory; returns the directories breadth-first (root first). */
function nameDirectories(root: DirNode, hasLabel: boolean): DirNode[] {
  const order: DirNode[] = [];
  const queue: DirNode[] = [root];
  while (queue.length > 0) {
    const dir = queue.shift() as DirNode;
    order.push(dir);
    const nodes = [...dir.children.values()].sort((x, y) => compareNames(x.name, y.name));
    const names = assignShortNames(
      nodes.map((n) => n.name),
      dir.path,
    );
    dir.sorted = nodes.map((node, i) => ({ node, name: names[i] as AssignedName }));
    let count = dir === root ? (hasLabel ? 1 : 0) : 2;
    for (const { name } of dir.sorted) count += 1 + (name.lfn ? lfnEntryCount(name.longName) : 0);
    if (count > MAX_DIR_ENTRIES) {
      throw new InputError(`Directory "${dir.path}" has too many entries for FAT32 (${count} slots, at most ${MAX_DIR_ENTRIES}).`);
    }
    dir.entryCount = count;
    for (const { node } of dir.sorted) if (node.kind === 'dir') queue.push(node);
  }
  return order;
}

/** Files in tree order: depth-first, children by name. */
function filesInOrder(root: DirNode): FileNode[] {
  const out: FileNode[] = [];
  const walk = (dir: DirNode) => {
    for (const { node } of dir.sorted) {
      if (node.kind === 'file') out.push(node);
      else walk(node);
    }
  };
  walk(root);
  return out;
}

function normalizeLabel(label: string): string {
  const upper = label.toUpperCase();
  if (upper.length === 0 || upper.length > 11 || !/^[A-Z0-9 $%'\-_@~`!(){}^#&]+$/.test(upper) || upper.startsWith(' ')) {
    throw new InputError(
      `Volume label "${label}" is not valid for FAT32.`,
      'Use 1-11 characters: letters, digits, spaces (not first) and $%\'-_@~`!(){}^#&.',
    );
  }
  return upper;
}

function computeLayout(entries: readonly UsbTreeEntry[], options: UsbLayoutOptions): Layout {
  const label = normalizeLabel(options.label ?? 'LIFEBOAT');
  const marginBytes = options.marginBytes ?? 64 * MIB;
  const marginPercent = options.marginPercent ?? 10;
  if (!(marginBytes >= 0) || !(marginPercent >= 0)) throw new InputError('The USB free-space margin must not be negative.');
  const root = buildTree(entries);
  const dirs = nameDirectories(root, true);
  const files = filesInOrder(root);
  const dataBytes = files.reduce((s, f) => s + f.size, 0);

  const clustersUsed = (g: FatGeometry) => {
    let n = 0;
    for (const d of dirs) n += Math.max(1, Math.ceil((d.entryCount * DIR_ENTRY_SIZE) / g.bytesPerCluster));
    for (const f of files) n += Math.ceil(f.size / g.bytesPerCluster);
    return n;
  };

  const startLba = DEFAULT_PARTITION_START_LBA;
  const fixed = options.partitionBytes;
  if (fixed !== undefined && (!Number.isSafeInteger(fixed) || fixed % 4096 !== 0 || fixed < MIN_VOLUME_BYTES)) {
    throw new InputError(`USB partition size ${String(fixed)} must be a multiple of 4 KiB and at least ${MIN_VOLUME_BYTES / MIB} MiB.`);
  }
  let sectors = (fixed ?? MIN_VOLUME_BYTES) / SECTOR_SIZE;
  let geometry: FatGeometry | undefined;
  let used = 0;
  for (let iter = 0; iter < 100; iter++) {
    const g = computeGeometry(sectors);
    used = clustersUsed(g);
    const margin = Math.max(marginBytes, (used * g.bytesPerCluster * marginPercent) / 100);
    const needed = used + Math.ceil(margin / g.bytesPerCluster);
    if (isValidFat32(g) && g.clusterCount >= (fixed === undefined ? needed : used)) {
      geometry = g;
      break;
    }
    if (fixed !== undefined) {
      throw new InputError(
        `The files need ${used * g.bytesPerCluster} bytes but a ${fixed}-byte FAT32 partition holds only ${g.clusterCount * g.bytesPerCluster}.`,
        'Leave out the fixed partition size or choose a larger one.',
      );
    }
    const next = alignUp(g.dataStartSector * SECTOR_SIZE + needed * g.bytesPerCluster, MIB) / SECTOR_SIZE;
    sectors = next > sectors ? next : sectors + MIB / SECTOR_SIZE;
  }
  if (!geometry) throw new JobError('Could not find a FAT32 layout for the USB image (internal error).');
  if (startLba + geometry.totalSectors > 0xffff_ffff) {
    throw new InputError(`The USB image would be ${(startLba + geometry.totalSectors) * SECTOR_SIZE} bytes; an MBR disk ends at 2 TiB.`);
  }

  // Clusters: directories breadth-first from the root (cluster 2), then files in tree order.
  const runs: Layout['runs'] = [];
  let next = ROOT_CLUSTER;
  for (const d of dirs) {
    d.clusters = Math.max(1, Math.ceil((d.entryCount * DIR_ENTRY_SIZE) / geometry.bytesPerCluster));
    d.cluster = next;
    runs.push({ start: next, count: d.clusters });
    next += d.clusters;
  }
  const dataFiles: FileNode[] = [];
  for (const f of files) {
    f.clusters = Math.ceil(f.size / geometry.bytesPerCluster);
    if (f.clusters === 0) continue;
    f.cluster = next;
    runs.push({ start: next, count: f.clusters });
    next += f.clusters;
    dataFiles.push(f);
  }
  const fatUsedBytes = (next) * 4; // entries 0 .. next - 1
  const dirBytes = dirs.reduce((s, d) => s + d.entryCount * DIR_ENTRY_SIZE, 0);
  const partitionOffset = startLba * SECTOR_SIZE;
  const partitionSize = geometry.totalSectors * SECTOR_SIZE;
  const plan: UsbImagePlan = {
    imageSize: partitionOffset + partitionSize,
    partition: { startLba, sectorCount: geometry.totalSectors, offset: partitionOffset, size: partitionSize },
    geometry,
    label,
    files: files.length,
    directories: dirs.length - 1,
    dataBytes,
    usedClusters: used,
    freeClusters: geometry.clusterCount - used,
    payloadBytes: SECTOR_SIZE + 4 * SECTOR_SIZE + geometry.fatCount * fatUsedBytes + dirBytes + dataBytes,
  };
  return { plan, root, dirs, files: dataFiles, runs };
}

/**
 * The layout of the image for `entries` (sizes, geometry, cluster counts) without writing anything: for a free-space
 * check or a report before building. Throws InputError for what the image cannot hold (names, sizes).
 */
export function planUsbImage(entries: readonly UsbTreeEntry[], options: UsbLayoutOptions = {}): UsbImagePlan {
  return computeLayout(entries, options).plan;
}

// ---------------------------------------------------------------------------------------------------------------
// On-disk records

/** FAT date and time of `d` (UTC fields; FAT has no time zone), clamped to 1980-2107. */
export function fatDateTime(d: Date): { date: number; time: number; tenths: number } {
  let year = d.getUTCFullYear();
  let month = d.getUTCMonth() + 1;
  let day = d.getUTCDate();
  let hours = d.getUTCHours();
  let minutes = d.getUTCMinutes();
  let seconds = d.getUTCSeconds();
  let ms = d.getUTCMilliseconds();
  if (Number.isNaN(year) || year < 1980) [year, month, day, hours, minutes, seconds, ms] = [1980, 1, 1, 0, 0, 0, 0];
  if (year > 2107) [year, month, day, hours, minutes, seconds, ms] = [2107, 12, 31, 23, 59, 58, 0];
  return {
    date: ((year - 1980) << 9) | (month << 5) | day,
    time: (hours << 11) | (minutes << 5) | (seconds >> 1),
    tenths: (seconds & 1) * 100 + Math.floor(ms / 10),
  };
}

const ATTR_VOLUME_ID = 0x08;
const ATTR_DIRECTORY = 0x10;
const ATTR_ARCHIVE = 0x20;

function shortEntry(name11: Uint8Array, attr: number, cluster: number, size: number, when: Date): Buffer {
  const e = Buffer.alloc(DIR_ENTRY_SIZE);
  e.set(name11, 0);
  e[11] = attr;
  const { date, time, tenths } = fatDateTime(when);
  e[13] = tenths;
  e.writeUInt16LE(time, 14); // creation
  e.writeUInt16LE(date, 16);
  e.writeUInt16LE(date, 18); // last access
  e.writeUInt16LE((cluster >>> 16) & 0xffff, 20);
  e.writeUInt16LE(time, 22); // last write
  e.writeUInt16LE(date, 24);
  e.writeUInt16LE(cluster & 0xffff, 26);
  e.writeUInt32LE(size, 28);
  return e;
}

function encodeDirectory(dir: DirNode, label: string, defaultTime: Date): Buffer {
  const parts: Buffer[] = [];
  const when = dir.mtime ?? defaultTime;
  if (!dir.parent) {
    parts.push(shortEntry(Buffer.from(label.padEnd(11, ' '), 'latin1'), ATTR_VOLUME_ID, 0, 0, defaultTime));
  } else {
    parts.push(shortEntry(Buffer.from('.'.padEnd(11, ' '), 'latin1'), ATTR_DIRECTORY, dir.cluster, 0, when));
    const parentCluster = dir.parent.parent ? dir.parent.cluster : 0; // ".." of a root child points to 0
    parts.push(shortEntry(Buffer.from('..'.padEnd(11, ' '), 'latin1'), ATTR_DIRECTORY, parentCluster, 0, when));
  }
  for (const { node, name } of dir.sorted) {
    const short11 = shortNameBytes(name.short);
    if (name.lfn) parts.push(encodeLfnEntries(name.longName, lfnChecksum(short11)));
    const t = node.mtime ?? defaultTime;
    if (node.kind === 'dir') parts.push(shortEntry(short11, ATTR_DIRECTORY, node.cluster, 0, t));
    else parts.push(shortEntry(short11, ATTR_ARCHIVE, node.cluster, node.size, t));
  }
  return Buffer.concat(parts);
}

/** Boot code of the volume boot record: prints a message, waits for a key, then asks the BIOS for the next device. */
function vbrBootCode(): Buffer {
  const message = '\r\nThis partition has no BIOS boot loader. Start the computer in UEFI mode.\r\nPress a key to try the next boot device.\r\n\0';
  const msgAddress = 0x7c00 + 0x7f;
  const code = [
    0xfa, // cli
    0x31, 0xc0, // xor ax,ax
    0x8e, 0xd8, // mov ds,ax
    0x8e, 0xd0, // mov ss,ax
    0xbc, 0x00, 0x7c, // mov sp,0x7c00
    0xfb, // sti
    0xbe, msgAddress & 0xff, msgAddress >> 8, // mov si,msg
    0xac, // next: lodsb
    0x84, 0xc0, // test al,al
    0x74, 0x09, // jz done
    0xb4, 0x0e, // mov ah,0x0e (teletype)
    0xbb, 0x07, 0x00, // mov bx,0x0007
    0xcd, 0x10, // int 0x10
    0xeb, 0xf2, // jmp next
    0x31, 0xc0, // done: xor ax,ax
    0xcd, 0x16, // int 0x16 (wait for a key)
    0xcd, 0x19, // int 0x19 (boot the next device)
    0xf4, // hlt
    0xeb, 0xfd, // jmp hlt
  ];
  return Buffer.concat([Buffer.from(code), Buffer.from(message, 'latin1')]);
}

function encodeBootSector(g: FatGeometry, hiddenSectors: number, serial: number, label: string): Buffer {
  const b = encodeFields(FAT_BOOT_SECTOR, {
    jump: Buffer.from([0xeb, 0x58, 0x90]), // jmp short 0x5a; nop
    oemName: 'MSWIN4.1', // the name the specification recommends for compatibility
    bytesPerSector: SECTOR_SIZE,
    sectorsPerCluster: g.sectorsPerCluster,
    reservedSectors: g.reservedSectors,
    fatCount: g.fatCount,
    rootEntries: 0,
    totalSectors16: 0,
    media: 0xf8, // fixed disk
    fatSize16: 0,
    sectorsPerTrack: 63,
    heads: 255,
    hiddenSectors,
    totalSectors32: g.totalSectors,
    fatSize32: g.fatSectors,
    extFlags: 0, // FATs mirrored
    fsVersion: 0,
    rootCluster: ROOT_CLUSTER,
    fsInfoSector: FSINFO_SECTOR,
    backupBootSector: BACKUP_BOOT_SECTOR,
    driveNumber: 0x80,
    bootSignature: 0x29,
    volumeId: serial,
    volumeLabel: label,
    fsType: 'FAT32',
    signature: 0xaa55,
  }, Buffer.alloc(SECTOR_SIZE));
  b.set(vbrBootCode(), FAT32_BOOT_CODE_OFFSET);
  return b;
}

function encodeFsInfo(freeClusters: number, nextFree: number): Buffer {
  const b = Buffer.alloc(SECTOR_SIZE);
  b.writeUInt32LE(0x41615252, 0);
  b.writeUInt32LE(0x61417272, 484);
  b.writeUInt32LE(freeClusters, 488);
  b.writeUInt32LE(nextFree, 492);
  b.writeUInt32LE(0xaa550000, 508);
  return b;
}

const FAT_EOC = 0x0fffffff;
const FAT_CHUNK_ENTRIES = 1 << 20;

/** The used part of a FAT (entries 0 .. last used cluster), in chunks of at most 4 MiB. */
function* fatChunks(runs: Layout['runs']): Generator<Buffer> {
  const last = runs.length > 0 ? (runs[runs.length - 1] as { start: number; count: number }) : undefined;
  const total = last ? last.start + last.count : 2;
  let runIndex = 0;
  for (let a = 0; a < total; a += FAT_CHUNK_ENTRIES) {
    const b = Math.min(total, a + FAT_CHUNK_ENTRIES);
    const buf = Buffer.allocUnsafe((b - a) * 4);
    for (let c = a; c < b; c++) buf.writeUInt32LE(c + 1, (c - a) * 4);
    if (a === 0) {
      buf.writeUInt32LE(0x0ffffff8, 0); // media byte in the low 8 bits
      buf.writeUInt32LE(FAT_EOC, 4); // clean shutdown, no errors
    }
    for (;;) {
      const run = runs[runIndex];
      if (!run) break;
      const end = run.start + run.count - 1;
      if (end >= b) break;
      buf.writeUInt32LE(FAT_EOC, (end - a) * 4);
      runIndex++;
    }
    yield buf;
  }
}

function derive32(seed: string, purpose: string): number {
  const v = createHash('sha256').update(`lifeboat-usb:${purpose}:${seed}`).digest().readUInt32LE(0);
  return v === 0 ? 1 : v;
}

async function* iterateSource(src: ByteSource): AsyncGenerator<Uint8Array> {
  if (Symbol.asyncIterator in src) {
    yield* src as AsyncIterable<Uint8Array>;
    return;
  }
  const reader = (src as WebReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The bytes of `file` from its source, checked against its listed size (JobError naming the file otherwise). */
async function* streamFile(file: FileNode, source: () => ByteSource | Promise<ByteSource>): AsyncGenerator<Uint8Array> {
  let got = 0;
  for await (const chunk of iterateSource(await source())) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('the source yielded something other than bytes');
    if (got + chunk.length > file.size) {
      throw new IoError(
        'source-changed', file.path, `"${file.path}" is larger than the ${file.size} bytes it was listed with; it changed while the USB image was written`,
        'Do not change the input files while an image is written; run again.',
      );
    }
    got += chunk.length;
    yield chunk;
  }
  if (got !== file.size) throw sourceChanged(file.path, got, file.size, 'the USB image');
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/**
 * Writes the whole-disk image for `entries` to `output` (a path, created or truncated, or an open writable
 * FileHandle, which is truncated and left open). The caller handles temp names and renames.
 *
 * Errors: InputError for what the image cannot hold (a file of 4 GiB or more, invalid or clashing names, too many
 * entries) or no space left on the output's file system; JobError when a source fails or yields a different number
 * of bytes than its entry's size.
 */
export async function writeUsbImage(
  entries: readonly UsbTreeEntry[],
  output: string | FileHandle,
  options: UsbImageOptions,
): Promise<UsbImageResult> {
  const layout = computeLayout(entries, options);
  const { plan } = layout;
  const g = plan.geometry;
  const outputName = typeof output === 'string' ? output : 'the USB image';
  const defaultTime = options.timestamp ?? new Date(Date.UTC(1980, 0, 1));
  const volumeSerial = derive32(options.seed, 'volume-serial');
  const diskSignature = derive32(options.seed, 'disk-signature');
  const mbr = encodeMbr({
    ...(options.mbrBootCode ? { bootCode: options.mbrBootCode } : {}),
    diskSignature,
    partition: { active: true, type: PARTITION_TYPE_FAT32_LBA, startLba: plan.partition.startLba, sectorCount: plan.partition.sectorCount },
  });

  if (typeof output === 'string') await ensureFreeSpace(output, plan.payloadBytes);

  const total = plan.payloadBytes;
  let done = 0;
  let reported = 0;
  const progress = (n: number) => {
    done += n;
    if (options.onProgress && (done - reported >= 4 * MIB || done === total)) {
      reported = done;
      options.onProgress(done, total);
    }
  };

  const fh = typeof output === 'string' ? await openOutput(output) : output;
  let w: SequentialWriter | undefined;
  try {
    w = await SequentialWriter.create(fh, plan.imageSize, {
      name: outputName, hashOutput: options.hashImage, mapRanges: true, hashRanges: options.hashRanges,
      writeBehindBytes: options.writeBehind ? WRITE_BEHIND_BYTES : undefined, inputReady: options.inputReady,
    });
    const P = plan.partition.offset;

    await w.write(mbr);
    progress(mbr.length);

    const boot = encodeBootSector(g, plan.partition.startLba, volumeSerial, plan.label);
    const nextFree = ROOT_CLUSTER + plan.usedClusters;
    const fsinfo = encodeFsInfo(plan.freeClusters, nextFree <= g.clusterCount + 1 ? nextFree : 0xffffffff);
    await w.skipTo(P);
    await w.write(boot);
    await w.write(fsinfo);
    await w.skipTo(P + BACKUP_BOOT_SECTOR * SECTOR_SIZE);
    await w.write(boot);
    await w.write(fsinfo);
    progress(4 * SECTOR_SIZE);

    for (let i = 0; i < g.fatCount; i++) {
      await w.skipTo(P + fatOffset(g, i));
      for (const chunk of fatChunks(layout.runs)) {
        await w.write(chunk);
        progress(chunk.length);
      }
    }

    for (const dir of layout.dirs) {
      await w.skipTo(P + clusterOffset(g, dir.cluster));
      const bytes = encodeDirectory(dir, plan.label, defaultTime);
      await w.write(bytes);
      progress(bytes.length);
    }

    // Files on disk are copied (small ones read ahead); other sources are streamed through the write buffer.
    w.expect(layout.files.flatMap((f) => (typeof f.source === 'function' ? [] : [f.source])));
    for (const file of layout.files) {
      await w.skipTo(P + clusterOffset(g, file.cluster));
      if (typeof file.source !== 'function') {
        await w.copy(file.source);
        progress(file.size);
        continue;
      }
      try {
        for await (const chunk of streamFile(file, file.source)) {
          await w.write(chunk);
          progress(chunk.length);
        }
      } catch (err) {
        throw sourceError(err, file.path);
      }
    }

    const { ranges, sha256 } = await w.finish();
    if (options.sync) await fh.sync();
    if (done !== total) options.onProgress?.(total, total);
    return {
      ...plan,
      volumeSerial,
      diskSignature,
      blockMap: blockMapOf(plan.imageSize, ranges!),
      ...(sha256 === undefined ? {} : { imageSha256: sha256 }),
    };
  } catch (err) {
    await w?.abandon();
    throw err instanceof LifeboatError ? err : outputError(outputName, err);
  } finally {
    if (typeof output === 'string') await fh.close().catch(() => undefined);
  }
}

async function openOutput(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'w');
  } catch (err) {
    throw outputError(path, err);
  }
}

/** A stream that failed: its own error when it is one of ours, else a failure naming the file. */
function sourceError(err: unknown, path: string): unknown {
  if (err instanceof LifeboatError || err instanceof IoError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new IoError('failed', path, `could not read "${path}" while writing the USB image: ${msg}`, undefined, { cause: err });
}
