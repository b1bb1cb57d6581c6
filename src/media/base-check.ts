/**
 * Is the base ISO Windows PE media we can build on, and is it Veeam's? Checks the files and boot entries Windows
 * PE media must have, then (with a WIM tool) reads the boot image's winpeshl.ini to confirm Veeam's launcher.
 */
import { open } from 'node:fs/promises';
import { writeError } from '../util/atomic-file.js';
import { PatchedFile } from '../util/patched-file.js';
import { InputError } from '../errors.js';
import { type IsoImage, PLATFORM_BIOS, PLATFORM_EFI } from '../iso/index.js';
import type { WimBackend } from '../wim/backend.js';
import { NativeWimBackend } from '../wim/native.js';
import { type ParsedWinpeshl, isVeeamLaunch } from '../wim/winpeshl.js';
import { inspectBootWim } from '../wim/autostart.js';

export const BOOT_WIM = '/sources/boot.wim';
const REQUIRED_FILES = ['/bootmgr', '/boot/bcd', '/efi/boot/bootx64.efi', BOOT_WIM];

export interface BaseCheck {
  /** What the media is: Veeam's recovery media, or generic Windows PE media accepted with --force. */
  kind: 'veeam' | 'winpe';
  /** What the boot image launched, when a WIM tool could read it. */
  winpeshl?: ParsedWinpeshl;
  /** Whether `efi/microsoft/boot/efisys_noprompt.bin` exists (for --no-prompt-boot). */
  noPromptEfi?: string;
  warnings: string[];
}

/** Checks the layout; throws an InputError naming everything missing. */
export function checkWinPeLayout(image: IsoImage): void {
  const missing = REQUIRED_FILES.filter((p) => !image.find(p) || image.find(p)!.isDir);
  const platforms = image.bootImages.map((b) => b.platformId);
  if (!platforms.includes(PLATFORM_BIOS)) missing.push('a BIOS El Torito boot entry');
  if (!platforms.includes(PLATFORM_EFI)) missing.push('a UEFI El Torito boot entry');
  if (missing.length > 0) {
    throw new InputError(
      `"${image.path}" is not Windows PE recovery media: missing ${missing.join(', ')}`,
      'Use the ISO that Veeam Agent\'s "Create Recovery Media" wrote (or Veeam.EndPoint.Manager.exe /createrecoverymediaiso).',
    );
  }
}

/** The boot image the build reads and changes, and the WIM backend that reaches it by `name`. */
export interface BootWim {
  backend: WimBackend;
  name: string;
  /** With our own engine: boot.wim where it lies in the base, its changes kept in memory. */
  patched?: PatchedFile;
}

/**
 * Our own engine changes boot.wim where it lies in the base: an append-mode update writes a new header and a tail of
 * a few MiB, kept in memory, and the ISO is written from the base's bytes and those. An external tool (wimlib-imagex,
 * DISM) gets a copy of it at `scratch`.
 */
export async function bootWimToChange(image: IsoImage, backend: WimBackend, scratch: string): Promise<BootWim> {
  const entry = image.find(BOOT_WIM)!;
  if (backend instanceof NativeWimBackend) {
    const name = `${image.path} (${BOOT_WIM.slice(1)})`;
    const patched = new PatchedFile(image.path, entry.extents, entry.size);
    return { backend: backend.holding(name, patched), name, patched };
  }
  await extractFile(image, BOOT_WIM, scratch);
  return { backend, name: scratch };
}

/** Copies the boot image out of the ISO so a WIM tool can read and update it. */
async function extractFile(image: IsoImage, isoPath: string, dest: string): Promise<void> {
  const entry = image.find(isoPath);
  if (!entry) throw new InputError(`"${image.path}" has no ${isoPath}`);
  const out = await open(dest, 'w');
  try {
    // Each chunk is a reused buffer: written before the next is read.
    for await (const chunk of image.streamReusing(entry.extents, 4 << 20)) await out.write(chunk);
  } catch (e) {
    throw writeError(dest, e);
  } finally {
    await out.close();
  }
}

/** A base that is already Lifeboat media (it carries \lifeboat\): building on it works, but is rarely meant. */
export function lifeboatMediaWarning(image: IsoImage): string | undefined {
  const folder = image.find('/lifeboat');
  if (!folder?.isDir) return undefined;
  return (
    `"${image.path}" is already Lifeboat media (it has \\lifeboat\\ from an earlier build): the new build replaces that ` +
    'folder, but use Veeam\'s own recovery ISO as --base, so that nothing else of the earlier build is carried along'
  );
}

/** After checkWinPeLayout: is it Veeam's media (read from its boot.wim), and what can the build use? */
export async function checkBase(image: IsoImage, opts: { bootWim?: BootWim; force?: boolean }): Promise<BaseCheck> {
  const warnings: string[] = [];
  const earlier = lifeboatMediaWarning(image);
  if (earlier) warnings.push(earlier);
  let winpeshl: ParsedWinpeshl | undefined;
  let veeamFound = false;
  if (opts.bootWim) {
    const inspection = await inspectBootWim(opts.bootWim.backend, opts.bootWim.name);
    winpeshl = inspection.original;
    veeamFound = inspection.veeam; // winpeshl.ini, else startnet.cmd or SYSTEM\Setup\CmdLine
  } else {
    warnings.push('no WIM tool (wimlib-imagex or DISM): the boot image was not checked for Veeam and gets no autostart');
  }
  const veeam = winpeshl ? veeamFound || isVeeamLaunch(winpeshl) : false;
  if (winpeshl && !veeam && !opts.force) {
    throw new InputError(
      `"${image.path}" is Windows PE media, but its boot image does not start Veeam Recovery (X:\\VeeamRecovery\\ is not in winpeshl.ini)`,
      'Use Veeam\'s recovery media, or add --force to build on generic Windows PE media.',
    );
  }
  if (!winpeshl && !opts.force) warnings.push('could not confirm this is Veeam recovery media');
  const noPrompt = image.find('/efi/microsoft/boot/efisys_noprompt.bin');
  return { kind: veeam ? 'veeam' : 'winpe', winpeshl, noPromptEfi: noPrompt && !noPrompt.isDir ? noPrompt.path : undefined, warnings };
}
