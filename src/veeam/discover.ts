/**
 * Finding backup chains on a share: walk the folder tree (bounded depth and size, symlink loops cut), read every
 * `.vbm` found, and resolve each storage of each chain to a file on the share by its file name. No folder layout or
 * file-name pattern is assumed: Veeam's layout differs between the standalone agent and VBR-managed agents, and a
 * share may be mounted under another name than the UNC path recorded in the metadata.
 */
import { opendir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError, LifeboatError } from '../errors.js';
import { buildChain, type BackupChain } from './model.js';
import { readVbm, type VbmReadOptions } from './vbm.js';
import { ReadBuffer } from './xml.js';
import type { XmlLimits } from './xml.js';

export interface DiscoverOptions {
  /** How many folder levels below the share root are searched (root = 0). Default 4. */
  readonly maxDepth?: number;
  /** Also search `<JobName>.adhoc.<time>` folders (standalone fulls). Default false. */
  readonly includeAdhoc?: boolean;
  /** Most .vbm files read. Default 500. */
  readonly maxVbmFiles?: number;
  /** Most directory entries looked at in the whole walk. Default 200,000. */
  readonly maxEntries?: number;
  readonly limits?: XmlLimits;
}

export interface SkippedPath {
  readonly path: string;
  readonly reason: string;
}

export interface ShareScan {
  readonly root: string;
  /** Every .vbm file found, sorted. */
  readonly vbmFiles: readonly string[];
  /** Every file found, by lower-case name. */
  readonly filesByName: ReadonlyMap<string, readonly string[]>;
  readonly skipped: readonly SkippedPath[];
  /** True when a limit stopped the walk early. */
  readonly truncated: boolean;
}

export interface StorageLocation {
  readonly storageId: string;
  readonly fileName?: string;
  /** Path of the file on the share; undefined when no file of that name was found. */
  readonly path?: string;
  /** Other files with the same name elsewhere on the share, when the choice was not obvious. */
  readonly alternatives?: readonly string[];
}

/** A chain read from the share. The raw records are not kept: the model holds what is used, which is smaller. */
export interface DiscoveredChain {
  readonly chain: BackupChain;
  /** By storage id. */
  readonly locations: ReadonlyMap<string, StorageLocation>;
}

export interface DiscoveryError {
  readonly file: string;
  readonly message: string;
  readonly hint?: string;
}

export interface Discovery {
  readonly root: string;
  readonly chains: readonly DiscoveredChain[];
  /** .vbm files that could not be read (damaged, hostile, unreadable). */
  readonly errors: readonly DiscoveryError[];
  readonly skipped: readonly SkippedPath[];
  readonly truncated: boolean;
}

const ADHOC_RE = /\.adhoc\./i;

/** Walks the share and lists .vbm files and all file names. */
export async function scanShare(root: string, options: DiscoverOptions = {}): Promise<ShareScan> {
  const maxDepth = options.maxDepth ?? 4;
  const maxVbm = options.maxVbmFiles ?? 500;
  const maxEntries = options.maxEntries ?? 200_000;
  try {
    const st = await stat(root);
    if (!st.isDirectory()) throw new InputError(`share path "${root}" is not a folder`, 'Give the folder the backups are written to.');
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`share path "${root}" cannot be opened (${code ?? String(err)})`, 'Check the path, that the share is connected, and the permissions.', { cause: err });
  }

  const vbmFiles: string[] = [];
  const filesByName = new Map<string, string[]>();
  const skipped: SkippedPath[] = [];
  const visited = new Set<string>();
  let entries = 0;
  let truncated = false;
  const queue: { dir: string; depth: number }[] = [{ dir: root, depth: 0 }];

  while (queue.length > 0) {
    const next = queue.shift();
    if (!next) break;
    const { dir, depth } = next;
    let real: string;
    try {
      real = await realpath(dir);
    } catch {
      skipped.push({ path: dir, reason: 'cannot be resolved' });
      continue;
    }
    if (visited.has(real)) {
      skipped.push({ path: dir, reason: 'already searched (link loop or second link)' });
      continue;
    }
    visited.add(real);
    let handle;
    try {
      // Entries fetched 1,024 at a time rather than 32: a chain's folder holds a file per restore point (8,760 a year).
      handle = await opendir(dir, { bufferSize: 1024 });
    } catch (err) {
      skipped.push({ path: dir, reason: `cannot be listed (${(err as NodeJS.ErrnoException).code ?? String(err)})` });
      continue;
    }
    const subdirs: string[] = [];
    // join(dir, name) for every entry, without normalizing the folder's part again each time (8,760 a year).
    const prefix = join(dir, '_').slice(0, -1);
    for await (const ent of handle) {
      if (++entries > maxEntries) {
        truncated = true;
        break;
      }
      const full = prefix + ent.name;
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        try {
          const t = await stat(full);
          isDir = t.isDirectory();
          isFile = t.isFile();
        } catch {
          skipped.push({ path: full, reason: 'broken link' });
          continue;
        }
      }
      if (isDir) {
        if (ADHOC_RE.test(ent.name) && !options.includeAdhoc) {
          skipped.push({ path: full, reason: 'standalone full backup folder (.adhoc.)' });
        } else if (depth + 1 > maxDepth) {
          skipped.push({ path: full, reason: `deeper than ${maxDepth} levels` });
        } else {
          subdirs.push(full);
        }
      } else if (isFile) {
        const key = ent.name.toLowerCase();
        const list = filesByName.get(key);
        if (list) list.push(full);
        else filesByName.set(key, [full]);
        if (key.endsWith('.vbm')) {
          if (vbmFiles.length >= maxVbm) truncated = true;
          else vbmFiles.push(full);
        }
      }
    }
    if (truncated && entries > maxEntries) break;
    subdirs.sort();
    for (const d of subdirs) queue.push({ dir: d, depth: depth + 1 });
  }
  vbmFiles.sort();
  for (const list of filesByName.values()) if (list.length > 1) list.sort();
  return { root, vbmFiles, filesByName, skipped, truncated };
}

