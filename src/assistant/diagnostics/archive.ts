/**
 * The diagnostics archive: streams the planned files of a Windows volume (`W:\` in PE, any folder in tests and
 * `--simulate`) into a gzipped tar, hashing them on the way.
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
import { createWriteStream } from 'node:fs';
import { mkdir, realpath, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { VERSION } from '../version.js';
import { CATEGORY, type DiagnosticsPlan } from './plan.js';
import { describeError, isFsError, openInside } from './volume-fs.js';

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
const CHUNK = 1024 * 1024;
const ZEROES = Buffer.alloc(CHUNK);

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
