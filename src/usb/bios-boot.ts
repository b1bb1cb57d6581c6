/**
 * Legacy BIOS boot for the USB image with syslinux, without root or loop devices:
 *
 *   MBR boot code  syslinux mbr.bin (440 bytes, given to writeUsbImage as `mbrBootCode`): loads the active
 *                  partition's boot sector.
 *   VBR + ldlinux  `syslinux --install --offset <bytes> --directory /syslinux <image>` (Debian's mtools-based
 *                  installer works on a plain file): writes its boot sector over ours (keeping the BPB) and adds
 *                  /syslinux/ldlinux.sys and /syslinux/ldlinux.c32.
 *   chain.c32      (with libcom32.c32 and libutil.c32, put into the FAT image by the writer) loads \bootmgr at
 *                  0x2000:0000 with the partition's boot sector, BPB fixed, at 0:7C00 and jumps to it, which is how
 *                  Windows' own boot sector starts bootmgr (syslinux.cfg: `APPEND fs ntldr=/bootmgr`).
 *
 * Order for a build: findSyslinux() -> writeUsbImage([...media, ...syslinuxTreeEntries(files)], img,
 * { mbrBootCode: files.mbrBootCode, ... }) -> installSyslinux(img, partition.offset, files) -> scanBlockMap(img)
 * (the installer changed the image after the writer's block map was made).
 *
 * When the host lacks syslinux, findSyslinux says what is missing and why; the build then makes a UEFI-only USB
 * image and says so in its report.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open, readFile, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

import { InputError, JobError } from '../errors.js';
import type { UsbFileEntry, UsbTreeEntry } from './fat32.js';
import { fileSource } from './fat32.js';
import { MBR_BOOT_CODE_SIZE } from './mbr.js';

const execFileAsync = promisify(execFile);

/** Directory of the FAT volume that holds syslinux (ldlinux.sys, ldlinux.c32, the modules and syslinux.cfg). */
export const SYSLINUX_DIR = '/syslinux';
/** The BIOS modules chain.c32 needs: itself and the two libraries it links against. */
export const SYSLINUX_MODULES = ['chain.c32', 'libcom32.c32', 'libutil.c32'] as const;
export type SyslinuxModule = (typeof SYSLINUX_MODULES)[number];

/** Where distributions put mbr.bin: Debian `syslinux`, Debian `syslinux-common`, Fedora, Arch. */
export const MBR_BIN_CANDIDATES: readonly string[] = [
  '/usr/lib/SYSLINUX/mbr.bin',
  '/usr/lib/syslinux/mbr/mbr.bin',
  '/usr/share/syslinux/mbr.bin',
  '/usr/lib/syslinux/bios/mbr.bin',
];
/** Where distributions put the BIOS .c32 modules: Debian `syslinux-common`, Fedora, Arch. */
export const MODULE_DIR_CANDIDATES: readonly string[] = [
  '/usr/lib/syslinux/modules/bios',
  '/usr/share/syslinux',
  '/usr/lib/syslinux/bios',
];
/** mtools programs the syslinux installer runs (through the shell) to copy ldlinux.* and set their attributes. */
const MTOOLS_PROGRAMS = ['mcopy', 'mattrib'] as const;

const TOOL_TIMEOUT_MS = 120_000;

/** Everything the host provides for BIOS boot of the USB image. */
export interface SyslinuxFiles {
  /** The mtools-based installer (Debian package `syslinux`). */
  installer: string;
  /** What `syslinux --version` says, e.g. `syslinux 6.04  Copyright 1994-2015 H. Peter Anvin et al`. */
  version: string;
  /** mdir of mtools, used to confirm the installation. */
  mdir: string;
  /** Path of mbr.bin. */
  mbrBin: string;
  /** Its content: the MBR boot code for writeUsbImage's `mbrBootCode` (at most 440 bytes). */
  mbrBootCode: Buffer;
  /** The BIOS modules to copy into /syslinux, with their sizes. */
  modules: Record<SyslinuxModule, { path: string; size: number }>;
}

/** What findSyslinux returns when BIOS boot is not possible: the missing pieces and a sentence for the report. */
export interface SyslinuxMissing {
  missing: string[];
  reason: string;
}

export function isSyslinuxMissing(x: SyslinuxFiles | SyslinuxMissing): x is SyslinuxMissing {
  return 'missing' in x;
}

