/**
 * A build into a folder that holds an earlier build, interrupted at many points (every stage, every step of the
 * commit, and while an earlier build's plain folder is converted) by SIGINT, SIGTERM and SIGKILL: afterwards the
 * folder always holds one whole build, the earlier or the new one: SHA256SUMS matches every file, the report, the
 * media and the manual belong to one build, the code on the manual's sealed page opens the media's vault, and
 * `verify` passes. A second build into a folder being built refuses.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, lstat, readFile, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IsoImage } from '../../src/iso/index.js';
import { makeStandInBase } from '../../src/media/stand-in-base.js';
import { verifyMedia } from '../../src/media/verify.js';
import { Secret, openVault } from '../../src/secrets/index.js';
import { LIFEBOAT_BIN, lifeboat } from '../helpers/cli.js';
import { REPO_ROOT, mkTempDir, removeTempDir, sha256File } from '../helpers/tools.js';

const SITE = join(REPO_ROOT, 'examples', 'site.yaml');
const ENV = { ...process.env, LIFEBOAT_SHARE_PASSWORD: 'Share-Pa55word-for-the-NAS!', NO_COLOR: '1' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function isoFile(image: IsoImage, path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of image.stream(image.find(path)!.extents)) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Checks that `out` holds one whole build and returns its build id. */
async function wholeBuild(out: string): Promise<string> {
  const names = (await readdir(out)).sort();
  const sums = (await readFile(join(out, 'SHA256SUMS'), 'utf8')).trim().split('\n').map((l) => /^([0-9a-f]{64}) {2}(.+)$/.exec(l)!);
  assert.deepEqual(names, [...sums.map((m) => m[2]!), 'SHA256SUMS', 'build-report.json'].sort(), 'exactly the files SHA256SUMS lists');
  for (const [, hash, name] of sums) assert.equal(await sha256File(join(out, name!)), hash, `${name} matches SHA256SUMS`);
  const report = JSON.parse(await readFile(join(out, 'build-report.json'), 'utf8'));
  for (const o of report.outputs) assert.ok(sums.some((m) => m[2] === o.file && m[1] === o.sha256), `${o.file}: report and SHA256SUMS agree`);
  const iso = join(out, 'muster-stb.iso');
  const image = await IsoImage.open(iso);
  try {
    const siteJson = JSON.parse((await isoFile(image, '/lifeboat/site.json')).toString('utf8'));
    assert.equal(siteJson.buildId, report.buildId, 'the media belong to the build the report describes');
    const manual = (await readFile(join(out, 'muster-stb-manual.html'), 'utf8')).replace(/<[^>]*>/g, ' ');
    assert.ok(manual.includes(report.buildId), 'the manual belongs to the same build');
    const code = /(\d{5})(?:[^0-9]{1,20}(\d{5})){7}/.exec(manual)?.[0].match(/\d{5}/g)?.join('-');
    assert.ok(code, 'the manual carries a recovery code');
    const payload = await openVault(await isoFile(image, '/lifeboat/vault.json'), new Secret(code!), 'muster-stb');
    assert.equal(payload.share.password.reveal(), ENV.LIFEBOAT_SHARE_PASSWORD, 'the code in this folder opens this folder\'s vault');
  } finally {
    await image.close();
  }
  const v = await verifyMedia(iso);
  assert.ok(v.ok, JSON.stringify(v.checks.filter((c) => !c.ok)));
  return report.buildId as string;
}

function buildArgs(base: string, out: string): string[] {
  return [LIFEBOAT_BIN, 'build', '--site', SITE, '--base', base, '--out', out, '--no-usb', '--generate-code'];
}

/** Runs a build that stops itself at `point`, delivers `signal` there and returns how it ended. */
async function interruptAt(base: string, out: string, point: string, signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const child = spawn(process.execPath, buildArgs(base, out), { env: { ...ENV, LIFEBOAT_TEST_STOP_AT: point }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, sig) => r({ code, signal: sig })));
  let ended = false;
  void exited.then(() => (ended = true));
  for (let i = 0; ; i++) {
    const state = await readFile(`/proc/${child.pid}/stat`, 'utf8').then((s) => s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3), () => '');
    if (state === 'T') break;
    assert.ok(!ended && i < 6000, `the build never reached ${point}: ${stderr}`);
    await sleep(20);
  }
  child.kill(signal);
  if (signal !== 'SIGKILL') child.kill('SIGCONT');
  return { ...(await exited), stderr };
}

