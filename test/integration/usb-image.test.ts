/**
 * The USB image writer against real tools: sfdisk reads the MBR, fsck.fat checks the partition, mtools lists and
 * extracts every file, and the block map is checked against the image bytes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';

import { InputError } from '../../src/errors.js';
import { fileSource, writeUsbImage, type UsbImageResult, type UsbTreeEntry } from '../../src/usb/fat32.js';
import { BLOCK_SIZE, scanBlockMap, type BlockMap } from '../../src/usb/block-map.js';
import { hasCommand, mkTempDir, removeTempDir, run, runChecked, sha256File, writePseudoRandomFile } from '../helpers/tools.js';

const MIB = 2 ** 20;
const TOOLS = ['fsck.fat', 'mcopy', 'mdir', 'sfdisk'];
const MTOOLS_ENV = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', MTOOLS_SKIP_CHECK: '1' };

const LONG_NAME = `${'A long name that goes on and on '.repeat(7)}end.txt`.slice(0, 250);
const UNICODE_NAMES = ['Ünïcödé résumé.txt', 'ファイル名.txt', 'Ελληνικά.doc'];

/** The test tree, written to disk under `root` so mtools' output can be compared with it. */
async function makeTree(root: string): Promise<void> {
  const put = async (rel: string, data: string | Buffer) => {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), data);
  };
  await put('EFI/BOOT/BOOTX64.EFI', 'stand-in EFI loader');
  await put('EFI/Microsoft/Boot/BCD', Buffer.alloc(12_345, 0xbc));
  await put('bootmgr', 'stand-in bootmgr');
  await put('README.TXT', 'upper-case 8.3 name');
  await put('readme2.txt', 'lower-case 8.3 name');
  await put('filename1.txt', 'one');
  await put('filename2.txt', 'two');
  await put('filename3.txt', 'three');
  await put(LONG_NAME, 'long name');
  for (const n of UNICODE_NAMES) await put(`intl/${n}`, `content of ${n}`);
  await put('a/b/c/d/e/f/g/h/i/j/deep file.txt', 'deep');
  await put('empty.bin', '');
  await put('dir with empty/zero', '');
  await mkdir(join(root, 'empty dir'), { recursive: true });
  await mkdir(join(root, 'a/b/empty leaf'), { recursive: true });
  await writePseudoRandomFile(join(root, 'sources/boot.wim'), 3 * MIB + 777, 'usb-boot-wim');
  for (let i = 0; i < 300; i++) {
    const size = (i * 997) % 9000; // 0 .. 9 KB, some empty, some over one 4 KiB block
    await put(`lifeboat/drivers/small file ${String(i).padStart(3, '0')}.inf`, Buffer.alloc(size, i & 0xff));
  }
}

/** Tree entries for the writer, streamed from the files under `root` (Node read streams, or fileSource). */
async function entriesFor(root: string, useFileSource = false): Promise<UsbTreeEntry[]> {
  const out: UsbTreeEntry[] = [];
  const walk = async (dir: string) => {
    const items = await readdir(dir, { withFileTypes: true });
    if (items.length === 0 && dir !== root) out.push({ path: `/${relative(root, dir)}`, directory: true });
    for (const item of items) {
      const abs = join(dir, item.name);
      if (item.isDirectory()) await walk(abs);
      else {
        const { size } = await stat(abs);
        const source = useFileSource ? fileSource(abs, size) : () => createReadStream(abs, { highWaterMark: MIB });
        out.push({ path: `/${relative(root, abs)}`, size, source });
      }
    }
  };
  await walk(root);
  return out;
}

async function listFiles(root: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  const walk = async (dir: string) => {
    for (const item of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, item.name);
      if (item.isDirectory()) {
        dirs.push(relative(root, abs));
        await walk(abs);
      } else files.push(relative(root, abs));
    }
  };
  await walk(root);
  return { files: files.sort(), dirs: dirs.sort() };
}

async function copyRange(src: string, dest: string, start: number, length: number): Promise<void> {
  await pipeline(createReadStream(src, { start, end: start + length - 1, highWaterMark: 4 * MIB }), createWriteStream(dest));
}

