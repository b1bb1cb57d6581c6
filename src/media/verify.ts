/**
 * `lifeboat verify FILE`: checks built media (an ISO, a USB image, or a written USB stick) without changing it:
 * boot records, the media manifest (every file and boot structure; see media-manifest.ts), the file system's
 * consistency on a USB medium, every hash of MANIFEST.sha256, the vault's structure and the assistant's presence.
 * Damage that keeps the image from being read at all is a failed check too, not an error.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { IsoFormatError, IsoImage, PLATFORM_BIOS, PLATFORM_EFI } from '../iso/index.js';
import { parseVault } from '../secrets/index.js';
import { FatImage } from '../usb/fat32-reader.js';
import { MANIFEST_PATH, parseManifest, sha256Of } from '../util/manifest.js';
import { SITE_JSON_FORMAT } from '../site/site-json.js';
import { MEDIA_MANIFEST_PATH, compareEntries, isoEntries, parseMediaManifest, usbEntries } from './media-manifest.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface VerifyReport {
  file: string;
  kind: 'iso' | 'usb';
  ok: boolean;
  checks: Check[];
}

/** The files of the media, whatever holds them. */
interface MediaFiles {
  exists(path: string): boolean;
  size(path: string): number | undefined;
  stream(path: string): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

const MAX_SMALL_FILE = 1 << 20;

async function readSmall(files: MediaFiles, path: string): Promise<Buffer> {
  const size = files.size(path) ?? 0;
  if (size > MAX_SMALL_FILE) throw new InputError(`${path} is ${size} bytes, far larger than it should be`);
  const chunks: Buffer[] = [];
  for await (const c of files.stream(path)) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function detectKind(file: string): Promise<'iso' | 'usb'> {
  const st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) {
    const media = (await readdir(file).catch(() => [] as string[])).filter((n) => /\.iso$|-usb\.img$/i.test(n)).sort();
    throw new InputError(
      `"${file}" is a folder; verify checks one medium at a time`,
      media.length ? `Give one of the media in it: ${media.map((n) => join(file, n)).join(', ')}.` : 'Give the path of a built .iso or -usb.img, or a USB stick device.',
    );
  }
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new InputError(`cannot read "${file}": ${(e as NodeJS.ErrnoException).code ?? e}`, 'Give the path of a built .iso or -usb.img, or a USB stick device.');
  }
  try {
    const head = Buffer.alloc(32774);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead >= 32774 && head.toString('latin1', 32769, 32774) === 'CD001') return 'iso';
    if (bytesRead >= 512 && head.readUInt16LE(510) === 0xaa55) return 'usb';
  } finally {
    await fh.close();
  }
  throw new InputError(`"${file}" is neither an ISO image nor a disk image with a partition table`, 'Give the path of a built .iso or -usb.img, or a USB stick device.');
}

function isoFiles(image: IsoImage): MediaFiles {
  return {
    exists: (p) => !!image.find(p),
    size: (p) => image.find(p)?.size,
    stream: (p) => image.stream(image.find(p)!.extents),
    close: () => image.close(),
  };
}

function fatFiles(image: FatImage): MediaFiles {
  return {
    exists: (p) => !!image.find(p),
    size: (p) => image.find(p)?.size,
    stream: (p) => image.stream(image.find(p)!),
    close: () => image.close(),
  };
}

