/**
 * Diagnostics collection (issue 4, step 12): from the root of a Windows volume (`W:\` in PE, any folder in tests and
 * `--simulate`) find the files that explain a failed boot and stream them into a gzipped tar on the share.
 *
 * Pure Node: no platform calls, no child processes. Paths inside the volume are matched ignoring case (NTFS is
 * case-insensitive, the tests run on a case-sensitive Linux file system); a symlink or junction is followed only when
 * it stays inside the volume.
 *
 * Archive layout (`<dest>.tar.gz`):
 *
 *     README.txt                                   first entry: what this is, and that the manifest is LAST
 *     <category>/<relative path on the volume>     e.g. eventlogs/Windows/System32/winevt/Logs/System.evtx
 *     ...
 *     manifest.json                                last entry: server, time, volume, per file path/size/mtime/sha256
 *
 * Why the manifest is the last entry and not the first: the hashes are computed while the files are streamed, in one
 * pass. Writing it first would mean reading every file twice (a MEMORY.DMP is gigabytes) and, worse, a file that
 * changes between the hashing pass and the copying pass would make the manifest describe bytes that are not in the
 * archive. The manifest says so itself (`manifestPosition: "last"`) and README.txt, the first entry, points to it.
 *
 * The archive is written to `<dest>.partial` and renamed only once the gzip stream has been flushed and closed, so an
 * interrupted copy over the network never looks complete; on failure the partial file is removed.
 *
 * A tar header carries the size before the data. A file that grows while it is read (a live log) is stored with the
 * size it had when it was opened; one that shrinks or fails mid-read is padded with zero bytes to that size. Both are
 * noted in the manifest (`note`, `bytesRead`), and the sha256 is always that of the bytes stored in the archive.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants, createWriteStream, type Dirent, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { VERSION } from './version.js';

// ---------------------------------------------------------------------------------------------------------------------
// Public types

export interface DiagnosticsItem {
  category: string;
  /** Relative to the volume root, forward slashes, with the case found on disk. */
  path: string;
  size: number;
}

export interface DiagnosticsPlan {
  items: DiagnosticsItem[];
  /** Sum of `items` sizes (the default collection: no memory dump, no hives). */
  totalBytes: number;
  /** Windows/MEMORY.DMP when present: collected only with `includeMemoryDump`; show its size before asking. */
  memoryDump?: { path: string; size: number };
  /** SYSTEM and SOFTWARE hives (and their .LOG1/.LOG2 transaction logs when present): only with `includeHives`. */
  hives: { path: string; size: number }[];
  /** Files found but left out (unreadable, not a regular file, symlink out of the volume, over a size cap). */
  skipped?: { path: string; reason: string }[];
  /** Human-readable remarks for the menu (e.g. that the Security log is included). */
  notes?: string[];
}

export interface DiagnosticsLimits {
  /** Event logs other than System/Application/Setup/Security larger than this are left out. Default 64 MiB. */
  evtxMaxFileBytes: number;
  /** Total for all event logs; the optional ones stop once it is reached. Default 256 MiB. */
  evtxTotalBytes: number;
  /** Newest CbsPersist_*.log files kept. Default 5. */
  cbsPersistMaxFiles: number;
  /** Total for CbsPersist_*.log files. Default 128 MiB. */
  cbsPersistTotalBytes: number;
}

export const DEFAULT_DIAGNOSTICS_LIMITS: Readonly<DiagnosticsLimits> = Object.freeze({
  evtxMaxFileBytes: 64 * 1024 * 1024,
  evtxTotalBytes: 256 * 1024 * 1024,
  cbsPersistMaxFiles: 5,
  cbsPersistTotalBytes: 128 * 1024 * 1024,
});

export interface CollectOptions {
  includeMemoryDump: boolean;
  includeHives: boolean;
  /** Called with bytes done and total (planned sizes of what is collected); non-decreasing, last call done === total. */
  onProgress?: (done: number, total: number, current: string) => void;
  serverName: string;
  now: Date;
  /** Cancels the collection (the partial file is removed, the promise rejects). */
  signal?: AbortSignal;
}

