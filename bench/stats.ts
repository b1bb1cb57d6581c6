/** Small helpers every benchmark script uses: arguments, medians and ratios. */

export function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const round1 = (x: number): number => Math.round(x * 10) / 10;
export const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
export const log = (msg: string): void => {
  process.stderr.write(`${msg}\n`);
};
