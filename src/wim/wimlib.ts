/**
 * The wimlib-imagex backend (Debian package `wimtools`; wimlib also ships Windows builds).
 *
 * - Boot index: `wimlib-imagex info WIM`, line `Boot Index: N`.
 * - Read: `wimlib-imagex extract WIM N /PATH --to-stdout --no-globs`: the bytes come through a pipe bounded by
 *   MAX_READ_BYTES (the process is killed beyond it), so a hostile image cannot fill a disk or the memory.
 *   Exit 49 (WIMLIB_ERR_PATH_DOES_NOT_EXIST) means "no such file".
 * - Add: `wimlib-imagex update WIM N --no-acls` with all `add SRC DST` commands on stdin, one call for all files
 *   (`--command=` takes only one command). Without `--rebuild` the update is append-only: the new file data,
 *   metadata resource, blob table and XML are written after the existing data and then the header is rewritten;
 *   the hundreds of MB already in boot.wim are neither read nor rewritten (25-260 ms for a 300 MB WIM here,
 *   against about 6 s with `--rebuild`). The cost is a hole the size of the old metadata resource (a few hundred
 *   KB at most for a PE image), which nobody sees: boot.wim is loaded into RAM by its resources, not by file size.
 *
 * Every call runs with WIMLIB_IMAGEX_IGNORE_CASE=1: on Linux wimlib matches image paths case-sensitively by
 * default, and `add ... /Windows/System32/winpeshl.ini` would then create a second `windows` directory (or a second
 * `WinPEshl.ini`) in an image whose names differ only in case; Windows treats those as the same file.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputError, JobError } from '../errors.js';
import type { WimBackend, WimFileToAdd } from './backend.js';
import { MAX_READ_BYTES, type ToolCommand, type ToolResult, describeFailure, runTool, stderrTail } from './exec.js';
import { checkImageIndex, effectiveBootIndex, readWimHeader } from './header.js';
import { toImagePath } from './image-path.js';

/** wimlib error codes seen from wimlib-imagex's exit status (enum wimlib_error_code in wimlib.h, 1.13). */
export const WIMLIB_EXIT = {
  DECOMPRESSION: 2,
  NOT_A_REGULAR_FILE: 42,
  NOT_A_WIM_FILE: 43,
  OPEN: 47,
  PATH_DOES_NOT_EXIST: 49,
  UNEXPECTED_END_OF_FILE: 65,
} as const;

/** Failures that mean the WIM itself is damaged or not a WIM (bad input, exit 2) rather than a tool/job failure. */
const DAMAGED = new Set<number>([
  WIMLIB_EXIT.DECOMPRESSION,
  WIMLIB_EXIT.NOT_A_WIM_FILE,
  WIMLIB_EXIT.OPEN,
  WIMLIB_EXIT.UNEXPECTED_END_OF_FILE,
]);
const DAMAGED_TEXT =
  /invalid|damaged|corrupt|not a WIM|magic characters|end of the file|decompress|integrity|unknown version|metadata resource|resource .*missing|does not exist in the WIM|not a valid image/i;

export interface WimlibOptions {
  /** Program to run. Default `wimlib-imagex` (found on PATH). */
  command?: string;
  /** Timeout for info/extract. Default 2 min. */
  timeoutMs?: number;
  /** Timeout for update. Default 15 min. */
  updateTimeoutMs?: number;
  /** Largest file readFile returns. Default MAX_READ_BYTES (1 MiB). */
  maxReadBytes?: number;
}

/** Quotes one argument of a wimupdate command file (its own parser: quotes, no escapes). */
export function quoteUpdateArg(arg: string): string {
  if (/[\r\n\0]/.test(arg)) throw new InputError(`path ${JSON.stringify(arg)}: contains a line break`);
  if (!arg.includes('"')) return `"${arg}"`;
  if (!arg.includes("'")) return `'${arg}'`;
  throw new InputError(`path ${JSON.stringify(arg)}: contains both kinds of quote; wimlib-imagex update cannot take it`);
}

/** The command file given to `wimlib-imagex update` on stdin: one `add "SRC" "DST"` line per file. */
export function wimlibUpdateScript(files: readonly WimFileToAdd[]): string {
  return files.map((f) => `add ${quoteUpdateArg(f.source)} ${quoteUpdateArg(toImagePath(f.target))}\n`).join('');
}

/** Fields of `wimlib-imagex info WIM` output we use. */
export function parseWimlibInfo(stdout: string): { bootIndex: number; imageCount: number } {
  const field = (name: string): number | undefined => {
    const m = new RegExp(`^${name}:\\s*(\\d+)\\s*$`, 'mi').exec(stdout);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  };
  const bootIndex = field('Boot Index');
  const imageCount = field('Image Count');
  if (bootIndex === undefined || imageCount === undefined) {
    throw new JobError(`wimlib-imagex info printed no "Boot Index"/"Image Count" line:\n${stdout.slice(0, 2000)}`);
  }
  return { bootIndex, imageCount };
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index) || index < 1) throw new InputError(`WIM image index ${index}: must be 1 or more`);
}