export interface CollectResult {
  file: string;
  /** Size of the .tar.gz written. */
  bytes: number;
  /** Files from the volume stored in the archive (README.txt and manifest.json not counted). */
  files: number;
  skipped: { path: string; reason: string }[];
  /** sha256 of the .tar.gz, hex. */
  sha256: string;
}

/** One stored file as recorded in manifest.json. */
export interface ManifestFile {
  /** Name inside the archive: `<category>/<source>`. */
  path: string;
  /** Relative path on the volume. */
  source: string;
  category: string;
  /** Bytes stored in the archive. */
  size: number;
  mtime: string;
  sha256: string;
  /** Present when fewer bytes than `size` could be read (the rest is zero bytes). */
  bytesRead?: number;
  note?: string;
}

export interface DiagnosticsManifest {
  format: 'lifeboat-diagnostics/1';
  manifestPosition: 'last';
  manifestNote: string;
  tool: string;
  server: string;
  time: string;
  volume: string;
  options: { includeMemoryDump: boolean; includeHives: boolean };
  files: ManifestFile[];
  skipped: { path: string; reason: string }[];
  notes: string[];
}

export const MANIFEST_NAME = 'manifest.json';
export const README_NAME = 'README.txt';

export const CATEGORY = {
  eventLogs: 'eventlogs',
  minidumps: 'minidumps',
  memoryDump: 'memorydump',
  srt: 'srt',
  setupapi: 'setupapi',
  cbs: 'cbs',
  panther: 'panther',
  hives: 'hives',
} as const;

// ---------------------------------------------------------------------------------------------------------------------
// Planning

const CORE_EVENT_LOGS = ['system.evtx', 'application.evtx', 'setup.evtx', 'security.evtx'];

/** Event log channels (file name prefixes, lower case) that matter when a machine does not boot. */
const BOOT_EVENT_LOG_PREFIXES = [
  'microsoft-windows-kernel-boot',
  'microsoft-windows-kernel-power',
  'microsoft-windows-kernel-pnp',
  'microsoft-windows-kernel-whea',
  'microsoft-windows-whea',
  'microsoft-windows-ntfs',
  'microsoft-windows-diagnostics-performance',
  'microsoft-windows-driverframeworks',
  'microsoft-windows-storage',
  'microsoft-windows-storagespaces',
  'microsoft-windows-partition',
  'microsoft-windows-disk',
  'microsoft-windows-volume',
  'microsoft-windows-bitlocker',
  'microsoft-windows-codeintegrity',
  'microsoft-windows-tpm',
  'microsoft-windows-servicing',
  'microsoft-windows-windowsupdateclient',
  'microsoft-windows-setup',
  'microsoft-windows-grouppolicy',
  'microsoft-windows-hyper-v',
  'microsoft-windows-bits-client',
];

const MIB = 1024 * 1024;

interface Found {
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
}

class Planner {
  readonly skipped: { path: string; reason: string }[] = [];
  readonly notes: string[] = [];
  private readonly seen = new Set<string>();

  constructor(
    readonly root: string,
    readonly rootReal: string,
  ) {}

  skip(rel: string, reason: string): void {
    if (this.skipped.some((s) => s.path === rel)) return;
    this.skipped.push({ path: rel, reason });
  }

  /** Resolves a directory below the root, one case-insensitive component at a time. */
  async dir(segments: string[]): Promise<{ abs: string; rel: string } | null> {
    let abs = this.root;
    const rel: string[] = [];
    for (const seg of segments) {
      const name = await matchName(abs, seg);
      if (name === null) return null;
      abs = path.join(abs, name);
      rel.push(name);
    }
    const relPath = rel.join('/');
    const check = await this.inside(abs);
    if (check !== null) {
      if (check !== 'missing') this.skip(relPath + '/', check);
      return null;
    }
    try {
      if (!(await stat(abs)).isDirectory()) return null;
    } catch {
      return null;
    }
    return { abs, rel: relPath };
  }