export async function verifyMedia(file: string): Promise<VerifyReport> {
  const kind = await detectKind(file);
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  let files: MediaFiles;
  try {
    files = kind === 'iso' ? await openIso(file, add) : await openUsb(file, add);
  } catch (e) {
    // The ISO library's format errors and the FAT reader's input errors: damage that keeps the medium from being read.
    if (!(e instanceof InputError || e instanceof IsoFormatError)) throw e;
    add('readable', false, `${e.message} Rewrite the media (or replace the stick).`);
    return { file, kind, ok: false, checks };
  }
  try {
    if (!files.exists(MANIFEST_PATH)) {
      add('manifest', false, `${MANIFEST_PATH} is missing: this is not Lifeboat media, or it was damaged`);
    } else {
      const entries = parseManifest((await readSmall(files, MANIFEST_PATH)).toString('utf8'));
      const bad: string[] = [];
      for (const e of entries) {
        const path = `/${e.path}`;
        if (!files.exists(path)) bad.push(`${e.path} is missing`);
        else if ((await sha256Of(files.stream(path))) !== e.sha256) bad.push(`${e.path} differs from its checksum`);
      }
      add('manifest', bad.length === 0, bad.length === 0 ? `${entries.length} files match MANIFEST.sha256` : `${bad.length} of ${entries.length} files bad: ${bad.slice(0, 5).join('; ')}. Rewrite the media (or replace the stick).`);
    }
    let siteId: string | undefined;
    if (files.exists('/lifeboat/site.json')) {
      try {
        const site = JSON.parse((await readSmall(files, '/lifeboat/site.json')).toString('utf8'));
        if (site?.format !== SITE_JSON_FORMAT) throw new Error('not a Lifeboat site.json');
        siteId = site.site?.site?.id;
        add('site data', true, `site "${site.site?.site?.name}", build ${site.buildId}, ${site.site?.servers?.length} servers`);
      } catch (e) {
        add('site data', false, `\\lifeboat\\site.json is unreadable: ${(e as Error).message}`);
      }
    } else add('site data', false, '\\lifeboat\\site.json is missing');
    if (files.exists('/lifeboat/vault.json')) {
      try {
        const vault = parseVault(await readSmall(files, '/lifeboat/vault.json'));
        const sameSite = siteId === undefined || vault.siteId === siteId;
        add('vault', sameSite, sameSite ? `encrypted for site "${vault.siteId}" (scrypt N=${vault.kdf.N}, ${vault.cipher})` : `vault belongs to site "${vault.siteId}", the media to "${siteId}"`);
      } catch (e) {
        add('vault', false, (e as Error).message);
      }
    } else add('vault', false, '\\lifeboat\\vault.json is missing');
    add('assistant', await isWindowsExe(files, '/lifeboat/assistant.exe'), files.exists('/lifeboat/assistant.exe') ? '\\lifeboat\\assistant.exe (Windows x64)' : '\\lifeboat\\assistant.exe is missing or not a Windows x64 program');
  } finally {
    await files.close();
  }
  return { file, kind, ok: checks.every((c) => c.ok), checks };
}

/**
 * For `flash`: the checks of `verify DEVICE` on a stick just written (or on any USB image): boot code, file system
 * consistency, the media manifest and the \lifeboat\ folder. `ok` is false when any check fails, including a stick
 * that can no longer be read as a disk at all.
 */
export async function verifyWrittenStick(device: string): Promise<VerifyReport> {
  try {
    return await verifyMedia(device);
  } catch (e) {
    if (!(e instanceof InputError || e instanceof IsoFormatError)) throw e;
    return { file: device, kind: 'usb', ok: false, checks: [{ name: 'readable', ok: false, detail: e.message }] };
  }
}

async function openIso(file: string, add: (name: string, ok: boolean, detail: string) => void): Promise<MediaFiles> {
  const image = await IsoImage.open(file);
  try {
    const bios = image.bootImages.filter((b) => b.platformId === PLATFORM_BIOS);
    const efi = image.bootImages.filter((b) => b.platformId === PLATFORM_EFI);
    add('BIOS boot entry', bios.length > 0, bios.length ? `El Torito, ${bios[0]!.size} bytes at LBA ${bios[0]!.lba}` : 'no BIOS El Torito entry');
    add('UEFI boot entry', efi.length > 0, efi.length ? `El Torito, ${efi[0]!.size} bytes at LBA ${efi[0]!.lba}` : 'no UEFI El Torito entry');
    const files = isoFiles(image);
    await checkMediaManifest(files, 'iso', () => isoEntries(image), add);
    return files;
  } catch (e) {
    await image.close();
    throw e;
  }
}

