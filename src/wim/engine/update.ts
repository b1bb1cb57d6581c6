/**
 * `wim update` in append mode, as wimlib does by default. Nothing before the old end of the file is written until
 * the very last step:
 *   1. new file data (each blob not already in the WIM), stored uncompressed, after the old end;
 *   2. the changed image's new metadata resource (uncompressed);
 *   3. a new blob table (reference counts adjusted, unreferenced blobs dropped), the XML data, and the integrity
 *      table when the WIM had one;
 *   4. flush, then the 208-byte header pointing at the new parts, then flush again.
 * Untouched resources are neither moved nor recompressed. Killed before step 4, the old header still describes
 * the old WIM, which stays valid (only trailing bytes were added); on an error the file is cut back to its old size.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { InputError, JobError } from '../../errors.js';
import { WIM_HEADER_SIZE } from '../header.js';
import { toImagePath } from '../image-path.js';
import { WimArchive, asInputError } from './archive.js';
import { BLOB_ENTRY_SIZE, BLOB_REFCOUNT_AT, type BlobEntry, copyBlobRows, serializeBlobEntry } from './blob-table.js';
import { buildIntegrityTable } from './integrity.js';
import { imageKey, remember } from './parsed-cache.js';
import { sha1, toFiletime, writeMetadata } from './metadata-write.js';
import { RESHDR_FLAG_METADATA, type ResourceHeader, writeReshdr } from './resource.js';
import { type RefDelta, addFile, imageStats, removePath } from './tree-edit.js';
import { encodeXml, updateXml } from './xml.js';
import { type WimFile, type WimHandle, wimName } from './wim-file.js';

export interface UpdatePlan {
  /** 1-based image to change. */
  index: number;
  /** Host file -> path in the image. */
  add: { source: string; target: string }[];
  /** Paths in the image to remove (files, or folders with everything in them). Applied before the additions. */
  remove: string[];
}

export interface UpdateResult {
  index: number;
  added: { target: string; bytes: number; sha1: string; stored: boolean }[];
  removed: string[];
  /** Bytes appended to the WIM. */
  appendedBytes: number;
  integrity: boolean;
}

export interface UpdateOptions {
  /** Time for new entries and the XML (default now). */
  now?: number;
  onProgress?: (what: string, done: number, total: number) => void;
}

const COPY_BUFFER = 1 * 2 ** 20;

async function hashFile(path: string): Promise<{ hash: Buffer; size: number }> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha1');
    const buf = Buffer.allocUnsafe(COPY_BUFFER);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, size);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { hash: h.digest(), size };
  } finally {
    await fh.close();
  }
}

/** Copies `path` to `out` at `at`; the data must still hash to `hash` (the file did not change meanwhile). */
async function copyInto(path: string, out: WimHandle, at: number, size: number, hash: Buffer): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha1');
    const buf = Buffer.allocUnsafe(COPY_BUFFER);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - done), done);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      await writeAll(out, buf.subarray(0, bytesRead), at + done);
      done += bytesRead;
    }
    if (done !== size || !h.digest().equals(hash)) throw new JobError(`${path}: changed while it was being added; run the update again`);
  } finally {
    await fh.close();
  }
}

async function writeAll(fh: WimHandle, b: Buffer, at: number): Promise<void> {
  let done = 0;
  while (done < b.length) {
    const { bytesWritten } = await fh.write(b, done, b.length - done, at + done);
    done += bytesWritten;
  }
}

