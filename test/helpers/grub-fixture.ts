/**
 * Real, bootable BIOS and UEFI boot images made with Debian's GRUB (grub-pc-bin, grub-efi-amd64-bin), used to
 * prove that ISOs/USB images written or remastered by Lifeboat still boot under QEMU.
 *
 * The booted GRUB prints, on the serial port (115200 8N1, unit 0):
 *   [the content of /lifeboat/probe.txt, when that file exists on the medium]
 *   LIFEBOAT-BOOT-OK <marker> <platform>       platform = pc | efi
 * and then runs `halt`, so QEMU exits by itself (SeaBIOS: APM power-off; OVMF: ResetSystem(shutdown)).
 *
 * Both images carry an embedded early config that locates the medium by its grub.cfg
 * (`search --file /boot/grub/grub.cfg`), so the same files work from an El Torito CD and from a hybrid disk.
 */
import { copyFile, cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fixtureCacheDir, mkTempDir, removeTempDir, run, runChecked, sha256 } from './tools.js';
import { buildEfiFatImage } from './winpe-fixture.js';

/** Bump when the recipe below changes, to invalidate caches. */
const RECIPE_VERSION = 4;

export const GRUB_BIOS_MODULES = [
  'biosdisk', 'iso9660', 'part_msdos', 'part_gpt', 'fat', 'normal', 'serial', 'terminal', 'echo', 'halt',
  'configfile', 'search', 'search_fs_file', 'test', 'cat',
] as const;

export const GRUB_EFI_MODULES = [
  'part_gpt', 'part_msdos', 'fat', 'iso9660', 'normal', 'serial', 'terminal', 'echo', 'halt', 'configfile',
  'search', 'search_fs_file', 'test', 'cat', 'efi_gop',
] as const;

/** The line prefix printed on serial by the booted fixture. */
export const BOOT_OK_PREFIX = 'LIFEBOAT-BOOT-OK';

/** Path (inside the medium) of the optional probe file GRUB prints before the marker. */
export const PROBE_PATH = '/lifeboat/probe.txt';

export interface GrubBootFiles {
  /** Directory holding everything below. */
  dir: string;
  /** GRUB i386-pc El Torito image (cdboot.img + core), needs boot-info-table + grub2-boot-info patching. */
  biosImg: string;
  /** FAT image (4 MiB) with /EFI/BOOT/BOOTX64.EFI: the El Torito EFI image. */
  efiImg: string;
  /** The GRUB x86_64-efi binary inside efi.img, also available as a plain file. */
  bootx64Efi: string;
  /**
   * Media tree: boot/grub/grub.cfg, plus boot/bios.img and boot/efi.img (the two boot images as files, as
   * mkisofs -b/-e expect them) and EFI/BOOT/BOOTX64.EFI (so a FAT copy of the tree also boots UEFI).
   */
  tree: string;
  grubCfg: string;
  marker: string;
  /** What appears on serial: `LIFEBOAT-BOOT-OK <marker>` (followed by ` pc` or ` efi`). */
  markerLine: string;
}

function grubCfgText(marker: string): string {
  return [
    '# Lifeboat test fixture: print a marker on serial and power off.',
    'set timeout=0',
    'serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1',
    'terminal_input serial console',
    '# OVMF already mirrors its console to the serial port: use only GRUB\'s own serial terminal there, or',
    '# every line would appear twice.',
    'if [ "${grub_platform}" = efi ]; then terminal_output serial; else terminal_output serial console; fi',
    `if [ -f ${PROBE_PATH} ]; then cat ${PROBE_PATH}; echo; fi`,
    `echo "${BOOT_OK_PREFIX} ${marker} \${grub_platform}"`,
    'halt',
    '',
  ].join('\n');
}

const EARLY_CFG = [
  'search --no-floppy --file /boot/grub/grub.cfg --set=root',
  'set prefix=($root)/boot/grub',
  'configfile ($root)/boot/grub/grub.cfg',
  '',
].join('\n');

async function grubVersion(): Promise<string> {
  const r = await run('grub-mkimage', ['--version'], { timeoutMs: 10_000 });
  return r.stdout.trim();
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function layout(dir: string, marker: string): GrubBootFiles {
  const tree = join(dir, 'tree');
  return {
    dir,
    biosImg: join(dir, 'bios.img'),
    efiImg: join(dir, 'efi.img'),
    bootx64Efi: join(dir, 'BOOTX64.EFI'),
    tree,
    grubCfg: join(tree, 'boot', 'grub', 'grub.cfg'),
    marker,
    markerLine: `${BOOT_OK_PREFIX} ${marker}`,
  };
}

/**
 * Builds bios.img, efi.img, BOOTX64.EFI and tree/ into `dir` (created if needed). If `dir` already holds
 * a complete build for the same marker, GRUB version and recipe (a `.stamp` file), nothing is rebuilt.
 * `marker` is restricted to [A-Za-z0-9._-] so it can be put into grub.cfg without quoting trouble.
 */
export async function buildGrubBootFiles(dir: string, marker: string): Promise<GrubBootFiles> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(marker)) throw new Error(`bad marker ${JSON.stringify(marker)}`);
  const out = layout(resolve(dir), marker);
  const cfg = grubCfgText(marker);
  const stampText = JSON.stringify({
    recipe: RECIPE_VERSION,
    grub: await grubVersion(),
    cfg,
    early: EARLY_CFG,
    bios: GRUB_BIOS_MODULES,
    efi: GRUB_EFI_MODULES,
  });
  const stamp = join(out.dir, '.stamp');
  if ((await readFile(stamp, 'utf8').catch(() => '')) === stampText) return out;

  await mkdir(out.dir, { recursive: true });
  await rm(stamp, { force: true });
  const earlyCfg = join(out.dir, 'early.cfg');
  await writeFile(earlyCfg, EARLY_CFG);
  await runChecked('grub-mkimage', [
    '-O', 'i386-pc-eltorito', '-p', '/boot/grub', '-c', earlyCfg, '-o', out.biosImg, ...GRUB_BIOS_MODULES,
  ]);
  await runChecked('grub-mkimage', [
    '-O', 'x86_64-efi', '-p', '/boot/grub', '-c', earlyCfg, '-o', out.bootx64Efi, ...GRUB_EFI_MODULES,
  ]);
  await buildEfiFatImage(out.efiImg, { 'EFI/BOOT/BOOTX64.EFI': { fromFile: out.bootx64Efi } }, {
    sizeBytes: 4 * 2 ** 20,
    label: 'LBEFIBOOT',
  });
  await rm(out.tree, { recursive: true, force: true });
  await mkdir(dirname(out.grubCfg), { recursive: true });
  await writeFile(out.grubCfg, cfg);
  await copyFile(out.biosImg, join(out.tree, 'boot', 'bios.img'));
  await copyFile(out.efiImg, join(out.tree, 'boot', 'efi.img'));
  await mkdir(join(out.tree, 'EFI', 'BOOT'), { recursive: true });
  await copyFile(out.bootx64Efi, join(out.tree, 'EFI', 'BOOT', 'BOOTX64.EFI'));
  await writeFile(stamp, stampText);
  return out;
}

