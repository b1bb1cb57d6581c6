/**
 * Running the external WIM tools: never through a shell, always with a timeout, output bounded, and failures
 * described with the command line and the tail of stderr so the user sees the tool's own reason.
 */
import { execa } from 'execa';

export interface ToolCommand {
  /** Program name (looked up on PATH) or absolute path. */
  file: string;
  args: string[];
  /** Written to stdin, which is then closed. Default: stdin is ignored. */
  input?: string;
  timeoutMs: number;
  /** Largest stdout kept, in bytes (the process is stopped beyond it). Default 4 MiB. */
  maxStdout?: number;
  env?: Record<string, string>;
  /** Windows only: pass args as written (they carry their own quotes, e.g. DISM's `/ImageFile:"C:\a b\boot.wim"`). */
  verbatim?: boolean;
}

export interface ToolResult {
  /** Undefined when the program could not start, was killed or timed out. */
  exitCode: number | undefined;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
  /** stdout went over `maxStdout`. */
  tooMuchOutput: boolean;
  /** Set when the program could not be started at all (e.g. ENOENT). */
  startError?: string;
  durationMs: number;
}

function toBuffer(v: unknown): Buffer {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return Buffer.alloc(0);
}

/** Runs a tool and collects its result. Never rejects: look at `exitCode`, `timedOut`, `startError`. */
export async function runTool(cmd: ToolCommand): Promise<ToolResult> {
  const started = performance.now();
  const maxStdout = cmd.maxStdout ?? 4 * 2 ** 20;
  const result = await execa(cmd.file, cmd.args, {
    reject: false,
    timeout: cmd.timeoutMs,
    killSignal: 'SIGKILL',
    encoding: 'buffer',
    stripFinalNewline: false,
    maxBuffer: { stdout: maxStdout, stderr: 1 * 2 ** 20 },
    ...(cmd.input === undefined ? { stdin: 'ignore' as const } : { input: cmd.input }),
    env: { LC_ALL: 'C', ...cmd.env },
    windowsHide: true,
    windowsVerbatimArguments: cmd.verbatim ?? false,
  });
  const r = result as typeof result & { code?: string; originalMessage?: string };
  const notFound = r.code === 'ENOENT' || r.code === 'EACCES' || r.code === 'ENOTDIR';
  return {
    exitCode: result.timedOut || result.isMaxBuffer || result.isTerminated ? undefined : result.exitCode,
    stdout: toBuffer(result.stdout),
    stderr: toBuffer(result.stderr).toString('utf8'),
    timedOut: result.timedOut,
    tooMuchOutput: result.isMaxBuffer,
    ...(notFound ? { startError: `${r.code ?? 'error'}: ${r.originalMessage ?? 'cannot start'}` } : {}),
    durationMs: performance.now() - started,
  };
}

/** `wimlib-imagex update "/x/boot.wim" 1` (for messages; quotes args with spaces). */
export function commandLine(cmd: Pick<ToolCommand, 'file' | 'args'>): string {
  return [cmd.file, ...cmd.args].map((a) => (/\s/.test(a) && !a.includes('"') ? `"${a}"` : a)).join(' ');
}

/** The last `lines` non-empty lines of a tool's stderr (progress carriage returns removed). */
export function stderrTail(stderr: string, lines = 12): string {
  return stderr
    .split(/\r?\n|\r/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

/** One sentence saying how the tool failed, with its stderr tail. */
export function describeFailure(cmd: ToolCommand, r: ToolResult): string {
  const why = r.startError
    ? `could not be started (${r.startError})`
    : r.timedOut
      ? `timed out after ${cmd.timeoutMs < 10_000 ? `${cmd.timeoutMs} ms` : `${Math.round(cmd.timeoutMs / 1000)} s`}`
      : r.tooMuchOutput
        ? 'produced more output than allowed'
        : r.exitCode === undefined
          ? 'was killed'
          : `failed with exit code ${r.exitCode}`;
  const tail = stderrTail(r.stderr);
  return `${commandLine(cmd)} ${why}${tail ? `:\n${tail}` : ''}`;
}

/** Largest file `WimBackend.readFile` returns (winpeshl.ini is a few hundred bytes; anything near this is hostile). */
export const MAX_READ_BYTES = 1 * 2 ** 20;
