/**
 * Decoding of FAT directory clusters (the read side of fat-names.ts): short 8.3 entries with the NT lower-case
 * flags, long-file-name (LFN) entry sequences with their checksum, volume labels, deleted entries and the end marker.
 * Pure and synchronous; the caller reads the clusters and turns `fail` into an error naming the image.
 *
 * A long name is used only when its whole LFN sequence is intact (order numbers counting down to 1, one checksum
 * throughout, matching the short entry that follows) and it is a usable name; otherwise the short name is used, as
 * Windows and Linux do.
 */
import { ATTR_LONG_NAME, DIR_ENTRY_SIZE, lfnChecksum } from './fat-names.js';

const ATTR_VOLUME_ID = 0x08;
const ATTR_DIRECTORY = 0x10;
/** Byte 12 of a short entry (Windows NT): the base name is stored upper case but displayed lower case. */
const NT_LOWER_BASE = 0x08;
/** ... and the same for the extension. */
const NT_LOWER_EXT = 0x10;
/** Deleted entry marker (byte 0). */
const DELETED = 0xe5;
/** Byte 0 value standing for a real 0xE5 first character (Kanji lead byte). */
const KANJI_E5 = 0x05;
/** Most LFN entries one name can take (255 UTF-16 units / 13). */
const MAX_LFN_ENTRIES = 20;
/** Byte offsets of the 13 UTF-16 code units inside an LFN entry. */
const LFN_CHAR_OFFSETS = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30] as const;
/** Bytes a short name may not contain (besides those below 0x20 and 0x7F). */
const SHORT_FORBIDDEN = new Set([...'"*+,./:;<=>?[\\]|'].map((c) => c.charCodeAt(0)));
/** Code page 437, bytes 0x80-0xFF: how short names with non-ASCII bytes are shown. */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

/** One live entry of a directory (not deleted, not a label, not `.` or `..`). */
export interface RawDirEntry {
  /** The long name when its LFN entries are intact, otherwise the 8.3 name (with the NT lower-case flags applied). */
  name: string;
  /** The 8.3 name as stored, e.g. `README.TXT` or `FILENA~1.TXT`. */
  shortName: string;
  isDir: boolean;
  size: number;
  firstCluster: number;
  /** Slot (32-byte entry) index of the short entry in the directory. */
  slot: number;
}

export interface ParsedDirectory {
  entries: RawDirEntry[];
  /** The volume label entry's text (trailing spaces removed), when the directory has one. */
  label: string | undefined;
}

interface LfnState {
  checksum: number;
  /** Order number the next LFN entry must carry; 0 when the sequence is complete. */
  expect: number;
  /** Parts by order number - 1. */
  parts: string[];
}

function lfnPart(entry: Buffer): string {
  let s = '';
  for (const off of LFN_CHAR_OFFSETS) s += String.fromCharCode(entry.readUInt16LE(off));
  return s;
}

/** The long name of a complete sequence, or undefined when it is not a usable name. */
function lfnName(parts: readonly string[]): string | undefined {
  const full = parts.join('');
  const nul = full.indexOf('\u0000');
  const name = nul >= 0 ? full.slice(0, nul) : full;
  if (name.length === 0 || name.length > 255 || name === '.' || name === '..') return undefined;
  for (let i = 0; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (u < 0x20 || u === 0x2f /* / */ || u === 0x5c /* \ */ || u === 0xffff) return undefined;
  }
  return name;
}

function decodeShortPart(bytes: Buffer, lower: boolean): string | undefined {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0x20) end--;
  let s = '';
  for (let i = 0; i < end; i++) {
    const b = bytes[i] ?? 0;
    if (b < 0x20 || b === 0x7f || SHORT_FORBIDDEN.has(b)) return undefined;
    if (b >= 0x80) s += CP437_HIGH[b - 0x80] ?? '_';
    else if (lower && b >= 0x41 && b <= 0x5a) s += String.fromCharCode(b + 0x20);
    else s += String.fromCharCode(b);
  }
  return s;
}

