/**
 * winpeshl.ini: what Windows PE starts after boot (winpeshl.exe reads X:\Windows\System32\winpeshl.ini).
 *
 * - `[LaunchApps]`: one program per line, `path[, arguments]`, run in order, each waited for.
 * - `[LaunchApp]`: `AppPath = path`, a single shell, no arguments.
 * - No file: `cmd /k startnet.cmd` (whose default content is `wpeinit`). When the last program exits, PE reboots.
 *
 * The file comes from a base ISO we did not make: it is treated as hostile (size capped, garbage lines skipped
 * with a warning, never executed or expanded here). We write UTF-16LE with a BOM and CRLF, as Windows' own tools do;
 * GetPrivateProfileSection reads that as Unicode.
 */
import { InputError } from '../errors.js';

/** Largest winpeshl.ini accepted (real ones are well under 1 KiB). */
export const MAX_WINPESHL_BYTES = 64 * 1024;
/** Most programs accepted in one file. */
export const MAX_WINPESHL_APPS = 64;
/** Longest line accepted (CreateProcess command lines stop at 32767 characters; real lines are short). */
export const MAX_WINPESHL_LINE = 4096;

export const WPEINIT = '%SYSTEMROOT%\\System32\\wpeinit.exe';
export const CMD_EXE = '%SYSTEMROOT%\\System32\\cmd.exe';
export const STARTNET_CMD = '%SYSTEMROOT%\\System32\\startnet.cmd';

export interface WinpeshlApp {
  /** The program as written (quotes and %VARIABLES% kept). */
  path: string;
  /** Its arguments as written, when any. */
  args?: string;
}

export interface ParsedWinpeshl {
  /** Which form started the programs: `none` when there was no file (or no launch section): PE runs startnet.cmd. */
  form: 'LaunchApps' | 'LaunchApp' | 'none';
  /** The programs in the order PE starts them. */
  apps: WinpeshlApp[];
  /** Lines that were skipped, and why (1-based line numbers). */
  warnings: string[];
}

function decodeUtf16(bytes: Buffer, bigEndian: boolean): string {
  const even = bytes.subarray(0, bytes.length - (bytes.length % 2));
  if (!bigEndian) return even.toString('utf16le');
  const swapped = Buffer.from(even);
  swapped.swap16();
  return swapped.toString('utf16le');
}

/**
 * Decodes winpeshl.ini bytes: UTF-16LE/BE with BOM, UTF-16 without BOM (recognised by its NUL bytes), UTF-8 with
 * or without BOM; bytes that are not UTF-8 are read as Latin-1 (the ANSI code page, as Windows would).
 * Larger than {@link MAX_WINPESHL_BYTES}: InputError.
 */
export function decodeIni(bytes: Buffer): string {
  if (bytes.length > MAX_WINPESHL_BYTES) {
    throw new InputError(`winpeshl.ini is ${bytes.length} bytes; a launcher list is never more than ${MAX_WINPESHL_BYTES}: refusing it`);
  }
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return decodeUtf16(bytes.subarray(2), false);
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return decodeUtf16(bytes.subarray(2), true);
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return decodeUtf8(bytes.subarray(3));
  // No BOM: UTF-16 text of ASCII characters has a NUL in every other byte.
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      if (i % 2 === 0) evenNul++;
      else oddNul++;
    }
  }
  const pairs = Math.floor(bytes.length / 2);
  if (pairs > 0 && oddNul >= pairs / 2 && oddNul > evenNul) return decodeUtf16(bytes, false);
  if (pairs > 0 && evenNul >= pairs / 2 && evenNul > oddNul) return decodeUtf16(bytes, true);
  return decodeUtf8(bytes);
}

function decodeUtf8(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** Encodes ini text as Windows writes it: UTF-16LE with a BOM, CRLF line ends. */
export function encodeIni(text: string): Buffer {
  const crlf = text.replace(/\r\n|\r|\n/g, '\r\n');
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(crlf, 'utf16le')]);
}

function unquote(s: string): string {
  const t = s.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).trim() : t;
}

/** Splits a [LaunchApps] line `program[, arguments]` at the first comma outside double quotes. */
function splitAppLine(line: string): WinpeshlApp {
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') inQuotes = !inQuotes;
    else if (c === ',' && !inQuotes) {
      const path = line.slice(0, i).trim();
      const args = line.slice(i + 1).trim();
      return args === '' ? { path } : { path, args };
    }
  }
  return { path: line.trim() };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/;

