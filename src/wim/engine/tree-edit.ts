/**
 * Edits of an image's directory tree for `wim update`: add or replace a file (creating missing folders), remove a
 * file or folder. Names are matched case-insensitively, as Windows does; new entries are placed in name order so
 * a sorted folder stays sorted. Also the counts the XML data carries, and each blob's references, before and after.
 */
import { InputError } from '../../errors.js';
import { ATTR_ARCHIVE, newDentry, replacedDentry } from './metadata-write.js';
import {
  ATTR_DIRECTORY, type Dentry, dataHash, hardLinkGroup, isDirectory, isReparsePoint, nameKey, referencedHashes, walk,
} from './metadata.js';
import type { ImageStats } from './xml.js';

function childOf(dir: Dentry, name: string): Dentry | undefined {
  const key = nameKey(name);
  return dir.children?.find((c) => nameKey(c.name) === key);
}

function insertSorted(dir: Dentry, d: Dentry): void {
  const list = (dir.children ??= []);
  const key = nameKey(d.name);
  let i = list.findIndex((c) => nameKey(c.name) > key);
  if (i < 0) i = list.length;
  list.splice(i, 0, d);
}

/** Puts a file with data `hash` (undefined: empty) at `segments`, creating folders; replaces an existing file. */
export function addFile(root: Dentry, segments: readonly string[], hash: Buffer | undefined, time: bigint, shown: string): void {
  let dir = root;
  for (const seg of segments.slice(0, -1)) {
    let next = childOf(dir, seg);
    if (!next) {
      next = newDentry(seg, ATTR_DIRECTORY, undefined, time);
      insertSorted(dir, next);
    } else if (!isDirectory(next) || isReparsePoint(next)) {
      throw new InputError(`${shown}: "${next.name}" on the way is a file or a link in the image, not a folder`);
    }
    dir = next;
  }
  const name = segments[segments.length - 1]!;
  const existing = childOf(dir, name);
  if (!existing) {
    insertSorted(dir, newDentry(name, ATTR_ARCHIVE, hash, time));
    return;
  }
  if (isDirectory(existing)) throw new InputError(`${shown}: is a folder in the image; only files can be replaced`);
  if (isReparsePoint(existing)) throw new InputError(`${shown}: is a link (reparse point) in the image; it is left alone`);
  const list = dir.children!;
  list[list.indexOf(existing)] = replacedDentry(existing, hash, time);
}

/** Removes the file or folder (with everything in it) at `segments`. */
export function removePath(root: Dentry, segments: readonly string[], shown: string): void {
  let dir = root;
  for (const seg of segments.slice(0, -1)) {
    const next = childOf(dir, seg);
    if (!next || !isDirectory(next)) throw new InputError(`${shown}: not in the image (nothing to remove)`);
    dir = next;
  }
  const target = childOf(dir, segments[segments.length - 1]!);
  if (!target) throw new InputError(`${shown}: not in the image (nothing to remove)`);
  dir.children!.splice(dir.children!.indexOf(target), 1);
}

/** How many references the tree holds to each blob (hex SHA-1 -> count), one per dentry and stream. */
export function countReferences(root: Dentry): Map<string, number> {
  const refs = new Map<string, number>();
  for (const d of walk(root)) {
    for (const h of referencedHashes(d)) {
      const k = h.toString('hex');
      refs.set(k, (refs.get(k) ?? 0) + 1);
    }
  }
  return refs;
}

/**
 * DIRCOUNT (folders, the root included), FILECOUNT (everything else, each hard link counted), TOTALBYTES (data of
 * every entry, links counted each time) and HARDLINKBYTES (the bytes of links beyond the first), as wimlib counts.
 */
export function imageStats(root: Dentry, sizeOf: (hash: Buffer) => number): ImageStats {
  const s: ImageStats = { dirCount: 0, fileCount: 0, totalBytes: 0, hardLinkBytes: 0 };
  const seenGroups = new Set<bigint>();
  for (const d of walk(root)) {
    if (isDirectory(d)) {
      s.dirCount++;
      continue;
    }
    s.fileCount++;
    const h = dataHash(d);
    const size = h ? sizeOf(h) : 0;
    s.totalBytes += size;
    const g = hardLinkGroup(d);
    if (g !== 0n) {
      if (seenGroups.has(g)) s.hardLinkBytes += size;
      else seenGroups.add(g);
    }
  }
  return s;
}
