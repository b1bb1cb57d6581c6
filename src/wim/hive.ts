/**
 * Just enough of the Windows registry hive format ("regf") to read one string value, e.g. SYSTEM\Setup\CmdLine
 * (the program winlogon starts in Windows PE: normally winpeshl.exe). Layout facts from the public descriptions
 * of the format: a 4096-byte base block ("regf", root key cell offset at 0x24), then hive bins whose cells start
 * with a signed size (negative: in use); offsets are relative to the first bin (0x1000). Key cells ("nk") name their
 * subkey list (lf/lh/li, or ri of lists) and value list; value cells ("vk") hold small data in place or point to
 * a data cell. The hive comes from a boot image we did not make: every offset and count is checked, work bounded.
 */
import { InputError } from '../errors.js';

const BASE = 0x1000;
const MAX_LIST = 65_536;

class Hive {
  constructor(private readonly b: Buffer, private readonly name: string) {
    if (b.length < BASE + 32 || b.toString('latin1', 0, 4) !== 'regf') throw this.bad('no "regf" signature');
  }
  bad(why: string): InputError {
    return new InputError(`${this.name}: damaged registry hive (${why})`);
  }
  /** The data of the cell at `off` (relative to the first bin). */
  cell(off: number): Buffer {
    const at = BASE + off;
    if (off < 0 || at + 4 > this.b.length) throw this.bad(`cell offset ${off} out of range`);
    const size = Math.abs(this.b.readInt32LE(at));
    if (size < 8 || at + size > this.b.length) throw this.bad(`cell at ${off} has size ${size}`);
    return this.b.subarray(at + 4, at + size);
  }
  rootKey(): Buffer {
    return this.cell(this.b.readUInt32LE(0x24));
  }
  keyName(nk: Buffer): string {
    if (nk.toString('latin1', 0, 2) !== 'nk' || nk.length < 0x4c) throw this.bad('not a key cell');
    const len = nk.readUInt16LE(0x48);
    if (0x4c + len > nk.length) throw this.bad('key name runs past its cell');
    return nk.readUInt16LE(0x02) & 0x20 ? nk.toString('latin1', 0x4c, 0x4c + len) : nk.toString('utf16le', 0x4c, 0x4c + len);
  }
  /** Offsets of a key's subkeys. */
  subkeys(nk: Buffer): number[] {
    const count = nk.readUInt32LE(0x14);
    if (count === 0) return [];
    const out: number[] = [];
    const visit = (off: number, depth: number): void => {
      const list = this.cell(off);
      const sig = list.toString('latin1', 0, 2);
      const n = list.readUInt16LE(2);
      if (n > MAX_LIST) throw this.bad('subkey list too long');
      const step = sig === 'lf' || sig === 'lh' ? 8 : 4;
      if (4 + n * step > list.length) throw this.bad('subkey list runs past its cell');
      for (let i = 0; i < n; i++) {
        const o = list.readUInt32LE(4 + i * step);
        if (sig === 'ri') {
          if (depth > 0) throw this.bad('nested index lists');
          visit(o, depth + 1);
        } else if (sig === 'lf' || sig === 'lh' || sig === 'li') out.push(o);
        else throw this.bad(`unknown subkey list "${sig}"`);
        if (out.length > MAX_LIST) throw this.bad('too many subkeys');
      }
    };
    visit(nk.readUInt32LE(0x1c), 0);
    return out;
  }
  child(nk: Buffer, name: string): Buffer | undefined {
    const want = name.toUpperCase();
    for (const off of this.subkeys(nk)) {
      const c = this.cell(off);
      if (this.keyName(c).toUpperCase() === want) return c;
    }
    return undefined;
  }
  /** A string value (REG_SZ 1, REG_EXPAND_SZ 2) of key `nk`, or undefined. */
  stringValue(nk: Buffer, name: string): string | undefined {
    const count = nk.readUInt32LE(0x24);
    if (count === 0) return undefined;
    if (count > MAX_LIST) throw this.bad('too many values');
    const list = this.cell(nk.readUInt32LE(0x28));
    if (count * 4 > list.length) throw this.bad('value list runs past its cell');
    const want = name.toUpperCase();
    for (let i = 0; i < count; i++) {
      const vk = this.cell(list.readUInt32LE(i * 4));
      if (vk.toString('latin1', 0, 2) !== 'vk' || vk.length < 0x14) throw this.bad('not a value cell');
      const nlen = vk.readUInt16LE(2);
      if (0x14 + nlen > vk.length) throw this.bad('value name runs past its cell');
      const vname = vk.readUInt16LE(0x10) & 1 ? vk.toString('latin1', 0x14, 0x14 + nlen) : vk.toString('utf16le', 0x14, 0x14 + nlen);
      if (vname.toUpperCase() !== want) continue;
      const type = vk.readUInt32LE(0x0c);
      if (type !== 1 && type !== 2) return undefined;
      const rawSize = vk.readUInt32LE(0x04);
      const inline = (rawSize & 0x8000_0000) !== 0;
      const size = rawSize & 0x7fff_ffff;
      let data: Buffer;
      if (inline) data = vk.subarray(0x08, 0x08 + Math.min(size, 4));
      else {
        const cell = this.cell(vk.readUInt32LE(0x08));
        if (size > cell.length) return undefined; // big data ("db") is not needed for a command line
        data = cell.subarray(0, size);
      }
      return data.toString('utf16le', 0, data.length - (data.length % 2)).replace(/\0+$/, '');
    }
    return undefined;
  }
}

/** The string value at `keyPath` (e.g. `Setup`) / `value` (e.g. `CmdLine`) of a hive, or undefined. */
export function readHiveString(hive: Buffer, keyPath: string, value: string, name: string): string | undefined {
  try {
    return readString(new Hive(hive, name), keyPath, value);
  } catch (err) {
    if (err instanceof RangeError) throw new InputError(`${name}: damaged registry hive (${err.message})`);
    throw err;
  }
}

function readString(h: Hive, keyPath: string, value: string): string | undefined {
  let key: Buffer | undefined = h.rootKey();
  h.keyName(key);
  for (const part of keyPath.split('\\').filter(Boolean)) {
    key = h.child(key, part);
    if (!key) return undefined;
  }
  return h.stringValue(key, value);
}