/**
 * Parses winpeshl.ini text. Section names are case-insensitive; `;` starts a comment line; blank lines are ignored.
 * Lines outside a section, in other sections, or unusable (control characters, too long, no program) are skipped
 * with a warning. Both sections present: [LaunchApps] programs first, then the [LaunchApp] shell (with a warning:
 * the order winpeshl.exe uses then is undocumented). A repeated section: the first one counts, as for Windows'
 * profile API. More than {@link MAX_WINPESHL_APPS} programs or {@link MAX_WINPESHL_BYTES} of text: InputError.
 */
export function parseWinpeshl(text: string): ParsedWinpeshl {
  if (text.length > MAX_WINPESHL_BYTES) {
    throw new InputError(`winpeshl.ini is ${text.length} characters; a launcher list is never more than ${MAX_WINPESHL_BYTES}: refusing it`);
  }
  const warnings: string[] = [];
  const launchApps: WinpeshlApp[] = [];
  let appPath: string | undefined;
  let sawLaunchApps = false;
  let sawLaunchApp = false;
  type Section = 'launchapps' | 'launchapp' | 'other' | 'duplicate' | undefined;
  let section: Section;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith(';')) return;
    if (line.length > MAX_WINPESHL_LINE) {
      warnings.push(`line ${n}: longer than ${MAX_WINPESHL_LINE} characters; skipped`);
      return;
    }
    if (CONTROL.test(line)) {
      warnings.push(`line ${n}: contains control characters; skipped`);
      return;
    }
    if (line.startsWith('[')) {
      const m = /^\[\s*([^\]]*?)\s*\]\s*(;.*)?$/.exec(line);
      if (!m) {
        warnings.push(`line ${n}: broken section header ${JSON.stringify(line.slice(0, 80))}; skipped`);
        section = 'other';
        return;
      }
      const name = (m[1] ?? '').toLowerCase();
      if (name === 'launchapps') {
        section = sawLaunchApps ? 'duplicate' : 'launchapps';
        sawLaunchApps = true;
      } else if (name === 'launchapp') {
        section = sawLaunchApp ? 'duplicate' : 'launchapp';
        sawLaunchApp = true;
      } else {
        section = 'other';
        warnings.push(`line ${n}: section [${(m[1] ?? '').slice(0, 40)}] is not used by winpeshl.exe; its lines are ignored`);
        return;
      }
      if (section === 'duplicate') warnings.push(`line ${n}: section [${m[1]}] repeated; only the first one counts, this one is ignored`);
      return;
    }
    switch (section) {
      case undefined:
        warnings.push(`line ${n}: outside any section; skipped`);
        return;
      case 'other':
      case 'duplicate':
        return;
      case 'launchapp': {
        const m = /^([^=]*)=(.*)$/.exec(line);
        if (!m || (m[1] ?? '').trim().toLowerCase() !== 'apppath') {
          warnings.push(`line ${n}: [LaunchApp] takes only "AppPath = program"; skipped`);
          return;
        }
        const value = (m[2] ?? '').trim();
        if (unquote(value) === '') {
          warnings.push(`line ${n}: AppPath is empty; skipped`);
          return;
        }
        if (appPath !== undefined) {
          warnings.push(`line ${n}: AppPath given again; the first one counts`);
          return;
        }
        appPath = value;
        return;
      }
      case 'launchapps': {
        const app = splitAppLine(line);
        if (unquote(app.path) === '') {
          warnings.push(`line ${n}: no program before the comma; skipped`);
          return;
        }
        if (launchApps.length >= MAX_WINPESHL_APPS) {
          throw new InputError(`winpeshl.ini: more than ${MAX_WINPESHL_APPS} programs in [LaunchApps]; refusing it`);
        }
        launchApps.push(app);
        return;
      }
    }
  });
  if (launchApps.length > 0) {
    const apps = [...launchApps];
    if (appPath !== undefined) {
      warnings.push('both [LaunchApps] and [LaunchApp] present: assumed [LaunchApps] programs run first, then the AppPath shell');
      apps.push({ path: appPath });
    }
    return { form: 'LaunchApps', apps, warnings };
  }
  if (appPath !== undefined) return { form: 'LaunchApp', apps: [{ path: appPath }], warnings };
  if (sawLaunchApps || sawLaunchApp) {
    warnings.push('winpeshl.ini names no program: Windows PE falls back to cmd /k startnet.cmd');
  }
  return { form: 'none', apps: [], warnings };
}

