/**
 * Our own WIM engine against WIMs made by wimlib-imagex (LZX, XPRESS, none; three images, boot index 2; hard links,
 * Unicode names, empty files; an integrity table made with --check). Reading: every file of every image equals
 * wimlib's extraction. Updating with `lifeboat wim update`: wimlib-imagex verify/dir/extract then find the added
 * files exact, the removed ones gone and every other file of every image unchanged; the old bytes of the file are
 * never rewritten (untouched resources neither moved nor recompressed). Killed mid-update, the old WIM still verifies.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WimArchive } from '../../src/wim/engine/archive.js';
import { dataHash, isDirectory, type Dentry } from '../../src/wim/engine/metadata.js';
import { readWimHeader } from '../../src/wim/header.js';
import { readWimFile } from '../../src/wim/native.js';
import { installAutostart, inspectBootWim } from '../../src/wim/autostart.js';
import { NativeWimBackend } from '../../src/wim/native.js';
import { LAUNCH_CMD } from '../../src/wim/overlay.js';
import { InputError } from '../../src/errors.js';
import { PatchedFile } from '../../src/util/patched-file.js';
import { LIFEBOAT_BIN, lifeboat } from '../helpers/cli.js';
import { buildHive } from '../helpers/regf.js';
import { hasCommand, mkTempDir, pseudoRandomBytes, removeTempDir, runChecked } from '../helpers/tools.js';
import { extractImage, makeTestWim, readTree, sameInode } from '../helpers/wim-trees.js';

const skip = (await hasCommand('wimlib-imagex')) ? false : 'wimlib-imagex is not installed (Debian wimtools; make installs it)';

/** Every file of an image read by our engine: path -> bytes (folders: null). */
async function readAllWithEngine(wim: string, index: number): Promise<Map<string, Buffer | null>> {
  const a = await WimArchive.open(wim);
  try {
    const img = await a.image(index);
    const out = new Map<string, Buffer | null>();
    const visit = async (d: Dentry, prefix: string): Promise<void> => {
      for (const c of d.children ?? []) {
        const p = `${prefix}/${c.name}`;
        if (isDirectory(c)) {
          out.set(p, null);
          await visit(c, p);
        } else {
          const h = dataHash(c);
          out.set(p, h ? await a.readBlob(h, 64 * 2 ** 20, p) : Buffer.alloc(0));
        }
      }
    };
    await visit(img.root, '');
    return out;
  } finally {
    await a.close();
  }
}

