/**
 * Failures a user can meet in build and verify end in a clear message with the right exit code and nothing left
 * behind (no crash trace, no spinning, no empty folder); driver folders outside the site's folder and links out of
 * a driver folder are refused; and with --json every command's failure is one JSON error document on stdout.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lifeboat } from '../helpers/cli.js';
import { REPO_ROOT, mkTempDir, removeTempDir } from '../helpers/tools.js';

const ENV = { ...process.env, LIFEBOAT_SHARE_PASSWORD: 'Share-Pa55word-for-the-NAS!', LIFEBOAT_UNLOCK: 'correct-horse-battery-staple-Quokka-93', NO_COLOR: '1' };

describe('build and verify: clear messages, right exit codes, nothing left behind', () => {
  let dir: string;
  let site: string;
  let notIso: string;

  before(async () => {
    dir = await mkTempDir('cli-errors');
    await cp(join(REPO_ROOT, 'examples'), join(dir, 'site'), { recursive: true });
    site = join(dir, 'site', 'site.yaml');
    notIso = join(dir, 'not-an.iso');
    await writeFile(notIso, 'just text, not an ISO\n'.repeat(2000));
  });
  after(() => removeTempDir(dir));

  async function refused(args: string[], pattern: RegExp, env = ENV): Promise<string> {
    const r = await lifeboat(args, { env, timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /This is a bug|\n\s+at /, 'no crash trace');
    return r.stderr;
  }

  test('build --out an existing file', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'keep me\n');
    await refused(['build', '--site', site, '--base', notIso, '--out', file], /--out ".*a-file" is a file/);
    assert.equal(await readFile(file, 'utf8'), 'keep me\n');
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('lifeboat')), [], 'no store left beside it');
  });

  test('build --out under /proc ends at once with a message (no spinning)', async () => {
    await refused(['build', '--site', site, '--base', notIso, '--out', '/proc/lifeboat-x/y'], /cannot make a folder in "\/proc/);
    await refused(['build', '--site', site, '--base', notIso, '--out', '/proc/lifeboat-x'], /cannot make a folder in "\/proc"/);
  });

  test('build --out a folder with other files, or a dangling link', async () => {
    const other = join(dir, 'other');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'mine\n');
    await refused(['build', '--site', site, '--base', notIso, '--out', other], /holds files that are not from a Lifeboat build \("notes\.txt"\)/);
    assert.deepEqual(await readdir(other), ['notes.txt']);
    await symlink(join(dir, 'nowhere'), join(dir, 'dangling-out'));
    await refused(['build', '--site', site, '--base', notIso, '--out', join(dir, 'dangling-out')], /is a link to ".*nowhere", which does not exist/);
  });

  test('a build that fails validation leaves no --out folder and nothing beside it', async () => {
    const out = join(dir, 'never');
    await refused(['build', '--site', site, '--base', notIso, '--out', out], /not-an\.iso/);
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('never')), [], 'no folder and no store');
  });

  test('verify on a directory names the media in it', async () => {
    await mkdir(join(dir, 'media'));
    await writeFile(join(dir, 'media', 'x.iso'), '');
    await refused(['verify', join(dir, 'media')], /"[^"]*media" is a folder; verify checks one medium at a time\n.*x\.iso/);
  });

  test('a dangling link, a missing folder, a link out of the folder under drivers:', async () => {
    const virtio = join(dir, 'site', 'drivers', 'virtio');
    await symlink(join(dir, 'gone.sys'), join(virtio, 'gone.sys'));
    await refused(['build', '--site', site, '--base', notIso, '--out', join(dir, 'o1')], /gone\.sys" in the virtio driver folder is a link to ".*gone\.sys", which does not exist/);
    await writeFile(join(dir, 'secret.txt'), 'not a driver\n');
    await cp(join(dir, 'site'), join(dir, 'site2'), { recursive: true, verbatimSymlinks: true });
    const site2 = join(dir, 'site2', 'site.yaml');
    await (await import('node:fs/promises')).rm(join(dir, 'site2', 'drivers', 'virtio', 'gone.sys'));
    await symlink(join(dir, 'secret.txt'), join(dir, 'site2', 'drivers', 'virtio', 'secret.txt'));
    await refused(['build', '--site', site2, '--base', notIso, '--out', join(dir, 'o2')], /secret\.txt" in the virtio driver folder is a link out of the folder/);
    const missing = join(dir, 'site3.yaml');
    await writeFile(missing, (await readFile(site, 'utf8')).replace('virtio: drivers/virtio', 'virtio: drivers/no-such-folder'));
    await cp(join(dir, 'site', 'drivers'), join(dir, 'drivers'), { recursive: true, verbatimSymlinks: true });
    await refused(['build', '--site', missing, '--base', notIso, '--out', join(dir, 'o3')], /virtio driver folder ".*no-such-folder": ENOENT/);
  });

  test('driver folders outside the site\'s folder need --drivers-outside-site', async () => {
    const outside = join(dir, 'outside-drivers');
    await cp(join(REPO_ROOT, 'examples', 'drivers', 'virtio'), outside, { recursive: true });
    const yaml = join(dir, 'site', 'site-outside.yaml');
    await writeFile(yaml, (await readFile(site, 'utf8')).replace('virtio: drivers/virtio', 'virtio: ../outside-drivers'));
    const msg = await refused(['build', '--site', yaml, '--base', notIso, '--out', join(dir, 'o4')], /drivers\.virtio in .*site-outside\.yaml points outside the site's folder/);
    assert.match(msg, /--drivers-outside-site/);
    // allowed: the build gets past the drivers and stops at the (bad) base instead
    await refused(['build', '--site', yaml, '--base', notIso, '--out', join(dir, 'o4'), '--drivers-outside-site'], /not-an\.iso/);
  });
});

describe('--json: every failure is one JSON error document on stdout', () => {
  let dir: string;
  before(async () => {
    dir = await mkTempDir('cli-json');
  });
  after(() => removeTempDir(dir));

  const cases: [string, (d: string) => string[], number, string][] = [
    ['build: a missing required option', () => ['build', '--json'], 2, 'usage'],
    ['build: a missing site file', (d) => ['build', '--site', join(d, 'none.yaml'), '--base', 'x.iso', '--out', join(d, 'o'), '--json'], 2, 'bad-input'],
    ['verify: a missing file', (d) => ['verify', join(d, 'none.iso'), '--json'], 2, 'bad-input'],
    ['verify: a folder', (d) => ['verify', d, '--json'], 2, 'bad-input'],
    ['iso inspect: not an ISO', (d) => ['iso', 'inspect', join(d, 'none.iso'), '--json'], 2, 'bad-input'],
    ['audit: a missing share', (d) => ['audit', '--site', join(REPO_ROOT, 'examples', 'site.yaml'), '--share', join(d, 'no-share'), '--json'], 2, 'bad-input'],
    ['plan: a missing site', (d) => ['plan', '--site', join(d, 'none.yaml'), '--json'], 2, 'bad-input'],
    ['manual: a missing site', (d) => ['manual', '--site', join(d, 'none.yaml'), '--out', join(d, 'm'), '--json'], 2, 'bad-input'],
    ['an unknown option', () => ['verify', 'x.iso', '--json', '--no-such-option'], 2, 'usage'],
  ];
  for (const [name, args, exit, code] of cases) {
    test(name, async () => {
      const r = await lifeboat(args(dir), { env: ENV, timeoutMs: 60_000 });
      assert.equal(r.code, exit, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.ok, false);
      assert.equal(doc.error.code, code);
      assert.equal(doc.error.exitCode, exit);
      assert.ok(typeof doc.error.message === 'string' && doc.error.message.length > 10, r.stdout);
      if (code !== 'usage') assert.ok(r.stderr.includes(doc.error.message), 'the same message on stderr');
    });
  }

  test('without --json, stdout stays empty on failure', async () => {
    const r = await lifeboat(['verify', join(dir, 'none.iso')], { env: ENV });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
  });
});
