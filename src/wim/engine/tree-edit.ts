/**
 * Edits of an image's directory tree for `wim update`: add or replace a file (creating missing folders), remove a
 * file or folder. Names are matched case-insensitively, as Windows does; new entries are placed in name order so
 * a sorted folder stays sorted. Also the counts the XML data carries, and each blob's references, before and after.
 */
import { InputError } from '../../errors.js';
import { ATTR_ARCHIVE, newDentry, replacedDentry } from './metadata-write.js';
import {
  ATTR_DIRECTORY, type Dentry, dataHash, hardLinkGroup, isDirectory, isReparsePoint, nameKey, referencedHashes, walk, zeroDefaultHash,
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

/** Change of each blob's reference count (hex SHA-1 -> +n/-n) made by the edits, one per dentry and stream. */
export type RefDelta = Map<string, number>;

function count(delta: RefDelta, d: Dentry, sign: 1 | -1): void {
  for (const h of referencedHashes(d)) {
    const k = h.toString('hex');
    delta.set(k, (delta.get(k) ?? 0) + sign);
  }
}

/** Puts a file with data `hash` (undefined: empty) at `segments`, creating folders; replaces an existing file. */
export function addFile(root: Dentry, segments: readonly string[], hash: Buffer | undefined, time: bigint, shown: string, delta: RefDelta): void {
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
    const d = newDentry(name, ATTR_ARCHIVE, hash, time);
    insertSorted(dir, d);
    count(delta, d, 1);
    return;
  }
  if (isDirectory(existing)) throw new InputError(`${shown}: is a folder in the image; only files can be replaced`);
  if (isReparsePoint(existing)) throw new InputError(`${shown}: is a link (reparse point) in the image; it is left alone`);
  const list = dir.children!;
  const replaced = replacedDentry(existing, hash, time);
  list[list.indexOf(existing)] = replaced;
  count(delta, existing, -1);
  count(delta, replaced, 1);
}

/** Removes the file or folder (with everything in it) at `segments`. */
export function removePath(root: Dentry, segments: readonly string[], shown: string, delta: RefDelta): void {
  let dir = root;
  for (const seg of segments.slice(0, -1)) {
    const next = childOf(dir, seg);
    if (!next || !isDirectory(next)) throw new InputError(`${shown}: not in the image (nothing to remove)`);
    dir = next;
  }
  const target = childOf(dir, segments[segments.length - 1]!);
  if (!target) throw new InputError(`${shown}: not in the image (nothing to remove)`);
  dir.children!.splice(dir.children!.indexOf(target), 1);
  for (const d of walk(target)) count(delta, d, -1);
}

/**
 * DIRCOUNT (folders, the root included), FILECOUNT (everything else, each hard link counted), TOTALBYTES (data of
 * every entry, links counted each time) and HARDLINKBYTES (the bytes of links beyond the first), as wimlib counts.
 * `sizeOf(b, at)` is the size of the blob whose SHA-1 is at `b[at..at+20]` (0 when unknown).
 */
export function imageStats(root: Dentry, sizeOf: (b: Buffer, at: number) => number): ImageStats {
  const s: ImageStats = { dirCount: 0, fileCount: 0, totalBytes: 0, hardLinkBytes: 0 };
  const seenGroups = new Set<string>();
  const stack: Dentry[] = [root];
  while (stack.length > 0) {
    const d = stack.pop()!;
    if (isDirectory(d)) {
      s.dirCount++;
      const children = d.children;
      if (children) for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!); // depth first, in order
      continue;
    }
    s.fileCount++;
    let size = 0;
    if (!isReparsePoint(d) && !zeroDefaultHash(d)) size = sizeOf(d.buf, d.off + 0x40);
    else if (d.streams.length > 0) {
      const h = dataHash(d);
      size = h ? sizeOf(h, 0) : 0;
    }
    s.totalBytes += size;
    const g = hardLinkGroup(d);
    if (g !== '') {
      if (seenGroups.has(g)) s.hardLinkBytes += size;
      else seenGroups.add(g);
    }
  }
  return s;
}
