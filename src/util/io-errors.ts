/**
 * One mapping from operating-system errors to messages, for every file Lifeboat reads or writes in bulk (the ISO
 * and USB images, atomic outputs). The libraries throw `IoError` (no exit code: they are libraries); application
 * code that wants a `LifeboatError` calls `writeError` in atomic-file.ts, which uses the same table.
 */
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HintedError } from './hinted-error.js';

/** What went wrong, in terms a caller can act on. Everything but 'failed' is fixable by the person running it. */
export type IoProblem = 'source-changed' | 'source-unreadable' | 'no-space' | 'not-allowed' | 'no-folder' | 'failed';

export class IoError extends HintedError {
  constructor(
    readonly problem: IoProblem,
    /** The file (or folder) the problem is about. */
    readonly path: string,
    message: string,
    hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, hint, options);
  }

  /** True when the input or the environment is at fault (a full disk, a changed file), not the program. */
  get fixableByUser(): boolean {
    return this.problem !== 'failed';
  }
}

function codeOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function reasonOf(e: unknown): string {
  return codeOf(e) ?? (e instanceof Error ? e.message : String(e));
}

/** A failure while writing `path`, classified. An IoError passes through unchanged. */
export function outputError(path: string, e: unknown): IoError {
  if (e instanceof IoError) return e;
  const code = codeOf(e);
  const cause = { cause: e };
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new IoError('no-space', path, `the disk is full while writing "${path}"`, 'Free some space or choose another output folder, then run again.', cause);
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'EISDIR') {
    return new IoError('not-allowed', path, `cannot write "${path}": not allowed (${code})`, 'Choose an output path you can write to.', cause);
  }
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new IoError('no-folder', path, `cannot write "${path}": its folder does not exist`, 'Create the folder first or choose another output path.', cause);
  }
  return new IoError('failed', path, `writing "${path}" failed: ${reasonOf(e)}`, undefined, cause);
}

/** A failure while opening or reading the input `path`, classified. An IoError passes through unchanged. */
export function inputError(path: string, e: unknown): IoError {
  if (e instanceof IoError) return e;
  const code = codeOf(e);
  const why = code === 'ENOENT' ? 'it does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : reasonOf(e);
  return new IoError('source-unreadable', path, `cannot read "${path}": ${why}`, 'Check that the file exists and is readable.', { cause: e });
}

/** An input that holds fewer bytes than it was listed with: it changed after it was measured. */
export function sourceChanged(path: string, got: number, expected: number, into: string): IoError {
  return new IoError(
    'source-changed', path,
    `"${path}" became shorter while it was being copied into ${into} (read ${got} of ${expected} bytes)`,
    'Do not change the input files while an image is written; run again.',
  );
}

/** Refuses early when the file system holding `target` has less than `bytes` free (a missing folder is left to the open). */
export async function ensureFreeSpace(target: string, bytes: number): Promise<void> {
  if (bytes <= 0) return;
  let free: number;
  try {
    const s = await statfs(dirname(target));
    free = s.bavail * s.bsize;
  } catch {
    return;
  }
  if (free < bytes) {
    throw new IoError(
      'no-space', target,
      `not enough space for "${target}": it needs ${mib(bytes)} MiB and ${dirname(target)} has ${mib(free)} MiB free`,
      'Free some space or choose another output folder.',
    );
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
