/**
 * Minimum strength for an admin-chosen unlock passphrase. The passphrase protects the share password on media that
 * may get lost, against offline guessing (slowed only by scrypt), so it must not be guessable.
 *
 * Rules, each with a reason the admin can act on: at least 14 characters; not just digits (that is what recovery
 * codes are for); enough different characters; not a repetition; not the site's own name, id, share user or domain;
 * and after taking away common words, the site's own words, years, and sequences or keyboard runs, at least 10
 * characters must remain.
 */
import { Secret } from './secret.js';

export const MIN_PASSPHRASE_LENGTH = 14;
export const MAX_PASSPHRASE_LENGTH = 256;
const MIN_DISTINCT = 6;
const MIN_REMAINING = 10;

export interface PassphraseContext {
  siteName?: string;
  siteId?: string;
  user?: string;
  domain?: string;
  /** Other words that belong to the site (server names, NAS host...). */
  words?: readonly string[];
}

export type PassphraseCheck = { ok: true } | { ok: false; reason: string };

/** Small built-in list of words that make passphrases guessable (English, German, and this domain's own words). */
export const COMMON_WORDS: readonly string[] = [
  'password', 'passwort', 'kennwort', 'passphrase', 'qwerty', 'qwertz', 'azerty', 'letmein', 'welcome',
  'willkommen', 'admin', 'administrator', 'root', 'login', 'master', 'secret', 'geheim', 'changeme', 'default',
  'iloveyou', 'ichliebedich', 'monkey', 'dragon', 'football', 'fussball', 'baseball', 'sunshine', 'princess',
  'shadow', 'superman', 'batman', 'trustno', 'hello', 'hallo', 'test', 'summer', 'winter', 'spring', 'autumn',
  'sommer', 'herbst', 'fruehling', 'january', 'december', 'januar', 'dezember', 'monday', 'montag',
  'veeam', 'backup', 'restore', 'recovery', 'lifeboat', 'server', 'windows', 'microsoft', 'company', 'firma',
  'office', 'access', 'starwars', 'pokemon', 'computer', 'internet',
];

const KEYBOARD_ROWS = ['1234567890', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'qwertzuiop', 'yxcvbnm', 'azertyuiop', 'wxcvbn'];
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };

