/**
 * `lifeboat manual` when things go wrong: an output folder on a read-only file system or under a dangling link is a
 * clear message with exit 2 (never a crash trace); SIGTERM while the browser prints, and Ctrl-C (SIGINT to the process group), end
 * the run cleanly: the browser is gone, no browser profile is left in the temp folder, no unfinished file in --out.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findBrowser } from '../../src/manual/index.js';
import { LIFEBOAT_BIN, lifeboat } from '../helpers/cli.js';
import { REPO_ROOT, hasCommand, mkTempDir, removeTempDir, run } from '../helpers/tools.js';

const SITE = join(REPO_ROOT, 'examples', 'site.yaml');
const browser = await findBrowser();
const noUnshare = (await hasCommand('unshare')) ? false : 'unshare is not installed';
const NO_TRACE = /\bat .*\.(js|ts):\d+|this is a bug|Error: /;

/** Processes (other than us) whose command line names `text`: a browser left behind with that profile. */
async function processesWith(text: string): Promise<number[]> {
  const found: number[] = [];
  for (const pid of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
    if (cmd.includes(text)) found.push(Number(pid));
  }
  return found;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The browser profile the run made in `tmp`, once it is there. */
const profileIn = async (tmp: string) => (await readdir(tmp)).find((f) => f.startsWith('lifeboat-browser-'));

describe('lifeboat manual: bad output folders and interrupts', { timeout: 180_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkTempDir('manual-robust');
  });
  after(() => removeTempDir(dir));

  test('--out under a dangling link, or a file, is exit 2 with a message naming it', async () => {
    const link = join(dir, 'gone-link');
    await symlink(join(dir, 'no-such-target'), link);
    for (const out of [link, join(link, 'sub')]) {
      const r = await lifeboat(['manual', '--site', SITE, '--out', out, '--no-pdf']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /is a link to ".*no-such-target", which does not exist/);
      assert.doesNotMatch(r.stderr, NO_TRACE);
    }
    const json = await lifeboat(['manual', '--site', SITE, '--out', join(link, 'x'), '--no-pdf', '--json']);
    assert.equal(json.code, 2);
    const file = join(dir, 'a-file');
    await run('touch', [file]);
    const r = await lifeboat(['manual', '--site', SITE, '--out', file, '--no-pdf']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not a folder/);
  });

  test('--out on a read-only file system is exit 2 with a message, nothing written', { skip: noUnshare }, async (t) => {
    const ro = join(dir, 'ro');
    await mkdir(ro);
    // A private read-only tmpfs, in a user and mount namespace of its own (no root needed, nothing to clean up).
    const probe = await run('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o ro,size=1m tmpfs '${ro}'`]);
    if (probe.code !== 0) return t.skip(`no user namespaces here: ${probe.stderr.trim()}`);
    for (const out of [ro, join(ro, 'sub')]) {
      const r = await run('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o ro,size=1m tmpfs '${ro}' && exec "$0" "$@"`, process.execPath, LIFEBOAT_BIN, 'manual', '--site', SITE, '--out', out, '--no-pdf'], { timeoutMs: 60_000 });
      assert.equal(r.code, 2, `${out}: ${r.stderr}`);
      assert.match(r.stderr, /read-only/);
      assert.doesNotMatch(r.stderr, NO_TRACE);
    }
  });

  test('SIGTERM while the browser prints: the run ends, the browser and its profile are gone, no partial file', { skip: browser ? false : 'no browser' }, async () => {
    const tmp = join(dir, 'tmp-term');
    const out = join(dir, 'out-term');
    await mkdir(tmp);
    const child = spawn(process.execPath, [LIFEBOAT_BIN, 'manual', '--site', SITE, '--out', out], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    const profile = await waitFor('the browser profile', () => profileIn(tmp));
    // Wait until the browser runs with it, then interrupt the print.
    await waitFor('the browser', async () => ((await processesWith(join(tmp, profile))).length > 0 ? true : undefined));
    child.kill('SIGTERM');
    const { code, signal } = await ended;
    assert.ok(signal === 'SIGTERM' || code === 143, `ended by the signal (code ${code}, signal ${signal})`);
    assert.match(stderr, /interrupted \(SIGTERM\) while printing the manual/);
    assert.doesNotMatch(stderr, NO_TRACE);
    await waitFor('the browser to be gone', async () => ((await processesWith(join(tmp, profile))).length === 0 ? true : undefined), 10_000);
    assert.deepEqual((await readdir(tmp)).filter((f) => f.startsWith('lifeboat-browser-')), [], 'no browser profile left');
    assert.deepEqual((await readdir(out).catch(() => [])).filter((f) => f.includes('.tmp-')), [], 'no unfinished file');
  });

  test('Ctrl-C while the browser prints (SIGINT to the whole process group, as a terminal sends it): exit by SIGINT, no browser profile left', { skip: browser ? false : 'no browser' }, async () => {
    const tmp = join(dir, 'tmp-int');
    const out = join(dir, 'out-int');
    await mkdir(tmp);
    // Its own process group, like a job in a terminal: Ctrl-C sends SIGINT to every process of the group.
    const child = spawn(process.execPath, [LIFEBOAT_BIN, 'manual', '--site', SITE, '--out', out], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    const profile = await waitFor('the browser profile', () => profileIn(tmp));
    await waitFor('the browser', async () => ((await processesWith(join(tmp, profile))).length > 0 ? true : undefined));
    process.kill(-child.pid!, 'SIGINT');
    const { code, signal } = await ended;
    assert.ok(signal === 'SIGINT' || code === 130, `ended by the interrupt (code ${code}, signal ${signal})`);
    assert.match(stderr, /interrupted \(SIGINT\) while printing the manual/);
    assert.doesNotMatch(stderr, NO_TRACE);
    await waitFor('the browser to be gone', async () => ((await processesWith(join(tmp, profile))).length === 0 ? true : undefined), 10_000);
    assert.deepEqual((await readdir(tmp)).filter((f) => f.startsWith('lifeboat-browser-')), [], 'no browser profile left');
    assert.deepEqual((await readdir(out).catch(() => [])).filter((f) => f.includes('.tmp-')), [], 'no unfinished file');
  });
});
