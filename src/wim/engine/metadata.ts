/**
 * An image's metadata resource: security data, then the directory tree as dentries ([MS-WIM]; field layout as
 * documented by wimlib's `struct wim_dentry_on_disk`). Every dentry is kept as the bytes it was read from, so
 * attributes, security ids, times, short names, hard link groups, reparse data and tagged items survive an update
 * untouched; only the child offsets are recomputed when the tree is written again (see metadata-write.ts).
 *
 * Dentry (fixed part, 0x66 bytes): 0x00 length, 0x08 attributes, 0x0C security id, 0x10 offset of the first child,
 * 0x28/0x30/0x38 creation/access/write time, 0x40 SHA-1 of the default stream, 0x58 reparse tag or hard link group
 * id, 0x60 number of extra stream entries, 0x62 short name bytes, 0x64 name bytes, then the UTF-16LE names
 * (each followed by a 2-byte NUL when present), padded to 8. Extra stream entries follow: 0x00 length, 0x10 SHA-1,
 * 0x24 name bytes, 0x26 name. A child list ends with 8 zero bytes.
 */
import { WimFormatError } from './errors.js';
import { u64 } from './resource.js';

export const DENTRY_FIXED = 0x66;
export const STREAM_FIXED = 0x26;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_REPARSE_POINT = 0x400;
export const ZERO_HASH = Buffer.alloc(20);
/** Deepest directory nesting accepted (Windows paths stop at 32767 characters; this is far beyond real images). */
const MAX_DEPTH = 1024;

export interface StreamEntry {
  raw: Buffer;
  name: string;
  hash: Buffer;
}

export interface Dentry {
  /** The dentry's own bytes (fixed part, names, tagged items, padded to 8). */
  raw: Buffer;
  name: string;
  streams: StreamEntry[];
  /** Set for directories (possibly empty). */
  children?: Dentry[];
}

