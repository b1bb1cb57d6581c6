/**
 * `drvload <inf>[,<inf>...]` output, one "DrvLoad:" line per INF:
 *   DrvLoad: Successfully loaded X:\drivers\vioscsi\vioscsi.inf.
 *   DrvLoad: Unable to load X:\drivers\bad\bad.inf (Error 0x80070002).
 * "Successfully loaded" means Plug and Play accepted the package; a device only starts if the INF matches it.
 */
import { splitLines, WinPeParseError } from './parse-error.js';

export interface DrvloadFailure {
  inf: string;
  /** The HRESULT as an unsigned number (0x80070002 = 2147942402). */
  code: number;
  /** The line as printed. */
  message: string;
}

export interface DrvloadResult {
  loaded: string[];
  failed: DrvloadFailure[];
}

const LOADED = /^DrvLoad: Successfully loaded (.+?)\.?$/;
const FAILED = /^DrvLoad: (?:Unable to load|Failed to load|Unable to open|Failed to install) (.+?),? \(?(?:Error|error|hr =|HRESULT) ?(0x[0-9A-Fa-f]{1,8})\)?\.?$/;
const ANY_CODE = /\b(0x[0-9A-Fa-f]{8})\b/;

export function parseDrvload(text: string): DrvloadResult {
  const result: DrvloadResult = { loaded: [], failed: [] };
  const lines = splitLines(text).map((line) => line.trim()).filter((line) => line !== '');
  for (const line of lines) {
    const loaded = LOADED.exec(line);
    if (loaded) {
      result.loaded.push(loaded[1]!);
      continue;
    }
    const failed = FAILED.exec(line);
    if (failed) {
      result.failed.push({ inf: failed[1]!, code: Number.parseInt(failed[2]!.slice(2), 16), message: line });
      continue;
    }
    // Another DrvLoad failure wording that still carries an HRESULT: keep the code, the INF is unknown.
    const code = line.startsWith('DrvLoad:') ? ANY_CODE.exec(line) : null;
    if (code) {
      result.failed.push({ inf: '', code: Number.parseInt(code[1]!.slice(2), 16), message: line });
      continue;
    }
  }
  if (result.loaded.length === 0 && result.failed.length === 0) {
    throw new WinPeParseError('drvload', '"DrvLoad: Successfully loaded ..." or a "DrvLoad: ..." line with an error code', WinPeParseError.excerptOf(text));
  }
  return result;
}

const HRESULTS: Record<number, string> = {
  0x80070002: 'a file the driver package names is missing (copy the whole driver folder, not only the .inf)',
  0x80070003: 'the driver folder was not found',
  0x80070005: 'access was denied',
  0x8007000d: 'the .inf file is damaged or not a driver package',
  0x800b0109: 'the driver is signed by an authority Windows PE does not trust',
  0x800b0100: 'the driver package is not signed',
  0xe000022f: 'the driver package is not signed for this version of Windows',
  0xe0000242: 'the driver catalog does not match the files (the package was changed after signing)',
  0xe000024b: 'the driver is for another processor architecture (Windows PE here is x64)',
  0xe0000203: 'the .inf file has no section for this version of Windows',
};

/** Plain words for the HRESULTs drvload commonly reports; undefined when unknown. */
export function describeDrvloadError(code: number): string | undefined {
  return HRESULTS[code];
}

/** 0x80070002 as text. */
export function hresultText(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(8, '0')}`;
}
