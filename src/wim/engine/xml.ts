/**
 * The WIM's XML data (UTF-16LE with a byte order mark): per image a name, counts and times, plus the WIM's
 * TOTALBYTES. Read for `wim inspect`; after an update the changed image's DIRCOUNT, FILECOUNT, TOTALBYTES,
 * HARDLINKBYTES and LASTMODIFICATIONTIME are rewritten, with the WIM's TOTALBYTES (the offset of the XML data,
 * as wimlib writes it). Everything else in the text is kept as it was. Elements are found by plain string search
 * (no regular expression over the whole hostile text, so no backtracking blow-up).
 */
import { WimFormatError } from './errors.js';

export interface ImageInfo {
  index: number;
  name?: string;
  description?: string;
  dirCount?: number;
  fileCount?: number;
  totalBytes?: number;
  hardLinkBytes?: number;
  /** ISO time of LASTMODIFICATIONTIME. */
  modified?: string;
  /** Windows edition details when present (WINDOWS/ARCH, WINDOWS/EDITIONID). */
  arch?: number;
  edition?: string;
}

export interface ImageStats {
  dirCount: number;
  fileCount: number;
  totalBytes: number;
  hardLinkBytes: number;
}

/** [start, end) of the `<IMAGE INDEX="n">...</IMAGE>` element, or undefined. */
function imageSpan(xml: string, index: number): [number, number] | undefined {
  let from = 0;
  for (;;) {
    const s = xml.indexOf('<IMAGE', from);
    if (s < 0) return undefined;
    const gt = xml.indexOf('>', s);
    const e = xml.indexOf('</IMAGE>', s);
    if (gt < 0 || e < 0) return undefined;
    const m = /INDEX\s*=\s*"(\d+)"/.exec(xml.slice(s, gt));
    if (m && Number(m[1]) === index) return [s, e + '</IMAGE>'.length];
    from = e + 1;
  }
}

function elementText(xml: string, tag: string, from = 0, to = xml.length): string | undefined {
  const s = xml.indexOf(`<${tag}>`, from);
  if (s < 0 || s >= to) return undefined;
  const e = xml.indexOf(`</${tag}>`, s);
  if (e < 0 || e > to) return undefined;
  return xml.slice(s + tag.length + 2, e);
}

const unescape = (s: string): string =>
  s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

function num(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = s.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  return Number.isFinite(v) ? v : undefined;
}

function filetimeIso(block: string | undefined): string | undefined {
  if (block === undefined) return undefined;
  const hi = num(elementText(block, 'HIGHPART'));
  const lo = num(elementText(block, 'LOWPART'));
  if (hi === undefined || lo === undefined) return undefined;
  const ms = Number(((BigInt(hi) << 32n) | BigInt(lo)) / 10_000n) - 11_644_473_600_000;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** What the XML says about image `index`. */
export function imageInfo(xml: string, index: number): ImageInfo {
  const span = imageSpan(xml, index);
  if (!span) return { index };
  const block = xml.slice(span[0], span[1]);
  const text = (t: string) => {
    const v = elementText(block, t);
    return v === undefined ? undefined : unescape(v);
  };
  const info: ImageInfo = { index };
  const set = <K extends keyof ImageInfo>(k: K, v: ImageInfo[K] | undefined) => { if (v !== undefined) info[k] = v; };
  set('name', text('NAME'));
  set('description', text('DESCRIPTION'));
  set('dirCount', num(text('DIRCOUNT')));
  set('fileCount', num(text('FILECOUNT')));
  set('totalBytes', num(text('TOTALBYTES')));
  set('hardLinkBytes', num(text('HARDLINKBYTES')));
  set('modified', filetimeIso(elementText(block, 'LASTMODIFICATIONTIME')));
  set('arch', num(text('ARCH')));
  set('edition', text('EDITIONID'));
  return info;
}

function setElement(block: string, tag: string, value: string): string {
  const s = block.indexOf(`<${tag}>`);
  const e = s < 0 ? -1 : block.indexOf(`</${tag}>`, s);
  if (s >= 0 && e >= 0) return block.slice(0, s + tag.length + 2) + value + block.slice(e);
  const close = block.lastIndexOf('</IMAGE>');
  return `${block.slice(0, close)}<${tag}>${value}</${tag}>${block.slice(close)}`;
}

const hex32 = (v: bigint): string => `0x${v.toString(16).toUpperCase().padStart(8, '0')}`;

/** The XML after an update of image `index`: its counts and modification time, and the WIM's TOTALBYTES. */
export function updateXml(xml: string, index: number, stats: ImageStats, modified: bigint, wimTotalBytes: number): string {
  const span = imageSpan(xml, index);
  if (!span) throw new WimFormatError(`the XML data has no <IMAGE INDEX="${index}"> element`);
  let block = xml.slice(span[0], span[1]);
  block = setElement(block, 'DIRCOUNT', String(stats.dirCount));
  block = setElement(block, 'FILECOUNT', String(stats.fileCount));
  block = setElement(block, 'TOTALBYTES', String(stats.totalBytes));
  block = setElement(block, 'HARDLINKBYTES', String(stats.hardLinkBytes));
  block = setElement(block, 'LASTMODIFICATIONTIME',
    `<HIGHPART>${hex32(modified >> 32n)}</HIGHPART><LOWPART>${hex32(modified & 0xffff_ffffn)}</LOWPART>`);
  const out = xml.slice(0, span[0]) + block + xml.slice(span[1]);
  return setWimTotalBytes(out, wimTotalBytes);
}

/** Sets the TOTALBYTES that is a direct child of <WIM> (not inside an IMAGE). */
function setWimTotalBytes(xml: string, value: number): string {
  let pos = 0;
  const pieces: [number, number][] = [];
  while (pos < xml.length) {
    const s = xml.indexOf('<IMAGE', pos);
    const end = s < 0 ? xml.length : s;
    pieces.push([pos, end]);
    if (s < 0) break;
    const e = xml.indexOf('</IMAGE>', s);
    if (e < 0) break;
    pos = e + '</IMAGE>'.length;
  }
  for (const [a, b] of pieces) {
    const s = xml.indexOf('<TOTALBYTES>', a);
    if (s >= 0 && s < b) {
      const e = xml.indexOf('</TOTALBYTES>', s);
      if (e >= 0) return `${xml.slice(0, s + 12)}${value}${xml.slice(e)}`;
    }
  }
  const close = xml.lastIndexOf('</WIM>');
  if (close < 0) return xml;
  return `${xml.slice(0, close)}<TOTALBYTES>${value}</TOTALBYTES>${xml.slice(close)}`;
}

/** XML text as stored: UTF-16LE with a byte order mark. */
export function encodeXml(xml: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
}
