import assert from 'node:assert/strict';
import { copyFile, mkdir, open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { InputError } from '../../src/errors.js';
import { FatImage, walkFat, type FatEntry } from '../../src/usb/fat32-reader.js';
import { writeUsbImage, type UsbTreeEntry } from '../../src/usb/fat32.js';
import { encodeMbr } from '../../src/usb/mbr.js';
import { mkTempDir, pseudoRandomBytes, removeTempDir, runChecked, sha256, tempDirFor } from '../helpers/tools.js';

const MIB = 2 ** 20;
const CASE = { timeout: 15_000 };
/** mtools needs a UTF-8 locale for non-ASCII names. */
const MTOOLS_ENV = { ...process.env, LC_ALL: 'C.UTF-8', MTOOLS_SKIP_CHECK: '1' };

async function mtools(cmd: string, args: string[]): Promise<void> {
  await runChecked(cmd, args, { env: MTOOLS_ENV, timeoutMs: 30_000 });
}

async function mkfsFat(img: string, sizeKb: number, extra: string[] = []): Promise<void> {
  await runChecked('mkfs.fat', ['-F', '32', ...extra, '-C', img, String(sizeKb)], { timeoutMs: 30_000 });
}

/** Files of a test tree: path inside the volume -> contents. */
type Tree = Map<string, Buffer>;

/** Writes `tree` (and `emptyDirs`) below `dir` on the host. */
async function writeHostTree(dir: string, tree: Tree, emptyDirs: string[]): Promise<void> {
  for (const [path, data] of tree) {
    const host = join(dir, path);
    await mkdir(join(host, '..'), { recursive: true });
    await writeFile(host, data);
  }
  for (const d of emptyDirs) await mkdir(join(dir, d), { recursive: true });
}

/** Every path the tree implies (files, their parent directories, the empty directories). */
function expectedPaths(tree: Tree, emptyDirs: string[]): { files: string[]; dirs: string[] } {
  const dirs = new Set<string>(emptyDirs);
  for (const p of tree.keys()) {
    const parts = p.split('/').slice(1, -1);
    for (let i = 1; i <= parts.length; i++) dirs.add(`/${parts.slice(0, i).join('/')}`);
  }
  return { files: [...tree.keys()].sort(), dirs: [...dirs].sort() };
}

/** Asserts that the image holds exactly `tree` + `emptyDirs`, every file byte-equal. */
async function assertTree(img: FatImage, tree: Tree, emptyDirs: string[]): Promise<void> {
  const want = expectedPaths(tree, emptyDirs);
  const all = [...walkFat(img.root)];
  assert.deepEqual(all.filter((e) => !e.isDir).map((e) => e.path).sort(), want.files);
  assert.deepEqual(all.filter((e) => e.isDir).map((e) => e.path).sort(), want.dirs);
  for (const [path, data] of tree) {
    const e = img.find(path);
    assert.ok(e, `${path} not found`);
    assert.equal(e.path, path);
    assert.equal(e.size, data.length, path);
    assert.equal(await img.sha256(e), sha256(data), `${path} differs`);
  }
  for (const d of emptyDirs) assert.deepEqual(img.find(d)?.children, []);
}

async function rejectsInput(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.match(err.message, pattern);
    assert.equal(err.exitCode, 2);
    return true;
  });
}

async function readAll(img: FatImage, e: FatEntry): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of img.stream(e)) parts.push(c);
  return Buffer.concat(parts);
}

// -- raw FAT access for building damaged images ------------------------------------------------------------------

interface RawBpb {
  bytesPerSector: number;
  clusterBytes: number;
  fatOffsets: number[];
  dataOffset: number;
  rootCluster: number;
}

async function rawBpb(path: string, partitionOffset = 0): Promise<RawBpb> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(512);
    await fh.read(b, 0, 512, partitionOffset);
    const bps = b.readUInt16LE(11);
    const reserved = b.readUInt16LE(14);
    const fats = b[16]!;
    const fatSize = b.readUInt32LE(36);
    return {
      bytesPerSector: bps,
      clusterBytes: bps * b[13]!,
      fatOffsets: Array.from({ length: fats }, (_, i) => partitionOffset + (reserved + i * fatSize) * bps),
      dataOffset: partitionOffset + (reserved + fats * fatSize) * bps,
      rootCluster: b.readUInt32LE(44),
    };
  } finally {
    await fh.close();
  }
}

