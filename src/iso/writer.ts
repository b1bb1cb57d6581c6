/**
 * Writes an ISO 9660 level 3 image with Joliet and El Torito from a tree, in one streaming pass: file data is
 * copied from its source in large chunks and never held in memory (boot images that need address patching are the
 * exception: they are small and patched in memory). The output appears at its final path only when complete.
 */
import { SECTOR } from './bytes.js';
import { type BootCatalog, catalogByteLength, catalogEntries, encodeBootCatalog } from './boot-catalog.js';
import { MAX_PATCHED_IMAGE_BYTES, patchBootImage } from './boot-images.js';
import { type DirectoryRecord, RecordFlags, encodeDirectoryRecord } from './directory-record.js';
import { IsoRequestError } from './errors.js';
import { type Layout, MAX_EXTENT, type Namespace, computeLayout } from './layout.js';
import { encodePathTable } from './path-table.js';
import { SYSTEM_AREA_BYTES, gptBackupBytes, imageAlignment, patchSystemArea } from './system-area.js';
import { type DataSource, type TreeDir, type TreeFile, findNode } from './tree.js';
import { encodeBootRecord, encodeTerminator, encodeVolumeDescriptor } from './volume-descriptor.js';
import { type IsoOutput, openOutput } from './output.js';
import { type FileRegion, SequentialWriter, WRITE_BEHIND_BYTES, wholeFile } from '../util/sequential-writer.js';
import { inputError, sourceChanged } from '../util/io-errors.js';
import { open } from 'node:fs/promises';

/** Bytes written so far and the image's total size. */
export type Progress = (done: number, total: number) => void;

/** Where one El Torito entry's image comes from, in catalog order (default entry first). */
export interface BootImagePlan {
  /** The image is this file of the tree (its LBA is the file's). */
  treePath?: string;
  /** Or the image's bytes, placed outside the tree. */
  source?: DataSource;
  /** Images with the same key share one copy (two entries pointing at the same image). */
  key?: string;
  /** Where the image began in the base image, so the system area's references to it can follow it. */
  oldLba?: number;
  patchBootInfoTable?: boolean;
  patchGrub2BootInfo?: boolean;
}

export interface WriteOptions {
  volumeId: string;
  /** A fixed date makes the output byte-for-byte reproducible. */
  date?: Date;
  applicationId?: string;
  preparerId?: string;
  publisherId?: string;
  systemId?: string;
  joliet?: boolean;
  boot?: { catalog: BootCatalog; images: BootImagePlan[] };
  /** A system area carried over from a base image, with what partition table updates need to know of the base. */
  systemArea?: CarriedSystemArea;
  onProgress?: Progress;
  /** Compute the image's SHA-256 while writing (costs a core's time; the build wants it, a plain create not). */
  sha256?: boolean;
  /** Send the image to disk while it is written (fdatasync in the background every 64 MiB). */
  writeBehind?: boolean;
  /**
   * Told before any byte is written: everything a reader needs to list the image (volume descriptors, path tables,
   * directories, boot catalog, the first sectors of each boot image) lies below `listableEnd`.
   */
  onLayout?: (layout: { listableEnd: number; bytes: number }) => void;
  /** Told as the image is written: every byte below `offset` is in place (so it can be read while it is written). */
  onWrittenThrough?: (offset: number) => void;
}

export interface WriteResult {
  path: string;
  bytes: number;
  /** SHA-256 of the written image, when asked for. */
  sha256?: string;
  bootEntries: { lba: number; size: number }[];
}

export interface CarriedSystemArea {
  data: Buffer;
  oldImageBytes: number;
  /** Where the base's ISO file system ended (its volume space size in bytes). */
  oldVolumeBytes: number;
  /**
   * The base's partitions appended after its file system (see appendedArea in system-area.ts): these bytes of
   * `path` are carried over whole, right after the new file system, and their partition entries follow them.
   */
  appended?: { path: string; offset: number; length: number };
}

interface PlacedImage {
  lba: number;
  size: number;
  plan: BootImagePlan;
  file?: TreeFile;
  /** The image lies in an appended partition and moves with it (its bytes are never patched). */
  appended?: boolean;
}

const APPLICATION_ID = 'LIFEBOAT';

/**
 * Zero sectors after the last file (300 KiB, as mkisofs and xorriso pad): BIOS CD reads and Linux read-ahead fetch
 * whole blocks, and a read past the end of the medium fails the whole read, so the last file would be unreadable.
 */
