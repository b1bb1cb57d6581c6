/**
 * Hostile input for the ISO reader: a small valid bootable image (BIOS + UEFI El Torito entries, nested
 * directories) is written with our writer, then damaged at offsets found by decoding its own structures. Every
 * damaged variant must end in an IsoFormatError that names the file and says what is wrong, and the CLI must turn
 * it into exit code 2 with a one-line `error:` (no stack trace) and leave no output file behind.
 *
 * A bounded, deterministic fuzz test then mutates the image's structures (or cuts the file) many times: each run
 * must either open (and then walking the tree and streaming every file and boot image must finish) or end in an
 * IsoFormatError. It runs in a worker so that a hang, even a synchronous one, or a memory blowup is caught and
 * reported with the seed and iteration that reproduce it:
 *   LIFEBOAT_FUZZ_SEED=<seed> LIFEBOAT_FUZZ_ONLY=<ours|xorriso>:<iteration> node --import tsx --test test/integration/iso-hostile.test.ts
 * LIFEBOAT_FUZZ_ITERATIONS=<n> runs a longer campaign.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, after, before, describe, test } from 'node:test';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  type BootCatalog, IsoFormatError, IsoImage, type IsoEntry, PLATFORM_BIOS, PLATFORM_EFI, allFiles, newDir, newEntry, placeNode,
  writeIso,
} from '../../src/iso/index.js';
import { lifeboat } from '../helpers/cli.js';
import { hasCommand, mkTempDir, pseudoRandomBytes, removeTempDir, runChecked } from '../helpers/tools.js';

const SECTOR = 2048;
const DATE = new Date('2026-01-02T03:04:05Z');

// ---------------------------------------------------------------------------------------------------------------
// The base image

/** A FAT12 boot sector (and empty FATs) for a volume of `totalSectors` 512-byte sectors. */
function fatImage(totalSectors: number): Buffer {
  const b = Buffer.alloc(totalSectors * 512);
  b.set([0xeb, 0x3c, 0x90], 0);
  b.write('MSWIN4.1', 3, 'latin1');
  b.writeUInt16LE(512, 11); // bytes per sector
  b[13] = 1; // sectors per cluster
  b.writeUInt16LE(1, 14); // reserved sectors
  b[16] = 2; // FATs
  b.writeUInt16LE(224, 17); // root entries
  b.writeUInt16LE(totalSectors, 19);
  b[21] = 0xf0;
  b.writeUInt16LE(9, 22); // sectors per FAT
  b.writeUInt16LE(18, 24);
  b.writeUInt16LE(2, 26);
  b[38] = 0x29;
  b.write('NO NAME    FAT12   ', 43, 'latin1');
  b.writeUInt16LE(0xaa55, 510);
  for (const fat of [512, 512 + 9 * 512]) if (fat + 3 <= b.length) b.set([0xf0, 0xff, 0xff], fat);
  return b;
}