  /** Null when `abs` resolves inside the volume, else why not ('missing' for a path that does not exist). */
  async inside(abs: string): Promise<string | null> {
    let real: string;
    try {
      real = await realpath(abs);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        try {
          if ((await lstat(abs)).isSymbolicLink()) return 'dangling symlink';
        } catch {
          /* does not exist */
        }
        return 'missing';
      }
      return `cannot resolve: ${describeError(err)}`;
    }
    return isWithin(this.rootReal, real) ? null : `symlink leads outside the volume (${real})`;
  }

  /** A file directly inside `dir` (already resolved), matched ignoring case; checked and opened once. */
  async file(dir: { abs: string; rel: string }, entry: Dirent | string): Promise<Found | null> {
    const name = typeof entry === 'string' ? await matchName(dir.abs, entry) : entry.name;
    if (name === null) return null;
    const abs = path.join(dir.abs, name);
    const rel = dir.rel ? `${dir.rel}/${name}` : name;
    const key = rel.toLowerCase();
    if (this.seen.has(key)) return null;
    this.seen.add(key);
    const outside = await this.inside(abs);
    if (outside === 'missing') return null;
    if (outside !== null) {
      this.skip(rel, outside);
      return null;
    }
    let st: Stats;
    try {
      st = await stat(abs);
    } catch (err) {
      this.skip(rel, `unreadable: ${describeError(err)}`);
      return null;
    }
    if (!st.isFile()) {
      this.skip(rel, `not a regular file (${kindOf(st)})`);
      return null;
    }
    try {
      const fh = await open(abs, 'r');
      await fh.close();
    } catch (err) {
      this.skip(rel, `unreadable: ${describeError(err)}`);
      return null;
    }
    return { rel, abs, size: st.size, mtimeMs: st.mtimeMs };
  }

  /** Regular files (or symlinks to them) in `dir` whose lower-cased name satisfies `test`. */
  async list(dir: { abs: string; rel: string }, test: (lower: string) => boolean): Promise<Found[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir.abs, { withFileTypes: true });
    } catch (err) {
      this.skip(dir.rel + '/', `cannot list: ${describeError(err)}`);
      return [];
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const out: Found[] = [];
    for (const e of entries) {
      if (!test(e.name.toLowerCase())) continue;
      const f = await this.file(dir, e);
      if (f) out.push(f);
    }
    return out;
  }
}

/**
 * Finds what can be collected on the Windows volume at `volumeRoot`. Never throws for a missing file or directory:
 * a volume without Windows gives an empty plan.
 */
