/**
 * The portable Linux executable (dist/release/lifeboat-linux-x64, `make release`) copied alone into an empty folder:
 * it carries everything it needs (templates, manual text, example site, assistant.exe) as SEA assets. SHA256SUMS
 * matches both executables; the manual prints to PDF through the bundled playwright; `demo` puts the exact
 * build/assistant.exe on the media; what the exe unpacks while running is gone when it ends.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findBrowser } from '../../src/manual/pdf.js';
import { REPO_ROOT, mkTempDir, removeTempDir, run, runChecked, sha256File } from '../helpers/tools.js';

const RELEASE = join(REPO_ROOT, 'dist', 'release');

describe('lifeboat-linux-x64, alone in a folder', { timeout: 1_500_000 }, () => {
  let dir: string;
  let exe: string;
  let tmp: string;
  const lifeboat = (args: string[]) => run(exe, args, { cwd: dir, env: { ...process.env, TMPDIR: tmp, NO_COLOR: '1' }, timeoutMs: 300_000 });

  before(async () => {
    // Up to date after `make test` (which runs `make release`); builds it when this file is run alone.
    const release = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'build-release.mjs')], { timeoutMs: 1_200_000 });
    assert.equal(release.code, 0, `scripts/build-release.mjs failed:\n${release.stderr}`);
    dir = await mkTempDir('release-linux');
    tmp = join(dir, 'tmp');
    await mkdir(tmp);
    exe = join(dir, 'lifeboat');
    await copyFile(join(RELEASE, 'lifeboat-linux-x64'), exe);
    await runChecked('chmod', ['+x', exe]);
    await copyFile(join(REPO_ROOT, 'examples', 'site.yaml'), join(dir, 'site.yaml'));
  });
  after(() => dir && removeTempDir(dir));

  test('SHA256SUMS names both executables with their hashes', async () => {
    const sums = await readFile(join(RELEASE, 'SHA256SUMS'), 'utf8');
    const lines = sums.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const name of ['lifeboat-win-x64.exe', 'lifeboat-linux-x64']) {
      assert.ok(lines.includes(`${await sha256File(join(RELEASE, name))}  ${name}`), `${name} in SHA256SUMS`);
    }
    const win = await readFile(join(RELEASE, 'lifeboat-win-x64.exe'));
    assert.equal(win.subarray(0, 2).toString('latin1'), 'MZ', 'a Windows program');
  });

  test('--version is the package version; an unknown command is exit 2', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await lifeboat(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
    assert.equal((await lifeboat(['no-such-command'])).code, 2);
  });

  test('manual: HTML from the carried templates and text, and the PDF through the bundled playwright', async (t) => {
    const browser = await findBrowser();
    const r = await lifeboat(['manual', '--site', 'site.yaml', '--out', 'manual', '--json', ...(browser ? [] : ['--no-pdf'])]);
    assert.equal(r.code, 0, r.stderr);
    const files = await readdir(join(dir, 'manual'));
    const html = await readFile(join(dir, 'manual', files.find((f) => f.endsWith('.html'))!), 'utf8');
    assert.ok(html.includes('Muster Steuerberatung'), 'the site in the HTML');
    if (!browser) return t.skip('no Chromium-family browser here');
    const pdf = files.find((f) => f.endsWith('.pdf'));
    assert.ok(pdf, files.join(', '));
    const text = (await runChecked('pdftotext', ['-enc', 'UTF-8', join(dir, 'manual', pdf), '-'])).stdout;
    assert.ok(text.includes('Muster Steuerberatung'), 'the site in the PDF text');
  });

  test("demo: the media carry exactly build/assistant.exe; nothing unpacked is left behind", async () => {
    const r = await lifeboat(['demo', '--out', 'demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /verified .*muster-stb\.iso/);
    const into = join(dir, 'iso');
    await mkdir(into);
    await runChecked('bsdtar', ['-xf', join(dir, 'demo', 'muster-stb.iso'), '-C', into, 'lifeboat/assistant.exe']);
    assert.equal(await sha256File(join(into, 'lifeboat', 'assistant.exe')), await sha256File(join(REPO_ROOT, 'build', 'assistant.exe')));
    assert.deepEqual(await readdir(tmp), [], 'the private unpack folder is removed at exit');
  });
});
