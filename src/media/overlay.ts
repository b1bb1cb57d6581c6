/**
 * The \lifeboat\ folder the media carries: assistant, site data, vault, drivers, manual, start script and manifest.
 * Files are described by where their bytes come from (host file or generated text); nothing large is read here.
 */
import { createReadStream } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join, relative } from 'node:path';
import { InputError } from '../errors.js';
import { type ManifestEntry, MANIFEST_PATH, renderManifest, sha256Of } from '../util/manifest.js';

export type OverlayFile = { isoPath: string; hostPath: string; size: number } | { isoPath: string; data: Buffer; size: number };

export function textFile(isoPath: string, text: string): OverlayFile {
  const data = Buffer.from(text, 'utf8');
  return { isoPath, data, size: data.length };
}

export async function hostFile(isoPath: string, hostPath: string, what: string): Promise<OverlayFile> {
  const s = await stat(hostPath).catch(() => undefined);
  if (!s?.isFile()) throw new InputError(`${what} "${hostPath}" is missing`, what === 'assistant.exe' ? 'Run `make` to build it.' : undefined);
  return { isoPath, hostPath, size: s.size };
}

/** Every file of a driver folder, refusing unreadable files with the folder named (treated as hostile input). */
export async function driverFiles(kind: string, dir: string): Promise<OverlayFile[]> {
  const out: OverlayFile[] = [];
  const visit = async (folder: string, depth: number): Promise<void> => {
    if (depth > 16) throw new InputError(`driver folder "${dir}" nests deeper than 16 levels`);
    let names: string[];
    try {
      names = await readdir(folder);
    } catch (e) {
      throw new InputError(`cannot read the ${kind} driver folder "${folder}": ${(e as NodeJS.ErrnoException).code ?? e}`, `Check drivers.${kind} in site.yaml and the folder's permissions.`);
    }
    for (const name of names.sort()) {
      const path = join(folder, name);
      const s = await stat(path);
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

export async function sha256OfOverlay(f: OverlayFile): Promise<string> {
  if ('data' in f) return sha256Of([f.data]);
  return sha256Of(createReadStream(f.hostPath, { highWaterMark: 1 << 20 }));
}

/** The manifest over the overlay files (and the updated boot.wim), plus entries whose hash is already known. */
export async function manifestFile(files: readonly OverlayFile[], known: readonly ManifestEntry[] = []): Promise<OverlayFile> {
  const entries: ManifestEntry[] = [...known];
  for (const f of files) entries.push({ path: f.isoPath.replace(/^\//, ''), sha256: await sha256OfOverlay(f) });
  return textFile(MANIFEST_PATH, renderManifest(entries));
}