/** Every non-zero block of the image lies in a range, and every range's hash matches the image. */
async function checkBlockMap(image: string, map: BlockMap): Promise<void> {
  const { size } = await stat(image);
  assert.equal(map.imageSize, size);
  assert.equal(map.blockSize, BLOCK_SIZE);
  let prevEnd = 0;
  for (const r of map.ranges) {
    assert.equal(r.start % BLOCK_SIZE, 0);
    assert.equal(r.length % BLOCK_SIZE, 0);
    assert.ok(r.length > 0);
    assert.ok(r.start >= prevEnd, 'ranges sorted and disjoint');
    prevEnd = r.start + r.length;
  }
  assert.ok(prevEnd <= size);
  assert.equal(
    map.mappedBytes,
    map.ranges.reduce((s, r) => s + r.length, 0),
  );
  const fh = await open(image, 'r');
  try {
    for (const r of map.ranges) {
      const buf = Buffer.alloc(r.length);
      await fh.read(buf, 0, r.length, r.start);
      assert.equal(createHash('sha256').update(buf).digest('hex'), r.sha256, `range at ${r.start}`);
    }
  } finally {
    await fh.close();
  }
  // the independent scan finds no non-zero block outside the map
  const scanned = await scanBlockMap(image);
  let i = 0;
  for (const s of scanned.ranges) {
    for (let block = s.start; block < s.start + s.length; block += BLOCK_SIZE) {
      while (i < map.ranges.length && map.ranges[i]!.start + map.ranges[i]!.length <= block) i++;
      const r = map.ranges[i];
      assert.ok(r && r.start <= block, `non-zero block at ${block} is not in the block map`);
    }
  }
}

