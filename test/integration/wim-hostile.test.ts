/**
 * Hostile WIMs against our engine (bounded fuzz, seeded so every run is the same): bytes flipped anywhere,
 * truncations, huge sizes in resource headers, and mutations of the metadata with its SHA-1 fixed up so the
 * directory tree parser itself meets the garbage. Every mutant must either read correctly or fail with an
 * InputError (exit code 2) naming the file; none may hang or crash. Through the CLI: exit 2, the WIM unchanged.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { WimArchive } from '../../src/wim/engine/archive.js';
import { inspectWim } from '../../src/wim/engine/inspect.js';
import { dataHash, isDirectory, type Dentry } from '../../src/wim/engine/metadata.js';
import { updateWim } from '../../src/wim/engine/update.js';
import { parseWimHeader } from '../../src/wim/header.js';
import { lifeboat } from '../helpers/cli.js';
import { hasCommand, mkTempDir, pseudoRandomBytes, removeTempDir, runChecked } from '../helpers/tools.js';
import { x86LikeBytes } from '../helpers/wim-trees.js';

const skip = (await hasCommand('wimlib-imagex')) ? false : 'wimlib-imagex is not installed (Debian wimtools; make installs it)';
const MUTANTS_PER_KIND = 60;

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

/** Everything a user can make the engine do with a file: inspect with a file list, read every file, update. */
async function probe(file: string, addSource: string): Promise<'ok' | 'refused'> {
  try {
    const info = await inspectWim(file, { filesOf: 1 });
    const a = await WimArchive.open(file);
    try {
      for (let i = 1; i <= info.images.length; i++) {
        const img = await a.image(i);
        const visit = async (d: Dentry): Promise<void> => {
          for (const c of d.children ?? []) {
            if (isDirectory(c)) await visit(c);
            else {
              const h = dataHash(c);
              if (h) await a.readBlob(h, 16 * 2 ** 20, c.name);
            }
          }
        };
        await visit(img.root);
      }
    } finally {
      await a.close();
    }
    await updateWim(file, { index: 1, add: [{ source: addSource, target: '/lifeboat/new.cmd' }], remove: [] });
    return 'ok';
  } catch (err) {
    if (err instanceof InputError) {
      assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
      return 'refused';
    }
    throw err;
  }
}

interface Region { name: string; start: number; end: number }

function regions(wim: Buffer): Region[] {
  const h = parseWimHeader(wim, 'base');
  const out: Region[] = [
    { name: 'header', start: 0, end: 208 },
    { name: 'blob table', start: h.blobTable.offset, end: h.blobTable.offset + h.blobTable.sizeInWim },
    { name: 'XML', start: h.xml.offset, end: h.xml.offset + h.xml.sizeInWim },
    { name: 'boot metadata', start: h.bootMetadata.offset, end: h.bootMetadata.offset + h.bootMetadata.sizeInWim },
    { name: 'file data', start: 208, end: h.bootMetadata.offset },
  ];
  return out.filter((r) => r.end > r.start);
}

/** Sets the metadata blob's SHA-1 in the (uncompressed) blob table to match its current bytes. */
function fixMetadataHash(wim: Buffer): void {
  const h = parseWimHeader(wim, 'base');
  const meta = wim.subarray(h.bootMetadata.offset, h.bootMetadata.offset + h.bootMetadata.sizeInWim);
  const digest = createHash('sha1').update(meta).digest();
  for (let off = h.blobTable.offset; off < h.blobTable.offset + h.blobTable.sizeInWim; off += 50) {
    if (wim.readBigUInt64LE(off + 8) === BigInt(h.bootMetadata.offset)) digest.copy(wim, off + 30);
  }
}