/** Checks a proposed passphrase; the reason never quotes the passphrase itself. */
export function checkPassphrase(passphrase: string | Secret, context: PassphraseContext = {}): PassphraseCheck {
  const text = (typeof passphrase === 'string' ? passphrase : passphrase.reveal()).normalize('NFC');
  const chars = [...text];
  const fail = (reason: string): PassphraseCheck => ({ ok: false, reason });

  if (chars.length === 0) return fail('the passphrase is empty');
  if (chars.length < MIN_PASSPHRASE_LENGTH) {
    return fail(
      `the passphrase has ${chars.length} characters; use at least ${MIN_PASSPHRASE_LENGTH} (four or five unrelated words work well)`,
    );
  }
  if (chars.length > MAX_PASSPHRASE_LENGTH) return fail(`the passphrase is longer than ${MAX_PASSPHRASE_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(text)) return fail('the passphrase contains a line break or another control character');
  if (text.trim() !== text) return fail('the passphrase starts or ends with a space, which is easy to get wrong when typing it');
  if (/^[\d\s-]+$/.test(text)) {
    return fail('the passphrase has only digits; use words, or let Lifeboat generate a recovery code (--generate-code)');
  }
  const lower = text.toLowerCase();
  const distinct = new Set([...lower]).size;
  if (distinct < MIN_DISTINCT) return fail(`the passphrase uses only ${distinct} different characters`);
  if (/^(.+?)\1+$/su.test(lower.replace(/[\s\-_.,;:!?]+/g, ''))) return fail('the passphrase repeats the same part over and over');

  const contextChecks: [string | undefined, string][] = [
    [context.siteName, 'the site name'],
    [context.siteId, 'the site id'],
    [context.user, 'the share user name'],
    [context.domain, 'the domain name'],
  ];
  const compact = (s: string) => s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
  for (const [value, what] of contextChecks) {
    if (value && compact(value).length > 0 && compact(text).includes(compact(value)) && compact(text).length - compact(value).length < MIN_REMAINING) {
      return fail(`the passphrase is ${what}${compact(text) === compact(value) ? '' : ' with a few characters added'}`);
    }
  }

  // What is left after taking away what a guesser tries first.
  const lowerChars = [...lower];
  const leet = lowerChars.map((c) => LEET[c] ?? c).join('');
  const words = new Array<boolean>(chars.length).fill(false);
  const own = new Array<boolean>(chars.length).fill(false);
  const years = new Array<boolean>(chars.length).fill(false);
  const sequences = new Array<boolean>(chars.length).fill(false);
  const markWord = (haystack: string, word: string, marks: boolean[]): boolean => {
    let found = false;
    for (let at = haystack.indexOf(word); at !== -1; at = haystack.indexOf(word, at + 1)) {
      const start = [...haystack.slice(0, at)].length; // code units -> characters
      for (let i = start; i < start + [...word].length; i++) marks[i] = true;
      found = true;
    }
    return found;
  };
  const ownWords = [context.siteName, context.siteId, context.user, context.domain, ...(context.words ?? [])]
    .filter((w): w is string => typeof w === 'string')
    .flatMap((w) => w.toLowerCase().split(/[^\p{L}\p{N}]+/u))
    .filter((w) => w.length >= 3);
  for (const word of ownWords) {
    markWord(lower, word, own);
    markWord(leet, word, own);
  }
  const foundWords = COMMON_WORDS.filter((word) => markWord(leet, word, words) || markWord(lower, word, words));
  for (const match of lower.matchAll(/(?:19|20)\d\d/g)) {
    const start = [...lower.slice(0, match.index)].length;
    for (let i = start; i < start + 4; i++) years[i] = true;
  }
  markSequences(lowerChars, sequences);

  const remaining = chars.filter((c, i) => !(words[i] || own[i] || years[i] || sequences[i]) && !/\s/.test(c)).length;
  if (remaining < MIN_REMAINING) {
    const count = (marks: boolean[]) => marks.filter(Boolean).length;
    const reasons: [number, string][] = [
      [
        count(words),
        `the passphrase is built on the common word "${[...foundWords].sort((a, b) => b.length - a.length)[0] ?? ''}"; choose unrelated, uncommon words`,
      ],
      [count(own), "the passphrase is built on the site's own names (site, user or domain)"],
      [count(sequences), 'the passphrase is mostly a sequence, repetition or keyboard pattern'],
      [count(years), 'the passphrase is mostly years or dates'],
    ];
    reasons.sort((a, b) => b[0] - a[0]);
    return fail(reasons[0]?.[1] ?? 'the passphrase is too predictable');
  }
  return { ok: true };
}

/** Marks runs of 3+ consecutive or repeated characters and of 4+ keyboard neighbours; true when any was found. */
function markSequences(chars: readonly string[], removed: boolean[]): void {
  const mark = (start: number, end: number) => {
    for (let i = start; i < end; i++) removed[i] = true;
  };
  // Alphabet/digit sequences (abc, 321) and repeats (aaa): constant step -1, 0 or +1 in code points.
  const code = (k: number) => chars[k]?.codePointAt(0) ?? 0;
  for (let i = 0; i < chars.length - 1; ) {
    const step = code(i + 1) - code(i);
    if (Math.abs(step) > 1) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j + 1 < chars.length && code(j + 1) - code(j) === step) j++;
    if (j - i + 1 >= 3) mark(i, j + 1);
    i = j;
  }
  // Keyboard runs in one row and one direction (qwer, asdf, 7890).
  for (const row of KEYBOARD_ROWS) {
    let runStart = 0;
    let direction = 0;
    for (let i = 1; i <= chars.length; i++) {
      const a = row.indexOf(chars[i - 1] ?? '');
      const b = i < chars.length ? row.indexOf(chars[i] ?? '') : -1;
      const d = a !== -1 && b !== -1 ? b - a : 0;
      const continues = (d === 1 || d === -1) && (direction === 0 || d === direction);
      if (continues) {
        direction = d;
      } else {
        if (i - runStart >= 4) mark(runStart, i);
        // A new run may start at i-1 when it turns around (e.g. "qwewq").
        if ((d === 1 || d === -1) && direction !== 0) {
          runStart = i - 1;
          direction = d;
        } else {
          runStart = i;
          direction = 0;
        }
      }
    }
  }
}
