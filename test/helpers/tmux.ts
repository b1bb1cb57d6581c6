/**
 * Drives a terminal program the way a person does: a detached tmux session of fixed size runs the command; the test
 * sends keys, types text, and waits for text on the screen (capture-pane, with the scrollback, wrapped lines joined).
 *
 * Every session lives on this process's own tmux server (-S socket in the temp folder), so parallel test files do
 * not meet, and `killAllTmux()` (for `after()`) ends every session and removes the socket: nothing is left behind.
 * The command runs under `timeout` and the pane shows an exit marker when it ends, so no wait is unbounded.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, hasCommand, run, runChecked } from './tools.js';

/** This process's own tmux server (a socket path we can remove afterwards: tmux leaves it behind). */
const SOCKET = join(tmpdir(), `lifeboat-tmux-${process.pid}.sock`);
const EXIT_MARK = '__LIFEBOAT_TMUX_EXIT_';

/** A reason to skip terminal tests, or false when tmux is there. */
export async function tmuxMissing(): Promise<string | false> {
  return (await hasCommand('tmux')) ? false : 'tmux is not installed (needed to drive the assistant as a technician would)';
}

/** Quotes one word for /bin/sh. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Text without ANSI escape sequences and carriage returns. */
export function plain(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Z0-9]|\x1b[=>]/g, '').replace(/\r/g, '');
}

export interface TmuxStartOptions {
  /** Working directory of the command (default: the repository). */
  cwd?: string;
  /** Extra environment for the command (NO_COLOR=1 is always set). */
  env?: Record<string, string>;
  /** Environment variables the command must not see (e.g. DISPLAY for Wine). */
  unset?: string[];
  /** Terminal size; default 200x50. */
  width?: number;
  height?: number;
  /** The command is killed (SIGKILL, `timeout --foreground`) after this many seconds; default 120. */
  killAfterSeconds?: number;
  /** A readable part of the session name (a unique suffix is added). */
  name?: string;
}

export type Pattern = string | RegExp;

export interface WaitOptions {
  /** Default 20 000 ms. */
  timeoutMs?: number;
  /** Only look at the screen from this line on (a value from `mark()`): text drawn before it does not count. */
  after?: number;
  /** Match with the line breaks taken out (for consoles that break lines where they like, e.g. Wine's). */
  flat?: boolean;
}

/** The text with its line breaks taken out. */
export function flat(text: string): string {
  return text.replace(/\n/g, '');
}

function matches(text: string, pattern: Pattern): boolean {
  return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
}

export class TmuxSession {
  private dead = false;

  private constructor(readonly name: string) {}

  /**
   * Starts `command` (program and arguments, run without a shell's word splitting) in a new session. When it ends,
   * the pane stays open and shows an exit marker (see `waitForExit`).
   */
  static async start(command: readonly string[], opts: TmuxStartOptions = {}): Promise<TmuxSession> {
    const name = `${(opts.name ?? 'session').replace(/[^\w-]/g, '_')}-${randomBytes(4).toString('hex')}`;
    const env = { NO_COLOR: '1', ...opts.env };
    const envWords = [...(opts.unset ?? []).map((k) => `-u ${shq(k)}`), ...Object.entries(env).map(([k, v]) => shq(`${k}=${v}`))].join(' ');
    // `timeout --foreground`: the program stays in the terminal's foreground process group, so it can read keys.
    // `trap true INT`: the pane's shell shares the program's process group, and a Ctrl-C (SIGINT) that reached it too
    // sometimes ended the shell and the pane before the exit code was printed. A trap that runs a command (unlike an
    // ignored signal) is not inherited by the program, which still gets SIGINT as from a terminal.
    const line = [
      'trap true INT',
      `cd ${shq(opts.cwd ?? REPO_ROOT)} || exit 1`,
      `env ${envWords} timeout --foreground -s KILL ${opts.killAfterSeconds ?? 120} ${command.map(shq).join(' ')}`,
      `echo "${EXIT_MARK}$?__"`,
      'exec sleep 3600',
    ].join('; ');
    await runChecked('tmux', ['-S', SOCKET, '-f', '/dev/null', 'new-session', '-d', '-s', name, '-x', String(opts.width ?? 200), '-y', String(opts.height ?? 50), '-e', 'NO_COLOR=1', line], { timeoutMs: 10_000 });
    return new TmuxSession(name);
  }

  private tmux(...args: string[]) {
    return runChecked('tmux', ['-S', SOCKET, ...args], { timeoutMs: 10_000 });
  }

  /** Sends tmux key names (Enter, Escape, Up, Down, C-c) or plain characters, one after the other. */
  async send(...keys: string[]): Promise<void> {
    for (const key of keys) await this.tmux('send-keys', '-t', this.name, key);
  }

  /** Types text literally (no key-name lookup). */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', this.name, '-l', text);
  }

  /** Types text, then Enter. */
  async answer(text: string): Promise<void> {
    await this.type(text);
    await this.send('Enter');
  }

  /** The whole screen with up to 2,000 lines of scrollback, wrapped lines joined, trailing blank lines dropped. */
  async screen(): Promise<string> {
    const r = await this.tmux('capture-pane', '-p', '-J', '-S', '-2000', '-t', this.name);
    return plain(r.stdout).replace(/\s+$/, '');
  }

  /** The screen from line `from` (a `mark()`) on. */
  async screenAfter(from = 0): Promise<string> {
    return (await this.screen()).split('\n').slice(from).join('\n');
  }

  /**
   * Where the next screen part begins: the line of the prompt being asked (the last line starting with "? ", which
   * an answer redraws in place, taking its choices away), else the end of the screen. Text drawn from now on is at
   * or after this line.
   */
  async mark(): Promise<number> {
    const lines = (await this.screen()).split('\n');
    for (let i = lines.length - 1; i >= 0; i--) if (lines[i]!.startsWith('? ')) return i;
    return lines.length;
  }

  /** Waits until `pattern` is on the screen (after `opts.after`); returns that screen part; fails with the screen. */
  async waitFor(pattern: Pattern, opts: WaitOptions | number = {}): Promise<string> {
    const { timeoutMs = 20_000, after = 0, flat: flatten = false } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
    const deadline = performance.now() + timeoutMs;
    let last = '';
    for (;;) {
      last = await this.screenAfter(after);
      if (matches(flatten ? flat(last) : last, pattern)) return last;
      if (performance.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)} on the screen of ${this.name}; it shows:\n${last}`);
      }
      if (last.includes(EXIT_MARK)) throw new Error(`the program ended before ${String(pattern)} appeared; the screen shows:\n${last}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits for the program to end; returns its exit status (137: killed by the time limit). */
  async waitForExit(timeoutMs = 15_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    const re = new RegExp(`${EXIT_MARK}(\\d+)__`);
    for (;;) {
      const m = re.exec(await this.screen());
      if (m) return Number(m[1]);
      if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for the program to end; the screen shows:\n${await this.screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Ends the session (and the program in it). Safe to call twice. */
  async kill(): Promise<void> {
    if (this.dead) return;
    this.dead = true;
    await run('tmux', ['-S', SOCKET, 'kill-session', '-t', this.name], { timeoutMs: 10_000 }).catch(() => undefined);
  }
}

/** Ends this process's tmux server and every session on it (for `after()` hooks). */
export async function killAllTmux(): Promise<void> {
  await run('tmux', ['-S', SOCKET, 'kill-server'], { timeoutMs: 10_000 }).catch(() => undefined);
  await rm(SOCKET, { force: true });
}
