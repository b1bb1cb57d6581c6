/**
 * Writes a file so that its final path either holds the complete result or nothing: data goes to a temporary file
 * beside the target (same file system, so the rename is atomic) which is renamed on success and removed on failure
 * or on SIGINT/SIGTERM. A SIGKILL leaves only the temporary file, never a partial file at the final path.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type FileHandle, open, rename, rm, statfs } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.js';

const live = new Set<string>();
let handlersInstalled = false;

function installSignalCleanup(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const path of live) {
        try {
          // Synchronous on purpose: the process is about to exit.
          rmSync(path, { force: true });
        } catch {
          /* nothing more to do */
        }
      }
      process.kill(process.pid, signal);
    });
  }
}


export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
}

export class AtomicFile {
  private done = false;
  private constructor(readonly target: string, readonly tempPath: string, readonly handle: FileHandle) {}

  /** Opens a temporary file for `target`, after checking that `expectedBytes` fit on its file system. */
  static async create(target: string, expectedBytes = 0): Promise<AtomicFile> {
    const dir = dirname(target);
    if (expectedBytes > 0) {
      try {
        const fs = await statfs(dir);
        const free = fs.bavail * fs.bsize;
        if (free < expectedBytes) {
          throw new InputError(
            `not enough space for "${target}": it needs ${mib(expectedBytes)} MiB and ${dir} has ${mib(free)} MiB free`,
            'Free some space or choose another output folder.',
          );
        }
      } catch (e) {
        if (e instanceof InputError) throw e;
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new InputError(`the output folder "${dir}" does not exist`, 'Create it first or choose another output path.');
        }
      }
    }
    installSignalCleanup();
    const tempPath = tempPathFor(target);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, 'wx');
    } catch (e) {
      throw writeError(target, e);
    }
    live.add(tempPath);
    return new AtomicFile(target, tempPath, handle);
  }

  /** Flushes to disk and moves the file into place. */
  async commit(): Promise<void> {
    try {
      await this.handle.sync();
      await this.handle.close();
      await rename(this.tempPath, this.target);
    } catch (e) {
      await this.abort();
      throw writeError(this.target, e);
    } finally {
      live.delete(this.tempPath);
      this.done = true;
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.handle.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
    live.delete(this.tempPath);
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}

/** Turns a write failure into a message that says what happened to which file; a full disk is bad input (exit 2). */
export function writeError(target: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new InputError(`the disk is full while writing "${target}"; nothing was left at that path`, 'Free some space or choose another output folder, then run again.');
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new InputError(`cannot write "${target}": permission denied (${code})`, 'Choose an output folder you can write to.');
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new InputError(`cannot write "${target}": its folder does not exist`, 'Create the folder first or choose another output path.');
  }
  return e instanceof Error ? e : new Error(String(e));
}
