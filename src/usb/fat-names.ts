/**
 * FAT directory names: validation of long names, 8.3 short-name generation (the basis name and numeric-tail
 * algorithm from Microsoft's FAT specification) and the long-file-name (LFN) entries with their checksum.
 *
 * Short names are kept as the 11-byte on-disk form ("NAME    EXT") in plain ASCII: characters outside ASCII become
 * '_' (a "lossy" conversion, which forces a numeric tail), so no OEM code page is involved.
 */
import { InputError } from '../errors.js';

/** Bytes of one directory entry. */
export const DIR_ENTRY_SIZE = 32;
/** Attribute byte of an LFN entry (READ_ONLY | HIDDEN | SYSTEM | VOLUME_ID). */
export const ATTR_LONG_NAME = 0x0f;
/** UTF-16 code units held by one LFN entry. */
export const LFN_CHARS_PER_ENTRY = 13;
/** Longest long name (UTF-16 code units) FAT allows. */
export const MAX_LONG_NAME = 255;

/** Characters a long name may not contain (besides control characters below 0x20). */
const LONG_NAME_FORBIDDEN = new Set(['"', '*', '/', ':', '<', '>', '?', '\\', '|']);
/** Characters, besides A-Z and 0-9, allowed in a short name. */
const SHORT_NAME_SPECIALS = new Set([...`$%'-_@~\`!(){}^#&`]);

function isShortChar(ch: string): boolean {
  return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || SHORT_NAME_SPECIALS.has(ch);
}

/**
 * Why `name` cannot be a FAT long name, or undefined when it can. Names ending in a space or a period are refused
 * because Windows strips those characters and could never open the file again.
 */
export function longNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name === '.' || name === '..') return `"${name}" is reserved`;
  if (name.length > MAX_LONG_NAME) return `the name is ${name.length} UTF-16 units long (FAT allows ${MAX_LONG_NAME})`;
  for (const ch of name) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 0x20) return `the name contains control character 0x${code.toString(16).padStart(2, '0')}`;
    if (LONG_NAME_FORBIDDEN.has(ch)) return `the name contains "${ch}", which FAT does not allow`;
  }
  if (name.endsWith(' ') || name.endsWith('.')) return 'the name ends with a space or a period';
  return undefined;
}

/** A short name split into its two padded-free parts, e.g. { base: 'FILENA~1', ext: 'TXT' }. */
export interface ShortName {
  base: string;
  ext: string;
}

/** The 11-byte directory form: base padded to 8 and extension padded to 3 with spaces. */
export function shortNameBytes(name: ShortName): Buffer {
  return Buffer.from(name.base.padEnd(8, ' ') + name.ext.padEnd(3, ' '), 'latin1');
}

/** The short name as it is displayed: "FILENA~1.TXT" (no period when there is no extension). */
export function formatShortName(name: ShortName): string {
  return name.ext ? `${name.base}.${name.ext}` : name.base;
}

/** Result of the basis-name step: the candidate and whether it needs a numeric tail regardless of collisions. */
export interface BasisName extends ShortName {
  /** True when characters were replaced, dropped or cut: the long name does not fit 8.3 (case aside). */
  needsTail: boolean;
}

/**
 * The basis name of Microsoft's algorithm: upper-case, replace characters a short name cannot hold by '_', drop
 * spaces and leading periods, take up to 8 characters before the last period (periods inside the base are dropped)
 * and up to 3 after it.
 */
export function basisName(longName: string): BasisName {
  let lossy = false;
  let mapped = '';
  for (const ch of longName.toUpperCase()) {
    if (ch === ' ') {
      lossy = true; // stripped: the short name no longer spells the long one
    } else if (ch === '.' || isShortChar(ch)) {
      mapped += ch;
    } else {
      mapped += '_';
      lossy = true;
    }
  }
  // toUpperCase can change the length (e.g. "ß" -> "SS"); that case already went through as '_' replacements
  // or letters, and the comparison below catches any difference.
  const stripped = mapped.replace(/^\.+/, '');
  if (stripped.length !== mapped.length) lossy = true;
  const lastDot = stripped.lastIndexOf('.');
  const rawBase = lastDot >= 0 ? stripped.slice(0, lastDot) : stripped;
  const rawExt = lastDot >= 0 ? stripped.slice(lastDot + 1) : '';
  const baseNoDots = rawBase.replace(/\./g, '');
  if (baseNoDots.length !== rawBase.length) lossy = true;
  let base = baseNoDots.slice(0, 8);
  const ext = rawExt.slice(0, 3);
  if (base.length < baseNoDots.length || ext.length < rawExt.length) lossy = true;
  if (base.length === 0) {
    base = '_';
    lossy = true;
  }
  // The long name fits 8.3 (ignoring case) only when it reads back exactly as base[.ext].
  const spelled = ext ? `${base}.${ext}` : base;
  if (spelled !== longName.toUpperCase()) lossy = true;
  return { base, ext, needsTail: lossy };
}

