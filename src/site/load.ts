/**
 * Loading site.yaml: read (bounded), parse YAML, validate with the schema and report every problem as
 * `FILE:LINE: PATH: MESSAGE`, e.g. `site.yaml:14: servers[2].firmware: expected "uefi" or "bios"`.
 *
 * The file is treated as hostile input: size-capped, aliases limited, one document only, duplicate keys refused.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ZodNever, type z } from 'zod';
import { InputError } from '../errors.js';
import { siteSchema, type DriverKind, type Site } from './schema.js';
import { isRecord, schemaAt, shapeOf, unwrap } from './schema-walk.js';

/** Largest site.yaml we read. Real ones are a few KiB. */
export const MAX_SITE_FILE_BYTES = 1024 * 1024;
/** Most alias expansions we allow (guards against "billion laughs"). */
export const MAX_ALIAS_COUNT = 50;
/** Most problems listed in one error message. */
const MAX_LISTED_ISSUES = 50;

export interface SiteIssue {
  /** The file as the caller named it. */
  file: string;
  /** 1-based line number. */
  line: number;
  /** Field path like `servers[2].firmware`; empty for the whole file. */
  path: string;
  message: string;
}

/** site.yaml is invalid. `issues` lists every problem; the message has one `FILE:LINE: PATH: MESSAGE` line each. */
export class SiteFileError extends InputError {
  constructor(
    readonly file: string,
    readonly issues: readonly SiteIssue[],
  ) {
    const lines = issues.slice(0, MAX_LISTED_ISSUES).map(formatIssue);
    if (issues.length > MAX_LISTED_ISSUES) lines.push(`... and ${issues.length - MAX_LISTED_ISSUES} more problems`);
    super(
      lines.join('\n'),
      'Fix the lines named above; `lifeboat schema` prints every field of site.yaml with its meaning.',
    );
  }
}

export function formatIssue(issue: SiteIssue): string {
  return `${issue.file}:${issue.line}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

/** Reads, parses and validates a site.yaml. Throws InputError (SiteFileError for content problems). */
export async function loadSite(file: string): Promise<Site> {
  const bytes = await readBounded(file);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SiteFileError(file, [{ file, line: 1, path: '', message: 'is not UTF-8 text' }]);
  }
  return parseSite(text, file);
}

/** Parses and validates site.yaml text; `file` names it in messages. */
export function parseSite(text: string, file = 'site.yaml'): Site {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: true,
    uniqueKeys: true,
    strict: true,
    merge: false,
    version: '1.2',
  });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    // Only the first: later syntax errors are mostly consequences of it.
    const more = doc.errors.length > 1 ? ' (fix this first; later errors may follow from it)' : '';
    throw new SiteFileError(file, [
      {
        file,
        line: syntaxError.linePos?.[0].line ?? 1,
        path: '',
        message: `YAML syntax: ${cleanYamlMessage(syntaxError.message)}${more}`,
      },
    ]);
  }
  if (doc.contents === null) {
    throw new SiteFileError(file, [{ file, line: 1, path: '', message: 'the file is empty' }]);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new SiteFileError(file, [{ file, line: 1, path: '', message: `YAML: ${message}` }]);
  }
  const result = siteSchema.safeParse(data);
  if (result.success) return result.data;
  const seen = new Set<string>();
  const issues = result.error.issues
    .flatMap((issue) => describeIssue(issue, data, doc, lineCounter, file))
    .filter((issue) => {
      // One problem per field is enough (a bad phone number need not be reported as bad twice).
      if (seen.has(issue.path)) return false;
      seen.add(issue.path);
      return true;
    });
  issues.sort((a, b) => a.line - b.line);
  throw new SiteFileError(file, issues);
}

/** The driver folders of a site as absolute paths, resolved against the directory of its site.yaml. */
export function driverFolders(site: Site, siteFile: string): { kind: DriverKind; dir: string }[] {
  const base = path.dirname(path.resolve(siteFile));
  return Object.entries(site.drivers)
    .filter((entry): entry is [DriverKind, string] => typeof entry[1] === 'string')
    .map(([kind, dir]) => ({ kind, dir: path.resolve(base, dir) }));
}

// ---------------------------------------------------------------------------------------------------------------

async function readBounded(file: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(code ?? error);
    throw new InputError(`${file}: cannot read site file: ${why}`, 'Create one with `lifeboat init` or give the right path with --site.', { cause: error });
  }
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new InputError(`${file}: cannot read site file: is a directory`);
    if (stat.isFile() && stat.size > MAX_SITE_FILE_BYTES) {
      throw new InputError(`${file}: is ${stat.size} bytes; a site file may have at most ${MAX_SITE_FILE_BYTES} bytes`);
    }
    // Read at most one byte past the cap so that growing files and pipes are bounded too.
    const buffer = Buffer.alloc(MAX_SITE_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_SITE_FILE_BYTES) {
        throw new InputError(`${file}: a site file may have at most ${MAX_SITE_FILE_BYTES} bytes`);
      }
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: cannot read site file: ${code === 'EISDIR' ? 'is a directory' : String(code ?? error)}`, undefined, {
      cause: error,
    });
  } finally {
    await handle.close();
  }
}