export interface FindSyslinuxOptions {
  /** Directories searched for programs; default: $PATH, then /usr/bin and /usr/sbin. */
  searchPath?: readonly string[];
  /** Candidates for mbr.bin, first found wins; default {@link MBR_BIN_CANDIDATES}. */
  mbrBinCandidates?: readonly string[];
  /** Candidate module directories; the first holding all of {@link SYSLINUX_MODULES} wins. */
  moduleDirCandidates?: readonly string[];
  /** The host platform; default process.platform. */
  platform?: NodeJS.Platform;
}

/**
 * Why a USB image built on Windows is UEFI-only, and what that means for the stick: syslinux (the BIOS boot code
 * installer) is a Linux program.
 */
export const WINDOWS_NO_BIOS_REASON =
  'legacy BIOS boot needs syslinux, a Linux-only tool, so this USB image has none: the stick starts machines in UEFI mode ' +
  '(PCs and servers from about 2012 on, VMs set to UEFI) but not a machine set to legacy BIOS/CSM boot; the ISO boots both ways. ' +
  'For a stick that also boots in BIOS mode, build once on Linux (lifeboat-linux-x64, or WSL)';

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function isReadableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** True for a readable syslinux BIOS module: an ELF32 i386 file (the EFI builds are ELF64 and do not load in BIOS). */
async function isBiosModule(path: string): Promise<boolean> {
  if (!(await isReadableFile(path))) return false;
  const fh = await open(path, 'r');
  try {
    const h = Buffer.alloc(20);
    const { bytesRead } = await fh.read(h, 0, 20, 0);
    return bytesRead === 20 && h.readUInt32BE(0) === 0x7f454c46 && h[4] === 1 && h.readUInt16LE(18) === 3;
  } finally {
    await fh.close();
  }
}

function defaultSearchPath(): string[] {
  const fromEnv = (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '');
  return [...new Set([...fromEnv, '/usr/bin', '/usr/sbin', '/bin', '/sbin'])];
}

async function findProgram(name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const p = join(dir, name);
    if (await isExecutable(p)) return p;
  }
  return undefined;
}

/** The text of a failed child process (stderr, else stdout, else the error message), last lines only. */
function toolOutput(err: unknown): string {
  const e = err as { stderr?: unknown; stdout?: unknown; message?: unknown; killed?: unknown; signal?: unknown };
  const text = [e.stderr, e.stdout].map((s) => (typeof s === 'string' ? s.trim() : '')).find((s) => s !== '');
  const msg = text ?? (typeof e.message === 'string' ? e.message : String(err));
  const lines = msg.split('\n').slice(-10).join('\n');
  return e.killed ? `${lines} (killed${typeof e.signal === 'string' ? ` by ${e.signal}` : ''}, time limit reached?)` : lines;
}

function toolEnv(): NodeJS.ProcessEnv {
  // MTOOLS_SKIP_CHECK: our FAT geometry is not one mtools knows from floppies; C locale: parseable output
  return { ...process.env, MTOOLS_SKIP_CHECK: '1', LC_ALL: 'C', LANG: 'C' };
}

/**
 * Looks for what BIOS boot of the USB image needs on this host: the mtools-based `syslinux` installer (Debian
 * `syslinux`), mtools (mcopy and mattrib, which the installer runs, and mdir), `mbr.bin` and the BIOS modules
 * chain.c32, libcom32.c32 and libutil.c32 (Debian `syslinux-common`). Reads mbr.bin.
 *
 * Never throws for a missing piece: returns `{ missing, reason }` instead, `reason` being a sentence for the build
 * report ("UEFI-only USB: <reason>").
 */
