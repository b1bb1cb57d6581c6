/**
 * Veeam's attribute values read straight from the bytes of a .vbm, for the audit's read of a year of restore points
 * (vbm.ts, detail `chain`): times, flags, numbers, Storage@Stats and the file name in Storage@PartialPath, without a
 * string or an object per value. Each reader accepts only the exact shape Veeam writes (ASCII, no entity where none
 * is expected, no surrounding space) and answers {@link UNREAD} for anything else, which the caller then reads as
 * text with vbm.ts's parsers: so both ways give the same answer, and odd values keep their one reading.
 */
import type { XmlLimits } from './xml-scan.js';

/** The value is not in the plain shape: read it as text. */
export const UNREAD = Symbol('unread');
export type Unread = typeof UNREAD;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (MONTH_DAYS[month - 1] ?? 0);
}

/** Whether the parts of a `MM/dd/yyyy HH:mm:ss` time name a real time (as parseVeeamLocalTime checks them). */
export function isValidTime(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  if (Number.isNaN(month + day + year + hour + minute + second)) return false;
  if (year < 1900 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  return hour <= 23 && minute <= 59 && second <= 59;
}

/** Where the next field of the time bytesField read last starts (after its separator). */
let fieldEnd = 0;

/** As vbm.ts's timeField, over bytes: `min` to `max` digits at `at`, then `sep` (or, when -1, the end `e`). */
function bytesField(buf: Buffer, at: number, e: number, min: number, max: number, sep: number): number {
  let n = 0;
  let k = at;
  while (k < e && k - at < max) {
    const c = buf[k] as number;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    k++;
  }
  const ok = k - at >= min && (sep >= 0 ? k < e && buf[k++] === sep : k === e);
  fieldEnd = k;
  return ok ? n : Number.NaN;
}

/** ASCII without `&` and without space at either end: the text of these bytes is the bytes, and trim() keeps it. */
function plainAscii(buf: Buffer, s: number, e: number): boolean {
  if (e === s) return true;
  const first = buf[s] as number;
  const last = buf[e - 1] as number;
  if (first <= 0x20 || last <= 0x20) return false;
  for (let k = s; k < e; k++) {
    const c = buf[k] as number;
    if (c >= 0x80 || c === 0x26) return false;
  }
  return true;
}

/**
 * A Veeam time (`M/d/yyyy H:mm:ss`) as milliseconds of the same wall-clock reading in UTC (what parseVeeamUtcTime
 * makes a Date of); NaN for a value that is not a valid time.
 */
export function timeAt(buf: Buffer, s: number, e: number): number | Unread {
  if (!plainAscii(buf, s, e)) return UNREAD;
  const month = bytesField(buf, s, e, 1, 2, 0x2f);
  const day = bytesField(buf, fieldEnd, e, 1, 2, 0x2f);
  const year = bytesField(buf, fieldEnd, e, 4, 4, 0x20);
  const hour = bytesField(buf, fieldEnd, e, 1, 2, 0x3a);
  const minute = bytesField(buf, fieldEnd, e, 2, 2, 0x3a);
  const second = bytesField(buf, fieldEnd, e, 2, 2, -1);
  return isValidTime(year, month, day, hour, minute, second) ? Date.UTC(year, month - 1, day, hour, minute, second) : Number.NaN;
}

/** `True` or `False` exactly; anything else is left to parseBool. */
export function boolAt(buf: Buffer, s: number, e: number): boolean | Unread {
  const n = e - s;
  if (n === 4 && buf[s] === 0x54 && buf[s + 1] === 0x72 && buf[s + 2] === 0x75 && buf[s + 3] === 0x65) return true;
  if (n === 5 && buf[s] === 0x46 && buf[s + 1] === 0x61 && buf[s + 2] === 0x6c && buf[s + 3] === 0x73 && buf[s + 4] === 0x65) return false;
  return UNREAD;
}

/** 1 to 15 digits, optionally followed by `.` and zeros (Point@Num is `261.0000000000`), as parseInteger reads them. */
export function integerAt(buf: Buffer, s: number, e: number): number | Unread {
  let n = 0;
  let k = s;
  while (k < e && k - s < 15) {
    const c = buf[k] as number;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    k++;
  }
  if (k === s) return UNREAD;
  if (k < e) {
    if (buf[k] !== 0x2e) return UNREAD;
    for (k++; k < e; k++) if (buf[k] !== 0x30) return UNREAD;
  }
  return n;
}

/** Whether `ascii` is written at `at` (and ends before `e`). */
function literal(buf: Buffer, at: number, e: number, ascii: string): boolean {
  if (at + ascii.length > e) return false;
  for (let k = 0; k < ascii.length; k++) if (buf[at + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

/** The run of ASCII digits at `at`. */
function digitsEnd(buf: Buffer, at: number, e: number): number {
  let k = at;
  while (k < e && (buf[k] as number) >= 0x30 && (buf[k] as number) <= 0x39) k++;
  return k;
}

/** As parseSize: 1 to 16 digits within exact double range, else NaN (parseSize's undefined). */
function sizeOf(buf: Buffer, s: number, e: number): number {
  if (e === s || e - s > 16) return Number.NaN;
  if (e - s === 16) {
    const n = Number(buf.toString('latin1', s, e));
    return Number.isSafeInteger(n) ? n : Number.NaN;
  }
  let n = 0;
  for (let k = s; k < e; k++) n = n * 10 + ((buf[k] as number) - 0x30);
  return n;
}

const STATS_PARTS = ['BackupSize', 'DataSize', 'DedupRatio', 'CompressRatio'] as const;

/**
 * Whether the limits certainly let the plain-shape reading through (as vbm.ts's plainFits): the escaped value is
 * never shorter than its text. When they might not, the text readers decide, with their messages.
 */
function fits(s: number, e: number, elements: number, limits: XmlLimits): boolean {
  return e - s <= limits.maxAttributeLength && elements <= limits.maxElements && limits.maxDepth >= 2;
}

/**
 * Storage@Stats written as Veeam writes it (escaped `<CBackupStats><BackupSize>digits</BackupSize>...`, which is
 * vbm.ts's plain shape once decoded): its four numbers into `out` (NaN where parseSize says undefined). False for
 * anything else: parseStats reads those.
 */
export function statsAt(buf: Buffer, s: number, e: number, limits: XmlLimits, out: number[]): boolean {
  if (!fits(s, e, 5, limits) || !literal(buf, s, e, '&lt;CBackupStats&gt;')) return false;
  let k = s + 20;
  for (let i = 0; i < STATS_PARTS.length; i++) {
    const name = STATS_PARTS[i] as string;
    if (!literal(buf, k, e, '&lt;') || !literal(buf, k + 4, e, name) || !literal(buf, k + 4 + name.length, e, '&gt;')) return false;
    const from = k + 8 + name.length;
    const to = digitsEnd(buf, from, e);
    if (!literal(buf, to, e, '&lt;/') || !literal(buf, to + 5, e, name) || !literal(buf, to + 5 + name.length, e, '&gt;')) return false;
    out[i] = sizeOf(buf, from, to);
    k = to + 9 + name.length;
  }
  return literal(buf, k, e, '&lt;/CBackupStats&gt;') && k + 21 === e;
}

const PATH_TRUE = '&lt;Path IsFilePath=&quot;True&quot;&gt;';
const PATH_FALSE = '&lt;Path IsFilePath=&quot;False&quot;&gt;';
const ELEMENT_OPEN = '&lt;Elements&gt;';
const ELEMENT_CLOSE = '&lt;/Elements&gt;';
const PATH_CLOSE = '&lt;/Path&gt;';

/**
 * The file name Storage@PartialPath gives when written as Veeam writes it (escaped `<Path IsFilePath="True">`, then
 * `<Elements>name</Elements>` with no entity in the names: vbm.ts's plain shape once decoded): the last element,
 * trimmed; undefined when there is none or it is blank. UNREAD for anything else.
 */
export function partialPathFileAt(buf: Buffer, s: number, e: number, limits: XmlLimits): string | undefined | Unread {
  let k = s;
  if (literal(buf, k, e, PATH_TRUE)) k += PATH_TRUE.length;
  else if (literal(buf, k, e, PATH_FALSE)) k += PATH_FALSE.length;
  else return UNREAD;
  let elements = 0;
  let lastFrom = -1;
  let lastTo = -1;
  while (literal(buf, k, e, ELEMENT_OPEN)) {
    const from = k + ELEMENT_OPEN.length;
    let to = from;
    while (to < e && buf[to] !== 0x26) to++;
    if (!literal(buf, to, e, ELEMENT_CLOSE)) return UNREAD;
    elements++;
    lastFrom = from;
    lastTo = to;
    k = to + ELEMENT_CLOSE.length;
  }
  if (!literal(buf, k, e, PATH_CLOSE) || k + PATH_CLOSE.length !== e || !fits(s, e, elements + 1, limits)) return UNREAD;
  if (elements === 0) return undefined;
  const name = buf.toString('utf8', lastFrom, lastTo).trim();
  return name === '' ? undefined : name;
}
