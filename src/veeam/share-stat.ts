/**
 * How the audit stats a chain's backup files (8,760 for a year of hourly points): one after the other when the share
 * is on a local disk, where a stat takes a microsecond and handing each to the thread pool and back cost four times
 * the stat itself; in parallel (health.ts's default) anywhere else, where each one is a network round trip that only
 * overlapping hides. A file system that cannot be told local (SMB, NFS, FUSE, Windows) is treated as remote.
 */
import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { StatResult } from './health.js';

/** Linux `statfs` f_type of local disk and memory file systems. */
const LOCAL_FS_TYPES: ReadonlySet<number> = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x2fc12fc1, // zfs
  0xf2f52010, // f2fs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs
]);

/** A stat for files under `root`: synchronous on a local disk, undefined (use the parallel default) otherwise. */
export async function shareStat(root: string): Promise<((path: string) => StatResult) | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    if (!LOCAL_FS_TYPES.has((await statfs(root)).type)) return undefined;
  } catch {
    return undefined;
  }
  // Same answers as the parallel stat: a result or the error (ENOENT and others), only without the round trip.
  return (path) => statSync(path);
}
