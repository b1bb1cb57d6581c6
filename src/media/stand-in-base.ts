/**
 * A stand-in for Veeam's recovery ISO, for `lifeboat demo` and for training: the Windows PE media layout oscdimg
 * writes (BIOS no-emulation etfsboot.com with load count 8 and no boot-info-table; a UEFI FAT image outside the
 * file tree) with a real WIM whose winpeshl.ini launches X:\VeeamRecovery\Veeam.Endpoint.Recovery.exe.
 * The Windows binaries are stand-ins (it does not boot Windows). Needs wimlib-imagex and mtools.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { JobError } from '../errors.js';
import { PLATFORM_BIOS, PLATFORM_EFI, hostDir, newEntry, writeIso } from '../iso/index.js';

export const STAND_IN_WINPESHL = '[LaunchApps]\r\nX:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe\r\n';

/** Deterministic filler bytes (SHA-256 in counter mode): the same seed always gives the same files. */
function filler(seed: string, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0, o = 0; o < size; i++) {
    const block = createHash('sha256').update(`${seed}:${i}`).digest();
    o += block.copy(out, o);
  }
  return out;
}

function standInExe(seed: string, size: number): Buffer {
  const b = filler(seed, size);
  b.write('MZ', 0, 'latin1');
  b.write(`LIFEBOAT STAND-IN ${seed}\0`, 64, 'latin1');
  return b;
}

async function put(path: string, data: Buffer | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}

async function tool(cmd: string, args: string[]): Promise<void> {
  try {
    await execa(cmd, args, { timeout: 120_000 });
  } catch (e) {
    const err = e as { code?: string; stderr?: string; shortMessage?: string };
    if (err.code === 'ENOENT') throw new JobError(`${cmd} is not installed`, 'Run `make demo` (it installs wimtools and mtools) or install them.');
    throw new JobError(`${cmd} failed: ${err.stderr || err.shortMessage}`);
  }
}

async function fatImage(path: string, files: Record<string, Buffer>): Promise<void> {
  await rm(path, { force: true });
  await tool('mformat', ['-i', path, '-C', '-f', '1440', '-v', 'EFISECTOR', '::']);
  const dirs = new Set<string>();
  for (const name of Object.keys(files)) {
    const parts = name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort()) await tool('mmd', ['-i', path, `::/${d}`]);
  for (const [name, data] of Object.entries(files)) {
    const tmp = `${path}.part`;
    await writeFile(tmp, data);
    await tool('mcopy', ['-i', path, tmp, `::/${name}`]);
    await rm(tmp);
  }
}

export interface StandInOptions {
  /** Grows boot.wim by this many bytes of filler (benchmarks). */
  padBytes?: number;
  /** Files of the media tree to replace or add, by path relative to the root (e.g. a bootable `bootmgr` for tests). */
  files?: Record<string, Buffer>;
  /** winpeshl.ini of the boot image (default: Veeam's launcher); null leaves it out (plain Windows PE). */
  winpeshl?: string | null;
}

/** Writes the stand-in base ISO to `out`; `work` is a scratch folder. */
export async function makeStandInBase(out: string, work: string, opts: StandInOptions = {}): Promise<void> {
  const tree = join(work, 'tree');
  const wimRoot = join(work, 'wim');
  const boot = join(work, 'boot');
  await rm(work, { recursive: true, force: true });
  await put(join(tree, 'bootmgr'), standInExe('bootmgr', 400_000));
  await put(join(tree, 'boot', 'BCD'), filler('bcd', 16_384));
  await put(join(tree, 'boot', 'boot.sdi'), filler('boot.sdi', 3_170_304));
  await put(join(tree, 'boot', 'bootfix.bin'), filler('bootfix', 1024));
  await put(join(tree, 'boot', 'etfsboot.com'), filler('etfsboot', 4096));
  await put(join(tree, 'efi', 'boot', 'bootx64.efi'), standInExe('bootx64.efi', 1_400_000));
  await put(join(tree, 'efi', 'microsoft', 'boot', 'BCD'), filler('efi-bcd', 16_384));
  await put(join(boot, 'etfsboot.com'), filler('etfsboot', 4096));
  await mkdir(boot, { recursive: true });
  await fatImage(join(tree, 'efi', 'microsoft', 'boot', 'efisys.bin'), { 'EFI/BOOT/BOOTX64.EFI': standInExe('cdboot.efi', 600_000) });
  await fatImage(join(tree, 'efi', 'microsoft', 'boot', 'efisys_noprompt.bin'), { 'EFI/BOOT/BOOTX64.EFI': standInExe('cdboot_noprompt.efi', 600_000) });
  await fatImage(join(boot, 'efisys.bin'), { 'EFI/BOOT/BOOTX64.EFI': standInExe('cdboot.efi', 600_000) });

  for (const [rel, data] of Object.entries(opts.files ?? {})) await put(join(tree, ...rel.split('/')), data);

  const winpeshl = opts.winpeshl === undefined ? STAND_IN_WINPESHL : opts.winpeshl;
  if (winpeshl !== null) {
    await put(join(wimRoot, 'Windows', 'System32', 'winpeshl.ini'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(winpeshl, 'utf16le')]));
  }
  await put(join(wimRoot, 'Windows', 'System32', 'startnet.cmd'), 'wpeinit\r\n');
  await put(join(wimRoot, 'VeeamRecovery', 'Veeam.Endpoint.Recovery.exe'), standInExe('Veeam.Endpoint.Recovery.exe', 2_000_000));
  if (opts.padBytes) await put(join(wimRoot, 'VeeamRecovery', 'padding.bin'), filler('padding', opts.padBytes));
  await mkdir(join(tree, 'sources'), { recursive: true });
  await tool('wimlib-imagex', ['capture', wimRoot, join(tree, 'sources', 'boot.wim'), 'Microsoft Windows PE (x64)', '--boot', `--compress=${opts.padBytes ? 'none' : 'LZX'}`]);

  const date = new Date('2025-07-01T00:00:00Z');
  const bios = join(boot, 'etfsboot.com');
  const efi = join(boot, 'efisys.bin');
  const efiSize = (await stat(efi)).size;
  await writeIso(out, await hostDir(tree, '', date), {
    volumeId: 'VEEAM_RECOVERY',
    date,
    joliet: true,
    boot: {
      catalog: {
        platformId: PLATFORM_BIOS,
        id: Buffer.alloc(24),
        defaultEntry: { ...newEntry(8), loadSegment: 0x7c0 },
        sections: [{ platformId: PLATFORM_EFI, id: Buffer.alloc(28), entries: [newEntry(1)] }],
      },
      images: [
        { source: { kind: 'host', path: bios, size: 4096 } },
        { source: { kind: 'host', path: efi, size: efiSize } },
      ],
    },
  });
}
