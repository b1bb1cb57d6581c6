/**
 * Recovery codes: the generated unlock secret printed on the manual's sealed page.
 *
 * Format: 8 groups of 5 digits, `12345-67890-...`. In each group the first 4 digits are random and the 5th is a
 * check digit: the Damm check digit over the sequence (group number 1..8, d1, d2, d3, d4). Damm's quasigroup
 * catches every single-digit substitution and every transposition of adjacent digits, so the restore assistant can
 * say which group has a typo. Putting the group number into the check also catches groups typed in the wrong order
 * (a group's check digit differs for every position). Entropy: 32 random digits = 32 * log2(10), about 106 bits.
 *
 * The canonical form (the text fed to the vault's KDF) is the formatted code with dashes.
 */
import { randomInt } from 'node:crypto';
import { InputError } from '../errors.js';
import { Secret } from './secret.js';

export const RECOVERY_CODE_GROUPS = 8;
export const GROUP_DATA_DIGITS = 4;
export const GROUP_LENGTH = GROUP_DATA_DIGITS + 1;
export const RECOVERY_CODE_DIGITS = RECOVERY_CODE_GROUPS * GROUP_LENGTH;
/** Bits of entropy in a generated code. */
export const RECOVERY_CODE_BITS = RECOVERY_CODE_GROUPS * GROUP_DATA_DIGITS * Math.log2(10);

/** Damm's totally anti-symmetric quasigroup of order 10 (H. M. Damm, 2004). */
const DAMM: readonly (readonly number[])[] = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/** The Damm interim digit after processing `digits`; appending it makes the whole sequence check to 0. */
export function dammCheckDigit(digits: readonly number[]): number {
  let interim = 0;
  for (const digit of digits) {
    const row = DAMM[interim];
    const next = row?.[digit];
    if (next === undefined) throw new RangeError(`not a decimal digit: ${digit}`);
    interim = next;
  }
  return interim;
}

/** The check digit of a group: Damm over (group number 1..8, the 4 data digits). */
export function groupCheckDigit(groupNumber: number, data: string): string {
  if (!Number.isInteger(groupNumber) || groupNumber < 1 || groupNumber > 9) throw new RangeError('group number 1..9');
  if (!/^\d{4}$/.test(data)) throw new RangeError('a group has 4 data digits');
  return String(dammCheckDigit([groupNumber, ...[...data].map(Number)]));
}

/** Whether a 5-digit group is valid at position `groupNumber` (1-based). */
export function isValidGroup(groupNumber: number, group: string): boolean {
  if (!/^\d{5}$/.test(group)) return false;
  return groupCheckDigit(groupNumber, group.slice(0, GROUP_DATA_DIGITS)) === group[GROUP_DATA_DIGITS];
}

/** A new random recovery code, formatted `12345-67890-...`. */
export function generateRecoveryCode(): Secret {
  const groups: string[] = [];
  for (let g = 1; g <= RECOVERY_CODE_GROUPS; g++) {
    let data = '';
    for (let i = 0; i < GROUP_DATA_DIGITS; i++) data += String(randomInt(10));
    groups.push(data + groupCheckDigit(g, data));
  }
  return new Secret(groups.join('-'));
}

/** Groups 40 digits as `12345-67890-...`. */
export function formatRecoveryCode(digits: string): string {
  if (!new RegExp(`^\\d{${RECOVERY_CODE_DIGITS}}$`).test(digits)) {
    throw new RangeError(`a recovery code has ${RECOVERY_CODE_DIGITS} digits`);
  }
  return (digits.match(/\d{5}/g) ?? []).join('-');
}

export interface RecoveryCodeProblem {
  /** 1-based group number, when the problem is in one group. */
  group?: number;
  message: string;
}

export type RecoveryCodeParse =
  | { ok: true; code: Secret }
  | { ok: false; problems: RecoveryCodeProblem[]; message: string };

/** Separators people type between groups: spaces, dashes (incl. typographic ones), underscores, dots, slashes. */
const SEPARATORS = /[\s\-\u2010-\u2015\u2212_./]+/;
const ALLOWED = /^[\d\s\-\u2010-\u2015\u2212_./]*$/;

/**
 * Reads a typed recovery code: tolerant of spaces, dashes and missing separators; reports per group which one has
 * a typo. The problems never quote the typed characters (they may be most of the secret).
 */
export function parseRecoveryCode(text: string): RecoveryCodeParse {
  const trimmed = text.normalize('NFKC').trim();
  const fail = (problems: RecoveryCodeProblem[]): RecoveryCodeParse => ({
    ok: false,
    problems,
    message: problems.map((p) => p.message).join('; '),
  });
  if (trimmed === '') return fail([{ message: 'no recovery code was entered' }]);
  if (!ALLOWED.test(trimmed)) {
    const index = [...trimmed].findIndex((ch) => !/[\d\s\-\u2010-\u2015\u2212_./]/.test(ch));
    return fail([{ message: `character ${index + 1} is not a digit: a recovery code has only digits (and dashes)` }]);
  }
  const tokens = trimmed.split(SEPARATORS).filter(Boolean);
  const digits = tokens.join('');
  let groups: string[];
  if (digits.length === RECOVERY_CODE_DIGITS) {
    groups = digits.match(/\d{5}/g) ?? [];
  } else if (tokens.length === RECOVERY_CODE_GROUPS) {
    groups = tokens;
  } else {
    return fail([
      {
        message: `a recovery code has ${RECOVERY_CODE_DIGITS} digits in ${RECOVERY_CODE_GROUPS} groups of ${GROUP_LENGTH}; ${digits.length} digits were entered`,
      },
    ]);
  }
  const problems: RecoveryCodeProblem[] = [];
  groups.forEach((group, index) => {
    const number = index + 1;
    if (group.length !== GROUP_LENGTH) {
      problems.push({
        group: number,
        message: `group ${number} has ${group.length} digit${group.length === 1 ? '' : 's'}, not ${GROUP_LENGTH}`,
      });
    } else if (!isValidGroup(number, group)) {
      problems.push({ group: number, message: `group ${number} has a typo` });
    }
  });
  if (problems.length > 0) return fail(problems);
  return { ok: true, code: new Secret(groups.join('-')) };
}

/** Whether typed text is meant as a recovery code (only digits and separators, mostly digits) and not a passphrase. */
export function looksLikeRecoveryCode(text: string): boolean {
  const trimmed = text.normalize('NFKC').trim();
  return ALLOWED.test(trimmed) && trimmed.replace(/\D/g, '').length >= 20;
}

/**
 * Turns what the technician typed into the vault's unlock secret: a recovery code is checked group by group and
 * brought to its canonical form; anything else is taken as a passphrase, unchanged.
 */
export function unlockSecretFromInput(input: Secret): Secret {
  const text = input.reveal();
  if (!looksLikeRecoveryCode(text)) return input;
  const parsed = parseRecoveryCode(text);
  if (!parsed.ok) {
    throw new RecoveryCodeError(parsed.problems);
  }
  return parsed.code;
}

export class RecoveryCodeError extends InputError {
  constructor(readonly problems: readonly RecoveryCodeProblem[]) {
    super(
      `the recovery code is not right: ${problems.map((p) => p.message).join('; ')}`,
      'Compare each group with the sealed page of the manual and type it again.',
    );
  }
}
