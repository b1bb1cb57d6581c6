/**
 * Small process and file-system helpers shared by the test suites.
 *
 * Everything here is deliberately dependency-free (node: built-ins only) so
 * the helpers work before the project itself compiles.
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (test/helpers/../..). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Directory where generated fixtures are cached between runs (ignored by git). */
export function fixtureCacheDir(...parts: string[]): string {
  const base = process.env['LIFEBOAT_FIXTURE_CACHE'] ?? join(REPO_ROOT, '.cache', 'test-fixtures');
  return join(base, ...parts);
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the process (SIGKILL) after this many milliseconds. Default 120 000. */
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. Default: stdin is /dev/null. */
  input?: string | Uint8Array;
  /** Stop collecting output beyond this many bytes per stream (the process keeps running). Default 64 MiB. */
  maxBuffer?: number;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null when the process was ended by a signal (including our own timeout kill). */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
}

/**
 * Runs a program without a shell and collects its output. Never rejects because of a non-zero exit
 * code (look at `code`); rejects only when the program cannot be started (e.g. ENOENT).
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const maxBuffer = opts.maxBuffer ?? 64 * 2 ** 20;
  const started = performance.now();
  return new Promise<RunResult>((resolvePromise, reject) => {
    const child = spawn(cmd, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    let timedOut = false;
    child.stdout?.on('data', (b: Buffer) => {
      if (outLen < maxBuffer) out.push(b);
      outLen += b.length;
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (errLen < maxBuffer) err.push(b);
      errLen += b.length;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
        signal,
        timedOut,
        durationMs: performance.now() - started,
      });
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // EPIPE when the child does not read its input
      child.stdin.end(opts.input);
    }
  });
}

/** Error thrown by {@link runChecked}; carries the whole result for assertions and diagnostics. */
export class CommandFailedError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly result: RunResult,
  ) {
    const why = result.timedOut ? 'timed out' : result.code === null ? `killed by ${result.signal}` : `exit ${result.code}`;
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
    super(`${cmd} ${args.join(' ')} failed (${why})${tail ? `:\n${tail}` : ''}`);
    this.name = 'CommandFailedError';
  }
}

/** Like {@link run} but rejects with {@link CommandFailedError} unless the exit code is 0 (or in `okCodes`). */
export async function runChecked(
  cmd: string,
  args: readonly string[],
  opts: RunOptions & { okCodes?: readonly number[] } = {},
): Promise<RunResult> {
  const result = await run(cmd, args, opts);
  const ok = opts.okCodes ?? [0];
  if (result.timedOut || result.code === null || !ok.includes(result.code)) {
    throw new CommandFailedError(cmd, args, result);
  }
  return result;
}

const commandCache = new Map<string, Promise<boolean>>();

/** True when `cmd` is found on PATH (memoised; uses `command -v` through /bin/sh). */
export function hasCommand(cmd: string): Promise<boolean> {
  let p = commandCache.get(cmd);
  if (!p) {
    p = run('/bin/sh', ['-c', 'command -v "$1" >/dev/null 2>&1', 'sh', cmd], { timeoutMs: 10_000 })
      .then((r) => r.code === 0)
      .catch(() => false);
    commandCache.set(cmd, p);
  }
  return p;
}

const TEMP_PREFIX = 'lifeboat-';

/** Creates a fresh directory `$TMPDIR/lifeboat-<prefix>-XXXXXX` and returns its absolute path. */
export async function mkTempDir(prefix: string): Promise<string> {
  const safe = prefix.replace(/[^A-Za-z0-9._-]/g, '_');
  return mkdtemp(join(tmpdir(), `${TEMP_PREFIX}${safe}-`));
}

/**
 * Removes a directory made by {@link mkTempDir}. Refuses anything else (a guard against deleting
 * the wrong tree). Set LIFEBOAT_KEEP_TMP=1 to keep temp dirs for post-mortem inspection.
 */
export async function removeTempDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  const base = resolve(tmpdir()) + sep;
  const name = abs.slice(base.length);
  if (!abs.startsWith(base) || !name.startsWith(TEMP_PREFIX) || name.includes(sep)) {
    throw new Error(`removeTempDir: refusing to remove ${abs} (not made by mkTempDir)`);
  }
  if (process.env['LIFEBOAT_KEEP_TMP'] === '1') return;
  await rm(abs, { recursive: true, force: true });
}

/** Runs `fn` with a fresh temp dir and removes it afterwards, whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await removeTempDir(dir);
  }
}

/** Minimal shape of node:test's TestContext that we need (keeps this file free of node:test types). */
interface HasAfter {
  after(fn: () => unknown): void;
}

/** Creates a temp dir that is removed when test/suite `t` finishes. */
export async function tempDirFor(t: HasAfter, prefix: string): Promise<string> {
  const dir = await mkTempDir(prefix);
  t.after(() => removeTempDir(dir));
  return dir;
}

/** SHA-256 of a file as lowercase hex, streamed (works for multi-GiB files). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

/** SHA-256 of bytes as lowercase hex. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** mkdir -p for the parent directory of `file`. */
export async function ensureParent(file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
}

/**
 * Deterministic pseudo-random byte generator: AES-256-CTR keystream keyed by SHA-256(seed).
 * Same seed, same bytes, on every machine; about 1 GB/s, so it can fill benchmark-sized files.
 */
function keystream(seed: string) {
  const key = createHash('sha256').update(`lifeboat-fixture:${seed}`).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
}

/** `length` deterministic pseudo-random bytes derived from `seed`. */
export function pseudoRandomBytes(seed: string, length: number): Buffer {
  const c = keystream(seed);
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}

/** Writes `size` deterministic pseudo-random bytes (derived from `seed`) to `path`, streamed in 1 MiB chunks. */
export async function writePseudoRandomFile(path: string, size: number, seed: string): Promise<void> {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad size ${size}`);
  await ensureParent(path);
  const c = keystream(seed);
  const zero = Buffer.alloc(1 << 20);
  async function* chunks(): AsyncGenerator<Buffer> {
    let left = size;
    while (left > 0) {
      const n = Math.min(left, zero.length);
      yield c.update(n === zero.length ? zero : zero.subarray(0, n));
      left -= n;
    }
  }
  await pipeline(chunks(), createWriteStream(path));
}
