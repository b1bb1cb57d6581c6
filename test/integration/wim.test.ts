/**
 * Both WIM backends (our own engine, the default, and wimlib-imagex) and the autostart against real WIMs made by
 * `wimlib-imagex capture`: every winpeshl.ini form and encoding, read back independently with the wimlib-imagex CLI;
 * the rest of the image untouched; damaged WIMs give clear errors.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, truncate, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { installAutostart, inspectBootWim } from '../../src/wim/autostart.js';
import { findWimBackend } from '../../src/wim/backend.js';
import { readWimHeader } from '../../src/wim/header.js';
import { LAUNCH_CMD } from '../../src/wim/overlay.js';
import { WimlibBackend } from '../../src/wim/wimlib.js';
import { NativeWimBackend } from '../../src/wim/native.js';
import type { WimBackend } from '../../src/wim/backend.js';
import { CMD_EXE, WPEINIT, decodeIni, encodeIni, parseWinpeshl } from '../../src/wim/winpeshl.js';
import { hasCommand, mkTempDir, pseudoRandomBytes, removeTempDir, runChecked } from '../helpers/tools.js';

const VEEAM = 'X:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe';
const LAUNCHER_ENTRY = { path: CMD_EXE, args: '/c %SYSTEMDRIVE%\\lifeboat\\launch.cmd' };
const skip = (await hasCommand('wimlib-imagex')) ? false : 'wimlib-imagex is not installed (Debian wimtools; make installs it)';

interface Variant {
  name: string;
  /** winpeshl.ini bytes, or undefined for none. */
  ini?: Buffer;
  /** Where the image keeps System32 (case differs on some media). */
  system32?: string;
  expectedApps: { path: string; args?: string }[];
  veeam: boolean;
}

const utf16 = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
const VARIANTS: Variant[] = [
  {
    name: 'LaunchApps in UTF-16LE with BOM',
    ini: utf16(`[LaunchApps]\r\n${VEEAM}\r\n`),
    expectedApps: [{ path: WPEINIT }, LAUNCHER_ENTRY, { path: VEEAM }],
    veeam: true,
  },
  {
    name: 'LaunchApps in UTF-8 with wpeinit and arguments',
    ini: Buffer.from(`; Veeam\n[LaunchApps]\nwpeinit.exe\n${VEEAM}, /mode "a b"\n`, 'utf8'),
    expectedApps: [{ path: 'wpeinit.exe' }, LAUNCHER_ENTRY, { path: VEEAM, args: '/mode "a b"' }],
    veeam: true,
  },
  {
    name: 'LaunchApp AppPath in UTF-8 with BOM, lower-case folder names',
    ini: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[LaunchApp]\r\nAppPath = %SYSTEMDRIVE%\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe\r\n')]),
    system32: 'windows/system32',
    expectedApps: [{ path: WPEINIT }, LAUNCHER_ENTRY, { path: '%SYSTEMDRIVE%\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe' }],
    veeam: true,
  },
  {
    name: 'no winpeshl.ini (plain Windows PE)',
    expectedApps: [{ path: WPEINIT }, LAUNCHER_ENTRY, { path: CMD_EXE, args: '/k %SYSTEMROOT%\\System32\\startnet.cmd' }],
    veeam: false,
  },
];

/** `wimlib-imagex dir` listing of an image, one path per line. */
async function listImage(wim: string, index = 1): Promise<string[]> {
  const r = await runChecked('wimlib-imagex', ['dir', wim, String(index)]);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '').sort();
}

/** Extracts paths with the wimlib-imagex CLI (independent of our backend) and returns their bytes. */
async function cliExtract(wim: string, index: number, paths: string[], dest: string): Promise<Buffer[]> {
  await mkdir(dest, { recursive: true });
  await runChecked('wimlib-imagex', ['extract', wim, String(index), ...paths, `--dest-dir=${dest}`, '--no-acls', '--no-globs']);
  return Promise.all(paths.map((p) => readFile(join(dest, p.split('/').pop() ?? ''))));
}

async function makeImageTree(root: string, v: Variant): Promise<void> {
  const sys = join(root, ...(v.system32 ?? 'Windows/System32').split('/'));
  await mkdir(sys, { recursive: true });
  if (v.ini) await writeFile(join(sys, 'winpeshl.ini'), v.ini);
  await writeFile(join(sys, 'startnet.cmd'), 'wpeinit\r\n');
  await mkdir(join(root, 'VeeamRecovery'), { recursive: true });
  await writeFile(join(root, 'VeeamRecovery', 'Veeam.Endpoint.Recovery.exe'), pseudoRandomBytes(`veeam:${v.name}`, 300_000));
  await mkdir(join(root, 'Program Files', 'Some App'), { recursive: true });
  await writeFile(join(root, 'Program Files', 'Some App', 'big.bin'), pseudoRandomBytes('big', 2_000_000));
}