export async function findSyslinux(options: FindSyslinuxOptions = {}): Promise<SyslinuxFiles | SyslinuxMissing> {
  if ((options.platform ?? process.platform) === 'win32') return { missing: ['syslinux'], reason: WINDOWS_NO_BIOS_REASON };
  const searchPath = options.searchPath ?? defaultSearchPath();
  const missing: string[] = [];
  const problems: string[] = [];
  const packages = new Set<string>();

  // the installer, and that it is the mtools-based one (the other variants need root and a loop device)
  const installer = await findProgram('syslinux', searchPath);
  let version = '';
  if (!installer) {
    missing.push('syslinux');
    problems.push('the syslinux installer is not installed');
    packages.add('syslinux');
  } else {
    let help = '';
    try {
      const r = await execFileAsync(installer, ['--help'], { env: toolEnv(), timeout: 10_000 });
      help = `${r.stdout}${r.stderr}`;
    } catch (err) {
      help = toolOutput(err);
    }
    if (!/--offset/.test(help) || !/--directory/.test(help)) {
      missing.push('syslinux (mtools variant)');
      problems.push(`${installer} does not offer --offset and --directory, so it is not the mtools-based installer that works on an image file`);
      packages.add('syslinux');
    } else {
      try {
        const r = await execFileAsync(installer, ['--version'], { env: toolEnv(), timeout: 10_000 });
        version = `${r.stdout}${r.stderr}`.trim().split('\n')[0] ?? '';
        // it prints its argv[0] as the program name
        if (version.startsWith(`${installer} `)) version = `syslinux${version.slice(installer.length)}`;
      } catch (err) {
        version = toolOutput(err).split('\n')[0] ?? '';
      }
    }
  }

  const mdir = await findProgram('mdir', searchPath);
  const absent: string[] = [];
  for (const p of MTOOLS_PROGRAMS) if (!(await findProgram(p, searchPath))) absent.push(p);
  if (!mdir) absent.push('mdir');
  if (absent.length > 0) {
    missing.push(...absent.map((p) => `mtools (${p})`));
    problems.push(`mtools is not installed (${absent.join(', ')} not found), and the syslinux installer runs it`);
    packages.add('mtools');
  }

  // mbr.bin
  let mbrBin: string | undefined;
  let mbrBootCode: Buffer | undefined;
  for (const candidate of options.mbrBinCandidates ?? MBR_BIN_CANDIDATES) {
    if (!(await isReadableFile(candidate))) continue;
    const bytes = await readFile(candidate);
    if (bytes.length === 0 || bytes.length > MBR_BOOT_CODE_SIZE) {
      problems.push(`${candidate} is ${bytes.length} bytes, not MBR boot code of at most ${MBR_BOOT_CODE_SIZE} bytes`);
      continue;
    }
    mbrBin = candidate;
    mbrBootCode = bytes;
    break;
  }
  if (!mbrBin) {
    missing.push('mbr.bin');
    if (!problems.some((p) => p.includes('mbr.bin'))) problems.push('syslinux mbr.bin was not found');
    packages.add('syslinux-common');
  }

  // modules: all three from the same directory (modules of different syslinux versions do not load together)
  let modules: SyslinuxFiles['modules'] | undefined;
  const dirs = options.moduleDirCandidates ?? MODULE_DIR_CANDIDATES;
  let bestMissing: string[] = [...SYSLINUX_MODULES];
  for (const dir of dirs) {
    const found: Partial<SyslinuxFiles['modules']> = {};
    const lacking: string[] = [];
    for (const m of SYSLINUX_MODULES) {
      const p = join(dir, m);
      if (await isBiosModule(p)) found[m] = { path: p, size: (await stat(p)).size };
      else lacking.push(m);
    }
    if (lacking.length === 0) {
      modules = found as SyslinuxFiles['modules'];
      break;
    }
    if (lacking.length < bestMissing.length) bestMissing = lacking;
  }
  if (!modules) {
    missing.push(...bestMissing);
    problems.push(`the syslinux BIOS modules ${bestMissing.join(', ')} were not found (looked for 32-bit x86 modules in ${dirs.join(', ')})`);
    packages.add('syslinux-common');
  }

  if (installer && mdir && mbrBin && mbrBootCode && modules && missing.length === 0) {
    return { installer, version, mdir, mbrBin, mbrBootCode, modules };
  }
  const reason =
    `no legacy BIOS boot code: ${problems.join('; ')}.` +
    (packages.size > 0 ? ` Install the Debian/Ubuntu package${packages.size > 1 ? 's' : ''} ${[...packages].join(', ')} for a USB image that also boots in BIOS mode.` : '');
  return { missing, reason };
}

/**
 * syslinux.cfg: boot `\bootmgr` at once through chain.c32. No prompt, no timeout, and NOESCAPE so that a held
 * Shift or a Caps Lock left on does not stop at a `boot:` prompt that would wait forever. `fs` selects the
 * partition syslinux runs from; `ntldr=` loads the file at 0x2000:0000 with the BPB of that partition's boot
 * sector corrected in memory (hidden sectors, geometry, drive number), as bootmgr expects.
 */
export function syslinuxConfig(): string {
  return [
    '# Lifeboat: legacy BIOS boot of the Windows Boot Manager (\\bootmgr) through syslinux chain.c32.',
    `PATH ${SYSLINUX_DIR}/`,
    'PROMPT 0',
    'TIMEOUT 0',
    'NOESCAPE 1',
    'DEFAULT windows',
    '',
    'LABEL windows',
    `  COM32 ${SYSLINUX_DIR}/chain.c32`,
    '  APPEND fs ntldr=/bootmgr',
    '',
  ].join('\n');
}