export class WimlibBackend implements WimBackend {
  readonly name = 'wimlib-imagex' as const;
  private readonly command: string;
  private readonly timeoutMs: number;
  private readonly updateTimeoutMs: number;
  private readonly maxReadBytes: number;
  private availability?: Promise<string | undefined>;

  constructor(opts: WimlibOptions = {}) {
    this.command = opts.command ?? 'wimlib-imagex';
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.updateTimeoutMs = opts.updateTimeoutMs ?? 15 * 60_000;
    this.maxReadBytes = opts.maxReadBytes ?? MAX_READ_BYTES;
  }

  private cmd(args: string[], extra: Partial<ToolCommand> = {}): ToolCommand {
    return { file: this.command, args, timeoutMs: this.timeoutMs, env: { WIMLIB_IMAGEX_IGNORE_CASE: '1' }, ...extra };
  }

  /** Turns a failed run into InputError (damaged WIM, bad argument) or JobError (the tool failed). */
  private fail(cmd: ToolCommand, r: ToolResult, wim: string): never {
    const msg = describeFailure(cmd, r);
    if (r.exitCode !== undefined && (DAMAGED.has(r.exitCode) || DAMAGED_TEXT.test(stderrTail(r.stderr, 4)))) {
      throw new InputError(`${wim}: the WIM cannot be read; it is damaged or not a WIM.\n${msg}`,
        'Use the sources\\boot.wim of an intact copy of the recovery media.');
    }
    throw new JobError(msg);
  }

  /** `wimlib-imagex 1.13.5 (using wimlib 1.13.5)`, or undefined when the tool cannot run. */
  version(): Promise<string | undefined> {
    this.availability ??= runTool(this.cmd(['--version'], { timeoutMs: 15_000 })).then((r) =>
      r.exitCode === 0 ? r.stdout.toString('utf8').split('\n')[0]?.trim() || 'wimlib-imagex' : undefined,
    );
    return this.availability;
  }

  async available(): Promise<boolean> {
    return (await this.version()) !== undefined;
  }

  async bootIndex(wim: string): Promise<number> {
    const abs = resolve(wim);
    await readWimHeader(abs); // a clear InputError for "not a WIM" before the tool runs
    const cmd = this.cmd(['info', abs]);
    const r = await runTool(cmd);
    if (r.exitCode !== 0) this.fail(cmd, r, abs);
    const info = parseWimlibInfo(r.stdout.toString('utf8'));
    return effectiveBootIndex(info, abs);
  }

  async readFile(wim: string, index: number, path: string, maxBytes = this.maxReadBytes): Promise<Buffer | undefined> {
    checkIndex(index);
    const abs = resolve(wim);
    const inner = toImagePath(path);
    checkImageIndex(await readWimHeader(abs), index, abs);
    const cmd = this.cmd(['extract', abs, String(index), inner, '--to-stdout', '--no-globs'], {
      maxStdout: maxBytes,
    });
    const r = await runTool(cmd);
    if (r.tooMuchOutput) {
      throw new InputError(`${abs}: ${inner} in image ${index} is larger than ${maxBytes} bytes; refusing to read it`);
    }
    if (r.exitCode === WIMLIB_EXIT.PATH_DOES_NOT_EXIST) return undefined;
    if (r.exitCode === WIMLIB_EXIT.NOT_A_REGULAR_FILE) {
      throw new InputError(`${abs}: ${inner} in image ${index} is not a regular file (a directory or a link)`);
    }
    if (r.exitCode !== 0) this.fail(cmd, r, abs);
    return r.stdout;
  }

  async addFiles(wim: string, index: number, files: WimFileToAdd[]): Promise<void> {
    checkIndex(index);
    if (files.length === 0) return;
    const abs = resolve(wim);
    const seen = new Set<string>();
    const resolved: WimFileToAdd[] = [];
    for (const f of files) {
      const target = toImagePath(f.target);
      const key = target.toLowerCase();
      if (seen.has(key)) throw new InputError(`${target}: given twice in one update`);
      seen.add(key);
      const source = resolve(f.source);
      const st = await stat(source).catch((err: unknown) => {
        throw new InputError(`${source}: cannot read the file to add to the WIM (${(err as NodeJS.ErrnoException).code ?? err})`);
      });
      if (!st.isFile()) throw new InputError(`${source}: not a regular file; only files are added to the WIM`);
      resolved.push({ source, target });
    }
    checkImageIndex(await readWimHeader(abs), index, abs);
    const cmd = this.cmd(['update', abs, String(index), '--no-acls'], {
      input: wimlibUpdateScript(resolved),
      timeoutMs: this.updateTimeoutMs,
    });
    const r = await runTool(cmd);
    if (r.exitCode !== 0) this.fail(cmd, r, abs);
  }
}