describe('an interrupted build into a folder with an earlier build leaves one whole build', () => {
  let dir: string;
  let base: string;
  let out: string;
  let current: string;
  let interrupted = 0;

  before(async () => {
    dir = await mkTempDir('build-atomic');
    base = join(dir, 'veeam.iso');
    await makeStandInBase(base, join(dir, 'base-work'));
    out = join(dir, 'out');
    const r = await lifeboat(buildArgs(base, out).slice(1), { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    current = await wholeBuild(out);
  });
  after(async () => {
    process.stderr.write(`# interrupted builds: ${interrupted}\n`);
    await removeTempDir(dir);
  });

  // Before the switch the earlier build stays; from the switch on (a signal held back until it is done) the new one.
  const cases: [string, NodeJS.Signals, 'old' | 'new'][] = [
    ['stage:open-outputs', 'SIGINT', 'old'],
    ['stage:check-base', 'SIGTERM', 'old'],
    ['stage:seal-vault', 'SIGKILL', 'old'],
    ['stage:compose-overlay', 'SIGINT', 'old'],
    ['stage:write-iso', 'SIGKILL', 'old'],
    ['stage:print-manual', 'SIGTERM', 'old'],
    ['stage:write-report', 'SIGINT', 'old'],
    ['stage:commit', 'SIGKILL', 'old'],
    ['commit:before-switch', 'SIGINT', 'old'],
    ['commit:before-switch', 'SIGTERM', 'old'],
    ['commit:before-switch', 'SIGKILL', 'old'],
    ['commit:switching', 'SIGINT', 'new'],
    ['commit:switching', 'SIGTERM', 'new'],
    ['commit:switching', 'SIGKILL', 'old'],
    ['commit:switched', 'SIGINT', 'new'],
    ['commit:switched', 'SIGTERM', 'new'],
    ['commit:switched', 'SIGKILL', 'new'],
  ];
  for (const [point, signal, expect] of cases) {
    test(`${signal} at ${point}: the ${expect === 'old' ? 'earlier' : 'new'} build, whole`, async () => {
      const r = await interruptAt(base, out, point, signal);
      interrupted++;
      assert.equal(r.signal, signal, `ended by ${signal}: ${r.stderr}`);
      assert.ok((await lstat(out)).isSymbolicLink());
      const now = await wholeBuild(out);
      if (expect === 'old') assert.equal(now, current, 'the earlier build is still there');
      else assert.notEqual(now, current, 'the new build is there');
      current = now;
      if (signal !== 'SIGKILL') {
        const store = join(dir, '.out.lifeboat');
        assert.deepEqual(await readdir(store), [(await realpath(out)).split('/').pop()], 'nothing left behind but the set in use');
      }
    });
  }

  test('after all that, a build goes through and clears what the kills left', async () => {
    const r = await lifeboat(buildArgs(base, out).slice(1), { env: ENV });
    assert.equal(r.code, 0, r.stderr);
    assert.notEqual(await wholeBuild(out), current);
    assert.equal((await readdir(join(dir, '.out.lifeboat'))).length, 1);
  });

  test('a plain folder from an older Lifeboat is taken over; a kill during that leaves a whole build', async () => {
    const legacy = join(dir, 'legacy');
    await cp(await realpath(out), legacy, { recursive: true });
    const earlier = await wholeBuild(legacy);
    const r = await interruptAt(base, legacy, 'open:converting', 'SIGKILL');
    interrupted++;
    assert.equal(r.signal, 'SIGKILL');
    // The one window where the folder is briefly missing (two renames, signals held back); the next build restores it.
    const again = await interruptAt(base, legacy, 'stage:check-base', 'SIGINT');
    interrupted++;
    assert.equal(again.signal, 'SIGINT');
    assert.equal(await wholeBuild(legacy), earlier);
    const done = await lifeboat(buildArgs(base, legacy).slice(1), { env: ENV });
    assert.equal(done.code, 0, done.stderr);
    assert.notEqual(await wholeBuild(legacy), earlier);
  });

  test('a second build into a folder being built refuses, naming the first; the first completes', async () => {
    const child = spawn(process.execPath, buildArgs(base, out), { env: { ...ENV, LIFEBOAT_TEST_STOP_AT: 'stage:write-iso' }, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 6000; i++) {
      const state = await readFile(`/proc/${child.pid}/stat`, 'utf8').then((s) => s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3), () => '');
      if (state === 'T') break;
      await sleep(20);
    }
    const second = await lifeboat(buildArgs(base, out).slice(1), { env: ENV });
    assert.equal(second.code, 2, second.stderr);
    assert.match(second.stderr, new RegExp(`another build is writing into ".*out" \\(process ${child.pid}, started `));
    child.kill('SIGCONT');
    assert.equal(await exited, 0);
    await wholeBuild(out);
  });
});
