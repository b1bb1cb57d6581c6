/**
 * Safe XML reading for Veeam metadata. A thin wrapper over fast-xml-parser that refuses what a backup metadata file
 * never needs and an attacker would use: DOCTYPE declarations (entity expansion, external entities), undeclared
 * entities, oversized files and attributes, too many elements, too deep nesting. Every refusal is an InputError that
 * names the file (and, for XML carried inside an attribute, the attribute).
 *
 * The same rules apply to the XML documents Veeam stores escaped inside attribute values (Storage@Stats,
 * Storage@PartialPath, OIB@AuxData, OIB@GuestInfo): parse them with {@link parseXmlFragment}.
 */
import { readFile, stat } from 'node:fs/promises';
import { XMLParser } from 'fast-xml-parser';
import { InputError } from '../errors.js';

export interface XmlLimits {
  /** Largest file accepted, in bytes. */
  readonly maxBytes: number;
  /** Longest attribute value accepted, in characters (after entity decoding). */
  readonly maxAttributeLength: number;
  /** Most elements accepted in one document. */
  readonly maxElements: number;
  /** Deepest element nesting accepted. */
  readonly maxDepth: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = Object.freeze({
  maxBytes: 64 * 1024 * 1024,
  maxAttributeLength: 4 * 1024 * 1024,
  maxElements: 2_000_000,
  maxDepth: 64,
});

/** One parsed element. Attributes and text are entity-decoded; children keep document order. */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  /** Concatenated text content of this element (not of its children), trimmed. */
  readonly text: string;
  readonly children: readonly XmlElement[];
}

/** The first child element with this name, if any. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!el) return undefined;
  for (const c of el.children) if (c.name === name) return c;
  return undefined;
}

/** All child elements with this name. */
export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  if (!el) return [];
  return el.children.filter((c) => c.name === name);
}

/** Follows a path of child names (first match at each step). */
export function path(el: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = el;
  for (const n of names) cur = child(cur, n);
  return cur;
}

/** Attribute value, or undefined when absent. */
export function attr(el: XmlElement | undefined, name: string): string | undefined {
  if (!el) return undefined;
  return Object.prototype.hasOwnProperty.call(el.attrs, name) ? el.attrs[name] : undefined;
}

class XmlRefusal extends Error {}

const ENTITY_RE = /&(?:([^;&<>"'\s]{1,12});)?/g;
const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * Decodes the five predefined entities and numeric character references. Anything else (a named entity that would
 * need a DOCTYPE, a stray `&`) is refused.
 */
export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY_RE, (_m, ref: string | undefined) => {
    if (ref === undefined) throw new XmlRefusal('contains a "&" that does not start an entity reference');
    const named = NAMED[ref];
    if (named !== undefined) return named;
    let cp = Number.NaN;
    if (/^#x[0-9a-fA-F]{1,6}$/.test(ref)) cp = Number.parseInt(ref.slice(2), 16);
    else if (/^#[0-9]{1,7}$/.test(ref)) cp = Number.parseInt(ref.slice(1), 10);
    else throw new XmlRefusal(`contains an undeclared entity "&${ref};" (only the five XML entities and character references are accepted)`);
    if (!isXmlChar(cp)) throw new XmlRefusal(`contains the character reference "&${ref};", which is not a valid XML character`);
    return String.fromCodePoint(cp);
  });
}

const HOSTILE_RE = /<!DOCTYPE|<!ENTITY/i;

interface ParseContext {
  /** How errors name the document, e.g. `"\\share\x.vbm"` or `attribute AuxData of OIB 1234 in "x.vbm"`. */
  readonly label: string;
  readonly limits: XmlLimits;
}

function refuse(ctx: ParseContext, what: string, hint?: string): never {
  throw new InputError(`${ctx.label} ${what}`, hint ?? 'Check that this is an unmodified Veeam backup metadata (.vbm) file.');
}

type FxpNode = Record<string, unknown>;
const EMPTY_ATTRS: Readonly<Record<string, string>> = Object.freeze({});

function convert(nodes: unknown, counter: { n: number }, ctx: ParseContext): XmlElement[] {
  const out: XmlElement[] = [];
  if (!Array.isArray(nodes)) return out;
  for (const node of nodes as FxpNode[]) {
    let name: string | undefined;
    for (const k of Object.keys(node)) {
      if (k !== ':@' && k !== '#text') {
        name = k;
        break;
      }
    }
    if (name === undefined) continue; // top-level text
    if (name.startsWith('?')) continue; // declaration / processing instruction
    if (++counter.n > ctx.limits.maxElements) {
      refuse(ctx, `has more than ${ctx.limits.maxElements} elements; refusing to read further`);
    }
    // Attribute values are strings: parseAttributeValue is off and the value processor returns strings.
    const attrs = (node[':@'] as Record<string, string> | undefined) ?? EMPTY_ATTRS;
    const kids = node[name];
    let text = '';
    if (Array.isArray(kids)) {
      for (const k of kids as FxpNode[]) {
        const t = k['#text'];
        if (t !== undefined) text += String(t);
      }
    }
    out.push({ name, attrs, text: text.trim(), children: convert(kids, counter, ctx) });
  }
  return out;
}

// Parsers are reused per limits object (creating one per attribute fragment was measurable on long chains). Parsing
// is synchronous, so the context the callbacks report against is simply the one being parsed now.
let activeLimits: XmlLimits = DEFAULT_XML_LIMITS;
const parsers = new WeakMap<XmlLimits, XMLParser>();

function parserFor(limits: XmlLimits): XMLParser {
  let parser = parsers.get(limits);
  if (parser) return parser;
  parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    allowBooleanAttributes: false,
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
    processEntities: false,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    removeNSPrefix: false,
    maxNestedTags: limits.maxDepth,
    attributeValueProcessor: (name: string, value: string) => {
      if (value.length > activeLimits.maxAttributeLength) {
        throw new XmlRefusal(
          `has an attribute ${name} of ${value.length} characters, more than the limit of ${activeLimits.maxAttributeLength}`,
        );
      }
      return decodeEntities(value);
    },
    tagValueProcessor: (_name: string, value: string) => decodeEntities(value),
  });
  parsers.set(limits, parser);
  return parser;
}

function lineCol(text: string, index: number): string {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    last = i;
  }
  return `line ${line}, column ${index - last}`;
}

