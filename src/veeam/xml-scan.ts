/**
 * One pass over the bytes of an XML document: checks that it is well-formed (every start tag closed by its end tag,
 * quotes and comments terminated, one root element, nothing after it), enforces the element-count and depth limits
 * while it goes, and reports each element to a visitor, which decodes the attributes of only the elements it wants.
 *
 * Why our own scanner rather than a tree-building parser: a year of hourly restore points is ~30 MB of metadata per
 * server, and building a tree of it cost ~1 GB and seconds for five servers; hostile files full of empty elements
 * drove that to the heap limit before any count was checked. Here memory is the element stack, and the scanner jumps
 * between `<`, `>` and quotes with Buffer.indexOf (memchr), so attribute text it is not asked about is never decoded.
 * Values are decoded into fresh strings, so nothing returned keeps the document's buffer alive.
 */
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
  // A year of hourly points is ~26,000 elements (three per point); ten years of them fit 10 times over.
  maxElements: 500_000,
  maxDepth: 64,
});

/** A document refused for a limit or an entity: the message is completed with the document's name. */
export class XmlRefusal extends Error {}

const NAMED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * Decodes the five predefined entities and numeric character references. Anything else (a named entity that would
 * need a DOCTYPE, a stray `&`) is refused. A loop over `&` positions: Veeam's escaped XML attributes hold thousands
 * of entities, and a regular expression with a callback per entity was a measurable share of reading a chain.
 */
export function decodeEntities(s: string): string {
  let amp = s.indexOf('&');
  if (amp === -1) return s;
  // Pieces joined once: `+=` would leave a rope of thousands of pieces alive in every value kept (GuestInfo per point).
  const parts: string[] = [];
  let last = 0;
  while (amp !== -1) {
    const semi = s.indexOf(';', amp + 1);
    if (semi === -1 || semi - amp - 1 > 12) throw new XmlRefusal('contains a "&" that does not start an entity reference');
    parts.push(s.slice(last, amp), commonEntity(s, amp, semi) ?? entity(s.slice(amp + 1, semi)));
    last = semi + 1;
    amp = s.indexOf('&', last);
  }
  parts.push(s.slice(last));
  return parts.join('');
}

/** `&lt;` `&gt;` `&amp;` `&quot;` read from the character codes: no slice, no lookup (most of Veeam's entities). */
function commonEntity(s: string, amp: number, semi: number): string | undefined {
  const a = s.charCodeAt(amp + 1);
  const len = semi - amp - 1;
  if (len === 2 && s.charCodeAt(amp + 2) === 0x74 /* t */) return a === 0x6c /* l */ ? '<' : a === 0x67 /* g */ ? '>' : undefined;
  if (len === 3 && a === 0x61 /* a */ && s.charCodeAt(amp + 2) === 0x6d && s.charCodeAt(amp + 3) === 0x70) return '&';
  if (len === 4 && a === 0x71 /* q */ && s.startsWith('quot', amp + 1)) return '"';
  return undefined;
}