/** Decodes and parses winpeshl.ini bytes; `undefined` (no file) gives form `none`. */
export function readWinpeshl(bytes: Buffer | undefined): ParsedWinpeshl {
  return bytes === undefined ? { form: 'none', apps: [], warnings: [] } : parseWinpeshl(decodeIni(bytes));
}

/** The program of an entry without quotes, `/` as `\`, upper-cased: for comparisons only. */
function programKey(app: WinpeshlApp): string {
  return unquote(app.path).replace(/\//g, '\\').toUpperCase();
}

const VEEAM_PREFIXES = ['X:\\VEEAMRECOVERY\\', '%SYSTEMDRIVE%\\VEEAMRECOVERY\\'];

/** True when a program under X:\VeeamRecovery\ (or %SYSTEMDRIVE%\VeeamRecovery\) is launched: Veeam's media. */
export function isVeeamLaunch(parsed: ParsedWinpeshl): boolean {
  return parsed.apps.some((a) => VEEAM_PREFIXES.some((p) => programKey(a).startsWith(p)));
}

/** True when the entry runs wpeinit (PnP, network, unattend): `wpeinit` or `...\wpeinit.exe`. */
export function isWpeinit(app: WinpeshlApp): boolean {
  const base = programKey(app).split('\\').pop() ?? '';
  return base === 'WPEINIT' || base === 'WPEINIT.EXE';
}

/** The [LaunchApps] entry that starts a .cmd launcher (winpeshl cannot start a batch file directly). */
export function launcherEntry(launcher: string): WinpeshlApp {
  return { path: CMD_EXE, args: `/c ${launcher}` };
}

function isLauncherEntry(app: WinpeshlApp, launcher: string): boolean {
  const base = programKey(app).split('\\').pop() ?? '';
  return (base === 'CMD.EXE' || base === 'CMD') && (app.args ?? '').toUpperCase().includes(launcher.toUpperCase());
}

function appLine(a: WinpeshlApp): string {
  return a.args === undefined ? a.path : `${a.path}, ${a.args}`;
}

function checkLauncher(launcher: string): void {
  if (launcher.trim() === '' || /[\0-\x1f]/.test(launcher) || launcher.length > 260) {
    throw new InputError(`launcher path ${JSON.stringify(launcher)}: must be a short single-line Windows path`);
  }
}

/**
 * The programs of the new [LaunchApps]: wpeinit (unless the original runs it: then the launcher goes right after
 * the original's first wpeinit entry), the launcher through `cmd.exe /c`, then every original program with its
 * arguments in order. `none`: ends with `cmd.exe /k startnet.cmd` so the user still gets PE's shell. An original
 * that already carries this launcher (media built by Lifeboat) has that entry dropped first, so rebuilding is
 * idempotent.
 */
export function composeLaunchApps(original: ParsedWinpeshl, launcher: string): WinpeshlApp[] {
  checkLauncher(launcher);
  const apps = original.apps.filter((a) => !isLauncherEntry(a, launcher));
  const tail: WinpeshlApp[] = original.form === 'none' && apps.length === 0
    ? [{ path: CMD_EXE, args: `/k ${STARTNET_CMD}` }]
    : apps;
  const wpe = tail.findIndex(isWpeinit);
  if (wpe < 0) return [{ path: WPEINIT }, launcherEntry(launcher), ...tail];
  return [...tail.slice(0, wpe + 1), launcherEntry(launcher), ...tail.slice(wpe + 1)];
}

/**
 * The new winpeshl.ini text (LF line ends; {@link encodeIni} makes the bytes: UTF-16LE, BOM, CRLF). See
 * {@link composeLaunchApps} for the order of programs.
 */
export function composeWinpeshl(original: ParsedWinpeshl, launcher: string): string {
  const apps = composeLaunchApps(original, launcher);
  const from = original.form === 'none' ? 'no winpeshl.ini (startnet.cmd)' : `[${original.form}]`;
  return [
    '; Written by Lifeboat: PnP/network init, the Lifeboat restore assistant, then what the original',
    `; winpeshl.ini launched (${from}).`,
    '[LaunchApps]',
    ...apps.map(appLine),
    '',
  ].join('\n');
}
