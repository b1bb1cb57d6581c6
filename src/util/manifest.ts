/**
 * MANIFEST.sha256: the SHA-256 of every file under \lifeboat\ and of sources\boot.wim, in `sha256sum` format with
 * media paths, so the assistant (and `lifeboat verify`) can tell a bad USB write before anything else.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';

export const MANIFEST_PATH = '/lifeboat/MANIFEST.sha256';

export interface ManifestEntry {
  /** Media path with forward slashes, e.g. `lifeboat/site.json`. */
  path: string;
  sha256: string;
}

export function renderManifest(entries: readonly ManifestEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return sorted.map((e) => `${e.sha256}  ${e.path}\n`).join('');
}

const MAX_MANIFEST_LINES = 100_000;

export function parseManifest(text: string, where = MANIFEST_PATH): ManifestEntry[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length > MAX_MANIFEST_LINES) throw new InputError(`${where} has more than ${MAX_MANIFEST_LINES} lines`);
  return lines.map((line, i) => {
    const m = /^([0-9a-f]{64}) [ *]([^\0]+)$/.exec(line);
    if (!m || m[2]!.includes('..')) throw new InputError(`${where} line ${i + 1} is not "<sha256>  <path>"`, 'The media is damaged: rebuild or rewrite it.');
    return { sha256: m[1]!, path: m[2]!.replace(/\\/g, '/').replace(/^\/+/, '') };
  });
}

export async function sha256Of(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<string> {
  const h = createHash('sha256');
  for await (const c of chunks) h.update(c);
  return h.digest('hex');
}
