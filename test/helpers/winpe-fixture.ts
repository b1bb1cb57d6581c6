/**
 * Stand-in Windows PE media (the layout of a Veeam recovery ISO) built only with Debian tools, and a
 * reference ISO laid out the way Microsoft's oscdimg does it:
 *
 *   oscdimg -bootdata:2#p0,e,b<etfsboot.com>#pEF,e,b<efisys.bin> ...
 *
 * Nothing here boots Windows: bootmgr, BCD, boot.sdi and the EFI loaders are stand-in bytes. What is real
 * is the structure the remaster engine must preserve: the two El Torito entries, a BIOS boot image that is
 * NOT patched with a boot-info-table, an EFI boot image that exists only in the boot catalog (not as a
 * file), and a real WIM (wimlib) holding `Windows/System32/winpeshl.ini`.
 */
import { copyFile, mkdir, open, readdir, readFile, rm, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { mkTempDir, pseudoRandomBytes, removeTempDir, runChecked, writePseudoRandomFile } from './tools.js';

/** Content of a file placed into a FAT image, a WIM or the tree: bytes, text (written as UTF-8), or a host file to copy. */
export type FileSource = Uint8Array | string | { fromFile: string };

export interface EfiFatImageOptions {
  /**
   * Image size in bytes, a multiple of 512. Default 1 474 560 (a 1.44 MB floppy geometry, which is what
   * Microsoft's efisys.bin is).
   */
  sizeBytes?: number;
  /** FAT volume label (max 11 chars). */
  label?: string;
}

/** Fixed mtime for files we create, so inputs are stable between runs. */
const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');
const MTOOLS_ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1' };

async function writeSource(dest: string, src: FileSource): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  if (typeof src === 'object' && !(src instanceof Uint8Array)) {
    await copyFile(src.fromFile, dest);
  } else {
    await writeFile(dest, src);
  }
  await utimes(dest, FIXED_MTIME, FIXED_MTIME);
}

/**
 * Creates a FAT12/16 image at `path` (mtools, no root needed) holding `files`, keyed by their path inside
 * the image with `/` separators, e.g. `{ 'EFI/BOOT/BOOTX64.EFI': bytes }`. Directories are created as needed.
 */
export async function buildEfiFatImage(
  path: string,
  files: Record<string, FileSource>,
  opts: EfiFatImageOptions = {},
): Promise<string> {
  const size = opts.sizeBytes ?? 1_474_560;
  if (size % 512 !== 0 || size < 64 * 1024) throw new RangeError(`buildEfiFatImage: bad size ${size}`);
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true });
  const label = ['-v', (opts.label ?? 'EFISECTOR').slice(0, 11)];
  if (size === 1_474_560) {
    await runChecked('mformat', ['-C', '-f', '1440', '-N', '4C424F54', ...label, '-i', path, '::'], { env: MTOOLS_ENV });
  } else {
    await writeFile(path, '');
    await truncate(path, size);
    await runChecked('mformat', ['-T', String(size / 512), '-N', '4C424F54', ...label, '-i', path, '::'], {
      env: MTOOLS_ENV,
    });
  }
  const staging = await mkTempDir('fat');
  try {
    const made = new Set<string>();
    let n = 0;
    for (const [inner, src] of Object.entries(files)) {
      const parts = inner.split('/').filter(Boolean);
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (made.has(d.toUpperCase())) continue;
        await runChecked('mmd', ['-i', path, `::/${d}`], { env: MTOOLS_ENV });
        made.add(d.toUpperCase());
      }
      const local = join(staging, String(n++));
      await writeSource(local, src);
      await runChecked('mcopy', ['-m', '-o', '-i', path, local, `::/${parts.join('/')}`], { env: MTOOLS_ENV });
    }
  } finally {
    await removeTempDir(staging);
  }
  return path;
}

export type WinPeshlEncoding = 'utf8' | 'utf16le-bom';

/** The winpeshl.ini Veeam's recovery media ships (CRLF line ends). */
export const VEEAM_WINPESHL_INI = '[LaunchApps]\r\nX:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe\r\n';