/**
 * {@link buildGrubBootFiles} into the shared fixture cache (`.cache/test-fixtures/grub/<marker>-<hash>`, or
 * $LIFEBOAT_FIXTURE_CACHE). Safe when several test processes ask at once: each builds in a private temp
 * directory and renames it into place; a loser of the race uses the winner's files.
 */
export async function cachedGrubBootFiles(marker: string): Promise<GrubBootFiles> {
  const key = sha256(`${RECIPE_VERSION}\n${marker}\n${await grubVersion()}`).slice(0, 12);
  const final = fixtureCacheDir('grub', `${marker}-${key}`);
  if (await exists(join(final, '.stamp'))) return buildGrubBootFiles(final, marker); // validates the stamp
  await mkdir(dirname(final), { recursive: true });
  const tmp = await mkTempDir('grub-build');
  try {
    const built = join(tmp, 'out');
    await buildGrubBootFiles(built, marker);
    try {
      await rename(built, final);
    } catch {
      // Another process won the race (or `final` is a stale partial dir): fall back to copying over it.
      if (!(await exists(join(final, '.stamp')))) {
        await rm(final, { recursive: true, force: true });
        await cp(built, final, { recursive: true });
      }
    }
  } finally {
    await removeTempDir(tmp);
  }
  return buildGrubBootFiles(final, marker);
}

export interface GrubIsoOptions {
  volid?: string;
  /** Extra files for the ISO, keyed by ISO path (e.g. '/lifeboat/probe.txt'), value = host file path. */
  extra?: Record<string, string>;
  /**
   * Also make the ISO bootable as a disk (USB stick): GRUB's boot_hybrid.img as MBR (BIOS), and efi.img as
   * an appended EFI System Partition (UEFI). Default false.
   */
  hybrid?: boolean;
}

/**
 * The argument list xorriso gets from {@link buildGrubIsoWithXorriso}. Known to boot under SeaBIOS and OVMF
 * with xorriso 1.5.4 / GRUB 2.06:
 *   xorriso -as mkisofs -iso-level 3 -J -joliet-long -V VOLID -graft-points
 *     -b boot/bios.img -no-emul-boot -boot-load-size 4 -boot-info-table --grub2-boot-info
 *     -eltorito-alt-boot -e boot/efi.img -no-emul-boot
 *     -o OUT TREE [ISO_PATH=HOST_PATH...]
 * (-boot-info-table and --grub2-boot-info are both required by GRUB's i386-pc-eltorito image: cdboot.img
 * reads its own LBA from the boot-info-table and core.img from the grub2 boot info at byte 2548.)
 */
export function grubIsoArgs(outIso: string, files: GrubBootFiles, opts: GrubIsoOptions = {}): string[] {
  const args = ['-as', 'mkisofs', '-iso-level', '3', '-J', '-joliet-long', '-V', opts.volid ?? 'LIFEBOAT_GRUB'];
  args.push('-graft-points');
  if (opts.hybrid) {
    args.push('--grub2-mbr', '/usr/lib/grub/i386-pc/boot_hybrid.img');
    args.push('-append_partition', '2', '0xef', files.efiImg, '-appended_part_as_gpt');
  }
  args.push('-b', 'boot/bios.img', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', '--grub2-boot-info');
  args.push('-eltorito-alt-boot', '-e', 'boot/efi.img', '-no-emul-boot');
  args.push('-o', outIso, files.tree);
  for (const [isoPath, host] of Object.entries(opts.extra ?? {})) args.push(`/${isoPath.replace(/^\/+/, '')}=${host}`);
  return args;
}

/** Builds a GRUB test ISO (BIOS + UEFI El Torito) with xorriso: the harness's reference ISO. */
export async function buildGrubIsoWithXorriso(
  outIso: string,
  files: GrubBootFiles,
  opts: GrubIsoOptions = {},
): Promise<string> {
  await mkdir(dirname(resolve(outIso)), { recursive: true });
  await rm(outIso, { force: true });
  await runChecked('xorriso', grubIsoArgs(resolve(outIso), files, opts));
  return outIso;
}