function bufferEntry(path: string, data: Buffer): UsbFileEntry {
  return {
    path,
    size: data.length,
    source: () =>
      (async function* () {
        yield data;
      })(),
  };
}

/**
 * The files to put into the FAT image (before writing it) for BIOS boot: /syslinux/chain.c32, libcom32.c32,
 * libutil.c32 (read from the host when the image is written) and /syslinux/syslinux.cfg. ldlinux.sys and
 * ldlinux.c32 are added afterwards by {@link installSyslinux}.
 */
export function syslinuxTreeEntries(files: SyslinuxFiles): UsbTreeEntry[] {
  const entries: UsbTreeEntry[] = SYSLINUX_MODULES.map((m) => {
    const { path, size } = files.modules[m];
    return { path: `${SYSLINUX_DIR}/${m}`, size, source: fileSource(path, size) };
  });
  entries.push(bufferEntry(`${SYSLINUX_DIR}/syslinux.cfg`, Buffer.from(syslinuxConfig(), 'utf8')));
  return entries;
}

export interface SyslinuxInstallResult {
  /** Files the installer added, as found on the volume afterwards. */
  installed: string[];
  /** The installer's version line. */
  version: string;
  durationMs: number;
}

/**
 * Installs syslinux's boot sector and ldlinux.sys/ldlinux.c32 into the FAT32 partition at byte `partitionOffset`
 * of the whole-disk image `imagePath` (a plain file: no root, no loop device), then confirms with mdir that both
 * files are in /syslinux. The image must already hold /syslinux (see {@link syslinuxTreeEntries}). Afterwards the
 * image's block map is stale: rebuild it with scanBlockMap.
 *
 * The installer leaves FAT32's backup boot sector (and backup FSInfo) as they were, which fsck.fat reports as a
 * difference; both are brought in line with the new ones, and the file is fsynced (unless `sync: false`).
 *
 * Errors: InputError for a missing or unwritable image, a bad offset, no FAT32 at the offset, or an image without
 * /syslinux and its files (the installer would silently put ldlinux.* into the root instead); JobError when the
 * installer fails or its boot sector or files are not there afterwards.
 */
export async function installSyslinux(
  imagePath: string,
  partitionOffset: number,
  files: SyslinuxFiles,
  /** `sync: false` leaves the fsync to a caller that makes the image durable later (a build's output set). */
  options: { sync?: boolean } = {},
): Promise<SyslinuxInstallResult> {
  if (!Number.isSafeInteger(partitionOffset) || partitionOffset <= 0 || partitionOffset % 512 !== 0) {
    throw new InputError(`Partition offset ${String(partitionOffset)} for syslinux must be a positive multiple of 512 bytes.`);
  }
  let size: number;
  try {
    const s = await stat(imagePath);
    if (!s.isFile()) throw new InputError(`${imagePath} is not a regular file; syslinux is installed into an image file here.`);
    size = s.size;
    await access(imagePath, constants.R_OK | constants.W_OK);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new InputError(`Cannot install syslinux into ${imagePath}: ${msg}`, 'Check that the USB image exists and is writable.', { cause: err });
  }
  if (partitionOffset + 512 * 64 > size) {
    throw new InputError(`Partition offset ${partitionOffset} lies beyond the end of ${imagePath} (${size} bytes).`);
  }
  const bootSectorBefore = await readSector(imagePath, partitionOffset);
  if (bootSectorBefore.toString('latin1', 82, 90) !== 'FAT32   ') {
    throw new InputError(`No FAT32 file system at byte ${partitionOffset} of ${imagePath}; syslinux needs one.`);
  }

  // Without the directory the installer silently puts ldlinux.* into the root, where nothing finds chain.c32.
  const before = await listDirectory(files.mdir, imagePath, partitionOffset, SYSLINUX_DIR).catch((err: unknown) => {
    throw new InputError(
      `The USB image ${imagePath} has no ${SYSLINUX_DIR} directory (${toolOutput(err).split('\n')[0] ?? ''}).`,
      'Write the image with the entries of syslinuxTreeEntries() before installing syslinux.',
      { cause: err },
    );
  });
  const lacking = [...SYSLINUX_MODULES, 'syslinux.cfg'].map((n) => `${SYSLINUX_DIR}/${n}`).filter((p) => !before.has(p));
  if (lacking.length > 0) {
    throw new InputError(
      `The USB image ${imagePath} lacks ${lacking.join(', ')}, without which syslinux cannot start bootmgr.`,
      'Write the image with the entries of syslinuxTreeEntries() before installing syslinux.',
    );
  }

  const started = performance.now();
  const args = ['--install', '--offset', String(partitionOffset), '--directory', SYSLINUX_DIR, imagePath];
  try {
    await execFileAsync(files.installer, args, { env: toolEnv(), timeout: TOOL_TIMEOUT_MS, maxBuffer: 4 * 2 ** 20 });
  } catch (err) {
    throw new JobError(
      `syslinux could not install the BIOS boot loader into ${imagePath}: ${toolOutput(err)}`,
      `Command: ${files.installer} ${args.join(' ')}. Check that ${SYSLINUX_DIR} exists on the volume and that mtools works.`,
      { cause: err },
    );
  }

  // the installer reports success even when mcopy failed in some versions: look at the volume
  let names: Set<string>;
  try {
    names = await listDirectory(files.mdir, imagePath, partitionOffset, SYSLINUX_DIR);
  } catch (err) {
    throw new JobError(`After installing syslinux, ${SYSLINUX_DIR} of ${imagePath} cannot be listed: ${toolOutput(err)}`, undefined, {
      cause: err,
    });
  }
  const expected = ['ldlinux.sys', 'ldlinux.c32'].map((n) => `${SYSLINUX_DIR}/${n}`);
  const absent = expected.filter((p) => !names.has(p));
  if (absent.length > 0) {
    throw new JobError(`syslinux ran but ${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not on the volume of ${imagePath}.`);
  }
  const bootSectorAfter = await readSector(imagePath, partitionOffset);
  if (bootSectorAfter.equals(bootSectorBefore) || bootSectorAfter.readUInt16LE(510) !== 0xaa55) {
    throw new JobError(`syslinux ran but did not write its boot sector into the partition of ${imagePath}.`);
  }
  await syncBackupBootSector(imagePath, partitionOffset, options.sync ?? true);
  return { installed: expected, version: files.version, durationMs: performance.now() - started };
}

