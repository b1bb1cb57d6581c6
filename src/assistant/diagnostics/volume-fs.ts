/**
 * Reading a Windows volume from Windows PE (or a folder in tests): names matched ignoring case (NTFS is
 * case-insensitive, the tests run on a case-sensitive file system), and a path followed only while it stays inside
 * the volume (a symlink or junction out of it is refused). Shared by the diagnostics plan and its archive writer.
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const MIB = 1024 * 1024;

export async function openInside(
  root: string,
  rootReal: string,
  rel: string,
): Promise<{ fh: FileHandle; size: number; mtime: Date } | { reason: string }> {
  const parts = rel.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..') || path.isAbsolute(rel)) {
    return { reason: 'not a path inside the volume' };
  }
  const abs = path.join(root, ...parts);
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    try {
      if ((await lstat(abs)).isSymbolicLink()) return { reason: 'dangling symlink' };
    } catch {
      /* fall through */
    }
    return { reason: errCode(err) === 'ENOENT' ? 'no longer exists' : `cannot resolve: ${describeError(err)}` };
  }
  if (!isWithin(rootReal, real)) return { reason: `symlink leads outside the volume (${real})` };
  let fh: FileHandle;
  try {
    fh = await open(real, fsConstants.O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    return { reason: `unreadable: ${describeError(err)}` };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return { reason: `not a regular file (${kindOf(st)})` };
    }
    return { fh, size: st.size, mtime: st.mtime };
  } catch (err) {
    await fh.close().catch(() => {});
    return { reason: `unreadable: ${describeError(err)}` };
  }
}

/** The entry of `dir` named `want` ignoring case; an exact match wins. Null when absent or unlistable. */
export async function matchName(dir: string, want: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  if (names.includes(want)) return want;
  const lower = want.toLowerCase();
  const hits = names.filter((n) => n.toLowerCase() === lower).sort(cmp);
  return hits[0] ?? null;
}

export function isWithin(rootReal: string, real: string): boolean {
  const rel = path.relative(rootReal, real);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'special file';
}

export function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

export function isFsError(err: unknown): boolean {
  const code = errCode(err);
  return code !== undefined && /^E[A-Z]+$/.test(code); // EIO, EACCES, ... (not Node's ERR_* codes)
}

export function describeError(err: unknown): string {
  const code = errCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
}

export function baseName(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? rel : rel.slice(i + 1);
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function fmtMiB(n: number): string {
  return `${Math.round((n / MIB) * 10) / 10} MiB`;
}
