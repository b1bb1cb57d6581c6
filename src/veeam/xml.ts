/**
 * Safe XML reading for Veeam metadata, over our own scanner (xml-scan.ts). Refuses what a backup metadata file never
 * needs and an attacker would use: DOCTYPE declarations (entity expansion, external entities), undeclared
 * entities, oversized files and attributes, too many elements, too deep nesting. Every refusal is an InputError that
 * names the file (and, for XML carried inside an attribute, the attribute).
 *
 * The same rules apply to the XML documents Veeam stores escaped inside attribute values (Storage@Stats,
 * Storage@PartialPath, OIB@AuxData, OIB@GuestInfo): parse them with {@link parseXmlFragment}.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { InputError } from '../errors.js';
import { DEFAULT_XML_LIMITS, lineColumn, scanXml, XmlRefusal, XmlScanError, type XmlLimits, type XmlVisitor } from './xml-scan.js';

export { DEFAULT_XML_LIMITS, decodeEntities, type XmlLimits, type XmlVisitor } from './xml-scan.js';

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

interface ParseContext {
  /** How errors name the document, e.g. `"\\share\x.vbm"` or `attribute AuxData of OIB 1234 in "x.vbm"`. */
  readonly label: string;
  readonly limits: XmlLimits;
}

function refuse(ctx: ParseContext, what: string, hint?: string): never {
  throw new InputError(`${ctx.label} ${what}`, hint ?? 'Check that this is an unmodified Veeam backup metadata (.vbm) file.');
}

/**
 * Runs the scanner over `bytes` and turns whatever it throws into an InputError naming the document: the one place
 * where scan problems become messages, for whole files, attribute fragments and the streaming .vbm reader alike.
 */
export function scanOrRefuse(bytes: Buffer, label: string, limits: XmlLimits, visitor?: XmlVisitor): void {
  const ctx: ParseContext = { label, limits };
  try {
    scanXml(bytes, limits, visitor);
  } catch (err) {
    if (err instanceof XmlScanError) {
      const { problem } = err;
      const where = lineColumn(bytes, problem.index);
      if (problem.hostile) {
        refuse(
          ctx,
          `contains a DOCTYPE or ENTITY declaration (${where}); Lifeboat refuses these because they can expand entities or read other files`,
          'Veeam never writes DOCTYPE declarations: this file was altered or is not Veeam metadata.',
        );
      }
      refuse(
        ctx,
        `${problem.cut ? 'is cut short or damaged' : 'is not well-formed XML'}: ${problem.msg} (${where})`,
        problem.cut
          ? 'The file may have been copied incompletely or is being written right now: copy it again or wait for the backup job to finish.'
          : undefined,
      );
    }
    if (err instanceof XmlRefusal) refuse(ctx, err.message);
    throw err;
  }
}

interface OpenElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  text: string;
  readonly children: XmlElement[];
}

/** Builds the element tree of a small document (attribute fragments, test documents). */
function parseTree(bytes: Buffer, ctx: ParseContext): XmlElement {
  const open: OpenElement[] = [];
  let root: XmlElement | undefined;
  scanOrRefuse(bytes, ctx.label, ctx.limits, {
    open(name, _depth, attrs) {
      open.push({ name, attrs: attrs.all(), text: '', children: [] });
    },
    close() {
      const el = open.pop() as OpenElement;
      const done: XmlElement = { name: el.name, attrs: el.attrs, text: el.text.trim(), children: el.children };
      const parent = open[open.length - 1];
      if (parent) parent.children.push(done);
      else root = done;
    },
    text(value) {
      const el = open[open.length - 1];
      if (el) el.text += value;
    },
  });
  return root as XmlElement;
}

/** Parses a whole XML document held in memory. `label` names it in errors (usually the file path). */
export function parseXmlDocument(text: string, label: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const ctx: ParseContext = { label: `"${label}"`, limits };
  if (text.length > limits.maxBytes) {
    refuse(ctx, `is ${text.length} characters long, more than the limit of ${limits.maxBytes}`);
  }
  return parseTree(Buffer.from(text, 'utf8'), ctx);
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
  return parseTree(Buffer.from(text, 'utf8'), ctx);
}

/** A fragment's root element and its child elements, each with its own text (trimmed): no grandchildren, no attributes. */
export interface ShallowElement {
  readonly name: string;
  readonly children: readonly { readonly name: string; readonly text: string }[];
}

/**
 * Reads a small attribute document one level deep (Storage@Stats, the PartialPath attributes: several per restore
 * point), checked and refused exactly as {@link parseXmlFragment} would, without building a tree of it.
 */
export function parseXmlFragmentShallow(text: string, where: string, limits: XmlLimits = DEFAULT_XML_LIMITS): ShallowElement {
  if (text.length > limits.maxAttributeLength) {
    refuse({ label: where, limits }, `is ${text.length} characters long, more than the limit of ${limits.maxAttributeLength}`);
  }
  let name = '';
  const children: { name: string; text: string }[] = [];
  /** How many elements are open: text belongs to a child of the root when it is 2. */
  let open = 0;
  scanOrRefuse(Buffer.from(text, 'utf8'), where, limits, {
    open(tag, depth) {
      if (depth === 0) name = tag;
      else if (depth === 1) children.push({ name: tag, text: '' });
      open = depth + 1;
    },
    close(_tag, depth) {
      open = depth;
    },
    text(value) {
      const last = children[children.length - 1];
      if (open === 2 && last) last.text += value;
    },
  });
  for (const c of children) c.text = c.text.trim();
  return { name, children };
}

/**
 * One buffer reused for reading file after file (a share's .vbm files, one at a time): each file's bytes are dead as
 * soon as it is parsed, and a new 30 MB buffer per file left the collector ~100 MB behind on a five-server share.
 * What `take` returns is valid until the next `take`.
 */
export class ReadBuffer {
  private buf = Buffer.alloc(0);

  take(size: number): Buffer {
    if (this.buf.length < size) this.buf = Buffer.allocUnsafe(Math.max(size, 2 * this.buf.length));
    return this.buf.subarray(0, size);
  }
}

/**
 * Reads an XML file's bytes, refusing what is not a regular file or exceeds the size limit. Reads at most the size
 * seen when opening it, plus one byte to notice a file that grows meanwhile (refused, never read without end).
 */
export async function readXmlBytes(file: string, limits: XmlLimits = DEFAULT_XML_LIMITS, scratch?: ReadBuffer): Promise<Buffer> {
  const cannot = (err: unknown, hint: string): InputError =>
    new InputError(`"${file}" cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, hint, { cause: err });
  const tooBig = (size: number): InputError =>
    new InputError(
      `"${file}" is ${size} bytes, more than the limit of ${limits.maxBytes} bytes for a metadata file`,
      'Check that this is a Veeam .vbm file; the limit can be raised by the caller for very long chains.',
    );
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw cannot(err, 'Check the path and the share permissions.');
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new InputError(`"${file}" is not a regular file`, 'Give the path of a .vbm file.');
    if (st.size > limits.maxBytes) throw tooBig(st.size);
    if (st.size === 0) throw new InputError(`"${file}" is empty`, 'The metadata file is damaged or still being written.');
    const buf = scratch ? scratch.take(st.size + 1) : Buffer.allocUnsafe(st.size + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled > st.size) {
        throw new InputError(`"${file}" grew while it was read`, 'Veeam is probably writing it right now: run again when the backup job has finished.');
      }
    }
    return buf.subarray(0, filled);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw cannot(err, 'Check the share permissions.');
  } finally {
    await handle.close();
  }
}