interface StructureProblem {
  readonly msg: string;
  readonly index: number;
  /** The text ends before the document does (truncated copy). */
  readonly cut: boolean;
}

const NAME_END = /[\s/>]/g;

/**
 * One pass over the text checking what fast-xml-parser tolerates: every start tag closed by the matching end tag,
 * quotes and comments terminated, one root element, nothing but whitespace and comments after it. Fast enough for
 * tens of megabytes (it jumps between `<`, quotes and `>` with indexOf).
 */
export function checkStructure(text: string): StructureProblem | undefined {
  const stack: string[] = [];
  const cut = (msg: string, index: number): StructureProblem => ({ msg, index, cut: true });
  let rootSeen = false;
  let dqPos = text.indexOf('"');
  let sqPos = text.indexOf("'");
  let i = text.indexOf('<');
  if (i === -1) return { msg: 'no element found', index: 0, cut: false };
  if (text.slice(0, i).trim() !== '') return { msg: 'text before the first element', index: 0, cut: false };
  while (i !== -1) {
    const c = text.charCodeAt(i + 1);
    if (Number.isNaN(c)) return cut('the file ends inside a tag', i);
    if (c === 0x21 /* ! */) {
      if (text.startsWith('<!--', i)) {
        const e = text.indexOf('-->', i + 4);
        if (e === -1) return cut('a comment is not closed', i);
        i = text.indexOf('<', e + 3);
      } else if (text.startsWith('<![CDATA[', i)) {
        if (stack.length === 0) return { msg: 'CDATA outside the root element', index: i, cut: false };
        const e = text.indexOf(']]>', i + 9);
        if (e === -1) return cut('a CDATA section is not closed', i);
        i = text.indexOf('<', e + 3);
      } else {
        return { msg: 'unexpected "<!" declaration', index: i, cut: false };
      }
      continue;
    }
    if (c === 0x3f /* ? */) {
      const e = text.indexOf('?>', i + 2);
      if (e === -1) return cut('a processing instruction is not closed', i);
      i = text.indexOf('<', e + 2);
      continue;
    }
    const closing = c === 0x2f; /* / */
    const nameStart = closing ? i + 2 : i + 1;
    NAME_END.lastIndex = nameStart;
    const m = NAME_END.exec(text);
    if (!m) return cut('the file ends inside a tag name', i);
    const name = text.slice(nameStart, m.index);
    if (name === '') return { msg: 'a "<" that does not start a tag', index: i, cut: false };
    // Find the end of the tag, skipping quoted attribute values.
    let j = m.index;
    let selfClosing = false;
    const tagLt = text.indexOf('<', j);
    let gt = text.indexOf('>', j);
    for (;;) {
      if (gt !== -1 && gt < j) gt = text.indexOf('>', j);
      // Next quote positions are cached: searching for a quote character absent from the rest of a large file on
      // every tag would make this quadratic.
      if (dqPos !== -1 && dqPos < j) dqPos = text.indexOf('"', j);
      if (sqPos !== -1 && sqPos < j) sqPos = text.indexOf("'", j);
      const dq = dqPos;
      const sq = sqPos;
      let q = -1;
      if (dq !== -1 && (sq === -1 || dq < sq)) q = dq;
      else if (sq !== -1) q = sq;
      if (gt === -1) return cut(`the file ends inside the tag <${name}>`, i);
      if (q !== -1 && q < gt) {
        const e = text.indexOf(text.charAt(q), q + 1);
        if (e === -1) return cut(`an attribute value of <${name}> is not closed`, q);
        if (tagLt !== -1 && tagLt < e) return { msg: `"<" inside an attribute value of <${name}>`, index: tagLt, cut: false };
        j = e + 1;
        continue;
      }
      selfClosing = text.charCodeAt(gt - 1) === 0x2f;
      j = gt + 1;
      break;
    }
    if (closing) {
      const open = stack.pop();
      if (open === undefined) return { msg: `end tag </${name}> without a start tag`, index: i, cut: false };
      if (open !== name) return { msg: `end tag </${name}> does not match <${open}>`, index: i, cut: false };
    } else {
      if (stack.length === 0) {
        if (rootSeen) return { msg: 'more than one root element', index: i, cut: false };
        rootSeen = true;
      }
      if (!selfClosing) stack.push(name);
    }
    const next = text.indexOf('<', j);
    if (stack.length === 0 && (next === -1 ? text.slice(j) : text.slice(j, next)).trim() !== '') {
      return { msg: 'text after the root element', index: j, cut: false };
    }
    i = next;
  }
  if (stack.length > 0) return cut(`the file ends before </${stack[stack.length - 1] ?? ''}> (${stack.length} element${stack.length === 1 ? '' : 's'} left open)`, text.length);
  if (!rootSeen) return { msg: 'no element found', index: 0, cut: false };
  return undefined;
}

