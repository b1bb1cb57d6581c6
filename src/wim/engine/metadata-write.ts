/**
 * Writing an image's metadata resource again after an edit: the security data as it was, then every dentry as it
 * was read (see metadata.ts) with only its child-list offset recomputed, the root first and child lists after it
 * in breadth-first order, each list ended by 8 zero bytes (every directory gets one, even an empty one).
 * New dentries (added files and folders) are built here.
 */
import { createHash } from 'node:crypto';
import { writeU64 } from './resource.js';
import { Dentry, DENTRY_FIXED, ATTR_DIRECTORY, ATTR_REPARSE_POINT, isDirectory } from './metadata.js';

const align8 = (n: number): number => Math.ceil(n / 8) * 8;
const FILETIME_EPOCH_OFFSET = 11_644_473_600_000n; // ms from 1601-01-01 to 1970-01-01

/** A JS time as a Windows FILETIME (100 ns units since 1601). */
export function toFiletime(ms: number): bigint {
  return (BigInt(Math.floor(ms)) + FILETIME_EPOCH_OFFSET) * 10_000n;
}

export const ATTR_ARCHIVE = 0x20;

/** A new dentry: no security descriptor (applied files inherit their folder's), no short name, no extra streams. */
export function newDentry(name: string, attributes: number, hash: Buffer | undefined, time: bigint): Dentry {
  const nameBytes = Buffer.from(name, 'utf16le');
  const length = align8(DENTRY_FIXED + nameBytes.length + 2);
  const raw = Buffer.alloc(length);
  writeU64(raw, length, 0x00);
  raw.writeUInt32LE(attributes, 0x08);
  raw.writeInt32LE(-1, 0x0c);
  raw.writeBigUInt64LE(time, 0x28);
  raw.writeBigUInt64LE(time, 0x30);
  raw.writeBigUInt64LE(time, 0x38);
  if (hash) hash.copy(raw, 0x40);
  raw.writeUInt16LE(nameBytes.length, 0x64);
  nameBytes.copy(raw, DENTRY_FIXED);
  const d = new Dentry(raw, 0, length, []);
  if (attributes & ATTR_DIRECTORY) d.children = [];
  return d;
}

/**
 * `old` with new contents: same name, short name, attributes, security id and creation time; new data hash and
 * write time; leaves its hard link group (the other links keep the old data, as wimlib does); named streams are
 * kept, an unnamed extra stream (the data of a file with named streams) is dropped in favour of the new data.
 */
export function replacedDentry(old: Dentry, hash: Buffer | undefined, time: bigint): Dentry {
  const raw = Buffer.from(old.raw);
  raw.fill(0, 0x40, 0x54);
  if (hash) hash.copy(raw, 0x40);
  raw.writeBigUInt64LE(time, 0x30);
  raw.writeBigUInt64LE(time, 0x38);
  if (!(raw.readUInt32LE(0x08) & ATTR_REPARSE_POINT)) raw.fill(0, 0x58, 0x60);
  const streams = old.streams.filter((s) => s.name !== '');
  raw.writeUInt16LE(streams.length, 0x60);
  return new Dentry(raw, 0, raw.length, streams);
}

/** Bytes of a dentry with its stream entries. */
function size(d: Dentry): number {
  let n = d.end - d.off;
  for (const s of d.streams) n += s.raw.length;
  return n;
}

/** Serializes security data and tree into a metadata resource. */
export function writeMetadata(security: Buffer, root: Dentry): Buffer {
  // Pass 1: where each directory's child list goes (`subdir[i]` for `queue[i]`).
  const queue: Dentry[] = [root];
  const subdir: number[] = [];
  let pos = security.length + size(root) + 8;
  for (let qi = 0; qi < queue.length; qi++) {
    const dir = queue[qi]!;
    subdir.push(pos);
    const children = dir.children;
    if (children) {
      for (const c of children) {
        pos += size(c);
        if (c.children && isDirectory(c)) queue.push(c);
      }
    }
    pos += 8;
  }
  // Pass 2: the bytes, in the same order; a directory's child list offset is the next one in the queue. Entries
  // that lie one after another in the same buffer (a list not edited, as read) are copied in one go, then each
  // one's child list offset is set (files: left alone when already 0, as read).
  const out = Buffer.alloc(pos);
  security.copy(out, 0);
  let w = security.length;
  let nextDir = 0;
  let runBuf: Buffer | undefined;
  let runStart = 0, runEnd = 0, runOut = 0;
  const flush = (): void => {
    if (runBuf && runEnd > runStart) runBuf.copy(out, runOut, runStart, runEnd);
    runBuf = undefined;
  };
  const put = (d: Dentry): void => {
    const contiguous = d.spanEnd > d.end || d.streams.length === 0;
    if (!(contiguous && d.buf === runBuf && d.off === runEnd)) {
      flush();
      runBuf = d.buf;
      runStart = d.off;
      runOut = w;
    }
    runEnd = d.end;
    const at = w;
    w += d.end - d.off;
    if (contiguous) {
      runEnd = d.spanEnd;
      w += d.spanEnd - d.end;
    } else {
      flush();
      for (const s of d.streams) {
        s.raw.copy(out, w);
        w += s.raw.length;
      }
    }
    const isQueued = nextDir < queue.length && queue[nextDir] === d;
    const b = d.buf, o = d.off + 0x10;
    if (isQueued) pending.push(at, subdir[nextDir++]!);
    else if ((b[o]! | b[o + 1]! | b[o + 2]! | b[o + 3]! | b[o + 4]! | b[o + 5]! | b[o + 6]! | b[o + 7]!) !== 0) pending.push(at, 0);
  };
  // (position of an entry in `out`, its child list offset): set once its bytes are copied.
  const pending: number[] = [];
  put(root);
  flush();
  w += 8;
  for (const dir of queue) {
    const children = dir.children;
    if (children) for (const c of children) put(c);
    flush();
    w += 8;
  }
  for (let i = 0; i < pending.length; i += 2) writeU64(out, pending[i + 1]!, pending[i]! + 0x10);
  return out;
}

export function sha1(b: Uint8Array): Buffer {
  return createHash('sha1').update(b).digest();
}