const TRAILING_PAD_SECTORS = 150;

function resolveBootImages(root: TreeDir, plans: BootImagePlan[]): { file?: TreeFile; plan: BootImagePlan }[] {
  return plans.map((plan) => {
    if (!plan.treePath) return { plan };
    const node = findNode(root, plan.treePath);
    if (node?.type !== 'file') throw new IsoRequestError(`boot image "${plan.treePath}" is not a file of the image tree`);
    return { plan, file: node };
  });
}

/** Writes `root` as an ISO image to `output` (see output.ts for what a path and a handle mean). */
export async function writeIso(output: IsoOutput, root: TreeDir, options: WriteOptions): Promise<WriteResult> {
  const date = options.date ?? new Date();
  const joliet = options.joliet ?? true;
  const boot = options.boot;
  const resolved = boot ? resolveBootImages(root, boot.images) : [];
  if (boot && resolved.length !== catalogEntries(boot.catalog).length) {
    throw new Error(`boot plan has ${resolved.length} images for ${catalogEntries(boot.catalog).length} catalog entries`);
  }

  // Boot images outside the tree: one copy per distinct key, but one inside an appended partition stays there.
  const area = options.systemArea;
  const appended = area?.appended;
  const inAppended = (plan: BootImagePlan) =>
    !!appended && plan.oldLba !== undefined && plan.oldLba * SECTOR >= appended.offset && plan.oldLba * SECTOR < appended.offset + appended.length;
  const blobKeys: string[] = [];
  const blobSources: { source: DataSource }[] = [];
  resolved.forEach((r, i) => {
    if (r.file || inAppended(r.plan)) return;
    const key = r.plan.key ?? `#${i}`;
    if (!blobKeys.includes(key)) {
      blobKeys.push(key);
      blobSources.push({ source: r.plan.source! });
    }
  });

  const layout = computeLayout({
    root, joliet, hasBoot: !!boot, catalogBytes: boot ? catalogByteLength(boot.catalog) : 0, blobs: blobSources,
  });

  // Image size: the file system, the appended partitions, room for a backup GPT, rounded as the base was.
  const volumeEnd = (layout.volumeSectors + TRAILING_PAD_SECTORS) * SECTOR;
  const appendedLength = appended?.length ?? 0;
  const tail = area ? gptBackupBytes(area.data) : 0;
  const align = area ? imageAlignment(area.oldImageBytes, area.data) : SECTOR;
  const totalBytes = Math.ceil((volumeEnd + appendedLength + tail) / align) * align;
  // With appended partitions the file system ends where they begin (as xorriso records it); else it is the image.
  const volumeSectors = (appended ? volumeEnd : totalBytes) / SECTOR;

  const placed: PlacedImage[] = resolved.map((r, i) => {
    if (r.file) return { lba: layout.fileLba.get(r.file)!, size: r.file.source.size, plan: r.plan, file: r.file };
    if (inAppended(r.plan)) return { lba: (volumeEnd + r.plan.oldLba! * SECTOR - appended!.offset) / SECTOR, size: r.plan.source?.size ?? 0, plan: r.plan, appended: true };
    const blob = layout.blobs[blobKeys.indexOf(r.plan.key ?? `#${i}`)]!;
    return { lba: blob.lba, size: blob.size, plan: r.plan };
  });

  let systemArea: Buffer = Buffer.alloc(SYSTEM_AREA_BYTES);
  let gptBackup: Buffer | undefined;
  if (area) {
    const moves = placed.filter((p) => p.plan.oldLba !== undefined).map((p) => ({ oldLba: p.plan.oldLba!, newLba: p.lba }));
    const patched = patchSystemArea(area.data, {
      oldImageBytes: area.oldImageBytes, newImageBytes: totalBytes, oldVolumeBytes: area.oldVolumeBytes, newVolumeBytes: volumeEnd,
      appended: !!appended, moves,
    });
    systemArea = patched.area;
    gptBackup = patched.gptBackup;
  }

  const catalog = boot ? retargetCatalog(boot.catalog, placed) : undefined;
  const patchedImages = await patchBootImages(placed);

  const out = await openOutput(output, totalBytes);
  let w: SequentialWriter | undefined;
  let sha256: string | undefined;
  try {
    const progress = options.onProgress;
    w = await SequentialWriter.create(out.handle, totalBytes, {
      name: out.path, hashOutput: options.sha256, writeBehindBytes: options.writeBehind ? WRITE_BEHIND_BYTES : undefined, onWritten: progress && ((n) => progress(n, totalBytes)),
      onWrittenThrough: options.onWrittenThrough,
    });
    options.onLayout?.({ listableEnd: listableEnd(layout, placed, totalBytes), bytes: totalBytes });
    const regions = new Map<DataSource, FileRegion>();
    for (const file of layout.files) {
      const region = regionOf(file.source);
      if (region && !patchedImages.has(layout.fileLba.get(file)!)) regions.set(file.source, region);
    }
    w.expect([...regions.values()]);
    await w.write(systemArea);
    const common = {
      systemId: options.systemId ?? '',
      volumeId: options.volumeId,
      volumeSpaceSize: volumeSectors,
      publisherId: options.publisherId ?? '',
      preparerId: options.preparerId ?? '',
      applicationId: options.applicationId ?? APPLICATION_ID,
      date,
    };
    await w.write(encodeVolumeDescriptor({ ...common, joliet: false, ...pathTableFields(layout.iso), root: rootRecord(layout.iso, root, date) }));
    if (layout.descriptorLbas.bootRecord !== undefined) await w.write(encodeBootRecord(layout.catalogLba!));
    if (layout.joliet) {
      await w.write(encodeVolumeDescriptor({ ...common, joliet: true, ...pathTableFields(layout.joliet), root: rootRecord(layout.joliet, root, date) }));
    }
    await w.write(encodeTerminator());
    if (catalog) {
      await w.padTo(layout.catalogLba! * SECTOR);
      await w.write(encodeBootCatalog(catalog));
    }
    for (const ns of [layout.iso, layout.joliet]) {
      if (!ns) continue;
      await w.padTo(ns.lPathLba * SECTOR);
      await w.write(encodePathTable(ns.pathTable, ns.joliet, false));
      await w.padTo(ns.mPathLba * SECTOR);
      await w.write(encodePathTable(ns.pathTable, ns.joliet, true));
    }
    for (const ns of [layout.iso, layout.joliet]) {
      if (!ns) continue;
      for (const dir of ns.dirs) {
        await w.padTo(ns.dirLba.get(dir)! * SECTOR);
        await w.write(encodeDirectory(ns, layout, dir, root, date));
      }
    }
    for (const blob of layout.blobs) {
      await w.padTo(blob.lba * SECTOR);
      const patched = patchedImages.get(blob.lba);
      if (patched) await w.write(patched);
      else await writeSource(w, blob.source, regions);
    }
    for (const file of layout.files) {
      await w.padTo(layout.fileLba.get(file)! * SECTOR);
      const patched = patchedImages.get(layout.fileLba.get(file)!);
      if (patched && file.source.size > 0) await w.write(patched);
      else await writeSource(w, file.source, regions);
    }
    if (appended) {
      await w.padTo(volumeEnd);
      await w.copy({ path: appended.path, extents: [appended], size: appended.length });
    }
    if (gptBackup) {
      await w.padTo(totalBytes - gptBackup.length);
      await w.write(gptBackup);
    }
    await w.padTo(totalBytes);
    sha256 = (await w.finish()).sha256;
    await out.commit();
  } catch (e) {
    await w?.abandon();
    await out.abort();
    throw e;
  }
  return { path: out.path, bytes: totalBytes, sha256, bootEntries: placed.map((p) => ({ lba: p.lba, size: p.size })) };
}

