/**
 * Writes a file so that its final path either holds the complete result or nothing: data goes to a temporary file
 * beside the target (same file system, so the rename is atomic) which is renamed on success and removed on failure
 * or on SIGINT/SIGTERM. A SIGKILL leaves only the temporary file, never a partial file at the final path.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import { ensureFreeSpace, outputError } from './io-errors.js';

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


function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(3).toString('hex')}`);
}

export class AtomicFile {
  private done = false;
  private constructor(readonly target: string, readonly tempPath: string, readonly handle: FileHandle) {}

  /** Opens a temporary file for `target`, after checking that `expectedBytes` fit on its file system. */
  static async create(target: string, expectedBytes = 0): Promise<AtomicFile> {
    try {
      await ensureFreeSpace(target, expectedBytes);
    } catch (e) {
      throw writeError(target, e);
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

/**
 * Turns a write failure into a message that says what happened to which file (the table in io-errors.ts): what
 * the user can fix (a full disk, no permission, a missing folder) is bad input, exit 2.
 */
export function writeError(target: string, e: unknown): Error {
  const io = outputError(target, e);
  if (io.fixableByUser) return new InputError(io.message, io.hint, { cause: e });
  return e instanceof Error ? e : new Error(String(e));
}
