/**
 * A file's property dictionary (a metadata blob): entries of type, name and value until type -1. Types: 1 int32,
 * 2 uint64, 3 narrow string, 4 wide string, 5 binary, 6 boolean; strings and binaries carry a 32-bit length first.
 */
export interface Property {
  readonly name: string;
  readonly type: 'int' | 'uint64' | 'string' | 'binary' | 'bool';
  /** Numbers and booleans as such, strings as text, binaries as lowercase hex. */
  readonly value: number | string | boolean;
  /** Binaries: their length in bytes. */
  readonly bytes?: number;
}

const MAX_PROPERTIES = 4096;

export function parseProperties(b: Buffer, fail: (message: string) => Error): Property[] {
  const out: Property[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > b.length) throw fail(`entry ${out.length + 1} runs past the end of the dictionary`);
  };
  const chunk = (): Buffer => {
    need(4);
    const len = b.readUInt32LE(at);
    at += 4;
    need(len);
    const s = b.subarray(at, at + len);
    at += len;
    return s;
  };
  for (;;) {
    need(4);
    const type = b.readInt32LE(at);
    at += 4;
    if (type === -1) return out;
    if (out.length >= MAX_PROPERTIES) throw fail(`more than ${MAX_PROPERTIES} entries`);
    const name = chunk().toString('utf8');
    switch (type) {
      case 1:
        need(4);
        out.push({ name, type: 'int', value: b.readInt32LE(at) });
        at += 4;
        break;
      case 2:
        need(8);
        out.push({ name, type: 'uint64', value: Number(b.readBigUInt64LE(at)) });
        at += 8;
        break;
      case 3:
        out.push({ name, type: 'string', value: chunk().toString('utf8') });
        break;
      case 4:
        out.push({ name, type: 'string', value: chunk().toString('utf16le') });
        break;
      case 5: {
        const v = chunk();
        out.push({ name, type: 'binary', value: v.toString('hex'), bytes: v.length });
        break;
      }
      case 6:
        need(4);
        out.push({ name, type: 'bool', value: b.readInt32LE(at) !== 0 });
        at += 4;
        break;
      default:
        throw fail(`entry "${name}" has unknown type ${type}`);
    }
  }
}