async function openUsb(file: string, add: (name: string, ok: boolean, detail: string) => void): Promise<MediaFiles> {
  const image = await FatImage.open(file);
  try {
    const efi = image.find('/EFI/BOOT/BOOTX64.EFI');
    add('UEFI boot', !!efi, efi ? '\\EFI\\BOOT\\BOOTX64.EFI on the FAT32 partition' : 'no \\EFI\\BOOT\\BOOTX64.EFI');
    const bios = !!image.find('/syslinux/ldlinux.sys') && !!image.find('/bootmgr');
    add('BIOS boot', true, bios ? 'syslinux chain-loads \\bootmgr' : 'UEFI only (no BIOS boot code on this image)');
    const problems = await image.consistencyProblems();
    add('file system', problems.length === 0, problems.length === 0 ? 'FAT32 consistent: no cross-linked or lost clusters, sizes match their chains, FAT copies agree' : `${problems.slice(0, 5).join('; ')}. Rewrite the stick (replace it if this happens again).`);
    const files = fatFiles(image);
    await checkMediaManifest(files, 'usb', () => usbEntries(image), add);
    return files;
  } catch (e) {
    await image.close();
    throw e;
  }
}

/** Every file and boot structure against \\lifeboat\\MEDIA.sha256, which must cover itself. */
async function checkMediaManifest(files: MediaFiles, kind: 'iso' | 'usb', actual: () => Promise<{ name: string; sha256: string }[]>, add: (name: string, ok: boolean, detail: string) => void): Promise<void> {
  const name = 'media manifest';
  if (!files.exists(MEDIA_MANIFEST_PATH)) {
    add(name, false, '\\lifeboat\\MEDIA.sha256 is missing: the media were damaged or built by an older Lifeboat; rebuild them');
    return;
  }
  const size = files.size(MEDIA_MANIFEST_PATH) ?? 0;
  if (size > 16 << 20) {
    add(name, false, `\\lifeboat\\MEDIA.sha256 is ${size} bytes, far larger than it should be`);
    return;
  }
  const chunks: Buffer[] = [];
  for await (const c of files.stream(MEDIA_MANIFEST_PATH)) chunks.push(Buffer.from(c));
  const expected = parseMediaManifest(Buffer.concat(chunks), kind);
  if (typeof expected === 'string') {
    add(name, false, `\\lifeboat\\MEDIA.sha256 cannot be trusted: ${expected}. Rewrite the media (or replace the stick).`);
    return;
  }
  const { problems, extra } = compareEntries(expected, await actual(), kind);
  const boot = expected.filter((e) => e.name.startsWith('@')).length;
  add(name, problems.length === 0, problems.length === 0
    ? `${expected.length - boot} files and ${boot} boot structures match${extra.length ? `; ${extra.length} file(s) added since the build: ${extra.slice(0, 3).join(', ')}` : ''}`
    : `${problems.length} of ${expected.length} bad: ${problems.slice(0, 5).join('; ')}. Rewrite the media (or replace the stick).`);
}

async function isWindowsExe(files: MediaFiles, path: string): Promise<boolean> {
  if (!files.exists(path)) return false;
  let head = Buffer.alloc(0);
  for await (const c of files.stream(path)) {
    head = Buffer.concat([head, Buffer.from(c)]);
    if (head.length >= 4096) break;
  }
  if (head.length < 64 || head.toString('latin1', 0, 2) !== 'MZ') return false;
  const pe = head.readUInt32LE(0x3c);
  return pe + 6 <= head.length && head.toString('latin1', pe, pe + 4) === 'PE\0\0' && head.readUInt16LE(pe + 4) === 0x8664;
}
