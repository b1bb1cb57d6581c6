/**
 * How commands talk: one JSON document on stdout with --json, human text and progress on stderr. Colour only on a
 * TTY and never with NO_COLOR.
 */
const useColor = process.stderr.isTTY && !process.env.NO_COLOR;

const paint = (code: number) => (text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
export const bold = paint(1);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const dim = paint(2);

export function say(text = ''): void {
  process.stderr.write(`${text}\n`);
}

export function warn(text: string): void {
  say(`${yellow('warning:')} ${text}`);
}

let jsonPrinted = false;

export function printJson(value: unknown): void {
  jsonPrinted = true;
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** True once a command has printed its JSON document (a failure after that must not print a second one). */
export function printedJson(): boolean {
  return jsonPrinted;
}

/** Machine-readable kinds of failure in `--json` error documents. */
export type ErrorCode = 'usage' | 'bad-input' | 'failed' | 'audit-problem' | 'interrupted' | 'internal';

/**
 * With --json, a failure is one JSON document on stdout too (the human message still goes to stderr):
 * `{ "ok": false, "error": { "code", "exitCode", "message", "hint" } }`.
 */
export function printJsonError(code: ErrorCode, exitCode: number, message: string, hint?: string): void {
  printJson({ ok: false, error: { code, exitCode, message, ...(hint ? { hint } : {}) } });
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