/** Encodes winpeshl.ini text the way a given tool would have written it. */
export function encodeWinPeshl(text: string, encoding: WinPeshlEncoding): Buffer {
  return encoding === 'utf8'
    ? Buffer.from(text, 'utf8')
    : Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

export interface StandInWinPeOptions {
  /** winpeshl.ini text. Default {@link VEEAM_WINPESHL_INI}. */
  winpeshlIni?: string;
  /** How winpeshl.ini is encoded inside boot.wim. Default 'utf8' (Windows tools often write 'utf16le-bom'). */
  winpeshlEncoding?: WinPeshlEncoding;
  /** Leave winpeshl.ini out of boot.wim (plain WinPE: startnet.cmd runs). */
  omitWinpeshl?: boolean;
  /** More files for the boot.wim image, keyed by path inside the image (`/` separators). */
  wimFiles?: Record<string, FileSource>;
  /** More files for the media tree, keyed by path relative to the tree root. */
  treeFiles?: Record<string, FileSource>;
  /**
   * Grow sources/boot.wim to about this many bytes (for benchmarks) by capturing an extra file of
   * pseudo-random data at /pad.bin in the image. The result is at most `padTo` and within 64 KiB of it.
   */
  padTo?: number;
  /** Big pseudo-random files in the media tree, e.g. `{ 'sources/install.wim': 3 * 2 ** 30 }`. */
  bigFiles?: Record<string, number>;
  /**
   * WIM compression. Default 'LZX' (what boot.wim uses), but 'none' when `padTo` is given (LZX over
   * hundreds of MiB of incompressible data costs minutes on 2 cores and measures wimlib, not I/O).
   */
  wimCompression?: 'LZX' | 'XPRESS' | 'none';
  /** Seed for every pseudo-random byte (different seeds give different but still deterministic content). */
  seed?: string;
}

export interface StandInWinPe {
  /** The media tree root (the `dir` argument, absolute). */
  root: string;
  bootmgr: string;
  bcd: string;
  bootSdi: string;
  /** BIOS El Torito image, exactly 4096 bytes, no boot-info-table. */
  etfsboot: string;
  efiBootx64: string;
  efiBcd: string;
  /** FAT image `efi/microsoft/boot/efisys.bin` (EFI/BOOT/BOOTX64.EFI inside). */
  efisys: string;
  /** FAT image `efi/microsoft/boot/efisys_noprompt.bin`. */
  efisysNoPrompt: string;
  /** sources/boot.wim (a real WIM; boot index 1). */
  bootWim: string;
  /** Size of boot.wim in bytes. */
  bootWimSize: number;
  /** The exact bytes stored as Windows/System32/winpeshl.ini in boot.wim (undefined when omitted). */
  winpeshlBytes: Buffer | undefined;
  /** Stand-in bytes of X:\VeeamRecovery\Veeam.Endpoint.Recovery.exe inside boot.wim. */
  veeamExeBytes: Buffer;
}

/** Relative paths of the stand-in tree, as Windows media spells them. */
export const WINPE_PATHS = {
  bootmgr: 'bootmgr',
  bcd: 'boot/BCD',
  bootSdi: 'boot/boot.sdi',
  etfsboot: 'boot/etfsboot.com',
  efiBootx64: 'efi/boot/bootx64.efi',
  efiBcd: 'efi/microsoft/boot/bcd',
  efisys: 'efi/microsoft/boot/efisys.bin',
  efisysNoPrompt: 'efi/microsoft/boot/efisys_noprompt.bin',
  bootWim: 'sources/boot.wim',
} as const;

/** A PE-looking stand-in: "MZ" + filler + a readable tag. */
function standInPe(seed: string, size: number, tag: string): Buffer {
  const b = pseudoRandomBytes(seed, size);
  b.write('MZ', 0, 'latin1');
  b.write(`LIFEBOAT-STAND-IN ${tag}\0`, 64, 'latin1');
  return b;
}

/**
 * Creates a Windows PE media layout under `dir` (created if missing; existing files are overwritten).
 * Needs mtools and wimlib-imagex.
 */
export async function buildStandInWinPeTree(dir: string, opts: StandInWinPeOptions = {}): Promise<StandInWinPe> {
  const root = resolve(dir);
  const seed = opts.seed ?? 'winpe';
  const p = (rel: string) => join(root, ...rel.split('/'));
  await mkdir(root, { recursive: true });

  const bootmgr = pseudoRandomBytes(`${seed}:bootmgr`, 16 * 1024);
  bootmgr.write('LIFEBOAT-STAND-IN bootmgr\0', 0, 'latin1');
  const bcd = pseudoRandomBytes(`${seed}:bcd`, 8 * 1024);
  bcd.write('regf', 0, 'latin1');
  const efiBcd = pseudoRandomBytes(`${seed}:efibcd`, 8 * 1024);
  efiBcd.write('regf', 0, 'latin1');
  const sdi = pseudoRandomBytes(`${seed}:sdi`, 12 * 1024);
  sdi.write('$SDI0001', 0, 'latin1');
  // etfsboot.com: 4096 bytes, no boot-info-table (bytes 8..63 are filler, which is the point: a remaster
  // that patches them would corrupt the real loader).
  const etfs = pseudoRandomBytes(`${seed}:etfsboot`, 4096);

  await writeSource(p(WINPE_PATHS.bootmgr), bootmgr);
  await writeSource(p(WINPE_PATHS.bcd), bcd);
  await writeSource(p(WINPE_PATHS.bootSdi), sdi);
  await writeSource(p(WINPE_PATHS.etfsboot), etfs);
  await writeSource(p(WINPE_PATHS.efiBootx64), standInPe(`${seed}:bootx64`, 32 * 1024, 'bootmgfw.efi'));
  await writeSource(p(WINPE_PATHS.efiBcd), efiBcd);
  await buildEfiFatImage(p(WINPE_PATHS.efisys), {
    'EFI/BOOT/BOOTX64.EFI': standInPe(`${seed}:cdboot`, 24 * 1024, 'cdboot.efi (prompt)'),
  });
  await buildEfiFatImage(p(WINPE_PATHS.efisysNoPrompt), {
    'EFI/BOOT/BOOTX64.EFI': standInPe(`${seed}:cdboot_noprompt`, 24 * 1024, 'cdboot_noprompt.efi'),
  });

  // boot.wim: a real WIM captured from a staging directory.
  const staging = await mkTempDir('wimsrc');
  let winpeshlBytes: Buffer | undefined;
  const veeamExe = standInPe(`${seed}:veeam`, 20 * 1024, 'Veeam.Endpoint.Recovery.exe');
  try {
    const img = join(staging, 'img');
    await writeSource(join(img, 'VeeamRecovery', 'Veeam.Endpoint.Recovery.exe'), veeamExe);
    await writeSource(join(img, 'Windows', 'System32', 'startnet.cmd'), 'wpeinit\r\n');
    if (!opts.omitWinpeshl) {
      winpeshlBytes = encodeWinPeshl(opts.winpeshlIni ?? VEEAM_WINPESHL_INI, opts.winpeshlEncoding ?? 'utf8');
      await writeSource(join(img, 'Windows', 'System32', 'winpeshl.ini'), winpeshlBytes);
    }
    for (const [rel, src] of Object.entries(opts.wimFiles ?? {})) {
      await writeSource(join(img, ...rel.split('/').filter(Boolean)), src);
    }
    const wimPath = p(WINPE_PATHS.bootWim);
    await mkdir(dirname(wimPath), { recursive: true });
    const compress = opts.wimCompression ?? (opts.padTo !== undefined ? 'none' : 'LZX');
    await captureWim(img, wimPath, compress);
    if (opts.padTo !== undefined) {
      // Measure the WIM without padding, then add a pad blob of the difference minus a margin for the
      // pad's own metadata (dentry, blob table entry, XML: a few hundred bytes).
      const base = (await stat(wimPath)).size;
      const padSize = opts.padTo - base - 4096;
      if (padSize <= 0) throw new RangeError(`padTo ${opts.padTo} is smaller than the unpadded boot.wim (${base})`);
      await writePseudoRandomFile(join(img, 'pad.bin'), padSize, `${seed}:wimpad`);
      await captureWim(img, wimPath, compress);
    }
  } finally {
    await removeTempDir(staging);
  }

  for (const [rel, src] of Object.entries(opts.treeFiles ?? {})) await writeSource(p(rel), src);
  for (const [rel, size] of Object.entries(opts.bigFiles ?? {})) {
    await writePseudoRandomFile(p(rel), size, `${seed}:big:${rel}`);
  }

  return {
    root,
    bootmgr: p(WINPE_PATHS.bootmgr),
    bcd: p(WINPE_PATHS.bcd),
    bootSdi: p(WINPE_PATHS.bootSdi),
    etfsboot: p(WINPE_PATHS.etfsboot),
    efiBootx64: p(WINPE_PATHS.efiBootx64),
    efiBcd: p(WINPE_PATHS.efiBcd),
    efisys: p(WINPE_PATHS.efisys),
    efisysNoPrompt: p(WINPE_PATHS.efisysNoPrompt),
    bootWim: p(WINPE_PATHS.bootWim),
    bootWimSize: (await stat(p(WINPE_PATHS.bootWim))).size,
    winpeshlBytes,
    veeamExeBytes: veeamExe,
  };
}

async function captureWim(srcDir: string, wimPath: string, compress: 'LZX' | 'XPRESS' | 'none'): Promise<void> {
  await rm(wimPath, { force: true });
  await runChecked(
    'wimlib-imagex',
    ['capture', srcDir, wimPath, 'Microsoft Windows PE (x64)', '--boot', `--compress=${compress}`, '--threads=2'],
    { timeoutMs: 30 * 60_000 },
  );
}

/** Reads one file out of a WIM image (default index 1) with wimlib-imagex; `inner` uses `/` separators. */
export async function extractFromWim(wim: string, inner: string, index = 1): Promise<Buffer> {
  const dest = await mkTempDir('wimx');
  try {
    await runChecked('wimlib-imagex', ['extract', wim, String(index), `/${inner.replace(/^\/+/, '')}`, `--dest-dir=${dest}`, '--no-acls']);
    return await readFile(join(dest, basename(inner)));
  } finally {
    await removeTempDir(dest);
  }
}

export interface StandInIsoOptions {
  /** Volume id. Default 'LIFEBOAT_PE'. */
  volid?: string;
  /**
   * Add a Joliet tree (default true). oscdimg writes ISO 9660 + UDF; xorriso cannot write UDF, so Joliet
   * stands in for the long, lower-case names. With false, only ISO 9660 (level 3, upper-case names) is written.
   */
  joliet?: boolean;
  /**
   * Sector count (512-byte units) of the EFI entry. Default: the image size (2880 for a 1.44 MB efisys.bin),
   * which xorriso always writes for EFI images (it ignores -boot-load-size after -e, and even for
   * `-eltorito-platform efi -b`), so any other value is patched into the catalog after xorriso ran.
   * Real media carry 0, 1 or other "wrong" counts here; use this to reproduce them.
   */
  efiLoadSize?: number;
  /**
   * Load segment of the BIOS entry. Default 0x07C0, as oscdimg writes it; xorriso has no option for it and
   * writes 0 (which El Torito defines to mean 0x07C0), so a non-zero value is patched into the catalog.
   */
  biosLoadSegment?: number;
}

/** The name under which the EFI boot image is grafted into (and hidden from) the ISO. */
export const HIDDEN_EFI_IMAGE_NAME = 'LB_HIDDEN_EFISYS.IMG';

/**
 * Builds the reference "oscdimg-like" ISO from a stand-in tree:
 *  - El Torito entry 1: platform 0 (BIOS), no emulation, image = /boot/etfsboot.com, load size 8 sectors of
 *    512 bytes, NO boot-info-table (xorriso leaves the image untouched without -boot-info-table).
 *  - El Torito entry 2: platform 0xEF, no emulation, image = a copy of `efisysPath`, which is NOT a file of
 *    the ISO tree: it is grafted as /LB_HIDDEN_EFISYS.IMG and hidden from the ISO 9660 and Joliet trees with
 *    -hide/-hide-joliet (patterns match the disk path, so the image is first copied outside `tree`, where the
 *    pattern cannot also hide a same-named file of the tree). The boot catalog is hidden too (oscdimg does not
 *    list it as a file).
 * Load segment: oscdimg writes 0x07C0; xorriso 1.5.4 has no option for it and writes 0 (which the El Torito
 * spec defines as 0x07C0), so 0x07C0 is patched into the catalog afterwards (see `biosLoadSegment`). Same for
 * a non-default EFI sector count (`efiLoadSize`), which xorriso always computes itself.
 *
 * The exact command (xorriso 1.5.4):
 *   xorriso -as mkisofs -iso-level 3 [-J -joliet-long] -V VOLID -graft-points
 *     -b boot/etfsboot.com -no-emul-boot -boot-load-size 8 -hide boot.catalog -hide-joliet boot.catalog
 *     -eltorito-alt-boot -e LB_HIDDEN_EFISYS.IMG -no-emul-boot [-boot-load-size N]
 *     -hide /abs/copy/of/efisys.bin -hide-joliet /abs/copy/of/efisys.bin
 *     -o OUT TREE /LB_HIDDEN_EFISYS.IMG=/abs/copy/of/efisys.bin
 *
 * Why the engine cannot just use xorriso to remaster this (verified with xorriso 1.5.4 on the output):
 *   xorriso -indev base.iso -outdev out.iso -boot_image any replay -map somefile /x -commit
 * prints
 *   libisofs: NOTE : Found hidden El-Torito image for EFI.
 *   xorriso : SORRY : Cannot enable EL Torito boot image #2 because it is not a data file in the ISO filesystem
 *   xorriso : NOTE : Replayed 8 boot related commands
 *   xorriso : NOTE : -return_with SORRY 32 triggered by problem severity SORRY
 * exits with code 32, and still writes out.iso, whose catalog then holds ONLY entry 1 (BIOS): the UEFI entry
 * and its image are silently gone (`-report_el_torito cmd` of the base has no line for entry 2 at all).
 */
export async function buildStandInWinPeIsoWithXorriso(
  outIso: string,
  tree: string,
  efisysPath: string,
  opts: StandInIsoOptions = {},
): Promise<string> {
  const treeAbs = resolve(tree);
  const existing = await readdir(treeAbs);
  if (existing.some((n) => n.toUpperCase() === HIDDEN_EFI_IMAGE_NAME)) {
    throw new Error(`tree already holds ${HIDDEN_EFI_IMAGE_NAME}`);
  }
  const work = await mkTempDir('pe-iso');
  try {
    const efiCopy = join(work, HIDDEN_EFI_IMAGE_NAME);
    await copyFile(efisysPath, efiCopy);
    await mkdir(dirname(resolve(outIso)), { recursive: true });
    await rm(outIso, { force: true });
    await runChecked('xorriso', standInIsoArgs(resolve(outIso), treeAbs, efiCopy, opts), { timeoutMs: 30 * 60_000 });
    await patchBootCatalog(resolve(outIso), {
      biosLoadSegment: opts.biosLoadSegment ?? 0x07c0,
      ...(opts.efiLoadSize !== undefined ? { efiLoadSize: opts.efiLoadSize } : {}),
    });
  } finally {
    await removeTempDir(work);
  }
  return outIso;
}

/** The xorriso argument list used by {@link buildStandInWinPeIsoWithXorriso} (exported for documentation/tests). */
export function standInIsoArgs(outIso: string, tree: string, efiImage: string, opts: StandInIsoOptions = {}): string[] {
  const args = ['-as', 'mkisofs', '-iso-level', '3'];
  if (opts.joliet ?? true) args.push('-J', '-joliet-long');
  args.push('-V', opts.volid ?? 'LIFEBOAT_PE', '-graft-points');
  args.push('-b', 'boot/etfsboot.com', '-no-emul-boot', '-boot-load-size', '8');
  args.push('-hide', 'boot.catalog', '-hide-joliet', 'boot.catalog');
  args.push('-eltorito-alt-boot', '-e', HIDDEN_EFI_IMAGE_NAME, '-no-emul-boot');
  if (opts.efiLoadSize !== undefined) args.push('-boot-load-size', String(opts.efiLoadSize));
  args.push('-hide', efiImage, '-hide-joliet', efiImage);
  args.push('-o', outIso, tree, `/${HIDDEN_EFI_IMAGE_NAME}=${efiImage}`);
  return args;
}

/** One El Torito entry as printed by `xorriso -report_el_torito plain`. */
export interface XorrisoElToritoEntry {
  index: number;
  platform: 'BIOS' | 'UEFI' | 'PPC' | 'Mac' | string;
  platformId: number;
  bootable: boolean;
  emulation: string;
  loadSegment: number;
  loadSize: number;
  lba: number;
  /** ISO path of the image file, when it is a file of the tree. */
  path?: string;
  /** "boot-info-table", "grub2-boot-info", ... */
  options: string[];
}

/**
 * Parses `xorriso -indev ISO -report_el_torito plain` (an independent reader the engine's own reader is
 * checked against).
 */
export async function xorrisoElTorito(iso: string): Promise<{ entries: XorrisoElToritoEntry[]; raw: string }> {
  const r = await runChecked('xorriso', ['-indev', iso, '-report_el_torito', 'plain']);
  const raw = r.stdout + r.stderr;
  const entries = new Map<number, XorrisoElToritoEntry>();
  const platformIds: Record<string, number> = { BIOS: 0, PPC: 1, Mac: 2, UEFI: 0xef };
  for (const line of r.stdout.split('\n')) {
    let m = /^El Torito boot img :\s+(\d+)\s+(\S+)\s+([yn])\s+(\S+)\s+(0x[0-9a-fA-F]+)\s+(0x[0-9a-fA-F]+)\s+(\d+)\s+(\d+)/.exec(line);
    if (m) {
      const platform = m[2]!;
      entries.set(Number(m[1]), {
        index: Number(m[1]),
        platform,
        platformId: platformIds[platform] ?? Number.parseInt(platform, 16),
        bootable: m[3] === 'y',
        emulation: m[4]!,
        loadSegment: Number.parseInt(m[5]!, 16),
        loadSize: Number(m[7]),
        lba: Number(m[8]),
        options: [],
      });
      continue;
    }
    m = /^El Torito img path :\s+(\d+)\s+(.*)$/.exec(line);
    if (m) {
      const e = entries.get(Number(m[1]));
      if (e) e.path = m[2]!.trim();
      continue;
    }
    m = /^El Torito img opts :\s+(\d+)\s+(.*)$/.exec(line);
    if (m) {
      const e = entries.get(Number(m[1]));
      if (e) e.options = m[2]!.trim().split(/\s+/);
    }
  }
  return { entries: [...entries.values()].sort((a, b) => a.index - b.index), raw };
}

/** Every path of the ISO 9660/Rock Ridge tree as xorriso sees it (`-find /`), e.g. '/boot/etfsboot.com'. */
export async function xorrisoFind(iso: string): Promise<string[]> {
  const r = await runChecked('xorriso', ['-indev', iso, '-find', '/']);
  return r.stdout
    .split('\n')
    .map((l) => /^'(.*)'$/.exec(l.trim())?.[1])
    .filter((x): x is string => x !== undefined);
}

/**
 * Rewrites fields of an existing El Torito catalog in place: the load segment of the initial/default (BIOS)
 * entry and/or the sector count of the first entry in a platform 0xEF section. Only what xorriso cannot be
 * told to write; the validation entry (and its checksum) is not touched.
 */
export async function patchBootCatalog(
  iso: string,
  patch: { biosLoadSegment?: number; efiLoadSize?: number },
): Promise<void> {
  const fh = await open(iso, 'r+');
  try {
    const brvd = Buffer.alloc(2048);
    await fh.read(brvd, 0, 2048, 17 * 2048);
    if (brvd[0] !== 0 || brvd.toString('latin1', 1, 6) !== 'CD001' || !brvd.toString('latin1', 7, 30).startsWith('EL TORITO SPECIFICATION')) {
      throw new Error(`${iso}: no El Torito boot record at sector 17`);
    }
    const catLba = brvd.readUInt32LE(0x47);
    const cat = Buffer.alloc(2048);
    await fh.read(cat, 0, 2048, catLba * 2048);
    if (cat[0] !== 1 || cat[30] !== 0x55 || cat[31] !== 0xaa) throw new Error(`${iso}: bad boot catalog validation entry`);
    if (patch.biosLoadSegment !== undefined) cat.writeUInt16LE(patch.biosLoadSegment, 32 + 2);
    if (patch.efiLoadSize !== undefined) {
      let found = false;
      for (let off = 64; off + 32 <= 2048 && !found; ) {
        const header = cat[off]!;
        if (header !== 0x90 && header !== 0x91) break;
        const platform = cat[off + 1]!;
        const count = cat.readUInt16LE(off + 2);
        if (platform === 0xef && count > 0) {
          cat.writeUInt16LE(patch.efiLoadSize, off + 32 + 6);
          found = true;
        }
        off += 32 * (1 + count);
        if (header === 0x91) break;
      }
      if (!found) throw new Error(`${iso}: no EFI section in the boot catalog`);
    }
    await fh.write(cat, 0, 2048, catLba * 2048);
  } finally {
    await fh.close();
  }
}