function parseWithContext(text: string, ctx: ParseContext): XmlElement {
  const hostile = HOSTILE_RE.exec(text);
  if (hostile) {
    refuse(
      ctx,
      `contains a DOCTYPE or ENTITY declaration (${lineCol(text, hostile.index)}); Lifeboat refuses these because they can expand entities or read other files`,
      'Veeam never writes DOCTYPE declarations: this file was altered or is not Veeam metadata.',
    );
  }
  const problem = checkStructure(text);
  if (problem) {
    refuse(
      ctx,
      `${problem.cut ? 'is cut short or damaged' : 'is not well-formed XML'}: ${problem.msg} (${lineCol(text, problem.index)})`,
      problem.cut
        ? 'The file may have been copied incompletely or is being written right now: copy it again or wait for the backup job to finish.'
        : undefined,
    );
  }
  let nodes: unknown;
  try {
    activeLimits = ctx.limits;
    nodes = parserFor(ctx.limits).parse(text);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    if (/Maximum nested tags/.test(msg)) refuse(ctx, `has elements nested deeper than ${ctx.limits.maxDepth} levels`);
    refuse(ctx, err instanceof XmlRefusal ? msg : `cannot be read as XML: ${msg}`);
  }
  const roots = convert(nodes, { n: 0 }, ctx);
  if (roots.length !== 1 || !roots[0]) refuse(ctx, roots.length === 0 ? 'contains no XML element' : 'has more than one root element');
  return roots[0];
}

/** Parses a whole XML document held in memory. `label` names it in errors (usually the file path). */
export function parseXmlDocument(text: string, label: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const ctx: ParseContext = { label: `"${label}"`, limits };
  if (text.length > limits.maxBytes) {
    refuse(ctx, `is ${text.length} characters long, more than the limit of ${limits.maxBytes}`);
  }
  return parseWithContext(text, ctx);
}

/**
 * Parses XML carried inside an attribute value (already entity-decoded once by the outer parse).
 * `where` describes it for errors, e.g. `attribute AuxData of OIB a3f42f44 in "x.vbm"`.
 */
export function parseXmlFragment(text: string, where: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const ctx: ParseContext = { label: where, limits };
  if (text.length > limits.maxAttributeLength) {
    refuse(ctx, `is ${text.length} characters long, more than the limit of ${limits.maxAttributeLength}`);
  }
  return parseWithContext(text, ctx);
}

/** Reads and parses an XML file, checking its size before reading it. */
export async function readXmlFile(file: string, limits: XmlLimits = DEFAULT_XML_LIMITS): Promise<XmlElement> {
  const text = await readXmlText(file, limits);
  return parseXmlDocument(text, file, limits);
}

/** Reads an XML file as text (UTF-8, BOM removed), refusing files over the size limit or not regular files. */
export async function readXmlText(file: string, limits: XmlLimits = DEFAULT_XML_LIMITS): Promise<string> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new InputError(`"${file}" is not a regular file`, 'Give the path of a .vbm file.');
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`"${file}" cannot be read (${code ?? String(err)})`, 'Check the path and the share permissions.', {
      cause: err,
    });
  }
  if (size > limits.maxBytes) {
    throw new InputError(
      `"${file}" is ${size} bytes, more than the limit of ${limits.maxBytes} bytes for a metadata file`,
      'Check that this is a Veeam .vbm file; the limit can be raised by the caller for very long chains.',
    );
  }
  if (size === 0) throw new InputError(`"${file}" is empty`, 'The metadata file is damaged or still being written.');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`"${file}" cannot be read (${code ?? String(err)})`, 'Check the share permissions.', { cause: err });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