export interface ImageMetadata {
  /** Security data block as read, padded to 8 bytes. */
  security: Buffer;
  securityCount: number;
  root: Dentry;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

export const attributes = (d: Dentry): number => d.raw.readUInt32LE(0x08);
export const isDirectory = (d: Dentry): boolean => (attributes(d) & ATTR_DIRECTORY) !== 0;
export const isReparsePoint = (d: Dentry): boolean => (attributes(d) & ATTR_REPARSE_POINT) !== 0;
export const defaultHash = (d: Dentry): Buffer => d.raw.subarray(0x40, 0x54);
/** The hard link group id as a hex string, '' for none (a reparse point has its tag there instead). */
export const hardLinkGroup = (d: Dentry): string =>
  isReparsePoint(d) || (d.raw.readUInt32LE(0x58) === 0 && d.raw.readUInt32LE(0x5c) === 0) ? '' : d.raw.toString('hex', 0x58, 0x60);
export const securityId = (d: Dentry): number => d.raw.readInt32LE(0x0c);
export const isZeroHash = (h: Buffer): boolean => h.equals(ZERO_HASH);
/** The default stream's hash is all zero (checked in place: no Buffer made per dentry). */
const zeroDefaultHash = (d: Dentry): boolean => {
  const r = d.raw;
  return (r.readUInt32LE(0x40) | r.readUInt32LE(0x44) | r.readUInt32LE(0x48) | r.readUInt32LE(0x4c) | r.readUInt32LE(0x50)) === 0;
};
/** Shared by every dentry without extra streams (never changed in place). */
const NO_STREAMS: StreamEntry[] = [];

/** The hash of the file's data (unnamed stream), or undefined for an empty file. */
export function dataHash(d: Dentry): Buffer | undefined {
  if (!isReparsePoint(d) && !zeroDefaultHash(d)) return defaultHash(d);
  if (d.streams.length === 0) return undefined;
  const unnamed = d.streams.find((s) => s.name === '' && !isZeroHash(s.hash));
  return unnamed?.hash;
}

/** Every blob hash this dentry refers to (default stream and extra streams), one entry per reference. */
export function referencedHashes(d: Dentry): Buffer[] {
  const out: Buffer[] = [];
  if (!zeroDefaultHash(d)) out.push(defaultHash(d));
  for (const s of d.streams) if (!isZeroHash(s.hash)) out.push(s.hash);
  return out;
}

function utf16(b: Buffer, off: number, n: number): string {
  return b.toString('utf16le', off, off + n);
}

interface ParseState {
  buf: Buffer;
  visited: Set<number>;
  count: number;
}

/** Reads one dentry at `off`; returns it and the offset just after it (and its stream entries). */
function readDentry(st: ParseState, off: number): { d: Dentry; next: number; subdir: number } | undefined {
  const b = st.buf;
  if (off + 8 > b.length) throw new WimFormatError(`metadata: directory entry at ${off} runs past the end`);
  const length = u64(b, off, 'metadata: directory entry length');
  if (length === 0) return undefined;
  if (length < DENTRY_FIXED || off + length > b.length) {
    throw new WimFormatError(`metadata: directory entry at ${off} has an impossible length ${length}`);
  }
  const nameBytes = b.readUInt16LE(off + 0x64);
  const shortBytes = b.readUInt16LE(off + 0x62);
  const numStreams = b.readUInt16LE(off + 0x60);
  if (nameBytes % 2 || shortBytes % 2 || DENTRY_FIXED + nameBytes + shortBytes > length) {
    throw new WimFormatError(`metadata: directory entry at ${off}: name lengths do not fit its length`);
  }
  const name = utf16(b, off + DENTRY_FIXED, nameBytes);
  const ownEnd = off + align8(length);
  if (ownEnd > b.length) throw new WimFormatError(`metadata: directory entry at ${off} runs past the end`);
  const raw = b.subarray(off, ownEnd);
  let p = ownEnd;
  const streams: StreamEntry[] = numStreams === 0 ? NO_STREAMS : [];
  for (let i = 0; i < numStreams; i++) {
    if (p + STREAM_FIXED > b.length) throw new WimFormatError(`metadata: stream entry at ${p} runs past the end`);
    const slen = u64(b, p, 'metadata: stream entry length');
    const snameBytes = b.readUInt16LE(p + 0x24);
    if (slen < STREAM_FIXED || p + align8(slen) > b.length || STREAM_FIXED + snameBytes > slen || snameBytes % 2) {
      throw new WimFormatError(`metadata: stream entry at ${p} has an impossible length`);
    }
    const sraw = b.subarray(p, p + align8(slen));
    streams.push({ raw: sraw, name: utf16(b, p + STREAM_FIXED, snameBytes), hash: sraw.subarray(0x10, 0x24) });
    p += align8(slen);
  }
  if (++st.count > b.length / 8) throw new WimFormatError('metadata: more directory entries than its size allows');
  return { d: { raw, name, streams }, next: p, subdir: u64(b, off + 0x10, 'metadata: child list offset') };
}

function readChildren(st: ParseState, dir: Dentry, subdir: number, depth: number): void {
  dir.children = [];
  if (subdir === 0) return;
  if (depth > MAX_DEPTH) throw new WimFormatError(`metadata: directories nested deeper than ${MAX_DEPTH}`);
  if (st.visited.has(subdir)) throw new WimFormatError(`metadata: two directories share the child list at ${subdir} (a loop)`);
  st.visited.add(subdir);
  let off = subdir;
  for (;;) {
    const r = readDentry(st, off);
    if (!r) break;
    if (r.d.name === '') throw new WimFormatError(`metadata: directory entry at ${off} has no name`);
    dir.children.push(r.d);
    if (isDirectory(r.d)) readChildren(st, r.d, r.subdir, depth + 1);
    off = r.next;
  }
}

/** Parses a decompressed metadata resource. Throws WimFormatError for anything out of bounds or looping. */
export function parseMetadata(buf: Buffer): ImageMetadata {
  if (buf.length < 8) throw new WimFormatError('metadata resource is too short for its security data');
  const total = buf.readUInt32LE(0);
  const securityCount = buf.readUInt32LE(4);
  const secEnd = align8(Math.max(total, 8));
  if (secEnd > buf.length || 8 + securityCount * 8 > Math.max(total, 8)) {
    throw new WimFormatError(`metadata: security data (${total} bytes, ${securityCount} entries) does not fit`);
  }
  const st: ParseState = { buf, visited: new Set(), count: 0 };
  const r = readDentry(st, secEnd);
  if (!r) throw new WimFormatError('metadata: the image has no root directory');
  if (!isDirectory(r.d)) throw new WimFormatError('metadata: the root entry is not a directory');
  readChildren(st, r.d, r.subdir, 0);
  for (const d of walk(r.d)) {
    const sid = securityId(d);
    if (sid < -1 || sid >= securityCount) throw new WimFormatError(`metadata: "${d.name}" names security descriptor ${sid} of ${securityCount}`);
  }
  return { security: buf.subarray(0, secEnd), securityCount, root: r.d };
}

/** Every dentry below (and including) `root`, depth first. */
export function* walk(root: Dentry): Generator<Dentry> {
  const stack: Dentry[] = [root];
  while (stack.length > 0) {
    const d = stack.pop()!;
    yield d;
    if (d.children) for (let i = d.children.length - 1; i >= 0; i--) stack.push(d.children[i]!);
  }
}

/** Case-insensitive name comparison key, as Windows compares names. */
export const nameKey = (s: string): string => s.toUpperCase();

/** The dentry at `/a/b/c` (case-insensitive), or undefined. */
export function lookup(root: Dentry, segments: readonly string[]): Dentry | undefined {
  let d: Dentry | undefined = root;
  for (const seg of segments) {
    const key = nameKey(seg);
    d = d?.children?.find((c) => nameKey(c.name) === key);
    if (!d) return undefined;
  }
  return d;
}
