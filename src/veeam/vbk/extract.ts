/**
 * `backup ls` and `backup extract` as functions: the listing report, and one internal file streamed to a new file
 * (raw, or a fixed VHD). The output appears at its path only when every block was read and checked.
 */
import { createHash } from 'node:crypto';
import { AtomicFile } from '../../util/atomic-file.js';
import { InputError } from '../../errors.js';
import { describeDisk, type DiskInfo } from './disk-info.js';
import { VbkDamageError } from './errors.js';
import { ItemType } from './layout.js';
import type { Property } from './properties.js';
import { type TreeEntry, VbkReader } from './reader.js';
import { vhdFooter } from './vhd.js';

const KIND: Record<number, string> = { 1: 'folder', 2: 'external file', 3: 'file', 4: 'patch', 5: 'increment' };
/** Files smaller than this are not looked at as disks (Veeam's XML side files). */
const MIN_DISK = 64 * 1024;

export interface ListedItem {
  readonly path: string;
  readonly kind: string;
  readonly depth: number;
  readonly size?: number;
  readonly blocks?: number;
  readonly properties: Property[];
  readonly disk?: DiskInfo;
  /** The disk's first sectors could not be read (damaged blocks): why. */
  readonly diskError?: string;
}

export interface Listing {
  readonly file: string;
  readonly formatVersion: number;
  readonly snapshotVersion: number;
  readonly blockSize: number;
  readonly storedBlocks: number;
  readonly items: ListedItem[];
}

export async function listBackup(path: string, options: { disks?: boolean } = {}): Promise<Listing> {
  const reader = await VbkReader.open(path);
  try {
    const items: ListedItem[] = [];
    for (const e of await reader.tree()) {
      const isFile = e.item.type === ItemType.InternalFile;
      let disk: DiskInfo | undefined;
      let diskError: string | undefined;
      if (isFile && options.disks !== false && (e.item.size ?? 0) >= MIN_DISK) {
        try {
          const d = await describeDisk(reader, e);
          if (d.partitionTable !== 'none' || d.volume) disk = d;
        } catch (err) {
          // A listing still lists a damaged backup; "backup verify" says what is damaged.
          if (!(err instanceof VbkDamageError)) throw err;
          diskError = err.damage.reason;
        }
      }
      items.push({
        path: e.path, kind: KIND[e.item.type] ?? `kind ${e.item.type}`, depth: e.depth,
        ...(e.item.type !== ItemType.Folder ? { size: e.item.size, blocks: e.item.blockCount } : {}),
        properties: await reader.properties(e.item),
        ...(disk ? { disk } : {}),
        ...(diskError ? { diskError } : {}),
      });
    }
    const s = reader.store;
    return {
      file: path, formatVersion: s.header.version, snapshotVersion: Number(s.slot.snapshotVersion), blockSize: s.header.blockSize,
      storedBlocks: s.slot.blockCount, items,
    };
  } finally {
    await reader.close();
  }
}

export interface ExtractResult {
  readonly file: string;
  readonly internalPath: string;
  readonly out: string;
  readonly format: 'raw' | 'vhd';
  /** Bytes of the internal file, and of the output (with padding and footer for a VHD). */
  readonly size: number;
  readonly outBytes: number;
  readonly sha256: string;
}

export async function findEntry(reader: VbkReader, internalPath: string): Promise<TreeEntry> {
  const tree = await reader.tree();
  const want = internalPath.replace(/\\/g, '/').replace(/^\/+|\/+$/g, '');
  const entry = tree.find((e) => e.path === want) ?? tree.filter((e) => e.item.name === want).at(0);
  const files = tree.filter((e) => e.item.type === ItemType.InternalFile).map((e) => `  ${e.path}`);
  if (!entry) {
    throw new InputError(`"${internalPath}" is not in ${reader.path}`, `Internal files there:\n${files.join('\n')}`);
  }
  if (entry.item.type !== ItemType.InternalFile) {
    throw new InputError(`"${entry.path}" in ${reader.path} is a ${KIND[entry.item.type] ?? 'item'}, not a file`, `Internal files there:\n${files.join('\n')}`);
  }
  return entry;
}

export async function extractFile(
  path: string,
  internalPath: string,
  out: string,
  options: { format?: 'raw' | 'vhd'; onProgress?: (done: number, total: number) => void } = {},
): Promise<ExtractResult> {
  const format = options.format ?? 'raw';
  const reader = await VbkReader.open(path);
  try {
    const entry = await findEntry(reader, internalPath);
    const size = entry.item.size ?? 0;
    const pad = format === 'vhd' ? (512 - (size % 512)) % 512 : 0;
    const outBytes = size + pad + (format === 'vhd' ? 512 : 0);
    const file = await AtomicFile.create(out, outBytes);
    const hash = createHash('sha256');
    try {
      let done = 0;
      for await (const chunk of reader.content(entry)) {
        hash.update(chunk);
        await file.handle.write(chunk, 0, chunk.length, done);
        done += chunk.length;
        options.onProgress?.(done, size);
      }
      if (format === 'vhd') await file.handle.write(Buffer.concat([Buffer.alloc(pad), vhdFooter(size + pad)]), 0, pad + 512, done);
      await file.commit();
    } catch (e) {
      await file.abort();
      throw e;
    }
    return { file: path, internalPath: entry.path, out, format, size, outBytes, sha256: hash.digest('hex') };
  } finally {
    await reader.close();
  }
}