function cleanYamlMessage(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

function describeIssue(
  issue: z.core.$ZodIssue,
  data: unknown,
  doc: Document,
  lineCounter: LineCounter,
  file: string,
): SiteIssue[] {
  const at = (issuePath: readonly PropertyKey[], message: string): SiteIssue => ({
    file,
    line: lineOf(doc, lineCounter, issuePath),
    path: formatPath(issuePath),
    message,
  });
  const value = valueAt(data, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const shape = shapeOf(schemaAt(siteSchema, issue.path, data) ?? siteSchema, value) ?? {};
      // Fields that must never be set (share.password) are not offered as suggestions.
      const known = Object.keys(shape).filter((k) => !(unwrap(shape[k] as z.ZodType).schema instanceof ZodNever));
      return issue.keys.map((key) => at([...issue.path, key], unknownKeyMessage(key, known)));
    }
    case 'invalid_value':
      return [at(issue.path, `expected ${orList(issue.values.map((v) => JSON.stringify(v)))}`)];
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (options && options.length > 0) {
        const expected = `expected ${orList(options.map((v) => JSON.stringify(v)))}`;
        return [at(issue.path, value === undefined ? `required field is missing; ${expected}` : expected)];
      }
      return [at(issue.path, issue.message)];
    }
    case 'invalid_type': {
      if (issue.expected === 'never') return [at(issue.path, issue.message)];
      if (value === undefined) return [at(issue.path, 'required field is missing')];
      return [at(issue.path, `expected ${typeName(issue.expected)}, got ${kindOf(value)}`)];
    }
    case 'too_small':
    case 'too_big': {
      if (!/^Too (small|big)/.test(issue.message)) return [at(issue.path, issue.message)];
      const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      const unit = issue.origin === 'array' ? ' entries' : issue.origin === 'string' ? ' characters' : '';
      const verb = issue.origin === 'array' ? 'must have' : 'must be';
      return [at(issue.path, `${verb} ${word} ${bound}${unit}`)];
    }
    default:
      return [at(issue.path, issue.message)];
  }
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  if (/pa?ss?w|pwd|passphrase|secret|kennwort|credential/i.test(key)) {
    return 'unknown key: passwords never go in site.yaml (lifeboat build asks for them or reads --password-file)';
  }
  const suggestion = didYouMean(key, known);
  if (suggestion) return `unknown key (did you mean "${suggestion}"?)`;
  return known.length > 0 ? `unknown key; allowed here: ${known.join(', ')}` : 'unknown key';
}

/** The known key closest to `key`, when it is close enough to be a likely typo. */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  const normalise = (s: string) => s.toLowerCase().replace(/[-_ ]/g, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = normalise(candidate) === normalise(key) ? 0 : editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = key.length <= 4 ? 1 : key.length <= 8 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const get = (i: number, j: number) => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(get(i - 1, j) + 1, get(i, j - 1) + 1, get(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, get(i - 2, j - 2) + 1);
      d[i * cols + j] = value;
    }
  }
  return get(a.length, b.length);
}

/** `servers[2].firmware`, `drivers["odd key"]`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(segment))) out += out ? `.${String(segment)}` : String(segment);
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** Line of the deepest node on `segments` that exists: the key's line for map entries, the item's line in lists. */
function lineOf(doc: Document, lineCounter: LineCounter, segments: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return lineCounter.linePos(offset).line;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

function valueAt(data: unknown, segments: readonly PropertyKey[]): unknown {
  let value = data;
  for (const segment of segments) {
    if (Array.isArray(value) && typeof segment === 'number') value = value[segment];
    else if (isRecord(value) && Object.hasOwn(value, String(segment))) value = value[String(segment)];
    else return undefined;
  }
  return value;
}

function orList(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? 'nothing';
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function typeName(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a text';
    case 'number':
    case 'int':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping (key: value lines)';
    default:
      return expected;
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return String(value);
  return typeof value;
}