/**
 * Resolves each storage of a chain to a file on the share by its file name: a file in the .vbm's own folder wins,
 * else the only file of that name, else the first of several (the others listed as alternatives).
 */
export function resolveStorages(chain: BackupChain, scan: Pick<ShareScan, 'filesByName'>): Map<string, StorageLocation> {
  const out = new Map<string, StorageLocation>();
  const home = dirname(chain.vbmPath);
  for (const s of chain.storages) {
    if (!s.fileName) {
      out.set(s.id, { storageId: s.id });
      continue;
    }
    const candidates = scan.filesByName.get(s.fileName.toLowerCase()) ?? [];
    if (candidates.length === 1) {
      // The usual case, and the rules below choose it whatever its case or folder (8,760 times per year-long chain).
      out.set(s.id, { storageId: s.id, fileName: s.fileName, path: candidates[0], alternatives: undefined });
      continue;
    }
    const exactCase = candidates.filter((c) => basename(c) === s.fileName);
    const pool = exactCase.length ? exactCase : candidates;
    const local = pool.find((c) => dirname(c) === home);
    const chosen = local ?? pool[0];
    const alternatives = local || pool.length <= 1 ? undefined : pool.slice(1);
    out.set(s.id, { storageId: s.id, fileName: s.fileName, path: chosen, alternatives });
  }
  return out;
}

/**
 * Reads the chains of a scanned share one at a time, so a caller that reduces each chain to what it needs holds one
 * chain's model at a time rather than all of them. A damaged .vbm is yielded as an error, not thrown. `detail`
 * `chain` reads only what the chains' structure and health need (see VbmReadOptions), for the audit.
 */
export async function* readChains(
  scan: ShareScan,
  options: DiscoverOptions = {},
  detail: VbmReadOptions['detail'] = 'full',
): AsyncGenerator<DiscoveredChain | DiscoveryError> {
  const scratch = new ReadBuffer();
  for (const file of scan.vbmFiles) {
    let chain: BackupChain;
    try {
      chain = buildChain(await readVbm(file, { limits: options.limits, scratch, detail }), file);
    } catch (err) {
      if (err instanceof LifeboatError) yield { file, message: err.message, hint: err.hint };
      else yield { file, message: `"${file}" cannot be read: ${err instanceof Error ? err.message : String(err)}` };
      continue;
    }
    yield { chain, locations: resolveStorages(chain, scan) };
  }
}

/** Finds and reads every chain on the share. A damaged .vbm is reported in `errors`, not thrown. */
export async function discoverChains(root: string, options: DiscoverOptions = {}): Promise<Discovery> {
  const scan = await scanShare(root, options);
  const chains: DiscoveredChain[] = [];
  const errors: DiscoveryError[] = [];
  for await (const read of readChains(scan, options)) {
    if ('chain' in read) chains.push(read);
    else errors.push(read);
  }
  return { root, chains, errors, skipped: scan.skipped, truncated: scan.truncated };
}