function entity(ref: string): string {
  const named = NAMED[ref];
  if (named !== undefined) return named;
  if (ref === '' || /[&<>"'\s]/.test(ref)) throw new XmlRefusal('contains a "&" that does not start an entity reference');
  let cp = Number.NaN;
  if (/^#x[0-9a-fA-F]{1,6}$/.test(ref)) cp = Number.parseInt(ref.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(ref)) cp = Number.parseInt(ref.slice(1), 10);
  else throw new XmlRefusal(`contains an undeclared entity "&${ref};" (only the five XML entities and character references are accepted)`);
  if (!isXmlChar(cp)) throw new XmlRefusal(`contains the character reference "&${ref};", which is not a valid XML character`);
  return String.fromCodePoint(cp);
}

export interface XmlVisitor {
  /** A start tag at `depth` (the root is 0). Its attributes are decoded only when asked for (see TagAttributes). */
  open(name: string, depth: number, attrs: TagAttributes): void;
  /** The element opened last ends (also called right after `open` for a self-closing tag). */
  close?(name: string, depth: number): void;
  /** Character data inside the root (entities decoded; CDATA as is). Only decoded when this is given. */
  text?(value: string): void;
}

/** Where and why a document is not acceptable. `cut` means the text ends before the document does. */
export interface ScanProblem {
  readonly msg: string;
  readonly index: number;
  readonly cut: boolean;
  /** A DOCTYPE/ENTITY declaration: refused for safety rather than for form. */
  readonly hostile?: boolean;
}

export class XmlScanError extends Error {
  constructor(readonly problem: ScanProblem) {
    super(problem.msg);
  }
}

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const DQ = 0x22;
const SQ = 0x27;
const EQ = 0x3d;

const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

function onlySpace(buf: Buffer, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (!isSpace(buf[k] as number)) return false;
  return true;
}

function startsWith(buf: Buffer, at: number, ascii: string): boolean {
  if (at + ascii.length > buf.length) return false;
  for (let k = 0; k < ascii.length; k++) if (buf[at + k] !== ascii.charCodeAt(k)) return false;
  return true;
}

/** Whether the bytes from `from` to `to` spell `name`, an ASCII-only string. */
function isAsciiName(buf: Buffer, from: number, to: number, name: string): boolean {
  if (to - from !== name.length) return false;
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c > 0x7f || buf[from + k] !== c) return false;
  }
  return true;
}

/** `line L, column C` (column in bytes) of a byte offset, for messages. */
export function lineColumn(buf: Buffer, index: number): string {
  let line = 1;
  let last = -1;
  for (let k = buf.indexOf(0x0a); k !== -1 && k < index; k = buf.indexOf(0x0a, k + 1)) {
    line++;
    last = k;
  }
  return `line ${line}, column ${index - last}`;
}

/**
 * The length of `lt;` `gt;` `amp;` `quot;` or `apos;` at `at` (after an `&`, before `end`), else 0: the entity
 * references that are certainly valid, read from the bytes.
 */
function namedEntityLength(buf: Buffer, at: number, end: number): number {
  const ref = NAMED_BY_FIRST_BYTE[buf[at] as number] ?? [];
  for (const r of ref) if (at + r.length <= end && startsWith(buf, at, r)) return r.length;
  return 0;
}
/** As namedEntityLength for the three entities Veeam's escaped documents are made of (`lt;` `gt;` `quot;`), else 0. */
function commonEntityLength(buf: Buffer, at: number, end: number): number {
  const a = buf[at];
  if ((a === 0x6c || a === 0x67) && at + 3 <= end && buf[at + 1] === 0x74 && buf[at + 2] === 0x3b) return 3; // lt; gt;
  if (a === 0x71 && at + 5 <= end && buf[at + 1] === 0x75 && buf[at + 2] === 0x6f && buf[at + 3] === 0x74 && buf[at + 4] === 0x3b) return 5; // quot;
  return 0;
}
const NAMED_BY_FIRST_BYTE: readonly (readonly string[] | undefined)[] = (() => {
  const out: string[][] = [];
  for (const n of Object.keys(NAMED)) (out[n.charCodeAt(0)] ??= []).push(`${n};`);
  return out;
})();

/** Where decodeNamedBytes writes; grown as needed, reused. */
let decoded = Buffer.alloc(1024);

/**
 * Decodes a value whose references are all among the five named entities into one string, byte by byte from `s`
 * (the first `&` at `amp`) to `e`: the escaped XML Veeam keeps in attributes (Stats, PartialPath, GuestInfo) has
 * dozens, and cutting the text at each one cost a string per piece. Undefined for any other reference, left to
 * decodeEntities with its checks and messages. The same text either way: the entities and what they stand for are
 * ASCII, which never falls inside a UTF-8 sequence.
 */
function decodeNamedBytes(buf: Buffer, s: number, amp: number, e: number): string | undefined {
  // Kept for reuse up to 64 KiB (AuxData is ~50 KB); a longer value gets a buffer of its own.
  if (decoded.length < e - s && e - s <= 65536) decoded = Buffer.alloc(Math.min(65536, Math.max(e - s, 2 * decoded.length)));
  const out = decoded.length >= e - s ? decoded : Buffer.allocUnsafe(e - s);
  let o = buf.copy(out, 0, s, amp);
  for (let k = amp; k < e; ) {
    const b = buf[k] as number;
    if (b !== 0x26) {
      out[o++] = b;
      k++;
      continue;
    }
    const len = namedEntityLength(buf, k + 1, e);
    if (len === 0) return undefined;
    const c = buf[k + 1];
    out[o++] = c === 0x6c /* lt */ ? 0x3c : c === 0x67 /* gt */ ? 0x3e : c === 0x71 /* quot */ ? 0x22 : buf[k + 2] === 0x6d /* amp */ ? 0x26 : 0x27;
    k += len + 1;
  }
  return out.toString('utf8', 0, o);
}

/** The most quoted values of a tag the scanner notes for TagAttributes (Veeam's OIB has ~55 attributes). */
const MAX_QUOTES = 256;

/** Slots of TagAttributes' name table (a power of two). */
const NAME_SLOTS = 256;

/** A hash of the name's length and first, middle and last bytes: enough to tell Veeam's attribute names apart. */
function nameKey(buf: Buffer, from: number, to: number): number {
  const h = (to - from) * 31 + (buf[from] as number) * 7 + (buf[(from + to) >> 1] as number) * 131 + (buf[to - 1] as number) * 17;
  return (h * 2654435761) >>> 24;
}

/** Attribute names asked for, as bytes, with the index where each was found last (per name, across tags). */
const nameBytes = new Map<string, { readonly bytes: Buffer; lastIndex: number }>();

function sameBytes(a: Buffer, from: number, b: Buffer, bFrom: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (a[from + k] !== b[bFrom + k]) return false;
  return true;
}


/**
 * The attributes of the start tag being visited. The scanner reuses one instance for every tag, so it is valid only
 * during `open()`: keep what `get` or `all` return, not the object. The tag's attribute text is indexed on the first
 * request (names, values and their quotes checked then), and only requested values are decoded.
 */
export class TagAttributes {
  private buf: Buffer = Buffer.alloc(0);
  private from = 0;
  private to = 0;
  private tag = '';
  private indexed = false;
  /** Whether every attribute value of the tag certainly passes {@link check}; undefined until asked. */
  private allPlain: boolean | undefined;
  private count = 0;
  /**
   * Per attribute: 1 when index() saw the whole value in its byte-by-byte look for the closing quote, with no `&` and
   * within the length limit (it certainly passes check).
   */
  private shortWithoutAmp = new Uint8Array(0);
  /**
   * The names seen in the tag being indexed, to refuse a repeated one without comparing each name with every other
   * (Veeam's OIB has ~50 attributes): open addressing by a key of the name, each slot holding an attribute number.
   */
  private names = new Int32Array(NAME_SLOTS).fill(-1);
  /** Per attribute: name start, name end, value start, value end. Allocated on first use (most fragments need none). */
  private pos = new Int32Array(0);

  /**
   * The quoted values the scanner skipped in the tag, as pairs of positions of the opening and the closing quote
   * (`quoteCount` pairs; -1 when it did not keep them): index() then need not look for the values again.
   */
  private quotes: Int32Array = new Int32Array(0);
  private quoteCount = -1;
  /** Where the next `&` of the document is, at or after the last value looked at (-1: there is none; one scan each). */
  private nextAmp = 0;

  /** Where the value {@link locate} found last starts and ends in {@link bytes} (as written, entities not decoded). */
  valueStart = 0;
  valueEnd = 0;

  constructor(private readonly limits: XmlLimits) {}

  /** @internal The scanner points the object at the next tag (and says where its quoted values are). */
  reset(buf: Buffer, from: number, to: number, tag: string, quotes: Int32Array, quoteCount: number): void {
    this.buf = buf;
    this.from = from;
    this.to = to;
    this.tag = tag;
    this.quotes = quotes;
    this.quoteCount = quoteCount;
    this.indexed = false;
    this.allPlain = undefined;
  }

  /** The decoded value of one attribute, or undefined when the tag has none of that name. */
  get(name: string): string | undefined {
    const n = this.find(name);
    return n === -1 ? undefined : this.value(n);
  }

  /**
   * Checks one attribute as {@link get} would (its entity references and length) without decoding it when it plainly
   * passes: for a reader that must refuse exactly the files a full read refuses, with the same message, while keeping
   * less. Anything but the five named entities, or a value longer in bytes than the limit in characters, is left to
   * {@link get}, whose result is dropped.
   */
  check(name: string): void {
    // Most often every value of the tag passes: known after one look at the long ones, for all the names checked.
    if (this.plain()) return;
    const n = this.find(name);
    if (n !== -1 && !this.isPlain(this.pos[4 * n + 2] as number, this.pos[4 * n + 3] as number)) this.value(n);
  }

  /**
   * True when every attribute value of the tag certainly passes {@link check}: then neither `check` nor `get` can
   * refuse anything in it, whatever is asked in whatever order. Indexes the tag (which refuses bad attribute syntax).
   */
  plain(): boolean {
    if (!this.indexed) this.index();
    return (this.allPlain ??= this.everyValuePlain());
  }

  /** The document's bytes: with {@link locate}, a value can be read without being decoded into a string first. */
  get bytes(): Buffer {
    return this.buf;
  }

  /** Finds an attribute and sets valueStart and valueEnd to its raw value; false when the tag has none of that name. */
  locate(name: string): boolean {
    const n = this.find(name);
    if (n === -1) return false;
    this.valueStart = this.pos[4 * n + 2] as number;
    this.valueEnd = this.pos[4 * n + 3] as number;
    return true;
  }

  private everyValuePlain(): boolean {
    for (let n = 0; n < this.count; n++) {
      if (this.shortWithoutAmp[n] !== 1 && !this.isPlain(this.pos[4 * n + 2] as number, this.pos[4 * n + 3] as number)) return false;
    }
    return true;
  }

  /**
   * True when the bytes from `s` to `e`, decoded, certainly pass: no longer in bytes than the limit in characters
   * (UTF-8 never takes fewer bytes than UTF-16 code units, an entity is longer than what it stands for), and every `&`
   * starts one of the five named entities.
   */
  private isPlain(s: number, e: number): boolean {
    if (e - s > this.limits.maxAttributeLength) return false;
    const buf = this.buf;
    // Byte by byte up to a few KiB: the escaped documents Veeam keeps per point (GuestInfo, Stats, PartialPath) have an
    // entity every few bytes, and a call per `&` cost more than looking at each byte.
    if (e - s <= 8192) {
      for (let k = s; k < e; k++) {
        if (buf[k] === 0x26 /* & */) {
          const len = commonEntityLength(buf, k + 1, e) || namedEntityLength(buf, k + 1, e);
          if (len === 0) return false;
          k += len;
        }
      }
      return true;
    }
    // A long value (AuxData): memchr from one `&` to the next, within the value only.
    const value = buf.subarray(s, e);
    for (let k = value.indexOf(0x26); k !== -1; k = value.indexOf(0x26, k + 1)) {
      const len = namedEntityLength(value, k + 1, value.length);
      if (len === 0) return false;
      k += len;
    }
    return true;
  }

  private find(name: string): number {
    if (!this.indexed) this.index();
    let want = nameBytes.get(name);
    if (!want) nameBytes.set(name, (want = { bytes: Buffer.from(name, 'utf8'), lastIndex: 0 }));
    // Veeam writes every element's attributes in the same order: try where this name was last time first.
    const hint = want.lastIndex;
    if (hint < this.count && this.nameIs(hint, want.bytes)) return hint;
    for (let n = 0; n < this.count; n++) {
      if (n !== hint && this.nameIs(n, want.bytes)) {
        want.lastIndex = n;
        return n;
      }
    }
    return -1;
  }

  private nameIs(n: number, bytes: Buffer): boolean {
    const s = this.pos[4 * n] as number;
    return (this.pos[4 * n + 1] as number) - s === bytes.length && sameBytes(this.buf, s, bytes, 0, bytes.length);
  }

  /** Every attribute, decoded. */
  all(): Record<string, string> {
    if (!this.indexed) this.index();
    const out: Record<string, string> = {};
    for (let n = 0; n < this.count; n++) {
      out[this.buf.toString('utf8', this.pos[4 * n], this.pos[4 * n + 1])] = this.value(n);
    }
    return out;
  }

  private value(n: number): string {
    const s = this.pos[4 * n + 2] as number;
    const e = this.pos[4 * n + 3] as number;
    // Search only the value: an indexOf from `s` would run on to the next "&" of the document (quadratic). Not at
    // all when indexing saw it has none (and is within the limit).
    if (this.shortWithoutAmp[n] === 1) return this.buf.toString('utf8', s, e);
    let amp = s;
    while (amp < e && this.buf[amp] !== 0x26) amp++;
    const value = amp === e ? this.buf.toString('utf8', s, e) : (decodeNamedBytes(this.buf, s, amp, e) ?? decodeEntities(this.buf.toString('utf8', s, e)));
    if (value.length > this.limits.maxAttributeLength) {
      const name = this.buf.toString('utf8', this.pos[4 * n], this.pos[4 * n + 1]);
      throw new XmlRefusal(`has an attribute ${name} of ${value.length} characters, more than the limit of ${this.limits.maxAttributeLength}`);
    }
    return value;
  }

  /** Records attribute `this.count`'s name; true when the tag already has an attribute of that name. */
  private seenName(key: number, nameStart: number, length: number): boolean {
    const { names, pos, buf } = this;
    // Past NAME_SLOTS / 2 names the table would fill up: compare with every earlier name instead (never seen in Veeam's files).
    if (this.count >= NAME_SLOTS / 2) {
      for (let n = 0; n < this.count; n++) {
        const s = pos[4 * n] as number;
        if ((pos[4 * n + 1] as number) - s === length && sameBytes(buf, s, buf, nameStart, length)) return true;
      }
      return false;
    }
    for (let slot = key & (NAME_SLOTS - 1); ; slot = (slot + 1) & (NAME_SLOTS - 1)) {
      const n = names[slot] as number;
      if (n === -1) {
        names[slot] = this.count;
        return false;
      }
      const s = pos[4 * n] as number;
      if ((pos[4 * n + 1] as number) - s === length && sameBytes(buf, s, buf, nameStart, length)) return true;
    }
  }

  private index(): void {
    if (this.quoteCount < 0 || !this.indexByQuotes()) this.indexByBytes();
    this.indexed = true;
  }

  /**
   * Indexes the tag from the quoted values the scanner found (see {@link quotes}): only the text between them, the
   * names, is read byte by byte. Where that text is not `name=` before the next quote, returns false before anything
   * differs from what indexByBytes would have refused so far: indexByBytes then reads the tag and says what is wrong.
   */
  private indexByQuotes(): boolean {
    const { buf, to, quotes } = this;
    let k = this.from;
    this.count = 0;
    this.names.fill(-1);
    for (let q = 0; ; q++) {
      while (k < to && isSpace(buf[k] as number)) k++;
      if (k >= to) return q === this.quoteCount;
      if (q === this.quoteCount) return false;
      const nameStart = k;
      while (k < to && buf[k] !== EQ && !isSpace(buf[k] as number)) k++;
      const nameEnd = k;
      while (k < to && isSpace(buf[k] as number)) k++;
      if (buf[k] !== EQ) return false;
      k++;
      while (k < to && isSpace(buf[k] as number)) k++;
      if (k !== quotes[2 * q]) return false;
      const end = quotes[2 * q + 1] as number;
      // The next `&` at or after the value (one memchr per stretch of the document without one).
      if (this.nextAmp !== -1 && this.nextAmp <= k) this.nextAmp = buf.indexOf(0x26, k + 1);
      const amp = this.nextAmp !== -1 && this.nextAmp < end;
      this.add(nameStart, nameEnd, k, end, !amp);
      k = end + 1;
    }
  }

  private indexByBytes(): void {
    const { buf, to, tag } = this;
    let k = this.from;
    this.count = 0;
    this.names.fill(-1);
    for (;;) {
      while (k < to && isSpace(buf[k] as number)) k++;
      if (k >= to) break;
      const nameStart = k;
      while (k < to && buf[k] !== EQ && !isSpace(buf[k] as number)) k++;
      const nameEnd = k;
      while (k < to && isSpace(buf[k] as number)) k++;
      if (buf[k] !== EQ) throw new XmlRefusal(`has an attribute ${buf.toString('utf8', nameStart, nameEnd)} without a value in <${tag}>`);
      k++;
      while (k < to && isSpace(buf[k] as number)) k++;
      const quote = buf[k];
      if (quote !== DQ && quote !== SQ) throw new XmlRefusal(`has an unquoted value for attribute ${buf.toString('utf8', nameStart, nameEnd)} of <${tag}>`);
      // Most values are short (ids, times, flags): look for the closing quote byte by byte before asking memchr.
      let end = k + 1;
      const near = Math.min(to, k + 65);
      let amp = false;
      for (let b = buf[end]; end < near && b !== quote; b = buf[++end]) amp ||= b === 0x26;
      const seenWhole = end < near;
      if (end === near) end = near === to ? -1 : buf.indexOf(quote, near);
      if (end === -1 || end > to) throw new XmlRefusal(`has an unterminated value for attribute ${buf.toString('utf8', nameStart, nameEnd)} of <${tag}>`);
      this.add(nameStart, nameEnd, k, end, seenWhole && !amp);
      k = end + 1;
    }
  }

  /**
   * Records attribute `this.count`: its name, and its value between the quotes at `quote` and `end`. `withoutAmp`:
   * the value certainly holds no `&`. Refuses a value too long to be within the limit, and a repeated name.
   */
  private add(nameStart: number, nameEnd: number, quote: number, end: number, withoutAmp: boolean): void {
    const buf = this.buf;
    // Bytes >= characters: this refuses nothing a character count would accept, before anything is decoded.
    if (end - quote - 1 > this.limits.maxAttributeLength * 3) {
      throw new XmlRefusal(`has an attribute ${buf.toString('utf8', nameStart, nameEnd)} of ${end - quote - 1} bytes, more than the limit of ${this.limits.maxAttributeLength} characters`);
    }
    if (4 * this.count + 4 > this.pos.length) {
      const grown = new Int32Array(Math.max(4 * 32, this.pos.length * 2));
      grown.set(this.pos);
      this.pos = grown;
      const flags = new Uint8Array(grown.length / 4);
      flags.set(this.shortWithoutAmp);
      this.shortWithoutAmp = flags;
    }
    const p = 4 * this.count;
    const length = nameEnd - nameStart;
    if (this.seenName(length === 0 ? 0 : nameKey(buf, nameStart, nameEnd), nameStart, length)) {
      throw new XmlRefusal(`has the attribute ${buf.toString('utf8', nameStart, nameEnd)} twice in <${this.tag}>`);
    }
    this.pos[p] = nameStart;
    this.pos[p + 1] = nameEnd;
    this.pos[p + 2] = quote + 1;
    this.pos[p + 3] = end;
    this.shortWithoutAmp[this.count] = withoutAmp && end - quote - 1 <= this.limits.maxAttributeLength ? 1 : 0;
    this.count++;
  }
}

/**
 * Scans `buf` (UTF-8, a leading BOM allowed). Throws {@link XmlScanError} for a malformed, truncated or hostile
 * document and {@link XmlRefusal} (from attribute decoding or the limits) for one it will not read.
 */
export function scanXml(buf: Buffer, limits: XmlLimits, visitor?: XmlVisitor): void {
  const fail = (msg: string, index: number, cut = false, hostile = false): never => {
    throw new XmlScanError({ msg, index, cut, hostile });
  };
  const stack: string[] = [];
  /** Per depth, the name of the last element opened there. */
  const siblingNames: string[] = [];
  const attributes = new TagAttributes(limits);
  /** The quoted values of the tag being scanned (opening and closing quote), while there are at most MAX_QUOTES. */
  const quotes = new Int32Array(2 * MAX_QUOTES);
  let quoteCount = 0;
  let elements = 0;
  let rootSeen = false;
  const start = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  // Next quote positions are cached: searching for a quote absent from the rest of a large file on every tag would
  // make the scan quadratic.
  let dqPos = buf.indexOf(DQ, start);
  let sqPos = buf.indexOf(SQ, start);
  let i = buf.indexOf(LT, start);
  if (i === -1) fail('no element found', 0);
  if (!onlySpace(buf, start, i)) fail('text before the first element', 0);
  while (i !== -1) {
    if (i + 1 >= buf.length) fail('the file ends inside a tag', i, true);
    const c = buf[i + 1] as number;
    // j: the first byte after the markup that starts at i.
    let j: number;
    if (c === BANG) j = skipDeclaration(i);
    else if (c === QUESTION) {
      const e = buf.indexOf('?>', i + 2, 'latin1');
      if (e === -1) fail('a processing instruction is not closed', i, true);
      j = e + 2;
    } else j = tag(i, c);
    const next = buf.indexOf(LT, j);
    const textEnd = next === -1 ? buf.length : next;
    if (stack.length === 0) {
      if (!onlySpace(buf, j, textEnd)) fail(rootSeen ? 'text after the root element' : 'text before the first element', j);
    } else if (visitor?.text && textEnd > j) {
      visitor.text(decodeEntities(buf.toString('utf8', j, textEnd)));
    }
    i = next;
  }
  if (stack.length > 0) {
    const n = stack.length;
    fail(`the file ends before </${stack[n - 1] ?? ''}> (${n} element${n === 1 ? '' : 's'} left open)`, buf.length, true);
  }
  if (!rootSeen) fail('no element found', 0);

  /** A comment or CDATA section (a DOCTYPE or any other declaration is refused). */
  function skipDeclaration(at: number): number {
    if (startsWith(buf, at, '<!--')) {
      const e = buf.indexOf('-->', at + 4, 'latin1');
      if (e === -1) fail('a comment is not closed', at, true);
      return e + 3;
    }
    if (startsWith(buf, at, '<![CDATA[')) {
      if (stack.length === 0) fail('CDATA outside the root element', at);
      const e = buf.indexOf(']]>', at + 9, 'latin1');
      if (e === -1) fail('a CDATA section is not closed', at, true);
      visitor?.text?.(buf.toString('utf8', at + 9, e));
      return e + 3;
    }
    if (startsWith(buf, at, '<!DOCTYPE') || startsWith(buf, at, '<!ENTITY')) {
      fail('contains a DOCTYPE or ENTITY declaration', at, false, true);
    }
    return fail('unexpected "<!" declaration', at);
  }

  /** A start or end tag; returns the position after its `>`. */
  function tag(at: number, c: number): number {
    const closing = c === SLASH;
    const nameStart = closing ? at + 2 : at + 1;
    let nameEnd = nameStart;
    while (nameEnd < buf.length) {
      const b = buf[nameEnd] as number;
      if (isSpace(b) || b === SLASH || b === GT) break;
      nameEnd++;
    }
    if (nameEnd >= buf.length) fail('the file ends inside a tag name', at, true);
    if (nameEnd === nameStart) fail('a "<" that does not start a tag', at);
    // An end tag most often repeats the open element's name, a start tag its previous sibling's: reuse those strings
    // rather than decode one per tag (three tags per restore point).
    const known = closing ? stack[stack.length - 1] : siblingNames[stack.length];
    const name = known !== undefined && isAsciiName(buf, nameStart, nameEnd, known) ? known : buf.toString('utf8', nameStart, nameEnd);
    // Find the end of the tag, skipping quoted attribute values (kept for TagAttributes, up to a bound).
    let j = nameEnd;
    quoteCount = 0;
    const tagLt = buf.indexOf(LT, j);
    let gt = buf.indexOf(GT, j);
    let selfClosing = false;
    for (;;) {
      if (gt !== -1 && gt < j) gt = buf.indexOf(GT, j);
      if (dqPos !== -1 && dqPos < j) dqPos = buf.indexOf(DQ, j);
      if (sqPos !== -1 && sqPos < j) sqPos = buf.indexOf(SQ, j);
      const q = dqPos !== -1 && (sqPos === -1 || dqPos < sqPos) ? dqPos : sqPos;
      if (gt === -1) fail(`the file ends inside the tag <${name}>`, at, true);
      if (q !== -1 && q < gt) {
        const e = buf.indexOf(buf[q] as number, q + 1);
        if (e === -1) fail(`an attribute value of <${name}> is not closed`, q, true);
        if (tagLt !== -1 && tagLt < e) fail(`"<" inside an attribute value of <${name}>`, tagLt);
        if (quoteCount >= 0 && quoteCount < MAX_QUOTES) {
          quotes[2 * quoteCount] = q;
          quotes[2 * quoteCount + 1] = e;
          quoteCount++;
        } else quoteCount = -1;
        j = e + 1;
        continue;
      }
      if (tagLt !== -1 && tagLt < gt) fail(`"<" inside the tag <${name}>`, tagLt);
      selfClosing = buf[gt - 1] === SLASH;
      j = gt + 1;
      break;
    }
    if (closing) {
      const open = stack.pop();
      if (open === undefined) fail(`end tag </${name}> without a start tag`, at);
      if (open !== name) fail(`end tag </${name}> does not match <${open}>`, at);
      visitor?.close?.(name, stack.length);
    } else {
      if (stack.length === 0) {
        if (rootSeen) fail('more than one root element', at);
        rootSeen = true;
      }
      if (++elements > limits.maxElements) {
        throw new XmlRefusal(`has more than ${limits.maxElements} elements; refusing to read further`);
      }
      const depth = stack.length;
      if (depth >= limits.maxDepth) throw new XmlRefusal(`has elements nested deeper than ${limits.maxDepth} levels`);
      if (visitor) {
        const attrEnd = selfClosing ? gt - 1 : gt;
        attributes.reset(buf, nameEnd, attrEnd, name, quotes, quoteCount);
        visitor.open(name, depth, attributes);
        if (selfClosing) visitor.close?.(name, depth);
      }
      siblingNames[depth] = name;
      if (!selfClosing) stack.push(name);
    }
    return j;
  }
}
