/**
 * Name mapping for the two namespaces we write. ISO 9660 level 3 names are uppercase d-characters
 * (A-Z 0-9 _), at most 30 characters for name plus extension, with a ";1" version; directories at most 31
 * characters and no extension. Joliet names keep the real name in UCS-2, up to 103 characters (as
 * `-joliet-long` does). Both must be unique within their directory after mapping.
 */

const ISO_FILE_MAX = 30;
const ISO_DIR_MAX = 31;
export const JOLIET_MAX = 103;

function dchars(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
}

/** ISO name stem and extension for `name` (without version); `tail` is appended to the stem for uniqueness. */
function isoFileName(name: string, tail = ''): string {
  const dot = name.lastIndexOf('.');
  let stem = dchars(dot > 0 ? name.slice(0, dot) : name);
  let ext = dot > 0 ? dchars(name.slice(dot + 1)) : '';
  ext = ext.slice(0, 8);
  stem = stem.slice(0, Math.max(1, ISO_FILE_MAX - ext.length - tail.length)) + tail;
  return `${stem}.${ext}`;
}

function isoDirName(name: string, tail = ''): string {
  return dchars(name).slice(0, ISO_DIR_MAX - tail.length) + tail;
}

/** Maps the names of one directory's children; returns the ISO identifier (with ";1" for files) per input name. */
export function mapIsoNames(children: readonly { name: string; isDir: boolean }[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const c of children) {
    let mapped = c.isDir ? isoDirName(c.name) : isoFileName(c.name);
    for (let n = 1; used.has(mapped); n++) {
      mapped = c.isDir ? isoDirName(c.name, `~${n}`) : isoFileName(c.name, `~${n}`);
    }
    used.add(mapped);
    out.set(c.name, c.isDir ? mapped : `${mapped};1`);
  }
  return out;
}

/** Truncates to `max` UTF-16 code units without splitting a surrogate pair. */
function truncateUtf16(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut;
}

/** Joliet forbids * / : ; ? \ and control characters. */
function jolietChars(name: string): string {
  return name.replace(/[\x00-\x1f*/:;?\\]/g, '_');
}

export function mapJolietNames(children: readonly { name: string; isDir: boolean }[]): Map<string, string> {
  const used = new Set<string>();
  const out = new Map<string, string>();
  for (const c of children) {
    const clean = jolietChars(c.name);
    let mapped = truncateUtf16(clean, JOLIET_MAX);
    for (let n = 1; used.has(mapped.toLowerCase()); n++) {
      const tail = `~${n}`;
      const dot = clean.lastIndexOf('.');
      const ext = !c.isDir && dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
      mapped = truncateUtf16(clean.slice(0, clean.length - ext.length), JOLIET_MAX - tail.length - ext.length) + tail + ext;
    }
    used.add(mapped.toLowerCase());
    out.set(c.name, mapped);
  }
  return out;
}

/** Byte order ECMA-119 wants in a directory: compare identifiers as stored. */
export function compareIsoIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

export function compareJolietIds(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf16le').swap16(), Buffer.from(b, 'utf16le').swap16());
}

/** The name a reader shows for an ISO identifier: version and a trailing dot dropped. */
export function displayIsoName(id: string): string {
  return id.replace(/;\d+$/, '').replace(/\.$/, '');
}
