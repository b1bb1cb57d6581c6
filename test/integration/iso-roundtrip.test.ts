/**
 * Round trips between our ISO engine and independent tools: images we write are read by xorriso, osirrox,
 * isoinfo, 7z and bsdtar; images xorriso and genisoimage write are read by us.
 */
import assert from 'node:assert/strict';
import { mkdir, open, writeFile, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IsoImage, allFiles } from '../../src/iso/index.js';
import { lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir, runChecked, sha256, sha256File } from '../helpers/tools.js';

const DATE = '2026-01-02T03:04:05Z';
const LONG = 'A file whose name is long enough to need Joliet long names, well beyond sixty-four characters.txt';
const UNICODE = 'Größenübersicht — データ ✓ 😀.txt';
const BIG = 4 * 2 ** 30 + 5 * 2 ** 20; // over 4 GiB: two extents, the first 4 GiB - 2 KiB
const DEEP = 'd1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11';

async function makeTree(root: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const put = async (rel: string, data: Buffer | string) => {
    const path = join(root, rel);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, data);
    files.set(rel, sha256(typeof data === 'string' ? Buffer.from(data) : data));
  };
  await put(`${DEEP}/deepest.txt`, 'at the bottom\n');
  await put(LONG, 'long name\n');
  await put(UNICODE, 'unicode name\n');
  await put('empty.bin', '');
  await put('Mixed Case/Read Me.TXT', 'mixed\n');
  await put('collide/readme.txt.1', 'one\n');
  await put('collide/README_TXT.1', 'two\n');
  await put('sources/boot.wim', Buffer.alloc(3 * 2 ** 20 + 123, 7));
  for (let i = 0; i < 40; i++) await put(`many/file-${String(i).padStart(3, '0')}.dat`, `${i}\n`.repeat(i));
  await mkdir(join(root, 'empty-dir', 'nested-empty'), { recursive: true });
  // A sparse file over 4 GiB with data at both ends and across the first extent boundary.
  const big = join(root, 'big', 'huge.img');
  await mkdir(join(root, 'big'));
  await writeFile(big, 'START');
  await truncate(big, BIG);
  const fh = await open(big, 'r+');
  await fh.write(Buffer.from('BOUNDARY'), 0, 8, 0xfffff800 - 4);
  await fh.write(Buffer.from('END'), 0, 3, BIG - 3);
  await fh.close();
  return files;
}

describe('ISO round trip with independent tools', () => {
  let dir: string;
  let tree: string;
  let iso: string;
  let files: Map<string, string>;

  before(async () => {
    dir = await mkTempDir('iso-roundtrip');
    tree = join(dir, 'tree');
    files = await makeTree(tree);
    iso = join(dir, 'out.iso');
    const r = await lifeboat(['iso', 'create', '--dir', tree, '--out', iso, '--volid', 'ROUNDTRIP', '--date', DATE]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => removeTempDir(dir));

  test('xorriso lists every file and directory with its real name', async () => {
    const r = await runChecked('xorriso', ['-indev', iso, '-find', '/', '-exec', 'lsdl']);
    for (const rel of [...files.keys(), 'empty-dir/nested-empty', 'big/huge.img']) assert.ok(r.stdout.includes(`/${rel}'`), `missing ${rel}`);
    assert.match(r.stdout, /4300210176 .* '\/big\/huge.img'/);
  });

  test('osirrox extracts every small file byte-equal', async () => {
    const out = join(dir, 'extracted');
    const tops = [...new Set([...files.keys()].map((rel) => `/${rel.split('/')[0]}`))];
    await runChecked('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract_l', '/', out, ...tops, '--']);
    for (const [rel, hash] of files) assert.equal(await sha256File(join(out, rel)), hash, rel);
  });

  test('the file over 4 GiB is multi-extent and reads back equal at its start, extent boundary and end', async () => {
    const huge = join(tree, 'big', 'huge.img');
    const src = await open(huge, 'r');
    try {
      for (const [offset, length] of [[0, 2 ** 20], [0xfffff800 - 2 ** 20, 2 ** 21], [BIG - 2 ** 20, 2 ** 20]] as const) {
        const piece = join(dir, `piece-${offset}`);
        await runChecked('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract_cut', '/big/huge.img', String(offset), String(length), piece]);
        const want = Buffer.alloc(length);
        await src.read(want, 0, length, offset);
        assert.equal(await sha256File(piece), sha256(want), `bytes ${offset}+${length}`);
      }
    } finally {
      await src.close();
    }
    const records = await runChecked('isoinfo', ['-l', '-i', iso]);
    assert.equal(records.stdout.match(/HUGE\.IMG;1/g)?.length, 2, 'two directory records (extents) for the big file');
    const image = await IsoImage.open(iso);
    try {
      const entry = image.find('/big/huge.img')!;
      assert.equal(entry.size, BIG);
      assert.deepEqual(entry.extents.map((e) => e.length), [0xfffff800, BIG - 0xfffff800]);
    } finally {
      await image.close();
    }
  });

  test('isoinfo reads the primary volume, the ISO names and the Joliet names', async () => {
    const d = await runChecked('isoinfo', ['-d', '-i', iso]);
    assert.match(d.stdout, /Volume id: ROUNDTRIP/);
    assert.match(d.stdout, /Joliet with UCS level 3 found/);
    const l = await runChecked('isoinfo', ['-l', '-i', iso]);
    assert.match(l.stdout, /DEEPEST\.TXT;1/);
    assert.match(l.stdout, /README_TXT\.1;1/);
    assert.match(l.stdout, /README_TXT~1\.1;1|README_TXT\.1~1;1|README_T~1\.1;1/);
    const j = await runChecked('isoinfo', ['-J', '-l', '-i', iso]);
    assert.ok(j.stdout.includes(LONG), 'Joliet long name');
    assert.ok(j.stdout.includes('Read Me.TXT'));
  });

  test('7z lists the tree with Unicode names', async () => {
    const r = await runChecked('7z', ['l', '-slt', iso]);
    assert.ok(r.stdout.includes(`Path = ${UNICODE}`), '7z shows the Unicode name');
    assert.ok(r.stdout.includes(`Path = ${DEEP}/deepest.txt`));
  });

  test('our reader reads our own image: every file hashes the same', async () => {
    const image = await IsoImage.open(iso);
    try {
      assert.equal(image.namespace, 'joliet');
      for (const [rel, hash] of files) {
        const entry = image.find(`/${rel}`);
        assert.ok(entry, rel);
        const chunks: Buffer[] = [];
        for await (const c of image.stream(entry!.extents)) chunks.push(c);
        assert.equal(sha256(Buffer.concat(chunks)), hash, rel);
      }
    } finally {
      await image.close();
    }
  });

  test('a fixed --date gives byte-identical images', async () => {
    const small = join(dir, 'small');
    await mkdir(join(small, 'a'), { recursive: true });
    await writeFile(join(small, 'a', 'x.txt'), 'x');
    const a = join(dir, 'a.iso');
    const b = join(dir, 'b.iso');
    assert.equal((await lifeboat(['iso', 'create', '--dir', small, '--out', a, '--date', DATE])).code, 0);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await lifeboat(['iso', 'create', '--dir', small, '--out', b, '--date', DATE])).code, 0);
    assert.equal(await sha256File(a), await sha256File(b));
  });
});