/** Where the structures a reader lists the image from end: the first file's data, or a boot image's head beyond it. */
function listableEnd(layout: Layout, placed: readonly PlacedImage[], totalBytes: number): number {
  let filesStart = totalBytes;
  for (const lba of layout.fileLba.values()) filesStart = Math.min(filesStart, lba * SECTOR);
  return Math.max(filesStart, ...placed.map((p) => (p.appended ? totalBytes : p.lba * SECTOR + Math.min(p.size, 4096))));
}

function regionOf(source: DataSource): FileRegion | undefined {
  if (source.kind === 'host') return wholeFile(source.path, source.size);
  if (source.kind === 'image') return { path: source.path, extents: source.extents, size: source.size };
  return undefined;
}

/** Writes a data source, through the region announced for it (read ahead) when there is one. */
async function writeSource(w: SequentialWriter, source: DataSource, regions: Map<DataSource, FileRegion>): Promise<void> {
  if (source.kind === 'bytes') return w.write(source.data);
  if (source.kind === 'pieces') {
    for (const part of source.parts) await writeSource(w, part, regions);
    return;
  }
  await w.copy(regions.get(source) ?? regionOf(source)!);
}

function pathTableFields(ns: Namespace) {
  return { pathTableSize: ns.pathTableBytes, typeLPathTable: ns.lPathLba, typeMPathTable: ns.mPathLba };
}

