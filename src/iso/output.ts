/**
 * Where an image goes. A path is written through a temporary file beside it (same folder, so the final rename is
 * atomic) that is removed when writing fails; the library installs no signal handlers, so a process killed midway
 * leaves that temporary file (`.NAME.part-PID-RANDOM`). A caller that wants more (clean-up on signals, a set of
 * files committed together) opens the file itself and passes `{ handle, path }`: the library then only writes into
 * the handle and leaves syncing, closing and renaming to the caller.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ensureFreeSpace, outputError } from '../util/io-errors.js';

export type IsoOutput = string | { handle: FileHandle; path: string };

export interface OpenedOutput {
  handle: FileHandle;
  /** The path messages name: the final path. */
  path: string;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Opens `output` for an image of `bytes` bytes, after checking that they fit. */
export async function openOutput(output: IsoOutput, bytes: number): Promise<OpenedOutput> {
  if (typeof output !== 'string') {
    await ensureFreeSpace(output.path, bytes);
    return { handle: output.handle, path: output.path, commit: async () => undefined, abort: async () => undefined };
  }
  await ensureFreeSpace(output, bytes);
  const temp = join(dirname(output), `.${basename(output)}.part-${process.pid}-${randomBytes(3).toString('hex')}`);
  let handle: FileHandle;
  try {
    handle = await open(temp, 'wx');
  } catch (e) {
    throw outputError(output, e);
  }
  let open_ = true;
  const abort = async () => {
    if (open_) await handle.close().catch(() => undefined);
    open_ = false;
    await rm(temp, { force: true });
  };
  return {
    handle,
    path: output,
    commit: async () => {
      try {
        await handle.sync();
        await handle.close();
        open_ = false;
        await rename(temp, output);
      } catch (e) {
        await abort();
        throw outputError(output, e);
      }
    },
    abort,
  };
}