describe('USB image (FAT32 + MBR) against real tools', async () => {
  const missing: string[] = [];
  for (const t of TOOLS) if (!(await hasCommand(t))) missing.push(t);
  const skip = missing.length > 0 ? `missing ${missing.join(', ')}` : false;

  let work = '';
  let tree = '';
  let image = '';
  let result: UsbImageResult;
  const progress: [number, number][] = [];

  before(async () => {
    if (skip) return;
    work = await mkTempDir('usb-image');
    tree = join(work, 'tree');
    await makeTree(tree);
    image = join(work, 'usb.img');
    result = await writeUsbImage(await entriesFor(tree), image, {
      seed: 'integration',
      label: 'Lifeboat',
      timestamp: new Date(Date.UTC(2024, 5, 1, 12, 0, 0)),
      hashImage: true,
      onProgress: (w, t) => progress.push([w, t]),
    });
  });
  after(async () => {
    if (work) await removeTempDir(work);
  });

  it('has one active FAT32 LBA partition at sector 2048 (sfdisk)', { skip }, async () => {
    const { stdout } = await runChecked('sfdisk', ['-J', image]);
    const table = JSON.parse(stdout).partitiontable;
    assert.equal(table.label, 'dos');
    assert.equal(table.partitions.length, 1);
    const [p] = table.partitions;
    assert.equal(p.start, 2048);
    assert.equal(p.size, result.partition.sectorCount);
    assert.equal(p.type, 'c');
    assert.equal(p.bootable, true);
    assert.equal((await stat(image)).size, (2048 + p.size) * 512);
  });

  it('passes fsck.fat -n', { skip }, async () => {
    const part = join(work, 'partition.img');
    await copyRange(image, part, result.partition.offset, result.partition.size);
    const r = await run('fsck.fat', ['-n', '-v', part]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /32 bit entries/);
    assert.doesNotMatch(r.stdout + r.stderr, /differ|invalid|bad|wrong|corrupt/i);
    const summary = /(\d+) files, (\d+)\/(\d+) clusters/.exec(r.stdout);
    assert.ok(summary, r.stdout);
    assert.equal(Number(summary[2]), result.usedClusters);
    assert.equal(Number(summary[3]), result.geometry.clusterCount);
  });

  it('lists the long and Unicode names (mdir)', { skip }, async () => {
    const root = await runChecked('mdir', ['-i', `${image}@@1M`, '-a', '::/'], { env: MTOOLS_ENV });
    assert.match(root.stdout, /Volume in drive : is LIFEBOAT/);
    assert.ok(root.stdout.includes(LONG_NAME), root.stdout);
    assert.match(root.stdout, /FILENA~1 TXT\s+3 .* filename1\.txt/);
    assert.match(root.stdout, /FILENA~3 TXT\s+5 .* filename3\.txt/);
    assert.match(root.stdout, /README   TXT\s+19 2024-06-01/);
    const intl = await runChecked('mdir', ['-i', `${image}@@1M`, '::/intl'], { env: MTOOLS_ENV });
    for (const n of UNICODE_NAMES) assert.ok(intl.stdout.includes(n), `${n} missing in:\n${intl.stdout}`);
  });

  it('gives back every file byte for byte and every directory (mcopy)', { skip }, async () => {
    const out = join(work, 'extracted');
    await mkdir(out);
    await runChecked('mcopy', ['-s', '-n', '-m', '-i', `${image}@@1M`, '::/*', `${out}/`], { env: MTOOLS_ENV, timeoutMs: 300_000 });
    const want = await listFiles(tree);
    const got = await listFiles(out);
    assert.deepEqual(got.dirs, want.dirs);
    assert.deepEqual(got.files, want.files);
    assert.ok(want.files.length > 300);
    for (const f of want.files) {
      assert.ok((await readFile(join(out, f))).equals(await readFile(join(tree, f))), f);
    }
  });

  it('has a block map that covers every non-zero block and whose hashes match', { skip }, async () => {
    await checkBlockMap(image, result.blockMap);
    assert.equal(result.imageSha256, await sha256File(image));
    // sparse free space: the map is far smaller than the image
    assert.ok(result.blockMap.mappedBytes < result.imageSize / 2);
  });

  it('reported progress up to the total', { skip }, () => {
    const last = progress[progress.length - 1];
    assert.ok(last);
    assert.equal(last[0], last[1]);
    assert.equal(last[1], result.payloadBytes);
  });

  it('with 4 KiB clusters (a 300 MiB partition) is also clean and complete', { skip }, async () => {
    const img = join(work, 'usb-4k.img');
    const r = await writeUsbImage(await entriesFor(tree, true), img, { seed: 'integration', partitionBytes: 300 * MIB });
    assert.equal(r.geometry.bytesPerCluster, 4096);
    const part = join(work, 'partition-4k.img');
    await copyRange(img, part, r.partition.offset, r.partition.size);
    const f = await run('fsck.fat', ['-n', part]);
    assert.equal(f.code, 0, f.stdout + f.stderr);
    const out = join(work, 'extracted-4k');
    await mkdir(out);
    await runChecked('mcopy', ['-s', '-n', '-m', '-i', `${img}@@1M`, '::/*', `${out}/`], { env: MTOOLS_ENV, timeoutMs: 300_000 });
    const want = await listFiles(tree);
    assert.deepEqual(await listFiles(out), want);
    assert.ok((await readFile(join(out, 'sources/boot.wim'))).equals(await readFile(join(tree, 'sources/boot.wim'))));
    await checkBlockMap(img, r.blockMap);
  });

  it('rejects a file over 4 GiB - 1 (sparse source), naming it, before writing anything', { skip }, async () => {
    const huge = join(work, 'install.wim');
    await writeFile(huge, '');
    await truncate(huge, 4 * 2 ** 30);
    const { size } = await stat(huge);
    const img = join(work, 'huge.img');
    await assert.rejects(
      writeUsbImage(
        [
          { path: '/bootmgr', size: 3, source: () => createReadStream(join(tree, 'bootmgr')) },
          { path: '/sources/install.wim', size, source: () => createReadStream(huge) },
        ],
        img,
        { seed: 'x' },
      ),
      (e: unknown) => e instanceof InputError && e.exitCode === 2 && e.message.includes('/sources/install.wim') && /4 GiB/.test(e.message),
    );
    await assert.rejects(stat(img), { code: 'ENOENT' });
  });
});