async function patch(path: string, offset: number, bytes: Buffer): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, offset);
  } finally {
    await fh.close();
  }
}

async function readFatEntry(path: string, bpb: RawBpb, cluster: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, bpb.fatOffsets[0]! + cluster * 4);
    return b.readUInt32LE(0) & 0x0fffffff;
  } finally {
    await fh.close();
  }
}

/** Sets FAT entry `cluster` to `value` in every FAT copy. */
async function setFat(path: string, bpb: RawBpb, cluster: number, value: number): Promise<void> {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0, 0);
  for (const off of bpb.fatOffsets) await patch(path, off + cluster * 4, b);
}

/** Image offset of the directory entry with 11-byte short name `short11` in the directory at `dirCluster`. */
async function dirEntryOffset(path: string, bpb: RawBpb, dirCluster: number, short11: string): Promise<number> {
  const base = bpb.dataOffset + (dirCluster - 2) * bpb.clusterBytes;
  const buf = Buffer.alloc(bpb.clusterBytes);
  const fh = await open(path, 'r');
  await fh.read(buf, 0, buf.length, base).finally(() => fh.close());
  for (let off = 0; off < buf.length; off += 32) {
    if (buf.toString('latin1', off, off + 11) === short11) return base + off;
  }
  throw new Error(`no entry ${short11}`);
}

