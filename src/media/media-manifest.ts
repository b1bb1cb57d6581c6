/**
 * The media-wide manifest, `\lifeboat\MEDIA.sha256` on the ISO and on the USB image: a SHA-256 of every file of
 * that medium and of every boot structure outside the files (ISO: system area, volume descriptors, boot catalog,
 * El Torito images; USB: the MBR sector and the FAT32 boot sector), ending with a line that hashes all lines above
 * it, so the manifest covers itself. The build writes a placeholder of fixed size, then fills it in place once the
 * medium is complete (the file's size and place do not change, so nothing it describes changes either).
 *
 *   # lifeboat media manifest 1 iso
 *   <sha256>  @system-area
 *   <sha256>  bootmgr
 *   <sha256>  @manifest
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { type IsoImage, allFiles } from '../iso/index.js';
import { type FatImage, walkFat } from '../usb/fat32-reader.js';

export const MEDIA_MANIFEST_PATH = '/lifeboat/MEDIA.sha256';
const HEADER = '# lifeboat media manifest 1';
const SELF = '@manifest';
const MAX_MANIFEST_BYTES = 16 << 20;
/** El Torito images larger than this are not Windows boot images; hashed up to here. */
const MAX_BOOT_IMAGE_BYTES = 64 << 20;

export interface MediaEntry {
  /** A file path without leading slash, or `@name` for a boot structure. */
  name: string;
  sha256: string;
}

export type MediaKind = 'iso' | 'usb';

/** Bytes a placeholder needs for media with these file paths (generous: a line per path and per boot structure). */
export function placeholderBytes(paths: readonly string[]): number {
  const lines = paths.reduce((n, p) => n + 64 + 2 + Buffer.byteLength(p) + 1, 0) + 64 * (64 + 32);
  return Math.ceil((lines + 4096) / 2048) * 2048;
}

export function placeholder(bytes: number): Buffer {
  return Buffer.alloc(bytes, 0x0a);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function streamHash(chunks: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of chunks) h.update(c);
  return h.digest('hex');
}

function isManifest(path: string): boolean {
  return path.toLowerCase() === MEDIA_MANIFEST_PATH.toLowerCase();
}

/**
 * Boot structures and files of an ISO, as the manifest lists them. `known` gives the SHA-256 of files whose bytes
 * were hashed before (by lowercase path, as a build knows its own files): those are not read again.
 */
export async function isoEntries(image: IsoImage, known: ReadonlyMap<string, string> = new Map()): Promise<MediaEntry[]> {
  const out: MediaEntry[] = [{ name: '@system-area', sha256: sha(image.systemArea) }];
  out.push({ name: '@volume-descriptors', sha256: await image.sha256(16 * 2048, descriptorSectors(image) * 2048) });
  if (image.catalogLba !== undefined) out.push({ name: '@boot-catalog', sha256: await image.sha256(image.catalogLba * 2048, 2048) });
  for (const b of image.bootImages) {
    const size = Math.min(Math.max(b.size, 512), MAX_BOOT_IMAGE_BYTES, Math.max(0, image.size - b.lba * 2048));
    out.push({ name: `@el-torito/${b.index}`, sha256: await image.sha256(b.lba * 2048, size) });
  }
  const files = [...allFiles(image.root)];
  const knownOf = knownHashes(files.map((f) => f.path), known);
  for (const f of files) {
    if (isManifest(f.path)) continue;
    out.push({ name: f.path.replace(/^\/+/, ''), sha256: knownOf(f.path) ?? (await streamHash(image.stream(f.extents))) });
  }
  return out;
}

/** Looks a path up in `known`, unless two paths of the medium differ only in case (then it is read to be sure). */
function knownHashes(paths: readonly string[], known: ReadonlyMap<string, string>): (path: string) => string | undefined {
  const seen = new Map<string, number>();
  for (const p of paths) seen.set(p.toLowerCase(), (seen.get(p.toLowerCase()) ?? 0) + 1);
  return (path) => (seen.get(path.toLowerCase()) === 1 ? known.get(path.toLowerCase()) : undefined);
}

/** The first sectors of the descriptor set: primary, boot record, Joliet and terminator on the media we write. */
function descriptorSectors(image: IsoImage): number {
  return Math.max(0, Math.min(4, Math.floor(image.size / 2048) - 16));
}

