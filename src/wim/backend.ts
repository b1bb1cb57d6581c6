/**
 * One small interface per WIM engine (restic-style): our own (`lifeboat`, pure TypeScript, the default on every OS),
 * and the external tools as alternatives: wimlib-imagex on any OS, DISM on Windows. Behaviour
 * such as logging is added by decorators ({@link withLogging}), not by flags on the backends.
 */
import { InputError } from '../errors.js';
import { DismBackend } from './dism.js';
import { MAX_READ_BYTES } from './exec.js';
import { NativeWimBackend } from './native.js';
import { WimlibBackend } from './wimlib.js';

export { MAX_READ_BYTES };

export type WimBackendName = 'lifeboat' | 'wimlib-imagex' | 'dism';
export const WIM_BACKEND_NAMES: readonly WimBackendName[] = ['lifeboat', 'wimlib-imagex', 'dism'];

/** A file to put into an image: `source` on the host, `target` inside the image (`/lifeboat/launch.cmd`). */
export interface WimFileToAdd {
  source: string;
  target: string;
}

export interface WimBackend {
  readonly name: WimBackendName;
  /** True when the engine can run here (ours: always; tools: installed; DISM: Windows and an elevated prompt). */
  available(): Promise<boolean>;
  /** Boot index from the WIM header (wimlib-imagex info); a single image without a boot index counts as 1. */
  bootIndex(wim: string): Promise<number>;
  /**
   * A file's bytes from an image, or undefined when it does not exist. Bounded: larger than `maxBytes` (default
   * {@link MAX_READ_BYTES}) is an InputError. Paths are matched case-insensitively, as Windows does.
   */
  readFile(wim: string, index: number, path: string, maxBytes?: number): Promise<Buffer | undefined>;
  /** Adds or replaces files in the image in place, in one operation (`wim` is a copy the caller owns). */
  addFiles(wim: string, index: number, files: WimFileToAdd[]): Promise<void>;
}

/** A decorator that reports every call, its duration and its failure through `log` (one line each). */
export function withLogging(inner: WimBackend, log: (line: string) => void): WimBackend {
  async function timed<T>(what: string, fn: () => Promise<T>, done: (v: T) => string): Promise<T> {
    const t0 = performance.now();
    try {
      const v = await fn();
      log(`wim(${inner.name}): ${what}: ${done(v)} (${Math.round(performance.now() - t0)} ms)`);
      return v;
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      log(`wim(${inner.name}): ${what}: failed after ${Math.round(performance.now() - t0)} ms: ${msg}`);
      throw err;
    }
  }
  return {
    name: inner.name,
    available: () => timed('available', () => inner.available(), (v) => (v ? 'yes' : 'no')),
    bootIndex: (wim) => timed(`boot index of ${wim}`, () => inner.bootIndex(wim), (v) => String(v)),
    readFile: (wim, index, path, maxBytes) =>
      timed(`read ${path} from ${wim} #${index}`, () => inner.readFile(wim, index, path, maxBytes), (v) =>
        v === undefined ? 'not present' : `${v.length} bytes`),
    addFiles: (wim, index, files) =>
      timed(
        `add ${files.map((f) => f.target).join(', ')} to ${wim} #${index}`,
        () => inner.addFiles(wim, index, files),
        () => 'done',
      ),
  };
}

export interface FindWimBackendOptions {
  /** Platform to choose for (tests). Default `process.platform`. */
  platform?: NodeJS.Platform;
  /** Backends to consider, in order of preference (tests). Default: our own engine, wimlib-imagex, then DISM. */
  candidates?: WimBackend[];
}

/**
 * The WIM engine to use: `preferred` when given (undefined when it is not available here), otherwise our own
 * engine (always there), else wimlib-imagex, else DISM on Windows.
 */
export async function findWimBackend(preferred?: string, opts: FindWimBackendOptions = {}): Promise<WimBackend | undefined> {
  if (preferred !== undefined && !(WIM_BACKEND_NAMES as readonly string[]).includes(preferred)) {
    throw new InputError(`WIM tool "${preferred}": unknown; expected one of ${WIM_BACKEND_NAMES.join(', ')}`);
  }
  const platform = opts.platform ?? process.platform;
  const candidates = opts.candidates ?? [
    new NativeWimBackend(),
    new WimlibBackend(),
    ...(platform === 'win32' ? [new DismBackend()] : []),
  ];
  for (const b of candidates) {
    if (preferred !== undefined && b.name !== preferred) continue;
    if (b.name === 'dism' && platform !== 'win32') continue;
    if (await b.available()) return b;
  }
  return undefined;
}
