/**
 * `lifeboat backup ls|extract|verify` on the real Veeam backup files (test/fixtures/veeam, facts in SOURCE.md), run
 * the way a user runs them: listing (tree, sizes, properties, GPT and NTFS label), byte-exact extraction, a fixed VHD
 * read back by qemu-img, verification with exit codes 0 / 1 (damage named) / 2 (not a backup, truncated), and the
 * progress line on a terminal (tmux).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lifeboat, LIFEBOAT_BIN } from '../helpers/cli.js';
import { killAllTmux, TmuxSession, tmuxMissing } from '../helpers/tmux.js';
import { hasCommand, mkTempDir, removeTempDir, run } from '../helpers/tools.js';
import { REAL_VBM_PATH, VBK_FIXTURES, vbkBytes, writeVbk } from '../helpers/veeam-fixtures.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const V13 = VBK_FIXTURES.v13;
const V9 = VBK_FIXTURES.v9;

describe('lifeboat backup', () => {
  let dir: string;
  let v9: string;
  let v13: string;
  before(async () => {
    dir = await mkTempDir('backup-cli');
    v9 = await writeVbk(dir, 'v9');
    v13 = await writeVbk(dir, 'v13');
  });
  after(async () => {
    await killAllTmux();
    await removeTempDir(dir);
  });

  test('ls --json: both files, tree, sizes, properties; the v13 disk is GPT with an NTFS volume and its label', async () => {
    for (const [path, fx] of [[v9, V9], [v13, V13]] as const) {
      const r = await lifeboat(['backup', 'ls', path, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const listing = JSON.parse(r.stdout) as { formatVersion: number; items: { path: string; kind: string; size?: number; properties: { name: string; bytes?: number }[]; disk?: unknown }[] };
      assert.equal(listing.formatVersion, fx.version);
      assert.deepEqual(listing.items.map((i) => i.path), [fx.folder, ...fx.items.map((n) => `${fx.folder}/${n}`)]);
      const disk = listing.items.find((i) => i.path.endsWith(fx.disk.name))!;
      assert.equal(disk.size, fx.disk.size);
      assert.deepEqual(disk.properties.map((p) => ({ name: p.name, bytes: p.bytes })), fx.disk.properties);
    }
    const human = await lifeboat(['backup', 'ls', v13]);
    assert.equal(human.code, 0, human.stderr);
    assert.equal(human.stdout, '');
    assert.match(human.stderr, /storage format 13/);
    assert.match(human.stderr, /8b14f74c-360d-4d7a-98f7-7f4c5e737eb7 {2}3\.1 MiB \(3228160 bytes, 4 blocks\)/);
    assert.match(human.stderr, /DefinedBlocksMask = 35 bytes/);
    assert.match(human.stderr, /disk: GPT partition table 8B14F74C-360D-4D7A-98F7-7F4C5E737EB7, 1 partitions/);
    assert.match(human.stderr, /1: at 64\.0 KiB, 3\.0 MiB {2}Microsoft basic data, NTFS 3\.0 MiB label "VerySmallDisk"/);
  });

  test('extract: the exact bytes of every file SOURCE.md gives a hash for, by full path or by name', async () => {
    for (const [path, fx] of [[v9, V9], [v13, V13]] as const) {
      const out = join(dir, `${fx.version}.raw`);
      const r = await lifeboat(['backup', 'extract', path, `${fx.folder}/${fx.disk.name}`, '--out', out, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const bytes = await readFile(out);
      assert.equal(bytes.length, fx.disk.size);
      assert.equal(sha256(bytes), fx.disk.sha256);
      assert.equal((JSON.parse(r.stdout) as { sha256: string }).sha256, fx.disk.sha256);
    }
    const out = join(dir, 'summary.xml');
    const r = await lifeboat(['backup', 'extract', v13, 'summary.xml', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(await readFile(out, 'utf8'), /^<OibSummary><Backup Id="537ebd6e/);
  });

  test('extract --format vhd: qemu-img reads a fixed VHD whose data is the raw disk', async (t) => {
    if (!(await hasCommand('qemu-img'))) return t.skip('qemu-img is not installed (scripts/install-deps.sh installs qemu-utils)');
    const vhd = join(dir, 'disk.vhd');
    const r = await lifeboat(['backup', 'extract', v13, V13.disk.name, '--out', vhd, '--format', 'vhd']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /fixed VHD/);
    assert.equal((await stat(vhd)).size, V13.disk.size + 512);
    const tail = (await readFile(vhd)).subarray(-512);
    assert.equal(tail.toString('latin1', 0, 8), 'conectix');
    const info = await run('qemu-img', ['info', '--output=json', '--image-opts', `driver=vpc,force_size_calc=current_size,file.filename=${vhd}`]);
    assert.equal(info.code, 0, info.stderr);
    const parsed = JSON.parse(info.stdout) as { format: string; 'virtual-size': number };
    assert.equal(parsed.format, 'vpc');
    assert.equal(parsed['virtual-size'], V13.disk.size);
    const plainInfo = await run('qemu-img', ['info', '-f', 'vpc', vhd]);
    assert.equal(plainInfo.code, 0, plainInfo.stderr);
    assert.match(plainInfo.stdout, /file format: vpc/);
    const raw = join(dir, 'from-vhd.raw');
    const conv = await run('qemu-img', ['convert', '--image-opts', `driver=vpc,force_size_calc=current_size,file.filename=${vhd}`, '-O', 'raw', raw]);
    assert.equal(conv.code, 0, conv.stderr);
    assert.equal(sha256(await readFile(raw)), V13.disk.sha256);
  });

  test('extract refuses what it cannot do with exit 2: unknown path (listing the files), a folder, a bad --format', async () => {
    const missing = await lifeboat(['backup', 'extract', v13, 'nope.bin', '--out', join(dir, 'x')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /"nope\.bin" is not in .*v13\.vbk/);
    assert.match(missing.stderr, /BackupComponents\.xml/);
    const folder = await lifeboat(['backup', 'extract', v13, V13.folder, '--out', join(dir, 'x')]);
    assert.equal(folder.code, 2);
    assert.match(folder.stderr, /is a folder, not a file/);
    const fmt = await lifeboat(['backup', 'extract', v13, 'summary.xml', '--out', join(dir, 'x'), '--format', 'vmdk']);
    assert.equal(fmt.code, 2);
    assert.match(fmt.stderr, /--format "vmdk"/);
    assert.deepEqual((await readdir(dir)).filter((n) => n === 'x' || n.startsWith('.x.')), []);
  });

  test('verify: 0 on the intact files; 1 naming the damaged block, its internal file and offset; nothing left by extract', async () => {
    for (const path of [v9, v13]) {
      const r = await lifeboat(['backup', 'verify', path]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /verified v1?\d\.vbk: \d+ blocks/);
    }
    // The v9 disk's last block (LZ4, data at 0x1e21000): one byte changed in its compressed data.
    const b = Buffer.from(await vbkBytes('v9'));
    b[0x1e21000 + 600] ^= 0x40;
    const damaged = join(dir, 'damaged.vbk');
    await writeFile(damaged, b);
    const r = await lifeboat(['backup', 'verify', damaged]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /block 3 of ".*DEV__dev_nvme1n1" \(offset 3145728\)/);
    const json = await lifeboat(['backup', 'verify', damaged, '--json']);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as { ok: boolean; damage: { internalFile: string; blockIndex: number; internalOffset: number; fileOffset: number }[] };
    assert.equal(report.ok, false);
    assert.deepEqual(
      { ...report.damage[0]!, reason: undefined, what: undefined, file: undefined },
      { internalFile: `${V9.folder}/DEV__dev_nvme1n1`, blockIndex: 3, internalOffset: 3145728, fileOffset: 0x1e21000, reason: undefined, what: undefined, file: undefined },
    );
    const listed = await lifeboat(['backup', 'ls', damaged]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stderr, /DEV__dev_nvme1n1 {2}4\.0 MiB/);
    const v13Bad = Buffer.from(await vbkBytes('v13'));
    v13Bad.fill(0x5a, 0x189400 + 100, 0x189400 + 116); // the v13 disk's first block: its partition table
    await writeFile(join(dir, 'bad13.vbk'), v13Bad);
    const listed13 = await lifeboat(['backup', 'ls', join(dir, 'bad13.vbk')]);
    assert.equal(listed13.code, 0, listed13.stderr);
    assert.match(listed13.stderr, /disk not readable: .*run "lifeboat backup verify"/);
    const out = join(dir, 'never.raw');
    const ex = await lifeboat(['backup', 'extract', damaged, 'DEV__dev_nvme1n1', '--out', out]);
    assert.equal(ex.code, 1);
    await assert.rejects(stat(out));
  });

  test('verify: exit 2 naming the file for foreign and truncated files', async () => {
    const cases: [string, Buffer][] = [
      ['metadata.vbm', await readFile(REAL_VBM_PATH)],
      ['packed.vbk', await readFile(V13.gz)],
      ['cut.vbk', (await vbkBytes('v13')).subarray(0, 0x90000)],
      ['empty.vbk', Buffer.alloc(0)],
    ];
    for (const [name, bytes] of cases) {
      const p = join(dir, name);
      await writeFile(p, bytes);
      const r = await lifeboat(['backup', 'verify', p, '--json']);
      assert.equal(r.code, 2, `${name}: ${r.stderr}`);
      assert.ok(r.stderr.includes(p), `${name}: ${r.stderr}`);
    }
    const cut = await lifeboat(['backup', 'verify', join(dir, 'cut.vbk')]);
    assert.match(cut.stderr, /truncated/);
  });

  test('verify shows bytes, rate and ETA on a terminal', async (t) => {
    const missing = await tmuxMissing();
    if (missing) return t.skip(missing);
    const s = await TmuxSession.start([process.execPath, LIFEBOAT_BIN, 'backup', 'verify', v9]);
    await s.waitFor(/verified v9\.vbk/, 60_000);
    const screen = await s.screen();
    assert.match(screen, /verifying v9\.vbk \d+% [\d.]+ (B|KiB|MiB) \/ 30\.1 MiB, [\d.]+ (B|KiB|MiB)\/s, ETA \d+ s/);
    assert.equal(await s.waitForExit(), 0);
  });
});
