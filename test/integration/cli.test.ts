/**
 * The command line as a user meets it: help, version, exit codes, messages for bad input, and atomic outputs
 * (an interrupted write leaves nothing at the final path).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LIFEBOAT_BIN, lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir, run, writePseudoRandomFile } from '../helpers/tools.js';

const exists = (p: string) => stat(p).then(() => true, () => false);

describe('lifeboat command line', () => {
  let dir: string;
  before(async () => {
    dir = await mkTempDir('cli');
  });
  after(() => removeTempDir(dir));

  test('--help teaches the commands and the exit codes; --version prints the version', async () => {
    const help = await lifeboat(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /iso\s+read, create and remaster/);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 the job failed, 2 bad usage/);
    const isoHelp = await lifeboat(['iso', 'remaster', '--help']);
    assert.match(isoHelp.stdout, /Example:/);
    const version = await lifeboat(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  });

  test('help: examples for init and demo, the real USB image name, one paragraph for the exit codes', async () => {
    const top = await lifeboat(['--help']);
    assert.match(top.stdout, /2 bad usage or input \(the message names the\s+file or field\), 3 an audit found/);
    assert.doesNotMatch(top.stdout, /^3 an audit/m, 'no line break of our own inside the exit codes');
    for (const command of ['init', 'demo']) {
      const r = await lifeboat([command, '--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /Examples:\n\s+lifeboat /, `${command} --help has examples`);
    }
    const init = await lifeboat(['init', '--help']);
    assert.match(init.stdout, /--resume/);
    assert.match(init.stdout, /Esc goes back one question/);
    const flash = await lifeboat(['flash', '--help']);
    assert.match(flash.stdout, /lifeboat flash dist\/muster-stb-usb\.img /, 'the file the example site builds');
  });

  test('a reader that stops early (`| head`) ends the printing quietly: exit 0, no EPIPE trace', async () => {
    // `true` exits before Node has started, so every write of the help and of the JSON meets a closed pipe.
    for (const args of ['build --help', 'plan --site examples/site.yaml --json']) {
      const r = await run('bash', ['-c', `set -o pipefail; "${process.execPath}" "${LIFEBOAT_BIN}" ${args} | true`]);
      assert.equal(r.code, 0, `${args}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|at /, args);
    }
  });

  test('assistant --simulate takes a bare scenario name from the help\'s list', async () => {
    const r = await lifeboat(['assistant', '--simulate', 'healthy-physical'], { timeoutMs: 60_000 });
    assert.doesNotMatch(r.stderr, /no scenario at/);
    assert.match(r.stdout + r.stderr, /Restore kit and media check/);
    const bad = await lifeboat(['assistant', '--simulate', 'no-such-scenario']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no scenario at "no-such-scenario"/);
  });

  test('schema prints the JSON Schema of site.yaml', async () => {
    const r = await lifeboat(['schema']);
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.stdout);
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties.servers, 'servers are described');
    assert.ok(schema.properties.share.properties.path.description);
  });

  test('init refuses to run without a terminal, and never overwrites a file silently', async () => {
    const r = await lifeboat(['init', '--out', join(dir, 'new-site.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs a terminal/);
    await writeFile(join(dir, 'taken.yaml'), 'x');
    const taken = await lifeboat(['init', '--out', join(dir, 'taken.yaml')]);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /already exists/);
  });

  test('unknown commands and missing options are usage errors: exit 2', async () => {
    assert.equal((await lifeboat(['no-such-command'])).code, 2);
    const r = await lifeboat(['iso', 'create', '--dir', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out/);
  });

  test('a base that is not an ISO, or missing, is exit 2 with the file named', async () => {
    const notIso = join(dir, 'notes.txt');
    await writeFile(notIso, 'just text\n'.repeat(10_000));
    const r = await lifeboat(['iso', 'inspect', notIso]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /notes\.txt" is not a usable ISO 9660 image: sector 16 is not a volume descriptor/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    const m = await lifeboat(['iso', 'inspect', join(dir, 'missing.iso')]);
    assert.equal(m.code, 2);
    assert.match(m.stderr, /missing\.iso": no such file/);
  });

  test('bad --add and --date values name the option', async () => {
    const tree = join(dir, 't');
    await mkdir(tree, { recursive: true });
    await writeFile(join(tree, 'a.txt'), 'a');
    const iso = join(dir, 'a.iso');
    assert.equal((await lifeboat(['iso', 'create', '--dir', tree, '--out', iso])).code, 0);
    const add = await lifeboat(['iso', 'remaster', '--base', iso, '--add', 'nothing-to-the-right', '--out', join(dir, 'b.iso')]);
    assert.equal(add.code, 2);
    assert.match(add.stderr, /--add "nothing-to-the-right" is not SRC=ISO_PATH/);
    const date = await lifeboat(['iso', 'create', '--dir', tree, '--out', join(dir, 'c.iso'), '--date', 'yesterday']);
    assert.equal(date.code, 2);
    assert.match(date.stderr, /--date "yesterday" is not a date/);
    const missing = await lifeboat(['iso', 'remaster', '--base', iso, '--add', `${join(dir, 'nope')}=/x`, '--out', join(dir, 'd.iso')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read ".*nope": no such file or folder/);
    for (const f of ['b.iso', 'c.iso', 'd.iso']) assert.equal(await exists(join(dir, f)), false, `${f} must not exist`);
  });

  test('inspect --json is one JSON document on stdout', async () => {
    const tree = join(dir, 'j');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'sub', 'x.bin'), 'xyz');
    const iso = join(dir, 'j.iso');
    assert.equal((await lifeboat(['iso', 'create', '--dir', tree, '--out', iso, '--volid', 'JSONTEST'])).code, 0);
    const r = await lifeboat(['iso', 'inspect', iso, '--json']);
    const report = JSON.parse(r.stdout);
    assert.equal(report.volume.id, 'JSONTEST');
    assert.deepEqual(report.files, [{ path: '/sub', size: 0, dir: true }, { path: '/sub/x.bin', size: 3, dir: false }]);
    assert.equal(report.boot.entries.length, 0);
  });

  test('no space left: exit 2 saying so, and nothing at the output path', async (t) => {
    const small = join(dir, 'small-fs');
    await mkdir(small);
    const mounted = process.getuid?.() === 0 && (await run('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small])).code === 0;
    if (!mounted) return t.skip('needs root and tmpfs mounts to make a small file system');
    try {
      const tree = join(dir, 'full-tree');
      await mkdir(tree, { recursive: true });
      await writePseudoRandomFile(join(tree, 'data.bin'), 3 * 2 ** 20, 'full');
      const out = join(small, 'out.iso');
      const r = await lifeboat(['iso', 'create', '--dir', tree, '--out', out]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /not enough space for ".*out\.iso"/);
      assert.deepEqual(await readdir(small), []);
    } finally {
      await run('umount', [small]);
    }
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    test(`a remaster killed mid-write (${signal}) leaves no file at the output path; a rerun succeeds`, async () => {
      const tree = join(dir, `big-${signal}`);
      await mkdir(tree, { recursive: true });
      await writePseudoRandomFile(join(tree, 'data.bin'), 600 * 2 ** 20, signal);
      const base = join(dir, `base-${signal}.iso`);
      assert.equal((await lifeboat(['iso', 'create', '--dir', tree, '--out', base])).code, 0);
      const outDir = join(dir, `out-${signal}`);
      await mkdir(outDir);
      const out = join(outDir, 'remastered.iso');
      const child = spawn(process.execPath, [LIFEBOAT_BIN, 'iso', 'remaster', '--base', base, '--out', out], { stdio: 'ignore' });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, sig) => r({ code, signal: sig })));
      // Wait until the temporary file holds data, then interrupt.
      for (let i = 0; i < 2000; i++) {
        const temps = (await readdir(outDir)).filter((n) => n.includes('.tmp-'));
        if (temps.length > 0 && (await stat(join(outDir, temps[0]!)).catch(() => undefined))?.size) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill(signal);
      const result = await exited;
      assert.equal(result.signal, signal, 'the remaster was interrupted before it finished');
      assert.equal(await exists(out), false, 'nothing at the final path');
      if (signal === 'SIGTERM') assert.deepEqual(await readdir(outDir), [], 'SIGTERM also removes the temporary file');
      const rerun = await lifeboat(['iso', 'remaster', '--base', base, '--out', out]);
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.ok(await exists(out));
    });
  }
});
