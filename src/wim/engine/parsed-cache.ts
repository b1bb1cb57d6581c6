/**
 * Structures parsed earlier in this process (blob tables, image directory trees), so the several reads and the one
 * update a build makes of a boot.wim decompress and parse each once, not once per call. An entry is found by the
 * file and the resource's place (and, for metadata, its SHA-1), and used only when the resource's stored bytes,
 * read again now, equal the bytes it was parsed from: a WIM changed meanwhile (by any tool, even within one mtime
 * tick) is parsed again. An update takes its tree out (it edits it) and puts the edited tree back under the
 * metadata resource it wrote. A few entries only (one boot.wim at a time in a build).
 */
import { resolve } from 'node:path';
import type { ResourceHeader, ResourceReadOptions } from './resource.js';

const MAX_ENTRIES = 4;

interface Entry {
  stored: Buffer;
  value: unknown;
}

const entries = new Map<string, Entry>();

/** Everything decoding a resource depends on besides its stored bytes: where it is and how it is compressed. */
export function resourceKey(path: string, r: ResourceHeader, o: Pick<ResourceReadOptions, 'compression' | 'chunkSize'>): string {
  return `${resolve(path)}\0${r.offset}\0${r.sizeInWim}\0${r.flags}\0${r.originalSize}\0${o.compression}\0${o.chunkSize}`;
}

/** A metadata resource's key: its resource key and the SHA-1 the blob table gives it. */
export function imageKey(path: string, r: ResourceHeader, o: Pick<ResourceReadOptions, 'compression' | 'chunkSize'>, hash: Buffer): string {
  return `image\0${resourceKey(path, r, o)}\0${hash.toString('hex')}`;
}

/**
 * What was parsed from exactly `stored` under `key`, if kept; `take` removes it (for a caller that will change
 * it). The caller names the type it stored under that key.
 */
export function cached<T>(key: string, stored: Buffer, take = false): T | undefined {
  const e = entries.get(key);
  if (!e) return undefined;
  entries.delete(key);
  if (!e.stored.equals(stored)) return undefined;
  if (!take) entries.set(key, e); // most recently used last
  return e.value as T;
}

/** Keeps `value` as the parse of `stored` (it must not be changed afterwards unless taken out first). */
export function remember(key: string, stored: Buffer, value: unknown): void {
  entries.delete(key);
  entries.set(key, { stored, value });
  while (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
}