async function checkSources(plan: UpdatePlan): Promise<{ source: string; target: string; segments: string[] }[]> {
  const seen = new Set<string>();
  const out = [];
  for (const r of plan.remove) toImagePath(r);
  for (const a of plan.add) {
    const target = toImagePath(a.target);
    const key = target.toUpperCase();
    if (seen.has(key)) throw new InputError(`${target}: given twice in one update`);
    seen.add(key);
    const st = await stat(a.source).catch((err: unknown) => {
      throw new InputError(`${a.source}: cannot read the file to add (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    });
    if (!st.isFile()) throw new InputError(`${a.source}: not a regular file; only files can be added (one --add per file)`);
    out.push({ source: a.source, target, segments: target.split('/').slice(1) });
  }
  return out;
}

/** Applies `plan` to the WIM in place (append mode). Damaged WIM or bad plan: InputError. */
export async function updateWim(file: WimFile, plan: UpdatePlan, opts: UpdateOptions = {}): Promise<UpdateResult> {
  const path = wimName(file);
  const adds = await checkSources(plan);
  const wim = await WimArchive.open(file, 'r+');
  const oldSize = wim.fileSize;
  let appended = false;
  try {
    const h = wim.header;
    if (h.flags & 0x4) throw new InputError(`${path}: the WIM is marked read-only in its header`);
    const image = await wim.image(plan.index, { forEdit: true });
    const time = toFiletime(opts.now ?? Date.now());
    const delta: RefDelta = new Map();
    for (const r of plan.remove) removePath(image.root, toImagePath(r).split('/').slice(1), toImagePath(r), delta);
    const fh = wim.handle;
    let at = oldSize;
    const newBlobs = new Map<string, BlobEntry>();
    const result: UpdateResult = { index: plan.index, added: [], removed: plan.remove.map(toImagePath), appendedBytes: 0, integrity: false };
    const totalBytes = (await Promise.all(adds.map((a) => stat(a.source)))).reduce((n, st) => n + st.size, 0);
    let doneBytes = 0;
    for (const a of adds) {
      const { hash, size } = await hashFile(a.source);
      const key = hash.toString('hex');
      const stored = size > 0 && !wim.blob(hash) && !newBlobs.has(key);
      if (stored) {
        appended = true;
        await copyInto(a.source, fh, at, size, hash);
        newBlobs.set(key, { reshdr: { sizeInWim: size, flags: 0, offset: at, originalSize: size }, partNumber: 1, refCount: 0, hash });
        at += size;
      }
      addFile(image.root, a.segments, size > 0 ? hash : undefined, time, a.target, delta);
      result.added.push({ target: a.target, bytes: size, sha1: key, stored });
      doneBytes += size;
      opts.onProgress?.('adding files', doneBytes, totalBytes);
    }

    const meta = writeMetadata(image.security, image.root);
    appended = true;
    await writeAll(fh, meta, at);
    const metaEntry: BlobEntry = {
      reshdr: { sizeInWim: meta.length, flags: RESHDR_FLAG_METADATA, offset: at, originalSize: meta.length },
      partNumber: 1, refCount: 1, hash: sha1(meta),
    };
    at += meta.length;

    // The old table's rows, copied, with their counts changed by `delta`; rows no longer referenced are dropped
    // (their data stays as a hole, as wimlib leaves it); the changed image's metadata row replaced; new data last.
    // Runs of unchanged rows are copied in one go (a real table has thousands of rows, an update changes a few).
    const old = wim.blobTable;
    const special = new Map<number, number>(); // row -> count change (0 for the replaced metadata row)
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const hash = Buffer.from(k, 'hex');
      for (let row = old.find(hash, 0); row >= 0; row = old.find(hash, 0, row)) special.set(row, d);
    }
    const metaRow = old.imageRow(plan.index);
    special.set(metaRow, 0);
    const tableBytes = Buffer.allocUnsafe((old.rows + newBlobs.size) * BLOB_ENTRY_SIZE);
    let rows = 0;
    let from = 0; // first row of the current run of unchanged rows
    for (const row of [...special.keys()].sort((x, y) => x - y)) {
      copyBlobRows(tableBytes, rows * BLOB_ENTRY_SIZE, old, from, row);
      rows += row - from;
      from = row + 1;
      if (row === metaRow) {
        serializeBlobEntry(tableBytes, rows++ * BLOB_ENTRY_SIZE, metaEntry);
        continue;
      }
      const refCount = old.refCount(row) + special.get(row)!;
      if (special.get(row)! < 0 && refCount <= 0) continue;
      copyBlobRows(tableBytes, rows * BLOB_ENTRY_SIZE, old, row, row + 1);
      tableBytes.writeUInt32LE(Math.max(refCount, 1), rows++ * BLOB_ENTRY_SIZE + BLOB_REFCOUNT_AT);
    }
    copyBlobRows(tableBytes, rows * BLOB_ENTRY_SIZE, old, from, old.rows);
    rows += old.rows - from;
    for (const [k, e] of newBlobs) serializeBlobEntry(tableBytes, rows++ * BLOB_ENTRY_SIZE, { ...e, refCount: delta.get(k) ?? 1 });
    const table = tableBytes.subarray(0, rows * BLOB_ENTRY_SIZE);
    const tableHdr: ResourceHeader = { sizeInWim: table.length, flags: RESHDR_FLAG_METADATA, offset: at, originalSize: table.length };
    await writeAll(fh, table, at);
    at += table.length;

    const stats = imageStats(image.root, (b, o) => {
      const row = old.find(b, o);
      return row >= 0 ? old.originalSize(row) : newBlobs.get(b.toString('hex', o, o + 20))?.reshdr.originalSize ?? 0;
    });
    const xml = encodeXml(updateXml(wim.xml, plan.index, stats, time, at));
    const xmlHdr: ResourceHeader = { sizeInWim: xml.length, flags: RESHDR_FLAG_METADATA, offset: at, originalSize: xml.length };
    await writeAll(fh, xml, at);
    at += xml.length;

    let integrityHdr: ResourceHeader = { sizeInWim: 0, flags: 0, offset: 0, originalSize: 0 };
    if (h.integrity.offset !== 0 && h.integrity.sizeInWim !== 0) {
      // The old table lets unchanged chunks be reused; unreadable, everything is hashed again.
      const oldTable = h.integrity.offset + h.integrity.sizeInWim <= oldSize
        ? await wim.readResource(h.integrity, 'integrity table', 64 * 2 ** 20).catch(() => undefined)
        : undefined;
      const blobEnd = tableHdr.offset + tableHdr.sizeInWim;
      const it = await buildIntegrityTable(fh, blobEnd,
        oldTable ? { table: oldTable, coveredEnd: h.blobTable.offset + h.blobTable.sizeInWim } : undefined,
        (d, t) => opts.onProgress?.('integrity table', d, t));
      integrityHdr = { sizeInWim: it.length, flags: 0, offset: at, originalSize: it.length };
      await writeAll(fh, it, at);
      at += it.length;
      result.integrity = true;
    }
    await fh.sync();

    // The switch: one 208-byte write of the header.
    const hb = Buffer.alloc(WIM_HEADER_SIZE);
    await fh.read(hb, 0, WIM_HEADER_SIZE, 0);
    writeReshdr(hb, 0x30, tableHdr);
    writeReshdr(hb, 0x48, xmlHdr);
    if (h.bootIndex === plan.index) writeReshdr(hb, 0x60, metaEntry.reshdr);
    writeReshdr(hb, 0x7c, integrityHdr);
    hb.writeUInt32LE(h.flags & ~0x40, 0x10); // never leave "write in progress" set
    await writeAll(fh, hb, 0);
    await fh.sync();
    // The edited tree is what the new metadata resource holds: later reads in this process need not parse it.
    remember(imageKey(path, metaEntry.reshdr, { compression: wim.compression, chunkSize: h.chunkSize }, metaEntry.hash), meta, image);
    result.appendedBytes = at - oldSize;
    return result;
  } catch (err) {
    if (appended) await wim.handle.truncate(oldSize).catch(() => undefined);
    throw asInputError(err, path);
  } finally {
    await wim.close();
  }
}