export async function planDiagnostics(
  volumeRoot: string,
  limits: Partial<DiagnosticsLimits> = {},
): Promise<DiagnosticsPlan> {
  const lim: DiagnosticsLimits = { ...DEFAULT_DIAGNOSTICS_LIMITS, ...limits };
  const root = path.resolve(volumeRoot);
  const rootReal = await realpath(root);
  const p = new Planner(root, rootReal);
  const items: DiagnosticsItem[] = [];
  const add = (category: string, f: Found): void => {
    items.push({ category, path: f.rel, size: f.size });
  };

  // Event logs: the core four always, then boot-related channels, then the rest, each within the caps.
  const logs = await p.dir(['Windows', 'System32', 'winevt', 'Logs']);
  if (logs) {
    const all = await p.list(logs, (n) => n.endsWith('.evtx'));
    const rank = (f: Found): number => {
      const n = baseName(f.rel).toLowerCase();
      const core = CORE_EVENT_LOGS.indexOf(n);
      if (core >= 0) return core;
      return BOOT_EVENT_LOG_PREFIXES.some((pre) => n.startsWith(pre)) ? 10 : 20;
    };
    all.sort((a, b) => rank(a) - rank(b) || b.mtimeMs - a.mtimeMs || cmp(a.rel, b.rel));
    let total = 0;
    let capped = 0;
    for (const f of all) {
      const core = rank(f) < CORE_EVENT_LOGS.length;
      if (!core && f.size > lim.evtxMaxFileBytes) {
        p.skip(f.rel, `event log larger than ${fmtMiB(lim.evtxMaxFileBytes)} (${fmtMiB(f.size)})`);
        continue;
      }
      if (!core && total + f.size > lim.evtxTotalBytes) {
        p.skip(f.rel, `event log total cap of ${fmtMiB(lim.evtxTotalBytes)} reached`);
        capped++;
        continue;
      }
      total += f.size;
      add(CATEGORY.eventLogs, f);
      if (baseName(f.rel).toLowerCase() === 'security.evtx') {
        p.notes.push('The Security event log is included: it records logons and account names.');
      }
    }
    if (capped > 0) p.notes.push(`${capped} event log(s) left out: total cap of ${fmtMiB(lim.evtxTotalBytes)}.`);
  }

  const minidump = await p.dir(['Windows', 'Minidump']);
  if (minidump) for (const f of await p.list(minidump, (n) => n.endsWith('.dmp'))) add(CATEGORY.minidumps, f);

  const srt = await p.dir(['Windows', 'System32', 'LogFiles', 'Srt']);
  if (srt) {
    const f = await p.file(srt, 'SrtTrail.txt');
    if (f) add(CATEGORY.srt, f);
  }

  const inf = await p.dir(['Windows', 'INF']);
  if (inf) {
    for (const name of ['setupapi.dev.log', 'setupapi.app.log', 'setupapi.offline.log']) {
      const f = await p.file(inf, name);
      if (f) add(CATEGORY.setupapi, f);
    }
  }

  const cbs = await p.dir(['Windows', 'Logs', 'CBS']);
  if (cbs) {
    const f = await p.file(cbs, 'CBS.log');
    if (f) add(CATEGORY.cbs, f);
    const persist = await p.list(cbs, (n) => n.startsWith('cbspersist_') && n.endsWith('.log'));
    persist.sort((a, b) => b.mtimeMs - a.mtimeMs || cmp(b.rel, a.rel));
    let total = 0;
    let kept = 0;
    for (const g of persist) {
      if (kept >= lim.cbsPersistMaxFiles) {
        p.skip(g.rel, `only the newest ${lim.cbsPersistMaxFiles} CbsPersist logs are collected`);
      } else if (total + g.size > lim.cbsPersistTotalBytes) {
        p.skip(g.rel, `CbsPersist total cap of ${fmtMiB(lim.cbsPersistTotalBytes)} reached`);
      } else {
        total += g.size;
        kept++;
        add(CATEGORY.cbs, g);
      }
    }
  }

  const panther = await p.dir(['Windows', 'Panther']);
  if (panther) {
    for (const name of ['setupact.log', 'setuperr.log']) {
      const f = await p.file(panther, name);
      if (f) add(CATEGORY.panther, f);
    }
  }

  let memoryDump: DiagnosticsPlan['memoryDump'];
  const windows = await p.dir(['Windows']);
  if (windows) {
    const f = await p.file(windows, 'MEMORY.DMP');
    if (f) memoryDump = { path: f.rel, size: f.size };
  }

  const hives: DiagnosticsPlan['hives'] = [];
  const config = await p.dir(['Windows', 'System32', 'config']);
  if (config) {
    for (const name of ['SYSTEM', 'SYSTEM.LOG1', 'SYSTEM.LOG2', 'SOFTWARE', 'SOFTWARE.LOG1', 'SOFTWARE.LOG2']) {
      const f = await p.file(config, name);
      if (f) hives.push({ path: f.rel, size: f.size });
    }
  }

  const plan: DiagnosticsPlan = {
    items,
    totalBytes: items.reduce((s, i) => s + i.size, 0),
    hives,
    skipped: p.skipped,
    notes: p.notes,
  };
  if (memoryDump) plan.memoryDump = memoryDump;
  return plan;
}

// ---------------------------------------------------------------------------------------------------------------------
// Collecting

const CHUNK = 1024 * 1024;
const ZEROES = Buffer.alloc(CHUNK);
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

/** The writable tar-stream returns for one entry (a streamx Writable, not a node:stream one). */
type EntrySink = ReturnType<tar.Pack['entry']>;

