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

/**
 * One directory entry. Its own bytes stay where they were read (`buf` at `off` to `end`: the decompressed metadata
 * resource, or a buffer of its own for a new entry), so parsing makes no copy and no Buffer per entry; the name is
 * decoded on first use (an update reads the names of the folders on its paths only).
 */
export class Dentry {
  /** Set for directories (possibly empty). */
  children?: Dentry[];
  private decodedName?: string;

  constructor(
    readonly buf: Buffer,
    readonly off: number,
    readonly end: number,
    readonly streams: StreamEntry[],
    /**
     * Where its stream entries end when they follow it in `buf`, as read (a writer copies the whole span at once);
     * `end` when they do not (new and replaced entries: the streams' own `raw` are written after it).
     */
    readonly spanEnd = end,
  ) {}

  /** The dentry's own bytes (fixed part, names, tagged items, padded to 8). */
  get raw(): Buffer {
    return this.buf.subarray(this.off, this.end);
  }

  get name(): string {
    if (this.decodedName === undefined) {
      const at = this.off + DENTRY_FIXED;
      this.decodedName = this.buf.toString('utf16le', at, at + this.buf.readUInt16LE(this.off + 0x64));
    }
    return this.decodedName;
  }
}

export interface ImageMetadata {
  /** Security data block as read, padded to 8 bytes. */
  security: Buffer;
  securityCount: number;
  root: Dentry;
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

// Field readers work on bytes, not Buffer methods: they run for every entry of a tree, mostly before the JIT has
// compiled them, where each Buffer method call costs more than the few byte loads it does.
export const attributes = (d: Dentry): number => {
  const b = d.buf, o = d.off + 0x08;
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
};
export const isDirectory = (d: Dentry): boolean => (d.buf[d.off + 0x08]! & ATTR_DIRECTORY) !== 0;
export const isReparsePoint = (d: Dentry): boolean => (d.buf[d.off + 0x09]! & (ATTR_REPARSE_POINT >> 8)) !== 0;
export const defaultHash = (d: Dentry): Buffer => d.buf.subarray(d.off + 0x40, d.off + 0x54);
/** The hard link group id as a hex string, '' for none (a reparse point has its tag there instead). */
export const hardLinkGroup = (d: Dentry): string =>
  isReparsePoint(d) || allZero(d.buf, d.off + 0x58, 8) ? '' : d.buf.toString('hex', d.off + 0x58, d.off + 0x60);
export const securityId = (d: Dentry): number => d.buf.readInt32LE(d.off + 0x0c);
export const isZeroHash = (h: Buffer): boolean => h.equals(ZERO_HASH);
/** The default stream's hash is all zero (checked in place: no Buffer made per dentry). */
export const zeroDefaultHash = (d: Dentry): boolean => allZero(d.buf, d.off + 0x40, 20);

function allZero(b: Buffer, at: number, n: number): boolean {
  let v = 0;
  for (let i = 0; i < n; i++) v |= b[at + i]!;
  return v === 0;
}
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
  securityCount: number;
  visited: Set<number>;
  count: number;
  /** Set by readDentry: the offset just after the entry read (and its stream entries), and its child list's. */
  next: number;
  subdir: number;
}

/** Reads one dentry at `off` (undefined: the end of a child list); sets `st.next` and `st.subdir`. */
function readDentry(st: ParseState, off: number): Dentry | undefined {
  const b = st.buf;
  if (off + 8 > b.length) throw new WimFormatError(`metadata: directory entry at ${off} runs past the end`);
  // The length as a 32-bit number when its high half is 0 (always, in a real tree): no call per entry.
  const length = (b[off + 4]! | b[off + 5]! | b[off + 6]! | b[off + 7]!) === 0
    ? (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16)) + b[off + 3]! * 0x100_0000
    : u64(b, off, 'metadata: directory entry length');
  if (length === 0) return undefined;
  if (length < DENTRY_FIXED || off + length > b.length) {
    throw new WimFormatError(`metadata: directory entry at ${off} has an impossible length ${length}`);
  }
  const nameBytes = b[off + 0x64]! | (b[off + 0x65]! << 8);
  const shortBytes = b[off + 0x62]! | (b[off + 0x63]! << 8);
  const numStreams = b[off + 0x60]! | (b[off + 0x61]! << 8);
  if (nameBytes % 2 || shortBytes % 2 || DENTRY_FIXED + nameBytes + shortBytes > length) {
    throw new WimFormatError(`metadata: directory entry at ${off}: name lengths do not fit its length`);
  }
  const ownEnd = off + align8(length);
  if (ownEnd > b.length) throw new WimFormatError(`metadata: directory entry at ${off} runs past the end`);
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
  const d = new Dentry(b, off, ownEnd, streams, p);
  const sid = b[off + 0x0c]! | (b[off + 0x0d]! << 8) | (b[off + 0x0e]! << 16) | (b[off + 0x0f]! << 24); // signed
  if (sid < -1 || sid >= st.securityCount) throw new WimFormatError(`metadata: "${d.name}" names security descriptor ${sid} of ${st.securityCount}`);
  st.next = p;
  const sd = off + 0x10;
  st.subdir = (b[sd + 4]! | b[sd + 5]! | b[sd + 6]! | b[sd + 7]!) === 0
    ? (b[sd]! | (b[sd + 1]! << 8) | (b[sd + 2]! << 16)) + b[sd + 3]! * 0x100_0000
    : u64(b, sd, 'metadata: child list offset');
  return d;
}

function readChildren(st: ParseState, dir: Dentry, subdir: number, depth: number): void {
  const children: Dentry[] = [];
  dir.children = children;
  if (subdir === 0) return;
  if (depth > MAX_DEPTH) throw new WimFormatError(`metadata: directories nested deeper than ${MAX_DEPTH}`);
  if (st.visited.has(subdir)) throw new WimFormatError(`metadata: two directories share the child list at ${subdir} (a loop)`);
  st.visited.add(subdir);
  let off = subdir;
  for (;;) {
    const d = readDentry(st, off);
    if (!d) break;
    if ((st.buf[off + 0x64]! | st.buf[off + 0x65]!) === 0) throw new WimFormatError(`metadata: directory entry at ${off} has no name`);
    children.push(d);
    const next = st.next;
    if (isDirectory(d)) readChildren(st, d, st.subdir, depth + 1);
    off = next;
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
  const st: ParseState = { buf, securityCount, visited: new Set(), count: 0, next: 0, subdir: 0 };
  const root = readDentry(st, secEnd);
  if (!root) throw new WimFormatError('metadata: the image has no root directory');
  if (!isDirectory(root)) throw new WimFormatError('metadata: the root entry is not a directory');
  readChildren(st, root, st.subdir, 0);
  return { security: buf.subarray(0, secEnd), securityCount, root };
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
