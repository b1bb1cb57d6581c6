/**
 * What the engine reads and updates: a WIM file on disk by its path, or one held open by the caller under a name
 * (the build's boot.wim, seen inside the base ISO through a PatchedFile). The engine needs only positioned reads
 * and writes, truncate, sync and the size; a node FileHandle is one such handle.
 */
import { open } from 'node:fs/promises';
import { InputError } from '../../errors.js';

export interface WimHandle {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  truncate(length: number): Promise<void>;
  sync(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

/** A WIM held open by the caller: `name` stands for it in messages; the engine never closes `handle`. */
export interface HeldWim {
  name: string;
  handle: WimHandle;
}

export type WimFile = string | HeldWim;

export function wimName(file: WimFile): string {
  return typeof file === 'string' ? file : file.name;
}

/** Opens `file` for the engine; closing what it returns leaves a held WIM open. */
export async function openWimFile(file: WimFile, mode: 'r' | 'r+'): Promise<WimHandle> {
  if (typeof file !== 'string') {
    const h = file.handle;
    return {
      read: (b, o, l, p) => h.read(b, o, l, p),
      write: (b, o, l, p) => h.write(b, o, l, p),
      truncate: (l) => h.truncate(l),
      sync: () => h.sync(),
      stat: () => h.stat(),
      close: async () => undefined,
    };
  }
  try {
    return await open(file, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new InputError(`${file}: cannot open the WIM file (${code})`, undefined, { cause: err });
  }
}