interface Job {
  category: string;
  rel: string;
  planned: number;
}

/**
 * Streams the planned files into a gzipped tar at `destFile` (via `destFile + '.partial'`). Files that cannot be
 * read any more are skipped with a reason; the collection fails only when the archive itself cannot be written (or
 * `onProgress` throws, or `signal` aborts), and then no file is left behind.
 */
export async function collectDiagnostics(
  volumeRoot: string,
  plan: DiagnosticsPlan,
  destFile: string,
  opts: CollectOptions,
): Promise<CollectResult> {
  const root = path.resolve(volumeRoot);
  const rootReal = await realpath(root);
  const jobs: Job[] = plan.items.map((i) => ({ category: i.category, rel: i.path, planned: i.size }));
  if (opts.includeMemoryDump && plan.memoryDump) {
    jobs.push({ category: CATEGORY.memoryDump, rel: plan.memoryDump.path, planned: plan.memoryDump.size });
  }
  if (opts.includeHives) {
    for (const h of plan.hives) jobs.push({ category: CATEGORY.hives, rel: h.path, planned: h.size });
  }
  const total = jobs.reduce((s, j) => s + j.planned, 0);

  const final = path.resolve(destFile);
  const partial = final + '.partial';
  await mkdir(path.dirname(final), { recursive: true });

  const pack = tar.pack();
  pack.on('error', () => {}); // reported by the pipeline below
  const gzip = createGzip({ level: 6 });
  const counter = new HashCounter();
  const out = createWriteStream(partial, { flags: 'w', flush: true });

  // The producer below and the output pipeline run concurrently; whichever fails first stops the other.
  // Every wait of the producer goes through `race`, which rejects at once when the collection fails. (Not
  // Promise.race against one long-lived promise: that keeps every settled value, i.e. every chunk read, reachable.)
  let failure: unknown = null;
  const waiting = new Set<(err: unknown) => void>();
  const fail = (err: unknown): void => {
    if (failure === null) failure = err ?? new Error('diagnostics collection failed');
    for (const reject of [...waiting]) reject(failure);
    waiting.clear();
  };
  const race = <T>(p: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (failure !== null) {
        p.catch(() => {});
        reject(failure);
        return;
      }
      waiting.add(reject);
      p.then(
        (v) => {
          waiting.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          waiting.delete(reject);
          reject(e);
        },
      );
    });
  const onAbort = (): void => fail(opts.signal?.reason ?? new Error('diagnostics collection cancelled'));
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  const output = pipeline(pack, gzip, counter, out).catch((err: unknown) => {
    fail(err);
    throw err;
  });
  output.catch(() => {});

  const files: ManifestFile[] = [];
  const skipped: { path: string; reason: string }[] = [];
  let done = 0;
  const progress = (value: number, current: string): void => {
    if (value > done) done = Math.min(value, total);
    opts.onProgress?.(done, total, current);
  };

  try {
    if (failure !== null) throw failure;
    const readme = readmeText(opts, root);
    await race(addBuffer(pack, README_NAME, Buffer.from(readme, 'utf8'), opts.now));

    for (const job of jobs) {
      if (failure !== null) throw failure;
      const base = done;
      const name = `${job.category}/${job.rel}`;
      progress(base, job.rel);
      const src = await openInside(root, rootReal, job.rel);
      if ('reason' in src) {
        skipped.push({ path: job.rel, reason: src.reason });
      } else {
        try {
          const rec = await race(
            addFile(pack, name, src.fh, src.size, src.mtime, race, (n) =>
              progress(base + Math.min(n, job.planned), job.rel),
            ),
          );
          files.push({
            path: name,
            source: job.rel,
            category: job.category,
            size: src.size,
            mtime: src.mtime.toISOString(),
            sha256: rec.sha256,
            ...(rec.bytesRead !== src.size ? { bytesRead: rec.bytesRead } : {}),
            ...(rec.note ? { note: rec.note } : {}),
          });
        } finally {
          await src.fh.close().catch(() => {});
        }
      }
      progress(base + job.planned, job.rel);
    }

    const manifest: DiagnosticsManifest = {
      format: 'lifeboat-diagnostics/1',
      manifestPosition: 'last',
      manifestNote:
        'manifest.json is the last entry of the archive: the sha256 of each file is computed while it is streamed ' +
        'into the archive (one pass), so the manifest can only be written after the files.',
      tool: `lifeboat-assistant ${VERSION}`,
      server: opts.serverName,
      time: opts.now.toISOString(),
      volume: volumeRoot,
      options: { includeMemoryDump: opts.includeMemoryDump, includeHives: opts.includeHives },
      files,
      skipped: [...(plan.skipped ?? []), ...skipped],
      notes: plan.notes ?? [],
    };
    await race(addBuffer(pack, MANIFEST_NAME, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), opts.now));
    progress(total, MANIFEST_NAME);
    pack.finalize();
    await race(output);
    if (failure !== null) throw failure;
    await rename(partial, final);
  } catch (err) {
    fail(err);
    pack.destroy(err instanceof Error ? err : new Error(String(err)));
    gzip.destroy();
    counter.destroy();
    out.destroy();
    await output.catch(() => {});
    await waitClosed(out);
    await rm(partial, { force: true }).catch(() => {});
    throw failure;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }

  return { file: final, bytes: counter.bytes, files: files.length, skipped, sha256: counter.digest() };
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers: archive

