/** Option parsing shared by commands. */
import { InputError } from '../errors.js';

/** `--date`: ISO 8601 or seconds since 1970; SOURCE_DATE_EPOCH is honoured when no date is given. */
export function parseDate(text: string | undefined, option = '--date'): Date | undefined {
  const value = text ?? process.env.SOURCE_DATE_EPOCH;
  if (value === undefined || value === '') return undefined;
  const date = /^\d+$/.test(value) ? new Date(Number(value) * 1000) : new Date(value);
  if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1900 || date.getUTCFullYear() > 2155) {
    throw new InputError(`${option} "${value}" is not a date`, 'Give an ISO 8601 date such as 2026-01-31T12:00:00Z or seconds since 1970.');
  }
  return date;
}

/** `SRC=ISO_PATH` pairs of --add. */
export function parseAddition(spec: string): { source: string; isoPath: string } {
  const eq = spec.lastIndexOf('=');
  if (eq <= 0 || eq === spec.length - 1) {
    throw new InputError(`--add "${spec}" is not SRC=ISO_PATH`, 'Example: --add ./site.json=/lifeboat/site.json');
  }
  return { source: spec.slice(0, eq), isoPath: spec.slice(eq + 1) };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