/** Boot structures and files of a FAT32 USB image or stick, as the manifest lists them (`known` as for isoEntries). */
export async function usbEntries(image: FatImage, known: ReadonlyMap<string, string> = new Map()): Promise<MediaEntry[]> {
  const fh = await open(image.path, 'r');
  let mbr: Buffer;
  let boot: Buffer;
  try {
    mbr = Buffer.alloc(512);
    boot = Buffer.alloc(512);
    await fh.read(mbr, 0, 512, 0);
    await fh.read(boot, 0, 512, image.partitionOffset);
  } finally {
    await fh.close();
  }
  const out: MediaEntry[] = [
    { name: '@mbr', sha256: sha(mbr) },
    { name: '@boot-sector', sha256: sha(boot) },
  ];
  const files = [...walkFat(image.root)].filter((f) => !f.isDir && !isManifest(f.path));
  const knownOf = knownHashes(files.map((f) => f.path), known);
  for (const f of files) out.push({ name: f.path.replace(/^\/+/, ''), sha256: knownOf(f.path) ?? (await image.sha256(f)) });
  return out;
}

export function renderMediaManifest(kind: MediaKind, entries: readonly MediaEntry[], bytes: number): Buffer {
  for (const e of entries) {
    if (/[\r\n]/.test(e.name)) throw new InputError(`a file name on the media holds a line break: ${JSON.stringify(e.name)}`, 'Use a base ISO without such names.');
  }
  const body = `${HEADER} ${kind}\n${entries.map((e) => `${e.sha256}  ${e.name}\n`).join('')}`;
  const text = `${body}${sha(Buffer.from(body))}  ${SELF}\n`;
  const data = Buffer.from(text);
  if (data.length > bytes) throw new Error(`the media manifest needs ${data.length} bytes, ${bytes} were set aside`);
  return Buffer.concat([data, placeholder(bytes - data.length)]);
}

/** The entries of a manifest, or why it cannot be trusted (damaged, not covering itself, wrong kind). */
export function parseMediaManifest(data: Buffer, kind: MediaKind): MediaEntry[] | string {
  if (data.length > MAX_MANIFEST_BYTES) return `${data.length} bytes, far larger than a manifest`;
  const text = data.toString('utf8');
  const end = text.indexOf(`  ${SELF}\n`);
  if (!text.startsWith(`${HEADER} ${kind}\n`) || end < 65) return 'it is not a media manifest (header or last line missing)';
  const lineStart = text.lastIndexOf('\n', end) + 1;
  const body = text.slice(0, lineStart);
  if (sha(Buffer.from(body)) !== text.slice(lineStart, end)) return 'it does not match its own checksum (the manifest itself is damaged)';
  if (/[^\n]/.test(text.slice(end + SELF.length + 3))) return 'it has data after its last line';
  const entries: MediaEntry[] = [];
  for (const line of body.split('\n').slice(1, -1)) {
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
    if (!m) return `line "${line.slice(0, 80)}" is not "<sha256>  <name>"`;
    entries.push({ sha256: m[1]!, name: m[2]! });
  }
  return entries;
}

/** Patches the manifest's bytes into its file's place in an image (making it durable is the caller's part). */
export async function patchInPlace(imagePath: string, extents: readonly { offset: number; length: number }[], data: Buffer): Promise<void> {
  const total = extents.reduce((n, e) => n + e.length, 0);
  if (total !== data.length) throw new Error(`the manifest's place holds ${total} bytes, the manifest has ${data.length}`);
  const fh = await open(imagePath, 'r+');
  try {
    let at = 0;
    for (const e of extents) {
      await fh.write(data, at, e.length, e.offset);
      at += e.length;
    }
  } finally {
    await fh.close();
  }
}

/** Compares a medium with its manifest: the problems found (empty when every entry matches). */
export function compareEntries(expected: readonly MediaEntry[], actual: readonly MediaEntry[], kind: MediaKind): { problems: string[]; extra: string[] } {
  const have = new Map(actual.map((e) => [e.name.toLowerCase(), e]));
  const problems: string[] = [];
  for (const e of expected) {
    const got = have.get(e.name.toLowerCase());
    if (!got) problems.push(`${e.name} is missing`);
    else if (got.sha256 !== e.sha256) problems.push(`${e.name} differs from its checksum`);
    have.delete(e.name.toLowerCase());
  }
  const extra = [...have.values()].map((e) => e.name);
  // An ISO cannot change: a file it was not built with is damage. A stick may carry logs the assistant saved.
  if (kind === 'iso') for (const name of extra) problems.push(`${name} is not in the manifest`);
  return { problems, extra };
}