/** The 8.3 name of a short entry, as stored (`upper`) and as displayed with the NT case flags; undefined when invalid. */
function decodeShortName(entry: Buffer): { stored: string; shown: string } | undefined {
  const raw = Buffer.from(entry.subarray(0, 11));
  if (raw[0] === KANJI_E5) raw[0] = DELETED;
  if (raw[0] === 0x20) return undefined;
  const flags = entry[12] ?? 0;
  const base = decodeShortPart(raw.subarray(0, 8), false);
  const ext = decodeShortPart(raw.subarray(8, 11), false);
  const baseShown = decodeShortPart(raw.subarray(0, 8), (flags & NT_LOWER_BASE) !== 0);
  const extShown = decodeShortPart(raw.subarray(8, 11), (flags & NT_LOWER_EXT) !== 0);
  if (base === undefined || ext === undefined || baseShown === undefined || extShown === undefined || base === '') return undefined;
  return { stored: ext ? `${base}.${ext}` : base, shown: extShown ? `${baseShown}.${extShown}` : baseShown };
}

function isDotEntry(entry: Buffer): boolean {
  return entry.toString('latin1', 0, 11) === '.          ' || entry.toString('latin1', 0, 11) === '..         ';
}

/**
 * Decodes the entries of one directory from its clusters (`data`, a whole number of 32-byte slots). Stops at the
 * first end marker (byte 0 = 0x00). `isRoot` enables the volume label. `fail(slot, problem)` is called (and must
 * throw) for an entry that is neither a valid short name nor carries a valid long name.
 */
export function parseDirectory(data: Buffer, isRoot: boolean, fail: (slot: number, problem: string) => never): ParsedDirectory {
  const entries: RawDirEntry[] = [];
  let label: string | undefined;
  let lfn: LfnState | undefined;
  const slots = Math.floor(data.length / DIR_ENTRY_SIZE);
  for (let slot = 0; slot < slots; slot++) {
    const e = data.subarray(slot * DIR_ENTRY_SIZE, (slot + 1) * DIR_ENTRY_SIZE);
    const first = e[0] ?? 0;
    if (first === 0x00) break;
    if (first === DELETED) {
      lfn = undefined;
      continue;
    }
    const attr = e[11] ?? 0;
    if ((attr & 0x3f) === ATTR_LONG_NAME) {
      const checksum = e[13] ?? 0;
      const order = first & 0x3f;
      if ((first & 0x40) !== 0) {
        // the last part of a name comes first on disk and starts a new sequence
        if (order < 1 || order > MAX_LFN_ENTRIES || (first & 0x80) !== 0 || e[12] !== 0) {
          lfn = undefined;
          continue;
        }
        const parts = new Array<string>(order).fill('');
        parts[order - 1] = lfnPart(e);
        lfn = { checksum, expect: order - 1, parts };
      } else if (lfn && lfn.expect > 0 && first === lfn.expect && checksum === lfn.checksum && e[12] === 0) {
        lfn.parts[first - 1] = lfnPart(e);
        lfn.expect--;
      } else {
        lfn = undefined;
      }
      continue;
    }

    const pending = lfn;
    lfn = undefined;
    if ((attr & ATTR_VOLUME_ID) !== 0) {
      if (isRoot && label === undefined && (attr & ATTR_DIRECTORY) === 0) label = e.toString('latin1', 0, 11).trimEnd();
      continue;
    }
    if (isDotEntry(e)) continue;

    const short = decodeShortName(e);
    let name: string | undefined;
    if (pending && pending.expect === 0 && pending.checksum === lfnChecksum(e.subarray(0, 11))) {
      name = lfnName(pending.parts);
    }
    if (name === undefined) {
      if (!short) fail(slot, `the entry's name ${JSON.stringify(e.toString('latin1', 0, 11))} is not a valid 8.3 name`);
      name = short.shown;
    }
    const firstCluster = (e.readUInt16LE(20) & 0x0fff) * 0x10000 + e.readUInt16LE(26);
    entries.push({
      name,
      shortName: short?.stored ?? name,
      isDir: (attr & ATTR_DIRECTORY) !== 0,
      size: (attr & ATTR_DIRECTORY) !== 0 ? 0 : e.readUInt32LE(28),
      firstCluster,
      slot,
    });
  }
  return { entries, label };
}
