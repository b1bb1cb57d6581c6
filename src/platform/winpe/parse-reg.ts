/**
 * `reg query` output: key lines (HKEY_...) each followed by their values, indented four spaces as
 * `    <name>    <REG_TYPE>    <data>`. The type names and key roots are the same in every display language; only the
 * messages differ, and those are read in English only.
 */
import { splitLines, WinPeParseError } from './parse-error.js';

export type RegValue =
  | { name: string; type: 'REG_SZ' | 'REG_EXPAND_SZ'; raw: string; data: string }
  | { name: string; type: 'REG_DWORD'; raw: string; data: number }
  | { name: string; type: 'REG_QWORD'; raw: string; data: bigint }
  | { name: string; type: 'REG_MULTI_SZ'; raw: string; data: string[] }
  | { name: string; type: 'REG_BINARY'; raw: string; data: Buffer }
  /** REG_NONE, REG_LINK, REG_RESOURCE_LIST...: the text as printed. */
  | { name: string; type: string; raw: string; data: string };

export interface RegKey {
  /** Full path as printed, e.g. HKEY_LOCAL_MACHINE\HARDWARE\DESCRIPTION\System\BIOS. */
  path: string;
  values: RegValue[];
}

export type RegQueryResult =
  | { found: true; keys: RegKey[] }
  /** "ERROR: The system was unable to find the specified registry key or value." */
  | { found: false; message: string };

const VALUE = /^ {4}(.+?) {4}(REG_[A-Z0-9_]+)(?: {4}(.*))?$/;
const KEY = /^HKEY_[A-Z_]+(?:\\.*)?$/;

function typed(name: string, type: string, raw: string, line: string): RegValue {
  switch (type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return { name, type, raw, data: raw };
    case 'REG_DWORD': {
      if (!/^0x[0-9a-f]{1,8}$/i.test(raw)) throw new WinPeParseError('reg query', `a REG_DWORD like 0x2, not "${raw}"`, line);
      return { name, type, raw, data: Number.parseInt(raw.slice(2), 16) };
    }
    case 'REG_QWORD': {
      if (!/^0x[0-9a-f]{1,16}$/i.test(raw)) throw new WinPeParseError('reg query', `a REG_QWORD like 0x1d0, not "${raw}"`, line);
      return { name, type, raw, data: BigInt(raw) };
    }
    case 'REG_MULTI_SZ':
      // reg prints the strings joined by a literal "\0"; an empty list prints nothing.
      return { name, type, raw, data: raw === '' ? [] : raw.split('\\0') };
    case 'REG_BINARY': {
      if (!/^(?:[0-9A-F]{2})*$/i.test(raw)) throw new WinPeParseError('reg query', `REG_BINARY as hex digits, not "${raw}"`, line);
      return { name, type, raw, data: Buffer.from(raw, 'hex') };
    }
    default:
      return { name, type, raw, data: raw };
  }
}

export function parseRegQuery(text: string): RegQueryResult {
  const lines = splitLines(text);
  const error = lines.find((line) => /^ERROR: /.test(line));
  if (error !== undefined) {
    if (/unable to find the specified registry key or value/i.test(error)) return { found: false, message: error.trim() };
    throw new WinPeParseError('reg query', 'a key and its values', error.trim());
  }
  const keys: RegKey[] = [];
  let current: RegKey | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    if (KEY.test(line)) {
      current = { path: line.trimEnd(), values: [] };
      keys.push(current);
      continue;
    }
    // "End of search: 3 match(es) found." closes a `reg query /f` search.
    if (/^End of search: \d+ match\(es\) found\.$/.test(line.trim())) continue;
    const value = VALUE.exec(line);
    if (value && current) {
      current.values.push(typed(value[1]!, value[2]!, value[3] ?? '', line));
      continue;
    }
    throw new WinPeParseError('reg query', 'key lines (HKEY_...) and indented "name    REG_TYPE    data" lines', WinPeParseError.excerptOf(text));
  }
  if (keys.length === 0) throw new WinPeParseError('reg query', 'at least one key line (HKEY_...)', WinPeParseError.excerptOf(text));
  return { found: true, keys };
}

/** The value `name` (case-insensitive, as Windows compares them) of the first key that has it. */
export function regValue(result: RegQueryResult, name: string): RegValue | undefined {
  if (!result.found) return undefined;
  const wanted = name.toLowerCase();
  for (const key of result.keys) {
    const value = key.values.find((v) => v.name.toLowerCase() === wanted);
    if (value) return value;
  }
  return undefined;
}

/** A REG_SZ/REG_EXPAND_SZ value's text, trimmed; undefined when absent or empty. */
export function regString(result: RegQueryResult, name: string): string | undefined {
  const value = regValue(result, name);
  if (!value || typeof value.data !== 'string') return undefined;
  const text = value.data.trim();
  return text === '' ? undefined : text;
}

/** A REG_DWORD value; undefined when absent or of another type. */
export function regDword(result: RegQueryResult, name: string): number | undefined {
  const value = regValue(result, name);
  return value?.type === 'REG_DWORD' && typeof value.data === 'number' ? value.data : undefined;
}