describe('our reader on images made by other tools', () => {
  let dir: string;
  let tree: string;
  let files: Map<string, string>;

  before(async () => {
    dir = await mkTempDir('iso-foreign');
    tree = join(dir, 'tree');
    files = new Map();
    for (const [rel, body] of [['Docs/Read Me.txt', 'hello'], ['boot/grub/grub.cfg', 'set x=1\n'], ['data/blob.bin', 'z'.repeat(100_000)]] as const) {
      await mkdir(join(tree, rel, '..'), { recursive: true });
      await writeFile(join(tree, rel), body);
      files.set(rel, sha256(Buffer.from(body)));
    }
  });
  after(() => removeTempDir(dir));

  const variants: [string, string, string[], 'rockridge' | 'joliet' | 'iso9660'][] = [
    ['xorriso Rock Ridge + Joliet', 'xorriso', ['-as', 'mkisofs', '-R', '-J', '-joliet-long'], 'rockridge'],
    ['xorriso Joliet only', 'xorriso', ['-as', 'mkisofs', '--norock', '-J', '-joliet-long'], 'joliet'],
    ['xorriso plain ISO 9660', 'xorriso', ['-as', 'mkisofs', '--norock', '-iso-level', '3'], 'iso9660'],
    ['genisoimage Joliet + UDF', 'genisoimage', ['-J', '-udf', '-quiet'], 'joliet'],
    ['genisoimage plain', 'genisoimage', ['-quiet'], 'iso9660'],
  ];
  for (const [name, tool, args, naming] of variants) {
    test(name, async () => {
      const iso = join(dir, `${name.replace(/\W+/g, '-')}.iso`);
      await runChecked(tool, [...args, '-V', 'FOREIGN', '-o', iso, tree]);
      const image = await IsoImage.open(iso);
      try {
        assert.equal(image.namespace, naming);
        assert.equal(image.primary.volumeId, 'FOREIGN');
        for (const [rel, hash] of files) {
          const wanted = naming === 'iso9660' ? rel.toUpperCase().replace(/ /g, '_') : rel;
          const entry = image.find(`/${wanted}`);
          assert.ok(entry, `${rel} as ${wanted}: have ${[...allFiles(image.root)].map((f) => f.path)}`);
          const chunks: Buffer[] = [];
          for await (const c of image.stream(entry!.extents)) chunks.push(c);
          assert.equal(sha256(Buffer.concat(chunks)), hash);
        }
      } finally {
        await image.close();
      }
    });
  }
});