function readmeText(opts: CollectOptions, root: string): string {
  return [
    'Lifeboat diagnostics',
    '',
    `Server:  ${opts.serverName}`,
    `Time:    ${opts.now.toISOString()}`,
    `Volume:  ${root}`,
    '',
    'Each file is stored as <category>/<path on the Windows volume>.',
    'manifest.json is the LAST entry of this archive (hashes are computed while streaming, in one pass):',
    'it lists every file with its size, modification time and sha256, and the files that were skipped.',
    '',
  ].join('\r\n');
}

async function addBuffer(pack: tar.Pack, name: string, data: Buffer, mtime: Date): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    pack.entry({ name, size: data.length, mtime, mode: 0o644, type: 'file' }, data, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

/**
 * Streams `size` bytes of `fh` into a new tar entry: reads 1 MiB at a time, waits for the entry to drain, hashes what
 * it stores. Shorter files and read errors are padded with zeroes; growth past `size` is noted, not stored.
 */
async function addFile(
  pack: tar.Pack,
  name: string,
  fh: FileHandle,
  size: number,
  mtime: Date,
  race: <T>(p: Promise<T>) => Promise<T>,
  onBytes: (n: number) => void,
): Promise<{ sha256: string; bytesRead: number; note?: string }> {
  const hash = createHash('sha256');
  let entryDone!: Promise<void>;
  const entry = await new Promise<EntrySink>((resolve) => {
    entryDone = new Promise<void>((res, rej) => {
      resolve(pack.entry({ name, size, mtime, mode: 0o644, type: 'file' }, (err) => (err ? rej(err) : res())));
    });
  });
  entryDone.catch(() => {});
  // Failures reach us through the entry callback and the output pipeline; without a listener a streamx 'error' throws.
  entry.on('error', () => {});

  let written = 0;
  let bytesRead = 0;
  let note: string | undefined;
  let eof = false;
  const put = async (buf: Buffer): Promise<void> => {
    hash.update(buf);
    written += buf.length;
    if (!entry.write(buf)) await race(drained(entry));
    onBytes(written);
  };

  while (written < size) {
    const want = Math.min(CHUNK, size - written);
    if (!eof) {
      let n = 0;
      const buf = Buffer.allocUnsafe(want);
      try {
        n = (await race(fh.read(buf, 0, want, written))).bytesRead;
      } catch (err) {
        if (!isFsError(err)) throw err;
        note = `read error after ${bytesRead} bytes (${describeError(err)}); the rest is zero bytes`;
        eof = true;
      }
      if (n > 0) {
        bytesRead += n;
        await put(n === want ? buf : buf.subarray(0, n));
        continue;
      }
      if (!eof) {
        note = `file shrank while being read: ${bytesRead} of ${size} bytes read; the rest is zero bytes`;
        eof = true;
      }
    }
    await put(ZEROES.subarray(0, want));
  }

  if (!eof) {
    try {
      const probe = Buffer.alloc(1);
      const { bytesRead: more } = await race(fh.read(probe, 0, 1, size));
      if (more > 0) {
        const now = await fh.stat().catch(() => null);
        const grown = now && now.size > size ? `${now.size} bytes` : `more than ${size} bytes`;
        note = `file grew while being read (now ${grown}); the first ${size} bytes (its size when opened) are stored`;
      }
    } catch {
      /* the probe is only for the note */
    }
  }

  entry.end(null);
  await race(entryDone);
  const result: { sha256: string; bytesRead: number; note?: string } = { sha256: hash.digest('hex'), bytesRead };
  if (note !== undefined) result.note = note;
  return result;
}

function drained(w: EntrySink): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown): void => {
      w.off('drain', onDrain);
      w.off('error', onError);
      w.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    const onError = (err: Error): void => done(err);
    const onClose = (): void => done(new Error('tar entry closed before it was complete'));
    w.on('drain', onDrain);
    w.on('error', onError);
    w.on('close', onClose);
  });
}