async function writeBaseIso(path: string): Promise<void> {
  const root = newDir('', DATE);
  const put = (isoPath: string, data: Buffer) =>
    placeNode(root, isoPath, { type: 'file', name: '', mtime: DATE, source: { kind: 'bytes', data, size: data.length } }, DATE);
  put('/readme.txt', Buffer.from('hello from the hostile test\n'));
  put('/empty.txt', Buffer.alloc(0));
  put('/dir1/a.txt', Buffer.from('a'.repeat(3000)));
  put('/dir1/sub/deep/file.bin', pseudoRandomBytes('hostile-deep', 5000));
  put('/dir2/b.dat', pseudoRandomBytes('hostile-b', 20_000));
  const bios = Buffer.alloc(SECTOR, 0x90);
  bios.writeUInt16LE(0xaa55, 510);
  const efi = fatImage(128);
  const catalog: BootCatalog = {
    platformId: PLATFORM_BIOS,
    id: Buffer.alloc(24),
    defaultEntry: newEntry(4),
    sections: [{ platformId: PLATFORM_EFI, id: Buffer.alloc(28), entries: [newEntry(Math.ceil(efi.length / 512))] }],
  };
  await writeIso(path, root, {
    volumeId: 'HOSTILE',
    date: DATE,
    boot: {
      catalog,
      images: [{ source: { kind: 'bytes', data: bios, size: bios.length } }, { source: { kind: 'bytes', data: efi, size: efi.length } }],
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Finding structures by decoding them (independently of the reader under test)

interface Rec {
  /** Absolute byte offset of the directory record in the image. */
  at: number;
  length: number;
  lba: number;
  size: number;
  flags: number;
  name: string;
}

interface Structures {
  sectors: number;
  pvd: number;
  bootRecord: number;
  svd: number;
  terminator: number;
  catalog: number;
  isoRoot: Rec;
  jolietRoot: Rec;
  /** Byte offsets of the load RBA fields of the default entry and the EFI section entry. */
  loadRbaAt: number[];
  /** Start of file data: everything before it is descriptors, path tables, directories, catalog and boot images. */
  firstFileLba: number;
}

function recordAt(b: Buffer, at: number, joliet: boolean): Rec {
  const nameLength = b[at + 32]!;
  const raw = b.subarray(at + 33, at + 33 + nameLength);
  const name = joliet && nameLength % 2 === 0 ? Buffer.from(raw).swap16().toString('utf16le') : raw.toString('latin1');
  return { at, length: b[at]!, lba: b.readUInt32LE(at + 2), size: b.readUInt32LE(at + 10), flags: b[at + 25]!, name };
}

/** The records of a directory, "." and ".." left out. */
function records(b: Buffer, dir: Rec, joliet: boolean): Rec[] {
  const out: Rec[] = [];
  const start = dir.lba * SECTOR;
  for (let o = start; o < start + dir.size; ) {
    if (b[o] === 0) {
      o = (Math.floor(o / SECTOR) + 1) * SECTOR;
      continue;
    }
    const r = recordAt(b, o, joliet);
    if (!(b[o + 32] === 1 && (b[o + 33] === 0 || b[o + 33] === 1))) out.push(r);
    o += r.length;
  }
  return out;
}

function lookup(b: Buffer, s: Structures, path: string, joliet = true): Rec {
  let node = joliet ? s.jolietRoot : s.isoRoot;
  for (const part of path.split('/').filter(Boolean)) {
    const next = records(b, node, joliet).find((r) => r.name.replace(/;1$/, '').toLowerCase() === part.toLowerCase());
    assert.ok(next, `test setup: no ${part} in ${path}`);
    node = next;
  }
  return node;
}

function structures(b: Buffer): Structures {
  const found: Record<number, number> = {};
  let terminator = -1;
  for (let s = 16; terminator < 0; s++) {
    assert.equal(b.toString('latin1', s * SECTOR + 1, s * SECTOR + 6), 'CD001', 'test setup: descriptor set');
    const type = b[s * SECTOR]!;
    if (type === 255) terminator = s;
    else found[type] ??= s;
  }
  const [pvd, bootRecord, svd] = [found[1]!, found[0]!, found[2]!];
  const catalog = b.readUInt32LE(bootRecord * SECTOR + 0x47);
  const c = catalog * SECTOR;
  assert.equal(b[c], 0x01, 'test setup: validation entry');
  assert.equal(b[c + 64], 0x91, 'test setup: one final section header');
  const loadRbaAt = [c + 32 + 8, c + 96 + 8];
  const isoRoot = recordAt(b, pvd * SECTOR + 156, false);
  const jolietRoot = recordAt(b, svd * SECTOR + 156, true);
  const s: Structures = {
    sectors: b.length / SECTOR, pvd, bootRecord, svd, terminator, catalog, isoRoot, jolietRoot, loadRbaAt, firstFileLba: 0,
  };
  s.firstFileLba = Math.min(...['/readme.txt', '/dir1/a.txt', '/dir2/b.dat', '/dir1/sub/deep/file.bin'].map((p) => lookup(b, s, p).lba));
  return s;
}

function setBoth32(b: Buffer, at: number, value: number): void {
  b.writeUInt32LE(value >>> 0, at);
  b.writeUInt32BE(value >>> 0, at + 4);
}

/** A Joliet directory record for a subdirectory. */
function jolietDirRecord(name: string, lba: number, size: number): Buffer {
  const id = Buffer.from(name, 'utf16le').swap16();
  const length = 33 + id.length + (id.length % 2 === 0 ? 1 : 0);
  const r = Buffer.alloc(length);
  r[0] = length;
  setBoth32(r, 2, lba);
  setBoth32(r, 10, size);
  r.set([126, 1, 2], 18); // 2026-01-02
  r[25] = 2; // directory
  r.writeUInt16LE(1, 28);
  r.writeUInt16BE(1, 30);
  r[32] = id.length;
  id.copy(r, 33);
  return r;
}

/** Where the records of the (single-sector) Joliet root end: room for more. */
function jolietRootEnd(b: Buffer, s: Structures): number {
  const last = records(b, s.jolietRoot, true).at(-1)!;
  return last.at + last.length;
}

// ---------------------------------------------------------------------------------------------------------------
// The hostile variants

interface HostileCase {
  name: string;
  /**
   * The damaged bytes, from a copy of the base image (`size`: then extended with zeros, sparse, to that size);
   * or a path (for the cases that are not files).
   */
  make: (b: Buffer, s: Structures, dir: string) => Buffer | { data: Buffer; size: number } | { path: string };
  /** Distinctive words the message must contain besides the path. */
  expect: RegExp[] | ((s: Structures) => RegExp[]);
}

const CASES: HostileCase[] = [
  // Not an ISO at all
  { name: 'an empty file', make: () => Buffer.alloc(0), expect: [/only 0 bytes long/, /too short/] },
  { name: 'random bytes', make: () => pseudoRandomBytes('hostile-random', 1 << 20), expect: [/not a usable ISO 9660 image/, /sector 16/, /CD001/] },
  { name: 'a FAT floppy image', make: () => fatImage(2880), expect: [/not a usable ISO 9660 image/, /sector 16/, /CD001/] },
  { name: 'a path that does not exist', make: (_b, _s, dir) => ({ path: join(dir, 'no-such-dir', 'nothing.iso') }), expect: [/no such file/] },
  { name: 'a directory instead of a file', make: (_b, _s, dir) => ({ path: dir }), expect: [/not a regular file/] },

  // Truncated
  { name: 'truncated inside the system area', make: (b) => b.subarray(0, 16 * SECTOR + 512), expect: [/too short to hold volume descriptors/] },
  { name: 'truncated before the descriptor set terminator', make: (b, s) => b.subarray(0, s.terminator * SECTOR), expect: [/terminator/, /truncated/] },
  { name: 'truncated inside the path tables', make: (b, s) => b.subarray(0, s.isoRoot.lba * SECTOR - 100), expect: [/past the end of the file/, /truncated/] },
  { name: 'truncated inside the directories', make: (b, s) => b.subarray(0, (s.jolietRoot.lba + 1) * SECTOR + 7), expect: [/past the end of the file/, /truncated/] },
  { name: 'truncated inside the EFI boot image', make: (b, s) => b.subarray(0, (s.firstFileLba - 3) * SECTOR), expect: [/claims \d+ bytes at sector \d+, past the end of the file/, /truncated/] },
  { name: 'truncated inside file data', make: (b, s) => b.subarray(0, (lookup(b, s, '/dir2/b.dat').lba + 3) * SECTOR), expect: [/claims \d+ bytes at sector \d+, past the end of the file/, /truncated/] },

  // The volume descriptor set
  {
    name: 'terminator replaced by a copy of the primary descriptor',
    make: (b, s) => (b.copy(b, s.terminator * SECTOR, s.pvd * SECTOR, (s.pvd + 1) * SECTOR), b),
    expect: (s) => [/no terminator/, new RegExp(`sector ${s.terminator + 1} is not a volume descriptor`)],
  },
  {
    name: 'terminator replaced by garbage',
    make: (b, s) => (pseudoRandomBytes('hostile-term', SECTOR).copy(b, s.terminator * SECTOR), b),
    expect: (s) => [/no terminator/, new RegExp(`sector ${s.terminator} is not a volume descriptor`)],
  },
  {
    name: 'more descriptors than the limit and no terminator',
    make: (b, s) => {
      const out = Buffer.concat([b, Buffer.alloc(80 * SECTOR)]);
      for (let i = s.terminator; i < s.terminator + 80; i++) out.set([3, ...Buffer.from('CD001'), 1], i * SECTOR);
      return out;
    },
    expect: [/no terminator within 64 sectors/],
  },
  { name: 'no primary volume descriptor', make: (b, s) => ((b[s.pvd * SECTOR] = 3), b), expect: [/no primary volume descriptor/] },
  {
    name: 'a primary descriptor whose root record is damaged',
    make: (b, s) => ((b[s.pvd * SECTOR + 156 + 32] = 200), b),
    expect: [/volume descriptor in sector 16 is damaged/, /name length 200/],
  },

  // Directory records
  {
    name: 'a directory record shorter than 34 bytes',
    make: (b, s) => ((b[records(b, s.jolietRoot, true)[0]!.at] = 20), b),
    expect: [/directory "\/"/, /record of length 20/, /does not fit/],
  },
  {
    name: 'a directory record longer than what is left of its directory',
    make: (b, s) => {
      const first = records(b, s.jolietRoot, true)[0]!;
      setBoth32(b, s.svd * SECTOR + 156 + 10, first.at - s.jolietRoot.lba * SECTOR + 10); // the root now ends inside it
      return b;
    },
    expect: [/directory "\/"/, /does not fit/],
  },
  {
    name: 'a name longer than its directory record',
    make: (b, s) => ((b[lookup(b, s, '/dir1/a.txt').at + 32] = 250), b),
    expect: [/directory "\/dir1"/, /name length 250/],
  },

  // Directory loops
  {
    name: 'a subdirectory pointing back to the root',
    make: (b, s) => (setBoth32(b, lookup(b, s, '/dir1').at + 2, s.jolietRoot.lba), b),
    expect: [/loops back/, /\/dir1"/],
  },
  {
    name: 'a subdirectory pointing to the directory that holds it',
    make: (b, s) => (setBoth32(b, lookup(b, s, '/dir1/sub').at + 2, lookup(b, s, '/dir1').lba), b),
    expect: [/loops back/, /\/dir1\/sub"/],
  },
  {
    name: 'a deep subdirectory pointing two levels up',
    make: (b, s) => (setBoth32(b, lookup(b, s, '/dir1/sub/deep').at + 2, lookup(b, s, '/dir1').lba), b),
    expect: [/loops back/, /\/dir1\/sub\/deep"/],
  },
  {
    name: 'a loop in the ISO 9660 tree of an image without Joliet',
    make: (b, s) => {
      b.fill(0, s.svd * SECTOR + 88, s.svd * SECTOR + 120); // no escape sequences: no longer Joliet
      setBoth32(b, lookup(b, s, '/dir2', false).at + 2, s.isoRoot.lba);
      return b;
    },
    expect: [/loops back/, /\/DIR2"/],
  },

  // El Torito
  {
    name: 'a boot catalog past the end of the file',
    make: (b, s) => (b.writeUInt32LE(0x7ffffff0, s.bootRecord * SECTOR + 0x47), b),
    expect: [/boot catalog points to sector 2147483632/, /past the end/],
  },
  {
    name: 'a boot catalog pointing at a sector that is not a catalog',
    make: (b, s) => (b.writeUInt32LE(s.pvd, s.bootRecord * SECTOR + 0x47), b),
    expect: [/boot catalog is damaged/, /validation entry/],
  },
  {
    name: 'a boot catalog with a wrong validation checksum',
    make: (b, s) => ((b[s.catalog * SECTOR + 4] = b[s.catalog * SECTOR + 4]! ^ 0x55), b),
    expect: [/boot catalog is damaged/, /checksum/],
  },
  {
    name: 'a boot entry with a bad indicator',
    make: (b, s) => ((b[s.loadRbaAt[1]! - 8] = 0x42), b),
    expect: [/boot catalog is damaged/, /indicator 0x42/],
  },
  {
    name: 'a boot section announcing more entries than the catalog holds',
    make: (b, s) => (b.writeUInt16LE(0xffff, s.catalog * SECTOR + 64 + 2), b),
    expect: [/boot catalog is damaged/, /boot entry at catalog byte 2048/],
  },
  {
    name: 'a default boot entry loading from past the end',
    make: (b, s) => (b.writeUInt32LE(0xffffffff, s.loadRbaAt[0]!), b),
    expect: [/El Torito entry 1 points to sector 4294967295/, /outside the image/],
  },
  {
    name: 'an EFI boot entry loading from past the end',
    make: (b, s) => (b.writeUInt32LE(s.sectors + 100, s.loadRbaAt[1]!), b),
    expect: [/El Torito entry 2 points to sector/, /outside the image/],
  },
  {
    name: 'an EFI boot image whose FAT claims more than the file holds',
    make: (b, s) => (b.writeUInt16LE(0, b.readUInt32LE(s.loadRbaAt[1]!) * SECTOR + 19), b.writeUInt32LE(0x7fffffff, b.readUInt32LE(s.loadRbaAt[1]!) * SECTOR + 32), b),
    expect: [/El Torito entry 2/, /extends past the end of the file/],
  },

  // Absurd extents
  {
    name: 'a file of 0xFFFFFFFF bytes',
    make: (b, s) => (setBoth32(b, lookup(b, s, '/dir2/b.dat').at + 10, 0xffffffff), b),
    expect: [/"b.dat" claims 4294967295 bytes/, /past the end of the file/],
  },
  {
    name: 'a file whose extent starts far past the end',
    make: (b, s) => (setBoth32(b, lookup(b, s, '/readme.txt').at + 2, 0x7fffffff), b),
    expect: [/"readme.txt" claims 28 bytes at sector 2147483647/, /past the end of the file/],
  },
  {
    name: 'a file whose extent starts in the system area',
    make: (b, s) => (setBoth32(b, lookup(b, s, '/dir1/a.txt').at + 2, 0), b),
    expect: [/"a.txt" claims 3000 bytes at sector 0/, /system area/],
  },
  {
    name: 'a damaged entry whose name holds a terminal escape',
    make: (b, s) => {
      const r = lookup(b, s, '/readme.txt');
      b.writeUInt16BE(0x1b, r.at + 33); // "\x1beadme.txt"
      setBoth32(b, r.at + 10, 0xfffffff0);
      return b;
    },
    expect: [/"\\x1beadme\.txt" claims 4294967280 bytes/],
  },
  {
    name: 'a directory of 0xFFFFFFFF bytes',
    make: (b, s) => (setBoth32(b, lookup(b, s, '/dir2').at + 10, 0xffffffff), b),
    expect: [/"dir2" claims 4294967295 bytes/],
  },
  {
    name: 'a root directory over the size limit',
    make: (b, s) => (setBoth32(b, s.svd * SECTOR + 156 + 10, 0x7ffff800), b),
    expect: [/directory "\/" claims 2147481600 bytes/, /limit/],
  },
  {
    name: 'a root directory larger than the file',
    make: (b, s) => (setBoth32(b, s.svd * SECTOR + 156 + 10, 16 << 20), b),
    expect: [/past the end of the file/],
  },
  {
    name: 'many directories each claiming 60 MiB',
    make: (b, s) => {
      const at = jolietRootEnd(b, s);
      const each = 60 << 20;
      for (let k = 0, o = at; k < 12; k++) o += jolietDirRecord(`big${k}`, s.sectors + k, each).copy(b, o);
      return { data: b, size: (s.sectors + 12) * SECTOR + each };
    },
    expect: [/directories add up to more than the limit of \d+ bytes/],
  },
  {
    name: 'directories nested deeper than the limit',
    make: (b, s) => {
      const levels = 300;
      const chain = Buffer.alloc(levels * SECTOR);
      for (let k = 0; k < levels; k++) jolietDirRecord('d', s.sectors + k + 1, SECTOR).copy(chain, k * SECTOR);
      setBoth32(b, lookup(b, s, '/dir2').at + 2, s.sectors);
      return Buffer.concat([b, chain]);
    },
    expect: [/nest deeper than 255 levels/],
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Fuzzing (runs in a worker; see the header)

interface FuzzJob {
  /** Which base, for messages and for LIFEBOAT_FUZZ_ONLY=<base>:<iteration>. */
  label: string;
  seed: number;
  iterations: number;
  only?: number;
  base: string;
  scratch: string;
}

type FuzzMessage =
  | { type: 'start'; i: number; what: string }
  | { type: 'done'; i: number; outcome: 'opened' | 'refused'; detail: string; rss: number }
  | { type: 'bad'; i: number; what: string; error: string }
  | { type: 'end' };

/** mulberry32: a tiny, well-mixed 32-bit PRNG; same seed, same sequence everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One iteration's damaged image and a description that says how it was made. */
function mutate(base: Buffer, firstFileLba: number, seed: number, i: number): { data: Buffer; what: string } {
  const rnd = prng((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const int = (n: number) => Math.floor(rnd() * n);
  if (rnd() < 0.12) {
    const cut = rnd() < 0.6 ? int(firstFileLba * SECTOR) : int(base.length);
    return { data: Buffer.from(base.subarray(0, cut)), what: `cut at byte ${cut}` };
  }
  const b = Buffer.from(base);
  const sectors = base.length / SECTOR;
  const what: string[] = [];
  for (let n = 1 + int(8); n > 0; n--) {
    // Mostly the structures (sectors 16 up to the file data), within the bytes they use; now and then the system area.
    const sector = rnd() < 0.05 ? int(16) : 16 + int(firstFileLba - 16);
    let used = SECTOR;
    while (used > 64 && base[sector * SECTOR + used - 1] === 0) used--;
    const at = sector * SECTOR + int(used);
    const kind = rnd();
    if (kind < 0.35) {
      b[at] = int(256);
      what.push(`byte ${at}=${b[at]}`);
    } else if (kind < 0.55) {
      b[at] = b[at]! ^ (1 << int(8));
      what.push(`byte ${at}^=bit`);
    } else if (kind < 0.7) {
      b[at] = rnd() < 0.5 ? 0 : 0xff;
      what.push(`byte ${at}=${b[at]}`);
    } else if (kind < 0.97) {
      const values = [0, 1, 16, 34, 2048, 0x7fffffff, 0x80000000, 0xffffffff, sectors - 1, sectors, sectors + 1, int(sectors), int(0x100000000)];
      const v = values[int(values.length)]!;
      const o = Math.min(at & ~1, b.length - 8);
      if (rnd() < 0.5) setBoth32(b, o, v);
      else b.writeUInt32LE(v >>> 0, o);
      what.push(`u32 ${o}=${v}`);
    } else {
      b.write('EFI PART', 512, 'latin1'); // a GPT header made of whatever follows
      b.writeUInt16LE(0xaa55, 510);
      what.push('gpt');
    }
  }
  return { data: b, what: what.join(', ') };
}

/** Opens one damaged image and reads everything it offers, as `iso inspect` and `iso remaster` would. */
async function exercise(path: string): Promise<string> {
  const image = await IsoImage.open(path);
  try {
    let bytes = 0;
    const visit = (e: IsoEntry): number => e.children.reduce((n, c) => n + 1 + (c.isDir ? visit(c) : 0), 0);
    const entries = visit(image.root);
    for (const f of allFiles(image.root)) for await (const chunk of image.stream(f.extents)) bytes += chunk.length;
    for (const b of image.bootImages) await image.sha256(b.lba * SECTOR, b.size);
    return `${entries} entries, ${bytes} bytes, ${image.bootImages.length} boot images`;
  } finally {
    await image.close();
  }
}

async function fuzzWorker(job: FuzzJob): Promise<void> {
  const post = (m: FuzzMessage) => parentPort!.postMessage(m);
  const base = await readFile(job.base);
  // Mutations go to the structures: sectors 16 up to the first file's data.
  const valid = await IsoImage.open(job.base);
  const firstFileLba = Math.min(...[...allFiles(valid.root)].filter((f) => f.size > 0).map((f) => f.extents[0]!.offset / SECTOR));
  await valid.close();
  const path = join(job.scratch, `fuzzed-${job.label}.iso`);
  const first = job.only ?? 0;
  const last = job.only ?? job.iterations - 1;
  for (let i = first; i <= last; i++) {
    const { data, what } = mutate(base, firstFileLba, job.seed, i);
    post({ type: 'start', i, what });
    await writeFile(path, data);
    try {
      const detail = await exercise(path);
      post({ type: 'done', i, outcome: 'opened', detail, rss: process.memoryUsage().rss });
    } catch (e) {
      if (!(e instanceof IsoFormatError)) {
        post({ type: 'bad', i, what, error: `${(e as Error)?.name ?? typeof e}: ${(e as Error)?.stack ?? String(e)}` });
      } else if (!e.message.includes(path)) {
        post({ type: 'bad', i, what, error: `IsoFormatError without the file's path: ${e.message}` });
      } else {
        post({ type: 'done', i, outcome: 'refused', detail: e.message.replace(`"${path}"`, 'F'), rss: process.memoryUsage().rss });
      }
    }
  }
  post({ type: 'end' });
}

if (!isMainThread && (workerData as { fuzz?: FuzzJob } | undefined)?.fuzz) {
  await fuzzWorker((workerData as { fuzz: FuzzJob }).fuzz);
}

/** Runs the fuzz job in a worker; rejects with the seed and iteration on a hang, a crash or a memory blowup. */
function runFuzz(job: FuzzJob, iterationTimeoutMs: number, maxRss: number): Promise<{ opened: number; refused: Map<string, number>; bad: string[] }> {
  const tsx = import.meta.resolve('tsx/esm/api');
  const self = import.meta.url;
  // The worker registers tsx itself (workers do not inherit --import hooks) and loads this file in worker mode.
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(self)}); })`;
  const worker = new Worker(code, { eval: true, workerData: { fuzz: job }, resourceLimits: { maxOldGenerationSizeMb: 512 } });
  const stats = { opened: 0, refused: new Map<string, number>(), bad: [] as string[] };
  let current: { i: number; what: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  const where = () => `${job.label} base, seed ${job.seed}, ${current ? `iteration ${current.i} (${current.what})` : 'before the first iteration'}`;
  return new Promise((resolve, reject) => {
    const stop = (why: string) => {
      clearTimeout(timer);
      void worker.terminate();
      const earlier = stats.bad.length > 0 ? `; before that:\n${stats.bad.join('\n')}` : '';
      reject(new Error(`fuzz: ${why} at ${where()}${earlier}`));
    };
    worker.on('message', (m: FuzzMessage) => {
      if (m.type === 'start') {
        current = { i: m.i, what: m.what };
        clearTimeout(timer);
        timer = setTimeout(() => stop(`no result within ${iterationTimeoutMs / 1000} s (a hang)`), iterationTimeoutMs);
      } else if (m.type === 'done') {
        clearTimeout(timer);
        if (m.outcome === 'opened') stats.opened++;
        else {
          const kind = m.detail.replace(/\d+/g, 'N').slice(0, 90);
          stats.refused.set(kind, (stats.refused.get(kind) ?? 0) + 1);
        }
        if (m.rss > maxRss) stop(`memory use reached ${Math.round(m.rss / 2 ** 20)} MiB`);
      } else if (m.type === 'bad') {
        clearTimeout(timer);
        stats.bad.push(`${job.label} base, seed ${job.seed}, iteration ${m.i} (${m.what}): ${m.error}`);
      } else {
        clearTimeout(timer);
        void worker.terminate();
        resolve(stats);
      }
    });
    worker.on('error', (e) => stop(`the worker died (${(e as Error).message})`));
    worker.on('exit', (code) => stop(`the worker exited with code ${code}`)); // after resolve() this is a no-op
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The tests

function hasStackTrace(text: string): boolean {
  return /\n\s+at \S+/.test(text) || /This is a bug/.test(text);
}

if (isMainThread) {
  describe('hostile ISO input', () => {
    let dir: string;
    let basePath: string;
    let base: Buffer;
    let s: Structures;

    before(async () => {
      dir = await mkTempDir('iso-hostile');
      basePath = join(dir, 'base.iso');
      await writeBaseIso(basePath);
      base = await readFile(basePath);
      s = structures(base);
    });
    after(() => removeTempDir(dir));

    test('the base image is valid: both boot entries, every file readable', async () => {
      assert.match(await exercise(basePath), /^9 entries, 28028 bytes, 2 boot images$/);
      const r = await lifeboat(['iso', 'inspect', basePath]);
      assert.equal(r.code, 0, r.stderr);
    });

    describe('each damaged image is refused with a clear IsoFormatError, by the API and the CLI', { concurrency: 6 }, () => {
      CASES.forEach((c, n) => {
        test(c.name, async () => {
          const made = c.make(Buffer.from(base), s, dir);
          let path: string;
          if ('path' in made) path = made.path;
          else {
            path = join(dir, `case-${n}.iso`);
            await writeFile(path, Buffer.isBuffer(made) ? made : made.data);
            if (!Buffer.isBuffer(made)) await truncate(path, made.size);
          }

          await assert.rejects(IsoImage.open(path), (e: unknown) => {
            assert.ok(e instanceof IsoFormatError, `expected an IsoFormatError, got ${(e as Error)?.stack ?? String(e)}`);
            assert.ok(e.message.includes(path), `the message names the file: ${e.message}`);
            for (const re of typeof c.expect === 'function' ? c.expect(s) : c.expect) assert.match(e.message, re);
            assert.doesNotMatch(e.message, /[\x00-\x1f\x7f-\x9f]/, 'no control characters from the image in the message');
            return true;
          });

          const out = join(dir, `out-${n}`);
          await mkdir(out);
          const [inspect, remaster] = await Promise.all([
            lifeboat(['iso', 'inspect', path], { timeoutMs: 60_000 }),
            lifeboat(['iso', 'remaster', '--base', path, '--out', join(out, 'new.iso')], { timeoutMs: 60_000 }),
          ]);
          for (const [what, r] of [['inspect', inspect], ['remaster', remaster]] as const) {
            assert.equal(r.code, 2, `${what}: exit code (stderr: ${r.stderr})`);
            assert.match(r.stderr, /error:/, what);
            assert.ok(r.stderr.includes(path), `${what}: stderr names the file: ${r.stderr}`);
            assert.ok(!hasStackTrace(r.stderr), `${what}: no stack trace: ${r.stderr}`);
            assert.doesNotMatch(r.stderr, /[\x00-\x09\x0b-\x1f\x7f]/, `${what}: no control characters on stderr`);
            assert.equal(r.stdout, '', `${what}: nothing on stdout`);
          }
          assert.deepEqual(await readdir(out), [], 'remaster leaves nothing at (or beside) --out');
        });
      });
    });

    test('damage that loses nothing is tolerated: a cut in the trailing padding, a zero-length file with a wild extent', async () => {
      const cut = join(dir, 'cut-in-padding.iso');
      await writeFile(cut, base.subarray(0, base.length - 20 * SECTOR));
      assert.match(await exercise(cut), /^9 entries, 28028 bytes, 2 boot images$/);
      const b = Buffer.from(base);
      setBoth32(b, lookup(b, s, '/empty.txt').at + 2, 0xfffffff0);
      const wild = join(dir, 'empty-wild.iso');
      await writeFile(wild, b);
      assert.match(await exercise(wild), /^9 entries, 28028 bytes, 2 boot images$/);
    });

    const fuzz = async (t: TestContext, label: string, basePath: string, iterations: number) => {
      const env = process.env;
      const only = env['LIFEBOAT_FUZZ_ONLY']?.split(':');
      if (only && only[0] !== label) return t.skip(`LIFEBOAT_FUZZ_ONLY=${only.join(':')}`);
      const job: FuzzJob = {
        label,
        seed: Number(env['LIFEBOAT_FUZZ_SEED'] ?? 0x1ec0b0a7),
        iterations: Number(env['LIFEBOAT_FUZZ_ITERATIONS'] ?? iterations),
        only: only ? Number(only[1]) : undefined,
        base: basePath,
        scratch: dir,
      };
      const started = performance.now();
      const stats = await runFuzz(job, 5_000, 1024 * 2 ** 20);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const refused = [...stats.refused.values()].reduce((a, b) => a + b, 0);
      t.diagnostic(`${label} base, seed ${job.seed}: ${stats.opened} opened, ${refused} refused, ${stats.bad.length} bad, in ${seconds} s`);
      for (const [kind, count] of [...stats.refused].sort((a, b) => b[1] - a[1]).slice(0, 8)) t.diagnostic(`  ${count} x ${kind}`);
      assert.deepEqual(stats.bad, [], 'every failure is an IsoFormatError naming the file');
      if (job.only === undefined) assert.ok(stats.opened > 0 && refused > 0, 'the mutations reach both outcomes');
    };

    test('fuzz (our image): mutated structures and cut files end in an open image or an IsoFormatError', { timeout: 120_000 }, (t) =>
      fuzz(t, 'ours', basePath, 400));

    test('fuzz (xorriso image with Rock Ridge, Joliet, El Torito)', { timeout: 120_000 }, async (t) => {
      if (!(await hasCommand('xorriso'))) return t.skip('xorriso is not installed');
      const tree = join(dir, 'rr-tree');
      for (const [rel, data] of [
        ['readme.txt', 'hello\n'], ['Mixed Case Name.txt', 'mixed\n'], ['dir1/a.txt', 'a'.repeat(3000)], ['dir1/sub/deep/file.bin', 'x'.repeat(5000)],
        ['boot/bios.img', Buffer.alloc(SECTOR, 0x90)], ['boot/efi.img', fatImage(128)],
      ] as const) {
        await mkdir(join(tree, rel, '..'), { recursive: true });
        await writeFile(join(tree, rel), data);
      }
      const rr = join(dir, 'rr.iso');
      await runChecked('xorriso', [
        '-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'RRBASE', '-b', 'boot/bios.img', '-no-emul-boot', '-boot-load-size', '4',
        '-eltorito-alt-boot', '-e', 'boot/efi.img', '-no-emul-boot', '-o', rr, tree,
      ]);
      const image = await IsoImage.open(rr);
      assert.equal(image.namespace, 'rockridge');
      await image.close();
      await fuzz(t, 'xorriso', rr, 300);
    });
  });
}