function assertSameTree(actual: Map<string, Buffer | null>, expected: Map<string, Buffer | null>, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: same paths`);
  for (const [p, b] of expected) assert.ok(b === null ? actual.get(p) === null : b.equals(actual.get(p) ?? Buffer.alloc(1, 1)), `${what}: ${p} differs`);
}

async function verify(wim: string): Promise<string> {
  const r = await runChecked('wimlib-imagex', ['verify', wim]);
  return r.stdout + r.stderr;
}

const CASES = [
  { compress: 'LZX', check: true },
  { compress: 'XPRESS', check: false },
  { compress: 'none', check: false },
];

describe('wim engine: WIMs made by wimlib-imagex, read and updated by ours, checked by wimlib', { skip }, () => {
  let dir: string;
  before(async () => {
    dir = await mkTempDir('wim engine');
  });
  after(async () => {
    if (dir) await removeTempDir(dir);
  });

  for (const { compress, check } of CASES) {
    it(`${compress}${check ? ' with integrity table' : ''}: reads every file, updates image 2, wimlib agrees`, async () => {
      const work = join(dir, compress);
      const wim = await makeTestWim(work, compress, check);
      const before = [1, 2, 3].map((i) => join(work, `before${i}`));
      for (const [i, d] of before.entries()) await extractImage(wim, i + 1, d);
      const trees = await Promise.all(before.map(readTree));

      // Reader: every file of every image as wimlib extracts it.
      for (const i of [1, 2, 3]) assertSameTree(await readAllWithEngine(wim, i), trees[i - 1]!, `image ${i} read by our engine`);

      // `wim inspect --json`: what the header and the XML say, and the files of one image.
      const ins = await lifeboat(['wim', 'inspect', wim, '--json', '--image', '3']);
      assert.equal(ins.code, 0, ins.stderr);
      const info3 = JSON.parse(ins.stdout) as { compression: string; bootIndex: number; integrityTable: boolean;
        images: { index: number; name?: string; files?: { path: string; kind: string; bytes: number; hardLinkGroup?: string }[] }[] };
      assert.equal(info3.compression, compress.toLowerCase());
      assert.equal(info3.bootIndex, 2);
      assert.equal(info3.integrityTable, check);
      assert.deepEqual(info3.images.map((i) => i.name), ['Image One', 'Windows PE', 'Image Three']);
      const files3 = info3.images[2]!.files!;
      assert.deepEqual(files3.map((f) => f.path).sort(), [...trees[2]!.keys()].sort());
      assert.equal(files3.find((f) => f.path === '/log.txt')!.bytes, trees[2]!.get('/log.txt')!.length);
      assert.ok(files3.find((f) => f.path === '/log.txt')!.hardLinkGroup, 'hard link shown');

      const oldBytes = await readFile(wim);
      const launcher = join(work, 'launch.cmd');
      const ini = join(work, 'winpeshl.ini');
      const big = join(work, 'big add.bin');
      await writeFile(launcher, '@echo off\r\necho Lifeboat\r\n');
      await writeFile(ini, Buffer.from('\ufeff[LaunchApps]\r\nwpeinit\r\n', 'utf16le'));
      await writeFile(big, pseudoRandomBytes(`big ${compress}`, 100_000));
      const r = await lifeboat(['wim', 'update', wim, '--image', '2', '--json',
        '--add', `${launcher}=/lifeboat/launch.cmd`,
        '--add', `${ini}=\\windows\\SYSTEM32\\WinPEshl.ini`,
        '--add', `${big}=/Ünïcødé 名前/new folder/big add.bin`,
        '--add', `${join(work, 'tree2', 'log.txt')}=/log copy.txt`, // data already in the WIM: not stored again
        '--remove', '/remove me']);
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout) as { added: { target: string; stored: boolean }[]; integrity: boolean };
      assert.deepEqual(result.added.map((a) => a.stored), [true, true, true, false]);
      assert.equal(result.integrity, check);

      const log = await verify(wim);
      if (check) assert.match(log, /Verifying integrity/);
      const h = await readWimHeader(wim);
      assert.equal(h.bootIndex, 2);
      assert.equal(h.imageCount, 3);
      assert.equal(h.integrity.offset !== 0, check);

      // Nothing before the old end of the file was rewritten except the header.
      const newBytes = await readFile(wim);
      assert.ok(newBytes.length > oldBytes.length);
      assert.ok(newBytes.subarray(208, oldBytes.length).equals(oldBytes.subarray(208)), 'old resources untouched');
      // ... and every old file data blob still lives where it was (neither moved nor recompressed).
      const [oldA, newA] = [await openCopy(oldBytes, join(work, 'old.wim')), await WimArchive.open(wim)];
      try {
        for (const b of oldA.blobs.filter((x) => !(x.reshdr.flags & 2))) {
          const n = newA.blob(b.hash);
          if (n) assert.deepEqual(n.reshdr, b.reshdr);
        }
      } finally {
        await oldA.close();
        await newA.close();
      }

      // wimlib's view: images 1 and 3 unchanged, image 2 changed exactly as asked.
      const afterDirs = [1, 2, 3].map((i) => join(work, `after${i}`));
      for (const [i, d] of afterDirs.entries()) await extractImage(wim, i + 1, d);
      const afterTrees = await Promise.all(afterDirs.map(readTree));
      assertSameTree(afterTrees[0]!, trees[0]!, 'image 1 after');
      assertSameTree(afterTrees[2]!, trees[2]!, 'image 3 after');
      const expected = new Map(trees[1]!);
      for (const p of ['/remove me', '/remove me/sub', '/remove me/sub/gone.txt']) expected.delete(p);
      expected.set('/lifeboat', null);
      expected.set('/lifeboat/launch.cmd', await readFile(launcher));
      expected.set('/Windows/System32/winpeshl.ini', await readFile(ini));
      expected.set('/Ünïcødé 名前/new folder', null);
      expected.set('/Ünïcødé 名前/new folder/big add.bin', await readFile(big));
      expected.set('/log copy.txt', await readFile(join(work, 'tree2', 'log.txt')));
      assertSameTree(afterTrees[1]!, expected, 'image 2 after');
      assert.ok(await sameInode(join(afterDirs[1]!, 'log.txt'), join(afterDirs[1]!, 'links', 'same log.txt')), 'hard link kept');
      assert.ok(await sameInode(join(afterDirs[0]!, 'log.txt'), join(afterDirs[0]!, 'links', 'same log.txt')), 'hard link kept in image 1');

      // wimlib-imagex dir lists the new entries under their own names (no second "windows" folder).
      const dirList = (await runChecked('wimlib-imagex', ['dir', wim, '2'])).stdout.split('\n').map((l) => l.trim());
      assert.equal(dirList.filter((p) => p.toLowerCase() === '/windows/system32/winpeshl.ini').length, 1);
      assert.ok(dirList.includes('/Windows/System32/winpeshl.ini'), 'the replaced file keeps its name');
      // Our own reader sees the same, and wimlib's info shows the XML counts we wrote.
      assertSameTree(await readAllWithEngine(wim, 2), afterTrees[1]!, 'image 2 read by our engine after');
      const info = (await runChecked('wimlib-imagex', ['info', wim, '2'])).stdout;
      const files = [...expected.values()].filter((v) => v !== null).length;
      assert.match(info, new RegExp(`File Count:\\s+${files}\\b`));

      // A second update on top of the first one works too (the appended WIM is an ordinary WIM).
      const again = await lifeboat(['wim', 'update', wim, '--image', '1', '--add', `${launcher}=/x.cmd`]);
      assert.equal(again.code, 0, again.stderr);
      await verify(wim);
      assert.deepEqual(await readWimFile(wim, 1, '/X.CMD'), await readFile(launcher));
    });
  }

  it('a WIM held inside another file (the build\'s boot.wim in the base ISO): autostart changes only memory, its pieces are a valid WIM', async () => {
    const work = join(dir, 'held');
    const wim = await makeTestWim(work, 'LZX', true);
    const wimBytes = await readFile(wim);
    // The WIM in two extents of a container, out of order, with other bytes around them (as an ISO may hold it).
    const half = 4096 * Math.floor(wimBytes.length / 8192);
    const container = join(work, 'base.iso');
    const containerBytes = Buffer.concat([pseudoRandomBytes('lead', 6144), wimBytes.subarray(half), pseudoRandomBytes('mid', 2048), wimBytes.subarray(0, half), pseudoRandomBytes('end', 999)]);
    await writeFile(container, containerBytes);
    const extents = [{ offset: 6144 + (wimBytes.length - half) + 2048, length: half }, { offset: 6144, length: wimBytes.length - half }];
    const held = new PatchedFile(container, extents, wimBytes.length);
    const name = `${container} (sources/boot.wim)`;
    const backend = new NativeWimBackend().holding(name, held);

    const result = await installAutostart(backend, name, { launcherSource: LAUNCH_CMD });
    assert.ok((await readFile(container)).equals(containerBytes), 'the container is not written');
    const pieces = held.pieces();
    assert.ok(pieces.filter((p) => !('data' in p)).reduce((n, p) => n + p.size, 0) >= wimBytes.length - 208, 'the old body stays in the container');

    const out = join(work, 'changed.wim');
    await writeFile(out, Buffer.concat(pieces.map((p) => ('data' in p ? p.data : Buffer.concat(p.extents.map((e) => containerBytes.subarray(e.offset, e.offset + e.length)))))));
    assert.match(await verify(out), /Verifying integrity/, 'wimlib checks the new integrity table');
    const changed = join(work, 'changed2');
    await extractImage(out, 2, changed);
    assert.ok((await readFile(join(changed, 'Windows', 'System32', 'winpeshl.ini'))).equals(result.newIniBytes));
    assert.ok((await readFile(join(changed, 'lifeboat', 'launch.cmd'))).equals(result.launcherBytes));
    const other = join(work, 'other1');
    await extractImage(out, 1, other);
    assertSameTree(await readTree(other), await readTree(join(work, 'tree1')), 'image 1 unchanged');
    // A damaged held WIM is refused naming it, like a file on disk.
    const broken = new PatchedFile(container, [{ offset: 0, length: 4096 }], 4096);
    await assert.rejects(new NativeWimBackend().holding(name, broken).bootIndex(name), (e: unknown) => e instanceof InputError && e.message.startsWith(name));
  });

  it('killed in the middle of an update, the old WIM still verifies and reads the same', async () => {
    const work = join(dir, 'killed');
    const wim = await makeTestWim(work, 'LZX', true);
    const oldSize = (await stat(wim)).size;
    const listing = (await runChecked('wimlib-imagex', ['dir', wim, '2'])).stdout;
    const big = join(work, 'big.bin');
    await writeFile(big, '');
    await truncate(big, 256 * 2 ** 20); // sparse: costs no disk to make, takes a while to add
    const child = spawn(process.execPath, [LIFEBOAT_BIN, 'wim', 'update', wim, '--image', '2', '--add', `${big}=/big.bin`], { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
    let killed = false;
    while (!killed && child.exitCode === null) {
      const size = (await stat(wim)).size;
      if (size > oldSize + 2 ** 20) {
        child.kill('SIGKILL');
        killed = true;
      } else await new Promise((res) => setTimeout(res, 2));
    }
    const end = await exited;
    assert.equal(end.signal, 'SIGKILL', 'the update was killed while it was writing');
    assert.ok((await stat(wim)).size > oldSize, 'it had appended data');
    const log = await verify(wim);
    assert.match(log, /Verifying integrity/);
    assert.equal((await runChecked('wimlib-imagex', ['dir', wim, '2'])).stdout, listing);
    assert.equal(await readWimFile(wim, 2, '/big.bin'), undefined);
  });
});

describe('wim engine: the base check finds Veeam through winpeshl.ini, startnet.cmd or SYSTEM\\Setup\\CmdLine', { skip }, () => {
  it('reads startnet.cmd and the SYSTEM hive from the boot image when winpeshl.ini names no Veeam program', async () => {
    const dir = await mkTempDir('wim base check');
    try {
      const backend = new NativeWimBackend();
      const make = async (name: string, files: Record<string, string | Buffer>): Promise<string> => {
        const root = join(dir, name);
        for (const [p, data] of Object.entries(files)) {
          await mkdir(join(root, ...p.split('/').slice(0, -1)), { recursive: true });
          await writeFile(join(root, ...p.split('/')), data);
        }
        const wim = join(dir, `${name}.wim`);
        await runChecked('wimlib-imagex', ['capture', root, wim, 'PE', '--boot', '--compress=LZX']);
        return wim;
      };
      const startnet = await make('startnet', { 'Windows/System32/startnet.cmd': 'wpeinit\r\nX:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe\r\n' });
      const s = await inspectBootWim(backend, startnet);
      assert.equal(s.veeam, true);
      assert.equal(s.veeamVia, 'startnet.cmd');
      assert.equal(s.original.form, 'none');

      const hive = buildHive('Setup', { CmdLine: 'X:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe' });
      const cmdline = await make('cmdline', { 'Windows/System32/config/SYSTEM': hive, 'Windows/System32/startnet.cmd': 'wpeinit\r\n' });
      const c = await inspectBootWim(backend, cmdline);
      assert.equal(c.veeam, true);
      assert.equal(c.veeamVia, 'Setup\\CmdLine');
      // winpeshl.exe never runs on such media: the autostart is refused rather than silently useless.
      await assert.rejects(installAutostart(backend, cmdline, { launcherSource: LAUNCH_CMD }), (e: unknown) =>
        e instanceof InputError && /Setup\\CmdLine\) instead of winpeshl\.exe/.test(e.message) && /--no-autostart/.test(e.hint ?? ''));

      const normal = await make('normal', { 'Windows/System32/config/SYSTEM': buildHive('Setup', { CmdLine: 'winpeshl.exe' }), 'Windows/System32/startnet.cmd': 'wpeinit\r\n' });
      const n = await inspectBootWim(backend, normal);
      assert.equal(n.veeam, false);
      assert.equal(n.cmdLine, undefined);
      await installAutostart(backend, normal, { launcherSource: LAUNCH_CMD });
      await runChecked('wimlib-imagex', ['verify', normal]);
    } finally {
      await removeTempDir(dir);
    }
  });
});

describe('wim engine: what one process parsed is reused only while the WIM is unchanged', { skip }, () => {
  it('a read after another tool changed the WIM, or after its metadata was damaged in place, sees the change', async () => {
    const dir = await mkTempDir('wim parse once');
    try {
      const root = join(dir, 'tree');
      await mkdir(join(root, 'Windows', 'System32'), { recursive: true });
      await writeFile(join(root, 'Windows', 'System32', 'winpeshl.ini'), 'first\r\n');
      const wim = join(dir, 'boot.wim');
      await runChecked('wimlib-imagex', ['capture', root, wim, 'PE', '--boot', '--compress=LZX']);
      const backend = new NativeWimBackend();
      assert.equal((await backend.readFile(wim, 1, '/Windows/System32/winpeshl.ini'))?.toString(), 'first\r\n');

      // Changed by wimlib-imagex in between: the new tree is read, not the one parsed before.
      const other = join(dir, 'other.ini');
      await writeFile(other, 'other\r\n');
      await runChecked('wimlib-imagex', ['update', wim, '1'], { input: `add "${other}" /Windows/System32/winpeshl.ini\n` });
      assert.equal((await backend.readFile(wim, 1, '/Windows/System32/winpeshl.ini'))?.toString(), 'other\r\n');

      // Our own update, then reads: they see what it wrote.
      await backend.addFiles(wim, 1, [{ source: LAUNCH_CMD, target: '/lifeboat/launch.cmd' }]);
      assert.deepEqual(await backend.readFile(wim, 1, '/lifeboat/launch.cmd'), await readFile(LAUNCH_CMD));

      // One byte of the metadata changed in place (same size, same blob table): refused as damaged, not served
      // from what was parsed before.
      const bytes = await readFile(wim);
      const meta = (await readWimHeader(wim)).bootMetadata;
      bytes[meta.offset + Math.floor(meta.sizeInWim / 2)]! ^= 0xff;
      await writeFile(wim, bytes);
      await assert.rejects(backend.readFile(wim, 1, '/lifeboat/launch.cmd'), (e: unknown) => e instanceof InputError && /damaged WIM/.test(e.message));
    } finally {
      await removeTempDir(dir);
    }
  });
});

/** Writes `bytes` to `path` and opens it with our engine. */
async function openCopy(bytes: Buffer, path: string): Promise<WimArchive> {
  await writeFile(path, bytes);
  return WimArchive.open(path);
}

