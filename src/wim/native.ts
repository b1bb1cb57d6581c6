/**
 * Our own WIM engine behind the WimBackend interface (name `lifeboat`): pure TypeScript, no external tool, the
 * same on Windows, Linux and macOS. Reads through engine/archive.ts, updates through engine/update.ts (append mode).
 */
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { WimBackend, WimFileToAdd } from './backend.js';
import { MAX_READ_BYTES } from './exec.js';
import { checkImageIndex, effectiveBootIndex, readWimHeader } from './header.js';
import { toImagePath } from './image-path.js';
import { WimArchive } from './engine/archive.js';
import { dataHash, isDirectory, isReparsePoint, lookup } from './engine/metadata.js';
import { updateWim } from './engine/update.js';
import { type WimFile, type WimHandle, wimName } from './engine/wim-file.js';

/** A file's bytes from image `index` (undefined when absent), bounded by `maxBytes`. */
export async function readWimFile(file: WimFile, index: number, path: string, maxBytes = MAX_READ_BYTES): Promise<Buffer | undefined> {
  const inner = toImagePath(path);
  const wim = wimName(file);
  const a = await WimArchive.open(file);
  try {
    checkImageIndex(a.header, index, wim);
    const img = await a.image(index);
    const d = lookup(img.root, inner.split('/').slice(1));
    if (!d) return undefined;
    if (isDirectory(d) || isReparsePoint(d)) {
      throw new InputError(`${wim}: ${inner} in image ${index} is not a regular file (a directory or a link)`);
    }
    const hash = dataHash(d);
    if (!hash) return Buffer.alloc(0);
    const size = a.blob(hash)?.reshdr.originalSize ?? 0;
    if (size > maxBytes) throw new InputError(`${wim}: ${inner} in image ${index} is larger than ${maxBytes} bytes; refusing to read it`);
    return await a.readBlob(hash, maxBytes, `${inner} in image ${index}`);
  } finally {
    await a.close();
  }
}

/**
 * `held`: WIMs the caller holds open, by the name they go by (the build's boot.wim inside the base ISO); every
 * other name is a path on disk.
 */
export class NativeWimBackend implements WimBackend {
  readonly name = 'lifeboat' as const;

  constructor(private readonly held: ReadonlyMap<string, WimHandle> = new Map()) {}

  /** The same engine, with `handle` also reachable as `name`. */
  holding(name: string, handle: WimHandle): NativeWimBackend {
    return new NativeWimBackend(new Map([...this.held, [name, handle]]));
  }

  async available(): Promise<boolean> {
    return true;
  }

  /** From the header alone (the rest of the WIM is checked by the read that always follows). */
  async bootIndex(wim: string): Promise<number> {
    const file = this.file(wim);
    return effectiveBootIndex(await readWimHeader(file), wimName(file));
  }

  readFile(wim: string, index: number, path: string, maxBytes?: number): Promise<Buffer | undefined> {
    return readWimFile(this.file(wim), index, path, maxBytes);
  }

  async addFiles(wim: string, index: number, files: WimFileToAdd[]): Promise<void> {
    if (files.length === 0) return;
    await updateWim(this.file(wim), { index, add: files.map((f) => ({ source: resolve(f.source), target: f.target })), remove: [] });
  }

  private file(wim: string): WimFile {
    const handle = this.held.get(wim);
    return handle ? { name: wim, handle } : resolve(wim);
  }
}
