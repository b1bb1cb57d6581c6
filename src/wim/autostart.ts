/**
 * Autostart: the boot image starts the restore assistant after PnP/network init and before whatever it launched
 * before (Veeam Recovery). Two files change in the boot index's image, in one update:
 *   /lifeboat/launch.cmd             finds the media and runs the assistant (winpe-overlay/launch.cmd)
 *   /Windows/System32/winpeshl.ini   wpeinit, cmd /c launch.cmd, then the original programs in order
 * and both are read back afterwards.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, JobError } from '../errors.js';
import type { WimBackend } from './backend.js';
import { LAUNCH_CMD_IMAGE_PATH, LAUNCH_CMD_PE_PATH, WINPESHL_IMAGE_PATH } from './overlay.js';
import { readHiveString } from './hive.js';
import { type ParsedWinpeshl, composeWinpeshl, decodeIni, encodeIni, isVeeamLaunch, readWinpeshl } from './winpeshl.js';

const STARTNET_IMAGE_PATH = '/Windows/System32/startnet.cmd';
const SYSTEM_HIVE_IMAGE_PATH = '/Windows/System32/config/SYSTEM';
/** Largest SYSTEM hive read (Windows PE's is a few MiB). */
const MAX_HIVE_BYTES = 64 * 2 ** 20;
const VEEAM_DIR = /(^|[\s"'=:\\])(X:|%SYSTEMDRIVE%)\\VeeamRecovery\\/i;

export interface BootWimInspection {
  /** The image Windows boots (header boot index). */
  index: number;
  /** What its winpeshl.ini launched (`none` when it has none). */
  original: ParsedWinpeshl;
  /** winpeshl.ini's bytes as found, when present. */
  originalBytes?: Buffer;
  /** A program under X:\VeeamRecovery\ is launched: this is Veeam's recovery media. */
  veeam: boolean;
  /** Where Veeam's launch was found: winpeshl.ini, or (when that names none) startnet.cmd or SYSTEM\Setup\CmdLine. */
  veeamVia?: 'winpeshl.ini' | 'startnet.cmd' | 'Setup\\CmdLine';
  /** SYSTEM\Setup\CmdLine when it was read and does not start winpeshl.exe (then winpeshl.ini is never used). */
  cmdLine?: string;
}

export interface AutostartResult extends BootWimInspection {
  /** The new winpeshl.ini text (written as UTF-16LE with BOM and CRLF: {@link newIniBytes}). */
  newIni: string;
  newIniBytes: Buffer;
  /** launch.cmd as written into the image (CRLF line ends). */
  launcherBytes: Buffer;
}

export interface AutostartOptions {
  /** The launcher to put at /lifeboat/launch.cmd (normally winpe-overlay/launch.cmd: LAUNCH_CMD). */
  launcherSource: string;
}

/**
 * Reads the boot image's winpeshl.ini: what it launches and whether that is Veeam Recovery. For the base check.
 * When winpeshl.ini names no Veeam program, the other two ways Windows PE starts programs are looked at:
 * startnet.cmd (run when there is no winpeshl.ini) and the SYSTEM hive's Setup\CmdLine (what winlogon starts;
 * normally winpeshl.exe).
 */
export async function inspectBootWim(backend: WimBackend, wim: string): Promise<BootWimInspection> {
  const index = await backend.bootIndex(wim);
  const originalBytes = await backend.readFile(wim, index, WINPESHL_IMAGE_PATH);
  let original: ParsedWinpeshl;
  try {
    original = readWinpeshl(originalBytes);
  } catch (err) {
    if (err instanceof InputError) {
      throw new InputError(`${wim}: image ${index}: ${err.message}`, err.hint, { cause: err });
    }
    throw err;
  }
  const found: BootWimInspection = { index, original, ...(originalBytes === undefined ? {} : { originalBytes }), veeam: isVeeamLaunch(original) };
  if (found.veeam) return { ...found, veeamVia: 'winpeshl.ini' };
  if (original.form === 'none') {
    const startnet = await backend.readFile(wim, index, STARTNET_IMAGE_PATH);
    if (startnet && VEEAM_DIR.test(decodeIni(startnet))) return { ...found, veeam: true, veeamVia: 'startnet.cmd' };
  }
  const hive = await backend.readFile(wim, index, SYSTEM_HIVE_IMAGE_PATH, MAX_HIVE_BYTES).catch(() => undefined);
  const cmdLine = hive ? setupCmdLine(hive, `${wim}: image ${index}: ${SYSTEM_HIVE_IMAGE_PATH}`) : undefined;
  if (cmdLine === undefined || /(^|\\|\s|")winpeshl(\.exe)?("|\s|$)/i.test(cmdLine.trim())) return found;
  return { ...found, cmdLine, ...(VEEAM_DIR.test(cmdLine) ? { veeam: true, veeamVia: 'Setup\\CmdLine' as const } : {}) };
}

/** SYSTEM\Setup\CmdLine, or undefined when the hive cannot be read (a damaged hive is not the build's concern). */
export function setupCmdLine(hive: Buffer, name: string): string | undefined {
  try {
    return readHiveString(hive, 'Setup', 'CmdLine', name);
  } catch {
    return undefined;
  }
}

/** Batch files must have CRLF line ends (cmd.exe mis-parses labels and blocks otherwise): normalised here. */
export function toCrlf(bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/**
 * Adds the autostart to `wim` (a copy the caller owns; changed in place): launch.cmd and the composed winpeshl.ini
 * in one update of the boot index's image, then both read back and compared.
 */
export async function installAutostart(backend: WimBackend, wim: string, opts: AutostartOptions): Promise<AutostartResult> {
  const launcherRaw = await readFile(opts.launcherSource).catch((err: unknown) => {
    throw new JobError(`${opts.launcherSource}: cannot read the launcher (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      'Reinstall Lifeboat: winpe-overlay/launch.cmd is part of it.');
  });
  if (launcherRaw.length === 0 || launcherRaw.length > 64 * 1024) {
    throw new JobError(`${opts.launcherSource}: ${launcherRaw.length} bytes; not a launcher script`);
  }
  const launcherBytes = toCrlf(launcherRaw);
  const inspection = await inspectBootWim(backend, wim);
  if (inspection.cmdLine !== undefined) {
    throw new InputError(`${wim}: image ${inspection.index} starts "${inspection.cmdLine}" (SYSTEM\\Setup\\CmdLine) instead of winpeshl.exe, so an autostart through winpeshl.ini would never run`,
      'Build with --no-autostart and start the assistant with \\lifeboat\\start.cmd.');
  }
  const newIni = composeWinpeshl(inspection.original, LAUNCH_CMD_PE_PATH);
  const newIniBytes = encodeIni(newIni);

  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-autostart-'));
  try {
    const launcherFile = join(dir, 'launch.cmd');
    const iniFile = join(dir, 'winpeshl.ini');
    await writeFile(launcherFile, launcherBytes);
    await writeFile(iniFile, newIniBytes);
    await backend.addFiles(wim, inspection.index, [
      { source: launcherFile, target: LAUNCH_CMD_IMAGE_PATH },
      { source: iniFile, target: WINPESHL_IMAGE_PATH },
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const iniBack = await backend.readFile(wim, inspection.index, WINPESHL_IMAGE_PATH);
  if (!iniBack?.equals(newIniBytes)) {
    throw new JobError(`${wim}: winpeshl.ini read back from image ${inspection.index} differs from what was written (${iniBack?.length ?? 'no'} bytes)`);
  }
  const launcherBack = await backend.readFile(wim, inspection.index, LAUNCH_CMD_IMAGE_PATH);
  if (!launcherBack?.equals(launcherBytes)) {
    throw new JobError(`${wim}: ${LAUNCH_CMD_IMAGE_PATH} read back from image ${inspection.index} differs from what was written`);
  }
  return { ...inspection, newIni, newIniBytes, launcherBytes };
}