function rootRecord(ns: Namespace, root: TreeDir, date: Date): DirectoryRecord {
  return { id: '\0', lba: ns.dirLba.get(root)!, size: ns.dirBytes.get(root)!, flags: RecordFlags.Directory, recorded: date, extAttrLength: 0, length: 34 };
}

function encodeDirectory(ns: Namespace, layout: Layout, dir: TreeDir, root: TreeDir, date: Date): Buffer {
  const size = ns.dirBytes.get(dir)!;
  const out = Buffer.alloc(size);
  let o = 0;
  const put = (r: Omit<DirectoryRecord, 'length' | 'extAttrLength'>) => {
    const b = encodeDirectoryRecord(r, ns.joliet);
    if ((o % SECTOR) + b.length > SECTOR) o = Math.ceil(o / SECTOR) * SECTOR;
    b.copy(out, o);
    o += b.length;
  };
  const parent = dir === root ? root : ns.parents.get(dir)!;
  put({ id: '\0', lba: ns.dirLba.get(dir)!, size, flags: RecordFlags.Directory, recorded: dir === root ? date : dir.mtime });
  put({ id: '\x01', lba: ns.dirLba.get(parent)!, size: ns.dirBytes.get(parent)!, flags: RecordFlags.Directory, recorded: parent === root ? date : parent.mtime });
  for (const { id, node } of ns.records.get(dir)!) {
    if (node.type === 'dir') {
      put({ id, lba: ns.dirLba.get(node)!, size: ns.dirBytes.get(node)!, flags: RecordFlags.Directory, recorded: node.mtime });
      continue;
    }
    const lba = layout.fileLba.get(node)!;
    const fileSize = node.source.size;
    let done = 0;
    do {
      const length = Math.min(MAX_EXTENT, fileSize - done);
      const last = done + length >= fileSize;
      put({ id, lba: fileSize === 0 ? 0 : lba + done / SECTOR, size: length, flags: last ? 0 : RecordFlags.MultiExtent, recorded: node.mtime });
      done += length;
    } while (done < fileSize);
  }
  return out;
}

function retargetCatalog(catalog: BootCatalog, placed: PlacedImage[]): BootCatalog {
  let i = 0;
  const move = (e: BootCatalog['defaultEntry']) => ({ ...e, loadRba: placed[i++]!.lba });
  return {
    ...catalog,
    defaultEntry: move(catalog.defaultEntry),
    sections: catalog.sections.map((s) => ({ ...s, entries: s.entries.map(move) })),
  };
}

/** Reads and patches the images whose embedded address tables must follow them; keyed by new LBA. */
async function patchBootImages(placed: PlacedImage[]): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  for (const p of placed) {
    if ((!p.plan.patchBootInfoTable && !p.plan.patchGrub2BootInfo) || p.appended) continue;
    if (out.has(p.lba)) continue;
    if (p.size > MAX_PATCHED_IMAGE_BYTES) throw new IsoRequestError(`boot image of ${p.size} bytes is too large to carry a boot-info-table`);
    const source = p.file?.source ?? p.plan.source!;
    const image = await readSource(source);
    patchBootImage(image, p.lba, { bootInfoTable: p.plan.patchBootInfoTable, grub2BootInfo: p.plan.patchGrub2BootInfo });
    out.set(p.lba, image);
  }
  return out;
}

/** Reads a small source whole (a boot image to patch); a source shorter than listed is refused, naming it. */
async function readSource(source: DataSource): Promise<Buffer> {
  if (source.kind === 'bytes') return Buffer.from(source.data);
  if (source.kind === 'pieces') return Buffer.concat(await Promise.all(source.parts.map(readSource)));
  const buf = Buffer.alloc(source.size);
  const region = regionOf(source)!;
  let fh;
  try {
    fh = await open(region.path, 'r');
  } catch (e) {
    throw inputError(region.path, e);
  }
  try {
    let o = 0;
    for (const r of region.extents) {
      const { bytesRead } = await fh.read(buf, o, r.length, r.offset);
      if (bytesRead !== r.length) throw sourceChanged(region.path, o + bytesRead, source.size, 'a boot image');
      o += r.length;
    }
  } finally {
    await fh.close();
  }
  return buf;
}