interface BackendCase {
  backend: WimBackend;
  /** What each damage case's message says, for this backend. */
  damaged: { truncated: RegExp; metadata: RegExp };
}

const BACKENDS: BackendCase[] = [
  { backend: new NativeWimBackend(), damaged: { truncated: /damaged WIM: .*(past the end|end of file)/i, metadata: /damaged WIM: /i } },
  { backend: new WimlibBackend(), damaged: { truncated: /damaged or not a WIM[\s\S]*end of the file/i, metadata: /damaged or not a WIM/ } },
];

it('our own engine is the default WIM backend; wimlib-imagex when asked for', async () => {
  assert.equal((await findWimBackend())?.name, 'lifeboat');
  if (!skip) assert.equal((await findWimBackend('wimlib-imagex'))?.name, 'wimlib-imagex');
});

for (const { backend, damaged } of BACKENDS) describe(`wim: ${backend.name} backend and autostart on real WIMs`, { skip }, () => {
  let dir: string;

  before(async () => {
    dir = await mkTempDir('wim it');
  });
  after(async () => {
    if (dir) await removeTempDir(dir);
  });

  it('is available', async () => {
    assert.ok(await backend.available());
  });

  VARIANTS.forEach((v, i) => {
    it(`autostart: ${v.name}`, async () => {
      const work = join(dir, `variant ${i}`); // a space in every path
      const src = join(work, 'image');
      await makeImageTree(src, v);
      const wim = join(work, 'boot copy.wim');
      await runChecked('wimlib-imagex', ['capture', src, wim, 'Microsoft Windows PE (x64)', '--boot', '--compress=LZX', '--threads=2']);
      const before = await listImage(wim);
      const veeamBefore = await cliExtract(wim, 1, ['/VeeamRecovery/Veeam.Endpoint.Recovery.exe'], join(work, 'x0'));

      const inspected = await inspectBootWim(backend, wim);
      assert.equal(inspected.index, 1);
      assert.equal(inspected.veeam, v.veeam);
      assert.deepEqual(inspected.originalBytes, v.ini);

      const result = await installAutostart(backend, wim, { launcherSource: LAUNCH_CMD });
      assert.equal(result.veeam, v.veeam);
      assert.equal(result.original.form, v.ini ? (v.name.includes('AppPath') ? 'LaunchApp' : 'LaunchApps') : 'none');

      // read back with the CLI, independently of the backend
      const sys32 = v.system32 ?? 'Windows/System32';
      const [launch, ini] = await cliExtract(wim, 1, ['/lifeboat/launch.cmd', `/${sys32}/winpeshl.ini`], join(work, 'x1'));
      assert.deepEqual(launch, await readFile(LAUNCH_CMD));
      assert.deepEqual(ini, encodeIni(result.newIni));
      assert.deepEqual([...(ini ?? Buffer.alloc(0)).subarray(0, 2)], [0xff, 0xfe]);
      const parsed = parseWinpeshl(decodeIni(ini ?? Buffer.alloc(0)));
      assert.equal(parsed.form, 'LaunchApps');
      assert.deepEqual(parsed.apps, v.expectedApps);
      assert.deepEqual(parsed.warnings, []);

      // the rest of the image is untouched: same paths plus the new ones (no second "windows" folder), same bytes
      const after = await listImage(wim);
      const added = ['/lifeboat', '/lifeboat/launch.cmd', ...(v.ini ? [] : [`/${sys32}/winpeshl.ini`])];
      assert.deepEqual(after, [...before, ...added].sort());
      const veeamAfter = await cliExtract(wim, 1, ['/VeeamRecovery/Veeam.Endpoint.Recovery.exe'], join(work, 'x2'));
      assert.deepEqual(veeamAfter, veeamBefore);
      await runChecked('wimlib-imagex', ['verify', wim]);
      const h = await readWimHeader(wim);
      assert.equal(h.bootIndex, 1);
      assert.equal(h.imageCount, 1);
    });
  });

  it('updates the image the header marks bootable and leaves the other one alone', async () => {
    const work = join(dir, 'two images');
    await makeImageTree(join(work, 'one'), VARIANTS[3]!);
    await makeImageTree(join(work, 'two'), VARIANTS[0]!);
    const wim = join(work, 'boot.wim');
    await runChecked('wimlib-imagex', ['capture', join(work, 'one'), wim, 'Windows PE', '--compress=LZX']);
    await runChecked('wimlib-imagex', ['append', join(work, 'two'), wim, 'Windows Setup', '--boot']);
    assert.equal(await backend.bootIndex(wim), 2);
    assert.equal((await readWimHeader(wim)).bootIndex, 2);
    const image1 = await listImage(wim, 1);
    const result = await installAutostart(backend, wim, { launcherSource: LAUNCH_CMD });
    assert.equal(result.index, 2);
    assert.ok(result.veeam);
    assert.deepEqual(await listImage(wim, 1), image1);
    assert.ok((await listImage(wim, 2)).includes('/lifeboat/launch.cmd'));
  });

  it('readFile: missing -> undefined, case-insensitive, bounded, directories refused', async () => {
    const work = join(dir, 'read');
    await makeImageTree(join(work, 'img'), VARIANTS[0]!);
    const wim = join(work, 'r.wim');
    await runChecked('wimlib-imagex', ['capture', join(work, 'img'), wim, 'PE', '--boot']);
    assert.equal(await backend.readFile(wim, 1, '/Windows/System32/nothing.ini'), undefined);
    assert.equal(await backend.readFile(wim, 1, '/NoSuchDir/x.ini'), undefined);
    assert.deepEqual(await backend.readFile(wim, 1, '\\WINDOWS\\system32\\WinPEshl.INI'), VARIANTS[0]!.ini);
    await assert.rejects(backend.readFile(wim, 1, '/Program Files/Some App/big.bin'), (e: unknown) =>
      e instanceof InputError && /larger than 1048576 bytes/.test(e.message));
    await assert.rejects(backend.readFile(wim, 1, '/Windows'), (e: unknown) => e instanceof InputError && /not a regular file/.test(e.message));
    await assert.rejects(backend.readFile(wim, 2, '/x'), (e: unknown) => e instanceof InputError && /has no image 2/.test(e.message));
  });

  it('addFiles: one update, sources with spaces and quotes, replacing keeps one file', async () => {
    const work = join(dir, 'add');
    await makeImageTree(join(work, 'img'), VARIANTS[1]!);
    const wim = join(work, 'a.wim');
    await runChecked('wimlib-imagex', ['capture', join(work, 'img'), wim, 'PE', '--boot']);
    const s1 = join(work, "it's a file.txt");
    const s2 = join(work, 'say "hi".txt');
    await writeFile(s1, 'one\r\n');
    await writeFile(s2, 'two\r\n');
    await backend.addFiles(wim, 1, [
      { source: s1, target: '/New Folder/one.txt' },
      { source: s2, target: 'windows\\SYSTEM32\\WINPESHL.INI' },
    ]);
    assert.deepEqual(await backend.readFile(wim, 1, '/New Folder/one.txt'), Buffer.from('one\r\n'));
    assert.deepEqual(await backend.readFile(wim, 1, '/Windows/System32/winpeshl.ini'), Buffer.from('two\r\n'));
    const list = await listImage(wim);
    assert.equal(list.filter((p) => p.toLowerCase() === '/windows/system32/winpeshl.ini').length, 1);
    assert.equal(list.filter((p) => p.toLowerCase() === '/windows').length, 1);
    await assert.rejects(backend.addFiles(wim, 1, [{ source: join(work, 'missing'), target: '/x' }]), InputError);
    await assert.rejects(backend.addFiles(wim, 1, [{ source: s1, target: '/a' }, { source: s2, target: '/A' }]), /given twice/);
  });

  it('damaged WIMs give clear errors (exit code 2) and are not "fixed" silently', async () => {
    const work = join(dir, 'damaged');
    await makeImageTree(join(work, 'img'), VARIANTS[0]!);
    const good = join(work, 'good.wim');
    await runChecked('wimlib-imagex', ['capture', join(work, 'img'), good, 'PE', '--boot', '--compress=LZX']);
    const size = (await readFile(good)).length;

    const cases: [string, (f: string) => Promise<void>, RegExp][] = [
      ['truncated', (f) => truncate(f, Math.floor(size / 2)), damaged.truncated],
      ['tiny', (f) => truncate(f, 100), /not a WIM file \(only 100 bytes/],
      ['not a WIM', (f) => writeFile(f, Buffer.alloc(4096, 0x4d)), /not a WIM file \(no "MSWIM" signature/],
      ['corrupted metadata', async (f) => {
        const h = await readFile(f);
        const metaOffset = Number(h.readBigUInt64LE(0x60 + 8)); // boot metadata reshdr: 7-byte size + flags, then offset
        const fh = await open(f, 'r+');
        try {
          await fh.write(Buffer.alloc(64, 0xa5), 0, 64, metaOffset + 8);
        } finally {
          await fh.close();
        }
      }, damaged.metadata],
    ];
    for (const [name, damage, re] of cases) {
      const wim = join(work, `${name}.wim`);
      await copyFile(good, wim);
      await damage(wim);
      await assert.rejects(installAutostart(backend, wim, { launcherSource: LAUNCH_CMD }), (e: unknown) => {
        assert.ok(e instanceof InputError, `${name}: expected InputError, got ${String(e)}`);
        assert.equal(e.exitCode, 2);
        assert.match(e.message, re, name);
        assert.ok(e.message.includes(wim), `${name}: message names the file`);
        return true;
      });
    }
    await assert.rejects(backend.bootIndex(join(work, 'absent.wim')), /cannot open the WIM file \(ENOENT\)/);
  });
});
