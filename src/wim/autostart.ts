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
import { type ParsedWinpeshl, composeWinpeshl, encodeIni, isVeeamLaunch, readWinpeshl } from './winpeshl.js';

export interface BootWimInspection {
  /** The image Windows boots (header boot index). */
  index: number;
  /** What its winpeshl.ini launched (`none` when it has none). */
  original: ParsedWinpeshl;
  /** winpeshl.ini's bytes as found, when present. */
  originalBytes?: Buffer;
  /** A program under X:\VeeamRecovery\ is launched: this is Veeam's recovery media. */
  veeam: boolean;
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

/** Reads the boot image's winpeshl.ini: what it launches and whether that is Veeam Recovery. For the base check. */
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
  return { index, original, ...(originalBytes === undefined ? {} : { originalBytes }), veeam: isVeeamLaunch(original) };
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