/** True when `longName` is itself a valid short name in upper case: stored without LFN entries. */
export function isExactShortName(longName: string): boolean {
  const b = basisName(longName);
  return !b.needsTail && formatShortName(b) === longName;
}

/** A directory child's names: the short name and whether LFN entries are needed. */
export interface AssignedName {
  longName: string;
  short: ShortName;
  /** True when the long name is stored in LFN entries (it does not fit 8.3 or has lower case letters). */
  lfn: boolean;
}

/**
 * Assigns short names to all children of one directory. Names that fit 8.3 (case aside) keep their short name and
 * are placed first, so generated names (`FILENA~1`, `FILENA~2`, ...) never take a name another child spells.
 * Throws InputError for an invalid long name or two names that differ only in case (`where` names the directory).
 */
export function assignShortNames(longNames: readonly string[], where: string): AssignedName[] {
  const used = new Set<string>();
  const seenLong = new Map<string, string>();
  const out: (AssignedName | undefined)[] = new Array(longNames.length);
  const later: number[] = [];
  longNames.forEach((name, i) => {
    const problem = longNameProblem(name);
    if (problem) throw new InputError(`Cannot store "${joinPath(where, name)}" on FAT32: ${problem}.`, 'Rename the file.');
    const key = name.toUpperCase();
    const other = seenLong.get(key);
    if (other !== undefined) {
      throw new InputError(
        `"${joinPath(where, other)}" and "${joinPath(where, name)}" differ only in case, which FAT32 cannot hold.`,
        'Rename one of them.',
      );
    }
    seenLong.set(key, name);
    const b = basisName(name);
    if (!b.needsTail) {
      const short = { base: b.base, ext: b.ext };
      used.add(formatShortName(short));
      out[i] = { longName: name, short, lfn: formatShortName(short) !== name };
    } else {
      later.push(i);
    }
  });
  for (const i of later) {
    const name = longNames[i] as string;
    const b = basisName(name);
    out[i] = { longName: name, short: withNumericTail(b, used), lfn: true };
  }
  return out as AssignedName[];
}

/** The first `BASE~n` (n = 1, 2, ...) not in `used`; records it in `used`. */
export function withNumericTail(basis: ShortName, used: Set<string>): ShortName {
  for (let n = 1; n <= 999_999; n++) {
    const tail = `~${n}`;
    const candidate = { base: basis.base.slice(0, 8 - tail.length) + tail, ext: basis.ext };
    const key = formatShortName(candidate);
    if (!used.has(key)) {
      used.add(key);
      return candidate;
    }
  }
  throw new InputError(`Too many names in one directory share the short name ${formatShortName(basis)}.`);
}

/** The LFN checksum of an 11-byte short name (rotate right, add), stored in every LFN entry of the name. */
export function lfnChecksum(short11: Uint8Array): number {
  if (short11.length !== 11) throw new RangeError('a short name has 11 bytes');
  let sum = 0;
  for (const byte of short11) sum = (((sum & 1) << 7) + (sum >> 1) + byte) & 0xff;
  return sum;
}

/** Number of LFN entries `longName` needs. */
export function lfnEntryCount(longName: string): number {
  return Math.ceil(longName.length / LFN_CHARS_PER_ENTRY);
}

/** Byte offsets of the 13 UTF-16 characters inside an LFN entry. */
const LFN_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] as const;

/**
 * The LFN entries of `longName`, in on-disk order (the last part first, its order byte ORed with 0x40), to be
 * followed directly by the short entry whose 11-byte name gives `checksum`. The name is NUL-terminated when it does
 * not fill the last entry, and padded with 0xFFFF after that.
 */
export function encodeLfnEntries(longName: string, checksum: number): Buffer {
  const count = lfnEntryCount(longName);
  const out = Buffer.alloc(count * DIR_ENTRY_SIZE);
  for (let part = 0; part < count; part++) {
    const entry = out.subarray((count - 1 - part) * DIR_ENTRY_SIZE, (count - part) * DIR_ENTRY_SIZE);
    entry[0] = (part + 1) | (part === count - 1 ? 0x40 : 0);
    entry[11] = ATTR_LONG_NAME;
    entry[12] = 0;
    entry[13] = checksum;
    // bytes 26-27 (first cluster) stay 0
    for (let k = 0; k < LFN_CHARS_PER_ENTRY; k++) {
      const idx = part * LFN_CHARS_PER_ENTRY + k;
      const unit = idx < longName.length ? longName.charCodeAt(idx) : idx === longName.length ? 0x0000 : 0xffff;
      entry.writeUInt16LE(unit, LFN_CHAR_OFFSETS[k] as number);
    }
  }
  return out;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}