/**
 * The installer rewrites the boot sector (its code, OEM name "SYSLINUX") but not FAT32's backup copy (sector 6),
 * and mtools updates the FSInfo sector but not its backup; fsck.fat then reports "differences between boot sector
 * and its backup". Copies the boot sector and the FSInfo sector over their backups, as Windows' format keeps them.
 */
async function syncBackupBootSector(imagePath: string, partitionOffset: number, sync: boolean): Promise<void> {
  const fh = await open(imagePath, 'r+');
  try {
    const boot = Buffer.alloc(512);
    await fh.read(boot, 0, 512, partitionOffset);
    const fsInfoSector = boot.readUInt16LE(48);
    const backupSector = boot.readUInt16LE(50);
    const reserved = boot.readUInt16LE(14);
    const hasBackup = backupSector !== 0 && backupSector !== 0xffff && backupSector + 1 < reserved;
    if (hasBackup) {
      await fh.write(boot, 0, 512, partitionOffset + backupSector * 512);
      if (fsInfoSector !== 0 && fsInfoSector !== 0xffff && fsInfoSector < backupSector) {
        const fsInfo = Buffer.alloc(512);
        await fh.read(fsInfo, 0, 512, partitionOffset + fsInfoSector * 512);
        if (fsInfo.readUInt32LE(0) === 0x41615252) await fh.write(fsInfo, 0, 512, partitionOffset + (backupSector + fsInfoSector) * 512);
      }
    }
    // flushes the installer's writes too (same file): the image is complete on disk before a rename into place
    if (sync) await fh.sync();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new JobError(`Could not update the backup boot sector of ${imagePath} after installing syslinux: ${msg}`, undefined, { cause: err });
  } finally {
    await fh.close();
  }
}

/** Paths (lower case, `/dir/name`) of the entries of `dir` on the FAT volume at `offset` of `image`, hidden ones included. */
async function listDirectory(mdir: string, image: string, offset: number, dir: string): Promise<Set<string>> {
  const r = await execFileAsync(mdir, ['-a', '-b', '-i', `${image}@@${offset}`, `::${dir}`], { env: toolEnv(), timeout: TOOL_TIMEOUT_MS });
  return new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim().replace(/^::/, '').toLowerCase())
      .filter((l) => l !== ''),
  );
}

async function readSector(path: string, offset: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(512);
    await fh.read(b, 0, 512, offset);
    return b;
  } finally {
    await fh.close();
  }
}
