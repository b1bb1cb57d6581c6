/**
 * The \lifeboat\ folder the media carries: assistant, site data, vault, drivers, manual, start script and manifest.
 * Files are described by where their bytes come from (host file or generated text); nothing large is read here.
 */
import { createReadStream } from 'node:fs';
import { access, lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { InputError } from '../errors.js';
import { sha256FileInWorker } from '../util/hash-worker.js';
import { type ManifestEntry, MANIFEST_PATH, renderManifest, sha256Of } from '../util/manifest.js';

export type OverlayFile = { isoPath: string; hostPath: string; size: number } | { isoPath: string; data: Buffer; size: number };

export function textFile(isoPath: string, text: string): OverlayFile & { data: Buffer } {
  const data = Buffer.from(text, 'utf8');
  return { isoPath, data, size: data.length };
}

export async function hostFile(isoPath: string, hostPath: string, what: string): Promise<OverlayFile> {
  const s = await stat(hostPath).catch(() => undefined);
  if (!s?.isFile()) throw new InputError(`${what} "${hostPath}" is missing`, what === 'assistant.exe' ? 'Run `make` to build it.' : undefined);
  return { isoPath, hostPath, size: s.size };
}

/**
 * Every file of a driver folder, refusing unreadable files with the folder named (treated as hostile input). A link
 * inside the folder is followed only when it stays inside the folder: a link out of it (to /etc, to a home folder)
 * would carry that file onto the media.
 */
export async function driverFiles(kind: string, dir: string): Promise<OverlayFile[]> {
  const out: OverlayFile[] = [];
  const hint = `Check drivers.${kind} in site.yaml and the folder's permissions.`;
  let root: string;
  try {
    root = await realpath(dir);
  } catch (e) {
    throw new InputError(`cannot read the ${kind} driver folder "${dir}": ${(e as NodeJS.ErrnoException).code ?? e}`, hint);
  }
  const visit = async (folder: string, depth: number): Promise<void> => {
    if (depth > 16) throw new InputError(`driver folder "${dir}" nests deeper than 16 levels`);
    let names: string[];
    try {
      names = await readdir(folder);
    } catch (e) {
      throw new InputError(`cannot read the ${kind} driver folder "${folder}": ${(e as NodeJS.ErrnoException).code ?? e}`, hint);
    }
    for (const name of names.sort()) {
      const path = join(folder, name);
      const s = await entryStat(path, root, kind);
      if (!s) continue;
      if (s.isDirectory()) await visit(path, depth + 1);
      else if (s.isFile()) {
        await access(path, constants.R_OK).catch(() => {
          throw new InputError(`cannot read the driver file "${path}"`, `Check drivers.${kind} in site.yaml and the file's permissions.`);
        });
        const rel = relative(dir, path).split(/[\\/]/).join('/');
        out.push({ isoPath: `/lifeboat/drivers/${kind}/${rel}`, hostPath: path, size: s.size });
      }
    }
  };
  await visit(dir, 0);
  if (!out.some((f) => f.isoPath.toLowerCase().endsWith('.inf'))) {
    throw new InputError(`the ${kind} driver folder "${dir}" holds no .inf file`, 'Point it at unpacked INF driver packages (not an installer .exe or .msi).');
  }
  return out;
}

/** What a driver folder entry is, after checking a link stays inside the folder; undefined for sockets and such. */
async function entryStat(path: string, root: string, kind: string): Promise<import('node:fs').Stats | undefined> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    throw new InputError(`cannot read "${path}" in the ${kind} driver folder: ${(e as NodeJS.ErrnoException).code ?? e}`, `Check drivers.${kind} in site.yaml.`);
  }
  if (!st.isSymbolicLink()) return st;
  const target = await realpath(path).catch(() => undefined);
  if (!target) {
    throw new InputError(`"${path}" in the ${kind} driver folder is a link to "${await readlink(path).catch(() => '?')}", which does not exist`, 'Remove the link or put the file it should point to in place.');
  }
  if (!isInside(target, root)) {
    throw new InputError(`"${path}" in the ${kind} driver folder is a link out of the folder (to "${target}"); links are followed only inside a driver folder`, 'Copy the driver files into the folder instead of linking to them.');
  }
  return stat(target);
}

/** True when `path` is `root` or below it (both real paths). */
export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export async function sha256OfOverlay(f: OverlayFile): Promise<string> {
  if ('data' in f) return sha256Of([f.data]);
  return sha256Of(createReadStream(f.hostPath, { highWaterMark: 1 << 20 }));
}

/** Host files from this size on are hashed in a worker thread (smaller ones cost less than starting one). */
const WORKER_HASH_BYTES = 4 << 20;

/**
 * The SHA-256 of every file, by media path: the large ones in worker threads, as many at once as there are cores,
 * while the small ones are hashed here. Taken once per build and reused (MANIFEST.sha256, and MEDIA.sha256 of both
 * images), since the images carry these files unchanged.
 */
export async function overlayHashes(files: readonly OverlayFile[]): Promise<Map<string, string>> {
  const large = new Set(files.filter((f): f is OverlayFile & { hostPath: string } => 'hostPath' in f && f.size >= WORKER_HASH_BYTES));
  const hashes = new Map<string, string>();
  const queue = [...large];
  const runners = Array.from({ length: Math.min(queue.length, availableParallelism()) }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) hashes.set(f.isoPath, await sha256FileInWorker(f.hostPath));
  });
  const inWorkers = Promise.all(runners);
  inWorkers.catch(() => undefined); // awaited below; a failure here surfaces there
  for (const f of files) if (!large.has(f as OverlayFile & { hostPath: string })) hashes.set(f.isoPath, await sha256OfOverlay(f));
  await inWorkers;
  return hashes;
}

/** The manifest over files whose hashes are known (media path -> SHA-256). */
export function manifestFile(hashes: ReadonlyMap<string, string>): OverlayFile & { data: Buffer } {
  const entries: ManifestEntry[] = [...hashes].map(([path, sha256]) => ({ path: path.replace(/^\//, ''), sha256 }));
  return textFile(MANIFEST_PATH, renderManifest(entries));
}

/**
 * A stand-in for the manifest over these paths, of exactly its size (every SHA-256 is 64 digits): it takes the
 * manifest's place in an image written before the hashes are known, and the manifest is patched in over it.
 */
export function manifestPlaceholder(paths: readonly string[]): OverlayFile & { data: Buffer } {
  return manifestFile(new Map([...new Set(paths)].map((p) => [p, '0'.repeat(64)])));
}