/** The clusters of a chain, read raw (for checking how mtools laid a file out). */
async function rawChain(path: string, bpb: RawBpb, first: number): Promise<number[]> {
  const out = [first];
  let c = first;
  for (;;) {
    const next = await readFatEntry(path, bpb, c);
    if (next >= 0x0ffffff8 || out.length > 100_000) return out;
    out.push(next);
    c = next;
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe('FAT32 reader: images from our writer', () => {
  const tree: Tree = new Map([
    ['/EFI/BOOT/BOOTX64.EFI', pseudoRandomBytes('bootx64', 70_001)],
    ['/sources/boot.wim', pseudoRandomBytes('boot.wim', 6 * MIB + 123)],
    ['/README.TXT', Buffer.from('plain 8.3 name\n')],
    ['/lower.txt', Buffer.from('lower case 8.3 name, stored with an LFN\n')],
    ['/Mixed Case Name With Spaces And More Than 26 Characters.txt', Buffer.from('long name')],
    ['/Ελληνικά/αρχείο κειμένου.txt', Buffer.from('Greek')],
    ['/日本語/ファイル名がとても長い名前です.bin', pseudoRandomBytes('jp', 1500)],
    ['/a/b/c/d/e/f/g/h/i/j/deep file.txt', Buffer.from('deep')],
    ['/empty.txt', Buffer.alloc(0)],
  ]);
  const emptyDirs = ['/Empty Dir', '/a/b/also empty'];
  let imgPath = '';

  let dir = '';
  before(async () => {
    dir = await mkTempDir('fat-reader-own');
    imgPath = join(dir, 'usb.img');
    const entries: UsbTreeEntry[] = [
      ...[...tree].map(([path, data]) => ({
        path,
        size: data.length,
        source: async function* () {
          // odd chunk sizes so the writer's buffering is exercised too
          for (let i = 0; i < data.length; i += 777_777) yield data.subarray(i, i + 777_777);
        },
      })),
      ...emptyDirs.map((path) => ({ path, directory: true as const })),
    ];
    await writeUsbImage(entries, imgPath, { seed: 'reader-test', label: 'LB TEST', marginBytes: 0 });
  });
  after(() => removeTempDir(dir));

  it('lists every file and directory with its long name and reads every file byte-equal', CASE, async () => {
    const img = await FatImage.open(imgPath);
    try {
      assert.equal(img.partitionOffset, MIB);
      assert.equal(img.label, 'LB TEST');
      assert.equal(img.clusterBytes, 512);
      assert.equal(img.root.path, '/');
      await assertTree(img, tree, emptyDirs);
    } finally {
      await img.close();
    }
  });

  it('finds entries case-insensitively with either separator', CASE, async () => {
    const img = await FatImage.open(imgPath);
    try {
      assert.equal(img.find('\\efi\\boot\\bootx64.efi')?.path, '/EFI/BOOT/BOOTX64.EFI');
      assert.equal(img.find('/SOURCES//Boot.WIM')?.path, '/sources/boot.wim');
      assert.equal(img.find('/ελληνικά/ΑΡΧΕΊΟ ΚΕΙΜΈΝΟΥ.TXT')?.path, '/Ελληνικά/αρχείο κειμένου.txt');
      assert.equal(img.find('/'), img.root);
      assert.equal(img.find(''), img.root);
      assert.equal(img.find('/nope'), undefined);
      assert.equal(img.find('/README.TXT/x'), undefined);
      const efi = img.find('/EFI');
      assert.ok(efi?.isDir);
      await rejectsInput(img.sha256(efi), /"[^"]+usb\.img": \/EFI is a directory/);
    } finally {
      await img.close();
    }
  });

  it('reads contiguous clusters in large chunks and honours a small chunk size', CASE, async () => {
    const img = await FatImage.open(imgPath);
    try {
      const wim = img.find('/sources/boot.wim')!;
      const big: number[] = [];
      for await (const c of img.stream(wim)) big.push(c.length);
      assert.deepEqual(big, [4 * MIB, 2 * MIB + 123]);
      const small: Buffer[] = [];
      for await (const c of img.stream(wim, 100_000)) {
        assert.ok(c.length <= 100_000);
        small.push(c);
      }
      assert.equal(sha256(Buffer.concat(small)), sha256(tree.get('/sources/boot.wim')!));
      // stopping early leaves nothing dangling
      for await (const c of img.stream(wim, 4096)) {
        assert.equal(c.length, 4096);
        break;
      }
    } finally {
      await img.close();
    }
  });

  it('reads the same with a paged FAT and with an explicit partition offset', CASE, async () => {
    const img = await FatImage.open(imgPath, { partitionOffset: MIB, maxFatInMemory: 0 });
    try {
      await assertTree(img, tree, emptyDirs);
    } finally {
      await img.close();
    }
  });

  it('yields directories before their children, depth first', CASE, async () => {
    const img = await FatImage.open(imgPath);
    try {
      const order = [...walkFat(img.root)].map((e) => e.path);
      for (const [i, p] of order.entries()) {
        const parent = p.slice(0, p.lastIndexOf('/'));
        if (parent) assert.ok(order.indexOf(parent) < i, `${parent} after ${p}`);
      }
      const a = order.indexOf('/a');
      const deep = order.indexOf('/a/b/c/d/e/f/g/h/i/j/deep file.txt');
      assert.ok(order.slice(a, deep + 1).every((p) => p.startsWith('/a')), 'depth first');
    } finally {
      await img.close();
    }
  });
});

describe('FAT32 reader: images made by dosfstools and mtools', () => {
  const tree: Tree = new Map([
    ['/EFI/BOOT/BOOTX64.EFI', pseudoRandomBytes('m-boot', 40_000)],
    ['/lower.txt', Buffer.from('NT lower-case flag for the base and extension')],
    ['/lowerdir/UPPER.TXT', Buffer.from('inside a lower-case 8.3 directory')],
    ['/MixedCase.Txt', Buffer.from('mixed')],
    ['/A long name that needs three LFN entries, really.dat', pseudoRandomBytes('m-long', 3000)],
    ['/Ελληνικά αρχεία/Καλημέρα κόσμε.txt', Buffer.from('Γειά σου')],
    ['/日本語/ファイル名.txt', Buffer.from('こんにちは')],
    ['/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/deep.bin', pseudoRandomBytes('m-deep', 1234)],
    ['/empty', Buffer.alloc(0)],
    ['/big/several.mib', pseudoRandomBytes('m-big', 3 * MIB + 7)],
  ]);
  const emptyDirs = ['/Empty Directory'];

  it('reads a superfloppy made by mkfs.fat and filled by mcopy -s', CASE, async (t) => {
    const dir = await tempDirFor(t, 'fat-reader-mkfs');
    const src = join(dir, 'src');
    await writeHostTree(src, tree, emptyDirs);
    const img = join(dir, 'mkfs.img');
    await mkfsFat(img, 40_000, ['-n', 'MKFSVOL']);
    const top = [...new Set([...expectedPaths(tree, emptyDirs).files, ...emptyDirs].map((p) => p.split('/')[1]!))];
    await mtools('mcopy', ['-s', '-i', img, ...top.map((n) => join(src, n)), '::/']);
    const fat = await FatImage.open(img);
    try {
      assert.equal(fat.partitionOffset, 0);
      assert.equal(fat.label, 'MKFSVOL');
      await assertTree(fat, tree, emptyDirs);
      assert.equal(fat.find('/lower.txt')?.name, 'lower.txt');
      assert.equal(fat.find('/LOWERDIR')?.name, 'lowerdir');
    } finally {
      await fat.close();
    }
  });

  it('reads an mformat volume inside an MBR partition made by sfdisk', CASE, async (t) => {
    const dir = await tempDirFor(t, 'fat-reader-mformat');
    const src = join(dir, 'src');
    const small: Tree = new Map([...tree].filter(([p]) => !p.startsWith('/big/')));
    await writeHostTree(src, small, emptyDirs);
    const img = join(dir, 'disk.img');
    await writeFile(img, '');
    await truncate(img, 41 * MIB);
    await runChecked('sfdisk', ['-q', img], { input: 'start=2048, type=c\n', timeoutMs: 30_000 });
    await mtools('mformat', ['-i', `${img}@@1M`, '-F', '-v', 'MFORMAT', '::']);
    const top = [...new Set([...small.keys(), ...emptyDirs].map((p) => p.split('/')[1]!))];
    await mtools('mcopy', ['-s', '-i', `${img}@@1M`, ...top.map((n) => join(src, n)), '::/']);
    const fat = await FatImage.open(img);
    try {
      assert.equal(fat.partitionOffset, MIB);
      assert.equal(fat.label, 'MFORMAT');
      await assertTree(fat, small, emptyDirs);
    } finally {
      await fat.close();
    }
  });

  it('reads a volume with 4 KiB sectors', CASE, async (t) => {
    const dir = await tempDirFor(t, 'fat-reader-4k');
    const src = join(dir, 'src');
    const small: Tree = new Map([...tree].filter(([p]) => !p.startsWith('/big/')));
    await writeHostTree(src, small, emptyDirs);
    const img = join(dir, '4k.img');
    await mkfsFat(img, 270_000, ['-S', '4096', '-s', '1']);
    const top = [...new Set([...small.keys(), ...emptyDirs].map((p) => p.split('/')[1]!))];
    await mtools('mcopy', ['-s', '-i', img, ...top.map((n) => join(src, n)), '::/']);
    const fat = await FatImage.open(img);
    try {
      assert.equal(fat.clusterBytes, 4096);
      await assertTree(fat, small, emptyDirs);
    } finally {
      await fat.close();
    }
  });

  it('follows a fragmented file (holes left by mdel)', CASE, async (t) => {
    const dir = await tempDirFor(t, 'fat-reader-frag');
    const img = join(dir, 'frag.img');
    await mkfsFat(img, 34_000);
    const files: string[] = [];
    for (let i = 0; i < 12; i++) {
      const f = join(dir, `f${String(i).padStart(2, '0')}.bin`);
      await writeFile(f, pseudoRandomBytes(`frag${i}`, 8192));
      files.push(f);
    }
    await mtools('mcopy', ['-i', img, ...files, '::/']);
    await mtools('mdel', ['-i', img, ...[0, 2, 4, 6, 8].map((i) => `::/f${String(i).padStart(2, '0')}.bin`)]);
    // mtools allocates from the FSINFO next-free hint; point it at cluster 2 so the holes are filled first
    const hint = Buffer.alloc(4);
    hint.writeUInt32LE(2, 0);
    await patch(img, 512 + 492, hint);
    const bigData = pseudoRandomBytes('frag-big', 60_000);
    await writeFile(join(dir, 'fragmented.bin'), bigData);
    await mtools('mcopy', ['-i', img, join(dir, 'fragmented.bin'), '::/']);

    const bpb = await rawBpb(img);
    for (const mode of [{}, { maxFatInMemory: 0 }]) {
      const fat = await FatImage.open(img, mode);
      try {
        const e = fat.find('/FRAGMENTED.BIN')!;
        const chain = await rawChain(img, bpb, e.firstCluster);
        const jumps = chain.filter((c, i) => i > 0 && c !== chain[i - 1]! + 1).length;
        assert.ok(jumps >= 2, `expected a fragmented file, chain has ${jumps} jumps`);
        assert.equal(sha256(await readAll(fat, e)), sha256(bigData));
        assert.equal(await fat.sha256(e), sha256(bigData));
        for (const i of [1, 3, 5, 7, 9, 10, 11]) {
          const name = `f${String(i).padStart(2, '0')}.bin`;
          assert.equal(await fat.sha256(fat.find(name)!), sha256(pseudoRandomBytes(`frag${i}`, 8192)));
        }
        assert.equal(fat.find('f00.bin'), undefined, 'deleted entries are skipped');
      } finally {
        await fat.close();
      }
    }
  });
});

describe('FAT32 reader: damaged and hostile input', () => {
  let dir = '';
  let base = '';
  let bpb: RawBpb;
  const bigData = pseudoRandomBytes('hostile-big', 40 * 512);
  const subData = pseudoRandomBytes('hostile-sub', 1000);
  let n = 0;

  before(async () => {
    dir = await mkTempDir('fat-reader-hostile');
    base = join(dir, 'base.img');
    await mkfsFat(base, 34_000);
    await writeFile(join(dir, 'BIG.BIN'), bigData);
    await mkdir(join(dir, 'SUB'));
    await writeFile(join(dir, 'SUB', 'FILE.BIN'), subData);
    // a directory with more than one cluster of entries (512-byte clusters hold 16)
    await mkdir(join(dir, 'MANY'));
    for (let i = 0; i < 40; i++) await writeFile(join(dir, 'MANY', `F${i}.TXT`), `${i}`);
    await writeFile(join(dir, 'Long Name File.txt'), 'long');
    const top = ['BIG.BIN', 'SUB', 'MANY', 'Long Name File.txt'].map((f) => join(dir, f));
    await mtools('mcopy', ['-s', '-i', base, ...top, '::/']);
    bpb = await rawBpb(base);
  });

  /** A fresh copy of the base image, and its FAT entries of interest. */
  async function copy(): Promise<{ img: string; big: FatEntry; sub: FatEntry; many: FatEntry }> {
    const img = join(dir, `case${n++}.img`);
    await copyFile(base, img);
    const fat = await FatImage.open(img);
    try {
      return { img, big: fat.find('/BIG.BIN')!, sub: fat.find('/SUB')!, many: fat.find('/MANY')! };
    } finally {
      await fat.close();
    }
  }

  /** Opens `img` and reads every file; resolves when everything is fine. */
  async function readEverything(img: string, opts = {}): Promise<void> {
    const fat = await FatImage.open(img, opts);
    try {
      for (const e of walkFat(fat.root)) if (!e.isDir) await fat.sha256(e);
    } finally {
      await fat.close();
    }
  }

  it('reads the undamaged base image', CASE, async () => {
    const { img } = await copy();
    const fat = await FatImage.open(img);
    try {
      assert.equal(await fat.sha256(fat.find('/BIG.BIN')!), sha256(bigData));
      assert.equal(await fat.sha256(fat.find('/sub/file.bin')!), sha256(subData));
      assert.equal(fat.find('/MANY')!.children.length, 40);
    } finally {
      await fat.close();
    }
  });

  it('reports a cluster chain loop (whole and paged FAT)', CASE, async () => {
    const { img, big } = await copy();
    await setFat(img, bpb, big.firstCluster + 10, big.firstCluster + 3);
    const msg = new RegExp(`^"${img.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": the cluster chain of /BIG\\.BIN loops at cluster ${big.firstCluster + 3}\\.$`);
    await rejectsInput(readEverything(img), msg);
    await rejectsInput(readEverything(img, { maxFatInMemory: 0 }), msg);
  });

  it('reports a one-cluster self loop', CASE, async () => {
    const { img, big } = await copy();
    await setFat(img, bpb, big.firstCluster, big.firstCluster);
    await rejectsInput(readEverything(img), /the cluster chain of \/BIG\.BIN loops at cluster \d+/);
  });

  it('reports a chain pointing past the FAT', CASE, async () => {
    const { img, big } = await copy();
    await setFat(img, bpb, big.firstCluster + 5, 0x0ffffff0);
    await rejectsInput(readEverything(img), /the cluster chain of \/BIG\.BIN points past the end of the FAT: cluster \d+ links to 268435440/);
  });

  it('reports a chain that runs into a free or bad cluster', CASE, async () => {
    const { img, big } = await copy();
    await setFat(img, bpb, big.firstCluster + 5, 0);
    await rejectsInput(readEverything(img), /the cluster chain of \/BIG\.BIN runs into cluster \d+, which the FAT marks as free/);
    await setFat(img, bpb, big.firstCluster + 5, 0x0ffffff7);
    await rejectsInput(readEverything(img), /marks as bad/);
  });

  it('reports a file size larger (and smaller) than its cluster chain', CASE, async () => {
    const { img } = await copy();
    const off = await dirEntryOffset(img, bpb, bpb.rootCluster, 'BIG     BIN');
    const size = Buffer.alloc(4);
    size.writeUInt32LE(bigData.length + 100_000, 0);
    await patch(img, off + 28, size);
    await rejectsInput(readEverything(img), /\/BIG\.BIN is larger than its cluster chain: the chain ends after 40 cluster\(s\)/);
    size.writeUInt32LE(100, 0);
    await patch(img, off + 28, size);
    await rejectsInput(readEverything(img), /the cluster chain of \/BIG\.BIN is longer than the file/);
  });

  it('reports a first cluster outside the volume', CASE, async () => {
    const { img } = await copy();
    const off = await dirEntryOffset(img, bpb, bpb.rootCluster, 'BIG     BIN');
    await patch(img, off + 20, Buffer.from([0xff, 0x0f]));
    await rejectsInput(readEverything(img), /\/BIG\.BIN starts at cluster \d+, outside the volume/);
  });

  it('reports a directory whose cluster chain loops', CASE, async () => {
    const { img, many } = await copy();
    const chain = await rawChain(img, bpb, many.firstCluster);
    assert.ok(chain.length >= 2);
    await setFat(img, bpb, chain[chain.length - 1]!, many.firstCluster);
    await rejectsInput(FatImage.open(img), /the cluster chain of directory \/MANY loops at cluster \d+/);
    const { img: img2, sub } = await copy();
    await setFat(img2, bpb, sub.firstCluster, sub.firstCluster);
    await rejectsInput(FatImage.open(img2), /the cluster chain of directory \/SUB loops at cluster \d+/);
  });

  it('reports a directory that points back at the root (a directory loop)', CASE, async () => {
    const { img } = await copy();
    const off = await dirEntryOffset(img, bpb, bpb.rootCluster, 'SUB        ');
    const c = Buffer.alloc(2);
    c.writeUInt16LE(bpb.rootCluster, 0);
    await patch(img, off + 26, c);
    await rejectsInput(FatImage.open(img), /directory \/SUB loops: it starts at cluster 2, which is already the root directory/);
  });

  it('reports a damaged directory entry name', CASE, async () => {
    const { img } = await copy();
    const off = await dirEntryOffset(img, bpb, bpb.rootCluster, 'SUB        ');
    await patch(img, off, Buffer.from('S/B'));
    await rejectsInput(FatImage.open(img), /the root directory has a damaged entry \(number \d+\): the entry's name "S\/B {8}" is not a valid 8\.3 name/);
  });

  it('falls back to the 8.3 name when the long name is broken', CASE, async () => {
    const { img } = await copy();
    const fat = await FatImage.open(img);
    assert.equal(fat.find('/long name file.txt')?.name, 'Long Name File.txt');
    await fat.close();
    const off = await dirEntryOffset(img, bpb, bpb.rootCluster, 'LONGNA~1TXT');
    const lfn1 = Buffer.alloc(32);
    const fh = await open(img, 'r');
    await fh.read(lfn1, 0, 32, off - 32);
    await fh.close();
    assert.equal(lfn1[11], 0x0f);
    assert.equal(lfn1[0], 1);
    // a wrong checksum in the LFN entry next to the short entry
    await patch(img, off - 32 + 13, Buffer.from([(lfn1[13]! + 1) & 0xff]));
    const broken = await FatImage.open(img);
    try {
      assert.equal(broken.find('/Long Name File.txt'), undefined);
      assert.equal(await broken.sha256(broken.find('/LONGNA~1.TXT')!), sha256('long'));
    } finally {
      await broken.close();
    }
    // a missing part (the entry deleted) breaks the sequence too
    await patch(img, off - 32, Buffer.concat([Buffer.from([0xe5]), lfn1.subarray(1)]));
    const gap = await FatImage.open(img);
    assert.equal(gap.find('/Long Name File.txt'), undefined);
    assert.ok(gap.find('/LONGNA~1.TXT'));
    await gap.close();
  });

  it('reports a FAT32 volume larger than its MBR partition', CASE, async () => {
    const disk = join(dir, 'small-partition.img');
    const volume = await readFile(base);
    const mbr = encodeMbr({ diskSignature: 1, partition: { active: true, type: 0x0c, startLba: 2048, sectorCount: 20_000 } });
    await writeFile(disk, Buffer.concat([mbr, Buffer.alloc(MIB - mbr.length), volume]));
    await rejectsInput(FatImage.open(disk), /the FAT32 volume \(34816000 bytes\) is larger than its MBR partition \(10240000 bytes\)/);
    // with the partition offset given explicitly the MBR is not consulted
    const fat = await FatImage.open(disk, { partitionOffset: MIB });
    assert.equal(await fat.sha256(fat.find('/BIG.BIN')!), sha256(bigData));
    await fat.close();
  });

  it('reports a truncated image', CASE, async () => {
    const { img } = await copy();
    await truncate(img, 20 * MIB);
    await rejectsInput(FatImage.open(img), /the image is truncated: the FAT32 volume ends at byte 34816000 but the image has only 20971520 bytes/);
    await truncate(img, 100);
    await rejectsInput(FatImage.open(img), /only 100 bytes/);
  });

  it('rejects random bytes, an empty file, a missing file and a directory', CASE, async () => {
    const rnd = join(dir, 'random.img');
    await writeFile(rnd, pseudoRandomBytes('random image', 4 * MIB));
    await rejectsInput(FatImage.open(rnd), /random\.img": neither an MBR nor a FAT32 boot sector/);
    const empty = join(dir, 'empty.img');
    await writeFile(empty, '');
    await rejectsInput(FatImage.open(empty), /empty\.img": only 0 bytes/);
    await rejectsInput(FatImage.open(join(dir, 'missing.img')), /Cannot open ".*missing\.img": ENOENT/);
    await rejectsInput(FatImage.open(dir), /is a directory/);
  });

  it('rejects an MBR without a FAT32 partition, a GPT disk and a FAT16 volume', CASE, async () => {
    const ntfs = join(dir, 'ntfs.img');
    await writeFile(ntfs, encodeMbr({ diskSignature: 1, partition: { active: true, type: 0x07, startLba: 2048, sectorCount: 4096 } }));
    await rejectsInput(FatImage.open(ntfs), /the MBR has no FAT32 partition \(type 0x0B or 0x0C\); partition types found: 0x07/);
    const gpt = join(dir, 'gpt.img');
    await writeFile(gpt, encodeMbr({ diskSignature: 1, partition: { active: false, type: 0xee, startLba: 1, sectorCount: 4096 } }));
    await rejectsInput(FatImage.open(gpt), /GPT partition table/);
    const fat16 = join(dir, 'fat16.img');
    await runChecked('mkfs.fat', ['-F', '16', '-C', fat16, '20000'], { timeoutMs: 30_000 });
    await rejectsInput(FatImage.open(fat16), /no valid FAT32 file system at byte 0: this is a FAT12\/FAT16 file system/);
    await rejectsInput(FatImage.open(fat16, { partitionOffset: 0 }), /no valid FAT32 file system at byte 0: this is a FAT12\/FAT16 file system/);
    const past = join(dir, 'past.img');
    await writeFile(past, encodeMbr({ diskSignature: 1, partition: { active: true, type: 0x0c, startLba: 2048, sectorCount: 4096 } }));
    await rejectsInput(FatImage.open(past), /the FAT32 partition starts at byte 1048576, beyond the end of the image \(512 bytes\)/);
  });
  after(() => removeTempDir(dir));
});