describe('wim engine: hostile WIMs', { skip }, () => {
  let dir: string;
  const bases = new Map<string, Buffer>();
  let addSource: string;

  before(async () => {
    dir = await mkTempDir('wim hostile');
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'Windows', 'System32'), { recursive: true });
    await mkdir(join(tree, 'Empty'), { recursive: true });
    await writeFile(join(tree, 'Windows', 'System32', 'winpeshl.ini'), '[LaunchApps]\r\nX:\\VeeamRecovery\\a.exe\r\n');
    await writeFile(join(tree, 'code.dll'), x86LikeBytes(70_000));
    await writeFile(join(tree, 'text.txt'), 'compressible text '.repeat(5000));
    await writeFile(join(tree, 'random.bin'), pseudoRandomBytes('hostile', 40_000));
    await writeFile(join(tree, 'empty.txt'), '');
    for (const c of ['LZX', 'XPRESS', 'none']) {
      const wim = join(dir, `${c}.wim`);
      await runChecked('wimlib-imagex', ['capture', tree, wim, 'PE', '--boot', `--compress=${c}`]);
      bases.set(c, await readFile(wim));
    }
    addSource = join(dir, 'new.cmd');
    await writeFile(addSource, 'echo new\r\n');
  });
  after(async () => {
    if (dir) await removeTempDir(dir);
  });

  it('the unmutated bases read and update fine (the probe itself works)', async () => {
    for (const [c, bytes] of bases) {
      const f = join(dir, `plain-${c}.wim`);
      await writeFile(f, bytes);
      assert.equal(await probe(f, addSource), 'ok', c);
      await runChecked('wimlib-imagex', ['verify', f]);
    }
  });

  it(`mutants (${MUTANTS_PER_KIND} per kind and compression): read correctly or refused with exit code 2, never a crash`, { timeout: 600_000 }, async (t) => {
    const counts = { ok: 0, refused: 0 };
    let n = 0;
    for (const [c, base] of bases) {
      const random = rng(0xb007 + c.length);
      const pick = (lo: number, hi: number) => lo + Math.floor(random() * Math.max(1, hi - lo));
      const kinds: [string, (b: Buffer) => Buffer][] = [
        ['flip bytes in a region', (b) => {
          const rs = regions(b);
          const r = rs[pick(0, rs.length)]!;
          const m = Buffer.from(b);
          for (let k = pick(1, 9); k > 0; k--) m[pick(r.start, r.end)] = pick(0, 256);
          return m;
        }],
        ['truncate', (b) => b.subarray(0, pick(0, b.length))],
        ['huge or shifted resource header field', (b) => {
          const m = Buffer.from(b);
          const at = [0x30, 0x48, 0x60, 0x7c][pick(0, 4)]! + [0, 8, 16][pick(0, 3)]!;
          const values = [0xffff_ffff_ffffn, 0n, 1n, BigInt(b.length), BigInt(pick(0, b.length)), 0x7fff_ffff_ffff_ffffn];
          m.writeBigUInt64LE(values[pick(0, values.length)]!, at);
          return m;
        }],
        ['metadata bytes changed, SHA-1 fixed up', (b) => {
          const m = Buffer.from(b);
          const h = parseWimHeader(m, 'base');
          if (c !== 'none') return m; // compressed metadata: covered by the byte flips above
          for (let k = pick(1, 6); k > 0; k--) {
            const at = pick(h.bootMetadata.offset, h.bootMetadata.offset + h.bootMetadata.sizeInWim);
            m[at] = [0, 0xff, 1, 8, 0x10, pick(0, 256)][pick(0, 6)]!;
          }
          fixMetadataHash(m);
          return m;
        }],
      ];
      for (const [kind, mutate] of kinds) {
        for (let i = 0; i < MUTANTS_PER_KIND; i++) {
          const f = join(dir, `mutant-${n++}.wim`);
          await writeFile(f, mutate(base));
          try {
            counts[await probe(f, addSource)]++;
          } catch (err) {
            assert.fail(`${c} ${kind} #${i}: not an InputError: ${(err as Error).stack}`);
          }
        }
      }
    }
    t.diagnostic(`${n} mutants: ${counts.ok} read and updated correctly, ${counts.refused} refused with an InputError`);
    assert.equal(counts.ok + counts.refused, n);
    assert.ok(counts.refused > n / 3, `most mutants are refused (${JSON.stringify(counts)})`);
  });

  it('a directory loop, a solid (ESD) WIM and an LZMS flag are refused with words that say so', async () => {
    // Loop: a subfolder whose child list is the root's own.
    const m = Buffer.from(bases.get('none')!);
    const h = parseWimHeader(m, 'base');
    const meta = h.bootMetadata.offset;
    const rootOff = meta + Math.ceil(Math.max(m.readUInt32LE(meta), 8) / 8) * 8;
    const rootList = Number(m.readBigUInt64LE(rootOff + 0x10));
    let p = meta + rootList;
    while (m.readBigUInt64LE(p) !== 0n && !(m.readUInt32LE(p + 8) & 0x10)) p += Math.ceil(Number(m.readBigUInt64LE(p)) / 8) * 8;
    assert.ok(m.readUInt32LE(p + 8) & 0x10, 'found a folder');
    m.writeBigUInt64LE(BigInt(rootList), p + 0x10);
    fixMetadataHash(m);
    const loop = join(dir, 'loop.wim');
    await writeFile(loop, m);
    await assert.rejects(inspectWim(loop, { filesOf: 1 }), (e: unknown) => e instanceof InputError && /loop/.test(e.message));

    const esd = Buffer.from(bases.get('LZX')!);
    esd.writeUInt32LE(0xe00, 0x0c);
    const esdFile = join(dir, 'install.esd');
    await writeFile(esdFile, esd);
    await assert.rejects(inspectWim(esdFile), (e: unknown) => e instanceof InputError && /LZMS.*solid|solid.*ESD/i.test(e.message));

    const lzms = Buffer.from(bases.get('LZX')!);
    lzms.writeUInt32LE((lzms.readUInt32LE(0x10) & ~0x40000) | 0x80000, 0x10);
    const lzmsFile = join(dir, 'lzms.wim');
    await writeFile(lzmsFile, lzms);
    await assert.rejects(inspectWim(lzmsFile), /LZMS/);
  });

  it('through the CLI: exit code 2, a message naming the file, and the WIM left exactly as it was', async () => {
    const b = bases.get('LZX')!;
    const h = parseWimHeader(b, 'base');
    const damaged = Buffer.from(b);
    damaged.fill(0xa5, h.bootMetadata.offset + 8, h.bootMetadata.offset + 72);
    const cases: [string, Buffer][] = [
      ['not a wim.wim', Buffer.alloc(4096, 0x4d)],
      ['truncated.wim', b.subarray(0, Math.floor(b.length / 2))],
      ['damaged metadata.wim', damaged],
    ];
    for (const [name, bytes] of cases) {
      const f = join(dir, name);
      await writeFile(f, bytes);
      const inspect = await lifeboat(['wim', 'inspect', f, '--image', '1']);
      const update = await lifeboat(['wim', 'update', f, '--image', '1', '--add', `${addSource}=/x.cmd`]);
      for (const r of [inspect, update]) {
        assert.equal(r.code, 2, `${name}: ${r.stderr}`);
        assert.ok(r.stderr.includes(f), `${name}: message names the file: ${r.stderr}`);
      }
      assert.ok((await readFile(f)).equals(bytes), `${name}: unchanged`);
    }
    const copy = join(dir, 'ok.wim');
    await copyFile(join(dir, 'LZX.wim'), copy);
    const noImage = await lifeboat(['wim', 'update', copy, '--image', '5', '--add', `${addSource}=/x.cmd`]);
    assert.equal(noImage.code, 2);
    assert.match(noImage.stderr, /has no image 5/);
    const missing = await lifeboat(['wim', 'update', copy, '--image', '1', '--remove', '/not/there']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /not in the image/);
    assert.ok((await readFile(copy)).equals(await readFile(join(dir, 'LZX.wim'))), 'refused updates leave the WIM as it was');
  });
});
