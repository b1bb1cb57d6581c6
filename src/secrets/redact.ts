/**
 * Keeping secrets out of output: `redact` masks secrets in text before it is logged or written; `findSecretBytes`
 * and the streaming `scanFileForSecrets` look for a secret in any bytes (artifact scans in tests: ISO, USB image,
 * reports) in the forms a leak takes: UTF-8, UTF-16LE (Windows strings), and base64 of either (at each of the three
 * byte alignments, since an embedded secret need not start a base64 block; standard and URL-safe alphabets).
 */
import { createReadStream } from 'node:fs';
import type { Secret } from './secret.js';

export type SecretEncoding =
  | 'utf8'
  | 'utf16le'
  | 'base64'
  | 'base64url'
  | 'base64-utf16le'
  | 'base64url-utf16le';

export interface SecretPattern {
  /** Index of the secret in the list given. */
  secretIndex: number;
  encoding: SecretEncoding;
  bytes: Buffer;
}

export interface SecretMatch {
  secretIndex: number;
  encoding: SecretEncoding;
  /** Byte offset of the match (in the buffer, or from the start of the file/stream). */
  offset: number;
}

export interface PatternOptions {
  /**
   * Shortest base64 fragment searched for. Fragments of short secrets at unaligned offsets get short and would
   * match by chance in large binaries. Default 8.
   */
  minBase64Length?: number;
}

const MASK = '***';

/**
 * The base64 characters that encode `bytes` wherever they sit in a longer base64 text: for each alignment
 * (0, 1 or 2 bytes before them in their 3-byte block), only the characters determined by these bytes alone.
 */
export function base64Fragments(bytes: Uint8Array): string[] {
  const fragments: string[] = [];
  if (bytes.length === 0) return fragments;
  for (let align = 0; align < 3; align++) {
    const padded = Buffer.concat([Buffer.alloc(align), bytes, Buffer.alloc(3)]);
    const encoded = padded.toString('base64');
    const first = Math.ceil((8 * align) / 6);
    const end = Math.floor((8 * (align + bytes.length)) / 6);
    if (end > first) fragments.push(encoded.slice(first, end));
    padded.fill(0);
  }
  return fragments;
}

