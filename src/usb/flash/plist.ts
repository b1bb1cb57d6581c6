/**
 * A small reader for XML property lists (what `diskutil ... -plist` prints): dict, array, string, integer, real,
 * true, false, date and data. Enough for diskutil's output; not a general XML parser (no DTD, no CDATA).
 */
export type PlistValue = string | number | boolean | Date | Buffer | PlistValue[] | { [key: string]: PlistValue };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

interface Token {
  kind: 'open' | 'close' | 'empty' | 'text';
  name: string;
  text: string;
}

function* tokens(xml: string): Generator<Token> {
  const re = /<(\/?)([A-Za-z][\w.-]*)[^>]*?(\/?)>|<\?[^>]*\?>|<!--[\s\S]*?-->|<![^>]*>|([^<]+)/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    if (m[4] !== undefined) {
      yield { kind: 'text', name: '', text: m[4] };
      continue;
    }
    if (!m[2]) continue; // declaration, comment, doctype
    const kind = m[1] ? 'close' : m[3] ? 'empty' : 'open';
    yield { kind, name: m[2], text: '' };
  }
}

/** Parses an XML plist document; throws Error (with what was expected) on anything it does not understand. */
export function parsePlist(xml: string): PlistValue {
  const it = tokens(xml);
  const next = (): Token | undefined => {
    for (;;) {
      const r = it.next();
      if (r.done) return undefined;
      if (r.value.kind === 'text' && r.value.text.trim() === '') continue;
      return r.value;
    }
  };
  const textUntil = (name: string): string => {
    let text = '';
    for (;;) {
      const r = it.next();
      if (r.done) throw new Error(`plist: <${name}> is not closed`);
      if (r.value.kind === 'text') text += r.value.text;
      else if (r.value.kind === 'close' && r.value.name === name) return unescapeXml(text);
      else throw new Error(`plist: unexpected <${r.value.name}> inside <${name}>`);
    }
  };
  const value = (t: Token | undefined): PlistValue => {
    if (!t) throw new Error('plist: unexpected end of document');
    if (t.kind === 'empty') {
      switch (t.name) {
        case 'true': return true;
        case 'false': return false;
        case 'string': return '';
        case 'dict': return {};
        case 'array': return [];
        case 'data': return Buffer.alloc(0);
        default: throw new Error(`plist: unknown element <${t.name}/>`);
      }
    }
    if (t.kind !== 'open') throw new Error(`plist: unexpected ${t.kind === 'text' ? `text "${t.text.trim().slice(0, 20)}"` : `</${t.name}>`}`);
    switch (t.name) {
      case 'string': return textUntil('string');
      case 'integer':
      case 'real': {
        const s = textUntil(t.name).trim();
        const n = Number(s);
        if (s === '' || !Number.isFinite(n)) throw new Error(`plist: bad number "${s}"`);
        return n;
      }
      case 'true': textUntil('true'); return true;
      case 'false': textUntil('false'); return false;
      case 'date': return new Date(textUntil('date').trim());
      case 'data': return Buffer.from(textUntil('data').replace(/\s+/g, ''), 'base64');
      case 'array': {
        const out: PlistValue[] = [];
        for (;;) {
          const n = next();
          if (n?.kind === 'close' && n.name === 'array') return out;
          out.push(value(n));
        }
      }
      case 'dict': {
        const out: { [key: string]: PlistValue } = {};
        for (;;) {
          const k = next();
          if (k?.kind === 'close' && k.name === 'dict') return out;
          if (k?.kind !== 'open' || k.name !== 'key') throw new Error('plist: expected <key> in <dict>');
          const key = textUntil('key');
          out[key] = value(next());
        }
      }
      case 'plist': {
        const v = value(next());
        const end = next();
        if (end?.kind !== 'close' || end.name !== 'plist') throw new Error('plist: expected </plist>');
        return v;
      }
      default:
        throw new Error(`plist: unknown element <${t.name}>`);
    }
  };
  return value(next());
}