function waitClosed(s: NodeJS.WritableStream & { closed?: boolean; destroyed?: boolean }): Promise<void> {
  if (s.closed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    s.once('close', () => resolve());
    setTimeout(resolve, 2000).unref();
  });
}

class HashCounter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers: files

/** Opens a planned file again (it may have changed since the plan), refusing anything outside the volume. */
async function openInside(
  root: string,
  rootReal: string,
  rel: string,
): Promise<{ fh: FileHandle; size: number; mtime: Date } | { reason: string }> {
  const parts = rel.split('/');
  if (parts.some((s) => s === '' || s === '.' || s === '..') || path.isAbsolute(rel)) {
    return { reason: 'not a path inside the volume' };
  }
  const abs = path.join(root, ...parts);
  let real: string;
  try {
    real = await realpath(abs);
  } catch (err) {
    try {
      if ((await lstat(abs)).isSymbolicLink()) return { reason: 'dangling symlink' };
    } catch {
      /* fall through */
    }
    return { reason: errCode(err) === 'ENOENT' ? 'no longer exists' : `cannot resolve: ${describeError(err)}` };
  }
  if (!isWithin(rootReal, real)) return { reason: `symlink leads outside the volume (${real})` };
  let fh: FileHandle;
  try {
    fh = await open(real, fsConstants.O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    return { reason: `unreadable: ${describeError(err)}` };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      return { reason: `not a regular file (${kindOf(st)})` };
    }
    return { fh, size: st.size, mtime: st.mtime };
  } catch (err) {
    await fh.close().catch(() => {});
    return { reason: `unreadable: ${describeError(err)}` };
  }
}

/** The entry of `dir` named `want` ignoring case; an exact match wins. Null when absent or unlistable. */
async function matchName(dir: string, want: string): Promise<string | null> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return null;
  }
  if (names.includes(want)) return want;
  const lower = want.toLowerCase();
  const hits = names.filter((n) => n.toLowerCase() === lower).sort(cmp);
  return hits[0] ?? null;
}

function isWithin(rootReal: string, real: string): boolean {
  const rel = path.relative(rootReal, real);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'device';
  return 'special file';
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}

function isFsError(err: unknown): boolean {
  const code = errCode(err);
  return code !== undefined && /^E[A-Z]+$/.test(code); // EIO, EACCES, ... (not Node's ERR_* codes)
}

function describeError(err: unknown): string {
  const code = errCode(err);
  const msg = err instanceof Error ? err.message : String(err);
  return code && !msg.startsWith(code) ? `${code}: ${msg}` : msg;
}

function baseName(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? rel : rel.slice(i + 1);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function fmtMiB(n: number): string {
  return `${Math.round((n / MIB) * 10) / 10} MiB`;
}
