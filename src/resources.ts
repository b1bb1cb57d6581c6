/**
 * Where Lifeboat finds the files it ships with: templates/, manuals/, winpe-overlay/, examples/site.yaml and
 * build/assistant.exe, always named by their path relative to the repository root.
 *
 * - Run from the repository (tsx from src/, or the tsc output in dist/): the file itself, one folder above this
 *   module's own folder.
 * - Run as a release executable (a Node single executable application made by scripts/build-release.mjs): the exe
 *   carries them as SEA assets, listed by the asset `resources.json` ({ path: { asset, size, sha256, gzip } }). They
 *   are unpacked on first use into a private temporary folder of this process (created with mkdtemp, so no other
 *   user can plant a file there) and removed when the process ends. Only what is asked for is unpacked: the
 *   assistant (about 90 MB) only by `build` and `demo`.
 *
 * The release bundle is CommonJS, where `import.meta` is empty: this is the only module allowed to mention it, and it
 * does so only when not running as a SEA.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import * as sea from 'node:sea';
import { JobError } from './errors.js';

/** One entry of the `resources.json` asset. */
export interface ResourceEntry {
  /** Name of the SEA asset holding the bytes. */
  readonly asset: string;
  /** Size and SHA-256 of the file once unpacked. */
  readonly size: number;
  readonly sha256: string;
  /** The asset is gzip-compressed (the assistant: 87 MB as 33 MB). */
  readonly gzip: boolean;
}

export const RESOURCE_INDEX_ASSET = 'resources.json';

/** True inside a release executable. */
export function runningAsRelease(): boolean {
  return sea.isSea();
}

let index: Map<string, ResourceEntry> | undefined;
let unpackDir: string | undefined;
const unpacked = new Set<string>();

/**
 * The host path of a shipped file or folder (`rel` uses `/`, e.g. `templates/manual`). In a release exe the file, or
 * every file under the folder, is unpacked first; a name the exe does not carry gives the path where it would be,
 * so the caller's own "missing" message applies.
 */
export function resourcePath(rel: string): string {
  const clean = rel.replace(/^\/+|\/+$/g, '');
  if (!runningAsRelease()) return join(repositoryRoot(), ...clean.split('/'));
  const entries = resourceIndex();
  const dir = privateDir();
  for (const [name, entry] of entries) {
    if (name === clean || name.startsWith(`${clean}/`)) unpack(dir, name, entry);
  }
  return join(dir, ...clean.split('/'));
}

/** The repository root: this module is src/resources.ts (tsx) or dist/resources.js (tsc). */
function repositoryRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

function resourceIndex(): Map<string, ResourceEntry> {
  if (!index) {
    const text = Buffer.from(sea.getAsset(RESOURCE_INDEX_ASSET)).toString('utf8');
    index = new Map(Object.entries(JSON.parse(text) as Record<string, ResourceEntry>));
  }
  return index;
}

function privateDir(): string {
  if (!unpackDir) {
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-'));
    unpackDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return unpackDir;
}

function unpack(dir: string, name: string, entry: ResourceEntry): void {
  if (unpacked.has(name)) return;
  const raw = new Uint8Array(sea.getRawAsset(entry.asset) as ArrayBuffer);
  const bytes = entry.gzip ? gunzipSync(raw) : raw;
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== entry.size || digest !== entry.sha256) {
    throw new JobError(`the release executable's copy of ${name} is damaged (SHA-256 ${digest})`, 'Download Lifeboat again and check it against SHA256SUMS.');
  }
  const target = join(dir, ...name.split('/'));
  if (!target.startsWith(dir + sep)) throw new Error(`resource name ${name} leaves the resource folder`);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(`${target}.part`, bytes, { mode: 0o700 });
  renameSync(`${target}.part`, target);
  unpacked.add(name);
}
