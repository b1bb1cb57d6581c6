/**
 * What the technician sees and types. Prompts come from @inquirer/prompts (ASCII fallbacks on win32 suit PE's
 * console fonts); Esc on any prompt means "back", so every step can be left the way it was entered. Ctrl+C at a
 * prompt ends the session (inquirer's ExitPromptError; the runner turns it into one line and exit code 130).
 */
import { emitKeypressEvents } from 'node:readline';
import { confirm, input, password, select } from '@inquirer/prompts';
import { Secret } from '../secrets/secret.js';

export const BACK = Symbol('back');
export type Back = typeof BACK;

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
  disabled?: boolean | string;
}

export interface Ui {
  heading(title: string): void;
  say(text?: string): void;
  warn(text: string): void;
  ok(text: string): void;
  select<T>(message: string, choices: Choice<T>[], defaultValue?: T): Promise<T | Back>;
  input(message: string, opts?: { default?: string; validate?: (text: string) => true | string }): Promise<string | Back>;
  secret(message: string, opts?: { validate?: (text: string) => true | string }): Promise<Secret | Back>;
  confirm(message: string, defaultValue?: boolean): Promise<boolean | Back>;
  /** A visible countdown; resolves early when `until` says so. Returns whether `until` became true. */
  countdown(message: string, seconds: number, until: () => Promise<boolean>): Promise<boolean>;
  /** Clears the screen and its scrollback (after a password was shown). */
  clear(): void;
}

const isTty = () => process.stdout.isTTY === true;
const color = (code: number, text: string) => (isTty() && !process.env.NO_COLOR ? `\x1b[${code}m${text}\x1b[0m` : text);

/**
 * Breaks `text` into lines of at most `width` characters at spaces, so no word is cut at the console's edge (PE's
 * console is often 80 columns). Continuation lines keep the line's own indent plus `indent`; a word longer than a
 * line is left whole.
 */
export function wrap(text: string, width: number, indent = ''): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.length <= width) {
      out.push(line);
      continue;
    }
    const lead = /^\s*/.exec(line)![0];
    let current = lead;
    for (const word of line.slice(lead.length).split(/ +/)) {
      if (current.trim() === '') current += word;
      else if (current.length + 1 + word.length <= width) current += ` ${word}`;
      else {
        out.push(current);
        current = lead + indent + word;
      }
    }
    out.push(current);
  }
  return out.join('\n');
}

/** Runs an inquirer prompt so that Esc aborts it (-> BACK). */
async function escapable<T>(ask: (signal: AbortSignal) => Promise<T>): Promise<T | Back> {
  const controller = new AbortController();
  const onKey = (_: string, key: { name?: string } | undefined) => {
    if (key?.name === 'escape') controller.abort();
  };
  if (process.stdin.isTTY) emitKeypressEvents(process.stdin);
  process.stdin.on('keypress', onKey);
  try {
    return await ask(controller.signal);
  } catch (e) {
    if ((e as Error).name === 'AbortPromptError') return BACK;
    throw e;
  } finally {
    process.stdin.removeListener('keypress', onKey);
  }
}

export class ConsoleUi implements Ui {
  constructor(private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms))) {}

  private width(): number {
    return Math.max(40, (process.stdout.columns || 80) - 1);
  }

  /** Text after a marker ("! ", "OK "), its continuation lines under the text. */
  private marked(marker: string, colored: string, text: string): void {
    const pad = ' '.repeat(marker.length);
    process.stdout.write(`${colored}${wrap(pad + text, this.width()).slice(pad.length)}\n`);
  }

  heading(title: string): void {
    process.stdout.write(`\n${color(1, `== ${title} ==`)}\n`);
  }

  say(text = ''): void {
    process.stdout.write(`${wrap(text, this.width(), '  ')}\n`);
  }

  warn(text: string): void {
    this.marked('! ', color(33, '! '), text);
  }

  ok(text: string): void {
    this.marked('OK ', color(32, 'OK '), text);
  }

  select<T>(message: string, choices: Choice<T>[], defaultValue?: T): Promise<T | Back> {
    return escapable((signal) => select<T>({ message: `${message} (Esc: back)`, choices, default: defaultValue, pageSize: 12 }, { signal }));
  }

  input(message: string, opts: { default?: string; validate?: (text: string) => true | string } = {}): Promise<string | Back> {
    return escapable((signal) => input({ message: `${message} (Esc: back)`, default: opts.default, validate: opts.validate }, { signal }));
  }

  async secret(message: string, opts: { validate?: (text: string) => true | string } = {}): Promise<Secret | Back> {
    const typed = await escapable((signal) => password({ message: `${message} (Esc: back)`, mask: '*', validate: opts.validate }, { signal }));
    return typed === BACK ? BACK : new Secret(typed);
  }

  confirm(message: string, defaultValue = false): Promise<boolean | Back> {
    return escapable((signal) => confirm({ message: `${message} (Esc: back)`, default: defaultValue }, { signal }));
  }

  clear(): void {
    // Erase the screen (2J) and the scrollback (3J), cursor home; Windows 10+ consoles honour the same sequences.
    if (isTty()) process.stdout.write('\x1b[2J\x1b[3J\x1b[H');
  }

  async countdown(message: string, seconds: number, until: () => Promise<boolean>): Promise<boolean> {
    for (let left = seconds; left > 0; left--) {
      if (await until()) {
        if (isTty()) process.stdout.write('\n');
        return true;
      }
      const line = `${message} ${left} s `;
      process.stdout.write(isTty() ? `\r${line}` : `${line}\n`);
      await this.sleep(1000);
    }
    if (isTty()) process.stdout.write('\n');
    return until();
  }
}
