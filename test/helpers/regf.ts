/**
 * Builds a tiny registry hive ("regf") holding one key with string values, for the Setup\CmdLine tests: a base
 * block, one hive bin, and the cells (root key, subkey list, key, value list, values, data) laid out as the format
 * describes. Names can be stored compressed (Latin-1) or as UTF-16LE, as real hives mix both.
 */
export function buildHive(key: string, values: Record<string, string>, opts: { utf16Names?: boolean } = {}): Buffer {
  const cells: Buffer[] = [];
  let next = 0x20; // first cell, after the bin header
  const alloc = (data: Buffer): number => {
    const size = Math.ceil((data.length + 4) / 8) * 8;
    const cell = Buffer.alloc(size);
    cell.writeInt32LE(-size, 0);
    data.copy(cell, 4);
    cells.push(cell);
    const at = next;
    next += size;
    return at;
  };
  const nameBytes = (n: string) => (opts.utf16Names ? Buffer.from(n, 'utf16le') : Buffer.from(n, 'latin1'));
  const nk = (name: string, subkeys: number, subkeyList: number, nvalues: number, valueList: number): Buffer => {
    const nb = nameBytes(name);
    const b = Buffer.alloc(0x4c + nb.length);
    b.write('nk', 0, 'latin1');
    b.writeUInt16LE(opts.utf16Names ? 0x0 : 0x20, 2);
    b.writeUInt32LE(subkeys, 0x14);
    b.writeUInt32LE(subkeyList, 0x1c);
    b.writeUInt32LE(nvalues, 0x24);
    b.writeUInt32LE(valueList, 0x28);
    b.writeUInt16LE(nb.length, 0x48);
    nb.copy(b, 0x4c);
    return b;
  };
  const valueOffsets: number[] = [];
  for (const [name, text] of Object.entries(values)) {
    const data = Buffer.from(`${text}\0`, 'utf16le');
    const dataAt = alloc(data);
    const nb = nameBytes(name);
    const vk = Buffer.alloc(0x14 + nb.length);
    vk.write('vk', 0, 'latin1');
    vk.writeUInt16LE(nb.length, 2);
    vk.writeUInt32LE(data.length, 4);
    vk.writeUInt32LE(dataAt, 8);
    vk.writeUInt32LE(1, 0x0c); // REG_SZ
    vk.writeUInt16LE(opts.utf16Names ? 0 : 1, 0x10);
    nb.copy(vk, 0x14);
    valueOffsets.push(alloc(vk));
  }
  const list = Buffer.alloc(valueOffsets.length * 4);
  valueOffsets.forEach((o, i) => list.writeUInt32LE(o, i * 4));
  const listAt = alloc(list);
  const keyAt = alloc(nk(key, 0, 0xffff_ffff, valueOffsets.length, listAt));
  const lf = Buffer.alloc(12);
  lf.write('lf', 0, 'latin1');
  lf.writeUInt16LE(1, 2);
  lf.writeUInt32LE(keyAt, 4);
  lf.write(key.slice(0, 4).padEnd(4, '\0'), 8, 'latin1');
  const lfAt = alloc(lf);
  const rootAt = alloc(nk('ROOT', 1, lfAt, 0, 0xffff_ffff));
  const bin = Buffer.concat([Buffer.alloc(0x20), ...cells]);
  const binSize = Math.ceil(bin.length / 4096) * 4096;
  const hbin = Buffer.alloc(binSize);
  bin.copy(hbin);
  hbin.write('hbin', 0, 'latin1');
  hbin.writeUInt32LE(binSize, 8);
  const base = Buffer.alloc(4096);
  base.write('regf', 0, 'latin1');
  base.writeUInt32LE(rootAt, 0x24);
  base.writeUInt32LE(binSize, 0x28);
  return Buffer.concat([base, hbin]);
}