/** Every searched form of every secret, as bytes (deduplicated). The caller may `.fill(0)` them afterwards. */
export function secretPatterns(secrets: readonly Secret[], options: PatternOptions = {}): SecretPattern[] {
  const minBase64 = options.minBase64Length ?? 8;
  const patterns: SecretPattern[] = [];
  const seen = new Set<string>();
  const add = (secretIndex: number, encoding: SecretEncoding, bytes: Buffer) => {
    if (bytes.length === 0) return;
    const key = bytes.toString('hex');
    if (seen.has(key)) return;
    seen.add(key);
    patterns.push({ secretIndex, encoding, bytes });
  };
  secrets.forEach((secret, index) => {
    if (secret.isEmpty) return;
    const utf8 = secret.revealBytes();
    const utf16 = Buffer.from(utf8.toString('utf8'), 'utf16le');
    add(index, 'utf8', utf8);
    add(index, 'utf16le', utf16);
    for (const [source, plain, url] of [
      [utf8, 'base64', 'base64url'],
      [utf16, 'base64-utf16le', 'base64url-utf16le'],
    ] as const) {
      for (const fragment of base64Fragments(source)) {
        if (fragment.length < minBase64) continue;
        add(index, plain, Buffer.from(fragment, 'latin1'));
        add(index, url, Buffer.from(fragment.replace(/\+/g, '-').replace(/\//g, '_'), 'latin1'));
      }
    }
  });
  return patterns;
}

/** Finds every occurrence of any secret, in any form, in a buffer. */
export function findSecretBytes(
  buffer: Uint8Array,
  secrets: readonly Secret[],
  options: PatternOptions = {},
): SecretMatch[] {
  const patterns = secretPatterns(secrets, options);
  try {
    return searchAll(Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength), patterns, 0, () => true);
  } finally {
    wipePatterns(patterns);
  }
}

export interface ScanOptions extends PatternOptions {
  /** Read size for files. Default 1 MiB. */
  chunkSize?: number;
  /** Stop at the first match. Default false. */
  firstOnly?: boolean;
}

/** Scans a stream of chunks; matches that straddle chunk boundaries are found too. */
export async function scanStreamForSecrets(
  source: AsyncIterable<Uint8Array | string>,
  secrets: readonly Secret[],
  options: ScanOptions = {},
): Promise<SecretMatch[]> {
  const patterns = secretPatterns(secrets, options);
  const matches: SecretMatch[] = [];
  try {
    if (patterns.length === 0) return matches;
    const overlap = Math.max(...patterns.map((p) => p.bytes.length)) - 1;
    let carry = Buffer.alloc(0);
    let position = 0; // absolute offset of the current chunk
    for await (const piece of source) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      if (carry.length > 0) {
        // The seam: matches that start in the carried tail and end in this chunk.
        const seam = Buffer.concat([carry, chunk.subarray(0, overlap)]);
        const seamStart = position - carry.length;
        matches.push(...searchAll(seam, patterns, seamStart, (at, length) => at < carry.length && at + length > carry.length));
        seam.fill(0);
      }
      matches.push(...searchAll(chunk, patterns, position, () => true));
      if (options.firstOnly && matches.length > 0) break;
      const tail = chunk.length >= overlap ? chunk.subarray(chunk.length - overlap) : Buffer.concat([carry, chunk]).subarray(-overlap);
      const nextCarry = Buffer.from(overlap === 0 ? Buffer.alloc(0) : tail);
      carry.fill(0);
      carry = nextCarry;
      position += chunk.length;
    }
    carry.fill(0);
  } finally {
    wipePatterns(patterns);
  }
  matches.sort((a, b) => a.offset - b.offset || a.secretIndex - b.secretIndex);
  return options.firstOnly ? matches.slice(0, 1) : matches;
}

/** Scans a file without loading it whole. */
export async function scanFileForSecrets(file: string, secrets: readonly Secret[], options: ScanOptions = {}): Promise<SecretMatch[]> {
  const stream = createReadStream(file, { highWaterMark: options.chunkSize ?? 1024 * 1024 });
  try {
    return await scanStreamForSecrets(stream, secrets, options);
  } finally {
    stream.destroy();
  }
}

/** Replaces every occurrence of any secret in text (plain, JSON-escaped, URL-encoded, base64) with `***`. */
export function redact(text: string, secrets: readonly Secret[], options: PatternOptions = {}): string {
  const minBase64 = options.minBase64Length ?? 8;
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.isEmpty) continue;
    const plain = secret.reveal();
    forms.add(plain);
    forms.add(JSON.stringify(plain).slice(1, -1));
    forms.add(encodeURIComponent(plain));
    for (const source of [Buffer.from(plain, 'utf8'), Buffer.from(plain, 'utf16le')]) {
      for (const fragment of base64Fragments(source)) {
        if (fragment.length < minBase64) continue;
        forms.add(fragment);
        forms.add(fragment.replace(/\+/g, '-').replace(/\//g, '_'));
      }
    }
  }
  let result = text;
  for (const form of [...forms].filter(Boolean).sort((a, b) => b.length - a.length)) {
    result = result.split(form).join(MASK);
  }
  return result;
}

function searchAll(
  haystack: Buffer,
  patterns: readonly SecretPattern[],
  base: number,
  accept: (at: number, length: number) => boolean,
): SecretMatch[] {
  const found: SecretMatch[] = [];
  for (const pattern of patterns) {
    for (let at = haystack.indexOf(pattern.bytes); at !== -1; at = haystack.indexOf(pattern.bytes, at + 1)) {
      if (accept(at, pattern.bytes.length)) found.push({ secretIndex: pattern.secretIndex, encoding: pattern.encoding, offset: base + at });
    }
  }
  return found;
}

function wipePatterns(patterns: readonly SecretPattern[]): void {
  for (const pattern of patterns) pattern.bytes.fill(0);
}
