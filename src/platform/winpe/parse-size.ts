/**
 * Sizes as diskpart prints them: "238 GB", "1024 KB", "0 B", "10 TB". diskpart uses binary units (1 GB = 2^30
 * bytes) and rounds to a whole number in its tables, so the result is approximate: "238 GB" is anything from about
 * 237.5 to 238.5 GiB. Good for showing and comparing disks, not for exact partition arithmetic.
 */
import { WinPeParseError } from './parse-error.js';

const UNITS: Record<string, number> = {
  B: 1,
  KB: 2 ** 10,
  MB: 2 ** 20,
  GB: 2 ** 30,
  TB: 2 ** 40,
  PB: 2 ** 50,
};

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|PB)$/i;

/** Bytes for a diskpart size text; throws WinPeParseError on anything else (e.g. German "238 GB" works, "238,5 GB" does not). */
export function parseSizeText(text: string): number {
  const size = tryParseSizeText(text);
  if (size === undefined) throw new WinPeParseError('diskpart', `a size such as "238 GB", not "${text.trim()}"`, text);
  return size;
}

/** Like parseSizeText, undefined instead of an error. */
export function tryParseSizeText(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  const unit = UNITS[match[2]!.toUpperCase()];
  if (unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}
