/**
 * `lifeboat wim update` (our engine) against `wimlib-imagex update` (append mode, as the wimlib backend runs it)
 * on a ~700 MiB LZX boot.wim: add the launcher (/lifeboat/launch.cmd) and replace
 * /Windows/System32/winpeshl.ini, exactly what a build's autostart does.
 *
 * The boot.wim is made once by wimlib-imagex capture (LZX, one bootable image) from a generated Windows PE-like
 * tree: ~6,000 files in 60 folders, ~390 MiB of compressible data (text and x86-like code) and ~620 MiB of
 * pseudo-random data; it is kept in .cache/bench-wim/ for later runs. Before every run the WIM is put back
 * byte for byte (its tail from the old blob table on and its header are restored, the file cut to its old size;
 * checked by SHA-256 of that region), then `sync`. Each output is checked by wimlib-imagex: the two files read
 * back exact, the file list the old one plus /lifeboat/*; the warm-up outputs also pass `wimlib-imagex verify`.
 * Times: spawn to exit, and to exit + `sync` (durable). Peak RSS: GNU time %M.
 *
 * Second scenario, what a build does: `installAutostart` (read the boot index and winpeshl.ini, add both files, read
 * them back) with each backend, timed inside a fresh Node process (bench/wim/autostart-one.mjs; the engine starts
 * cold, as in a build, but Node's own start-up, paid once per build anyway, is left out). For wimlib-imagex that is
 * five tool runs (info, extract, update, extract x2).
 *
 * `--extra NAME=JS` (repeatable) adds `node JS wim update ...` as one more contender, e.g. a compiled snapshot of an
 * earlier commit (its bin/lifeboat.js); its autostart runs from the snapshot's dist/ (JS/../../dist).
 *
 *   npx tsc -p tsconfig.json && node --import tsx bench/wim/run.ts [--runs N] [--json] [--extra NAME=JS]...
 */
import { spawn } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { REPO_ROOT, runChecked } from '../../test/helpers/tools.js';
import { x86LikeBytes } from '../../test/helpers/wim-trees.js';
import { parseWimHeader } from '../../src/wim/header.js';
import { argValue, log, median, ratio, round1 } from '../stats.js';

const RUNS = Number(argValue('--runs') ?? 5);
const JSON_ONLY = process.argv.includes('--json');
const CACHE = join(REPO_ROOT, '.cache', 'bench-wim');
const PRISTINE = join(CACHE, 'boot.wim');
const HAVE_GNU_TIME = existsSync('/usr/bin/time');
/** `--extra NAME=JS`: more builds of our CLI to time (JS is its bin/lifeboat.js). */
const EXTRAS = process.argv.flatMap((a, i) => {
  if (a !== '--extra') return [];
  const [name, js] = (process.argv[i + 1] ?? '').split('=');
  if (!name || !js) throw new Error('--extra NAME=JS');
  return [{ name, js }];
});

function keystream(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

async function makeTree(root: string): Promise<void> {
  const x86 = x86LikeBytes(4 * 2 ** 20);
  const text = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `Windows PE log line ${i}: driver store entry ${i % 977}\r\n`).join(''));
  let n = 0;
  for (let d = 0; d < 60; d++) {
    const dir = join(root, 'Windows', d % 2 ? 'System32' : 'WinSxS', `folder ${d}`);
    await mkdir(dir, { recursive: true });
    for (let f = 0; f < 95; f++, n++) {
      const size = 16_384 + ((n * 7919) % 120_000);
      const src = n % 2 ? x86 : text;
      const at = (n * 104_729) % (src.length - size);
      await writeFile(join(dir, `file ${n}.${n % 2 ? 'dll' : 'log'}`), src.subarray(at, at + size));
    }
    for (let f = 0; f < 5; f++, n++) await writeFile(join(dir, `blob ${n}.bin`), keystream(`r${n}`, 2_070_000));
  }
  await mkdir(join(root, 'Windows', 'System32'), { recursive: true });
  await writeFile(join(root, 'Windows', 'System32', 'winpeshl.ini'), Buffer.from('\ufeff[LaunchApps]\r\nX:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe\r\n', 'utf16le'));
}

async function ensureWim(): Promise<void> {
  if (existsSync(PRISTINE)) return;
  await mkdir(CACHE, { recursive: true });
  const tree = join(CACHE, 'tree');
  await rm(tree, { recursive: true, force: true });
  log('making the tree and capturing boot.wim with wimlib-imagex (LZX), once');
  await makeTree(tree);
  await runChecked('wimlib-imagex', ['capture', tree, `${PRISTINE}.tmp`, 'Microsoft Windows PE (x64)', '--boot', '--compress=LZX'], { timeoutMs: 3_600_000 });
  await runChecked('mv', [`${PRISTINE}.tmp`, PRISTINE]);
  await rm(tree, { recursive: true, force: true });
}

/** Restores `work` to the pristine WIM: only the header and the bytes from the old blob table on can change. */
class Restorer {
  private constructor(readonly size: number, readonly from: number, readonly head: Buffer, readonly tail: Buffer, readonly tailSha: string) {}
  static async of(path: string): Promise<Restorer> {
    const bytes = await readFile(path);
    const h = parseWimHeader(bytes, path);
    const from = Math.min(h.blobTable.offset, h.xml.offset);
    const tail = Buffer.from(bytes.subarray(from));
    return new Restorer(bytes.length, from, Buffer.from(bytes.subarray(0, 208)), tail, sha(tail));
  }
  async restore(work: string): Promise<void> {
    const fh = await open(work, 'r+');
    try {
      await fh.truncate(this.from);
      await fh.write(this.tail, 0, this.tail.length, this.from);
      await fh.write(this.head, 0, 208, 0);
    } finally {
      await fh.close();
    }
    const fh2 = await open(work, 'r');
    try {
      const check = Buffer.alloc(this.size - this.from);
      await fh2.read(check, 0, check.length, this.from);
      const head = Buffer.alloc(208);
      await fh2.read(head, 0, 208, 0);
      if ((await fh2.stat()).size !== this.size || sha(check) !== this.tailSha || !head.equals(this.head)) throw new Error('restore failed');
    } finally {
      await fh2.close();
    }
  }
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function spawnMeasured(cmd: string, args: string[], input: string | undefined, rssFile: string): Promise<{ code: number | null; stderr: string; peakRssKiB: number }> {
  return new Promise((resolve, reject) => {
    const argv = HAVE_GNU_TIME ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, '--', cmd, ...args]] as const : [cmd, args] as const;
    const child = spawn(argv[0], [...argv[1]], { cwd: REPO_ROOT, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'], env: { ...process.env, WIMLIB_IMAGEX_IGNORE_CASE: '1' } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { if (stderr.length < 65536) stderr += b.toString(); });
    if (input !== undefined) child.stdin!.end(input);
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = HAVE_GNU_TIME && existsSync(rssFile) ? readFileSync(rssFile, 'utf8').trim().split('\n') : ['0'];
      resolve({ code, stderr, peakRssKiB: Number(lines[lines.length - 1]) });
    });
  });
}

interface Contender { name: string; command: string; cmd: string; args: string[]; input?: string }

async function main(): Promise<void> {
  await ensureWim();
  const work = join(CACHE, 'work');
  await mkdir(work, { recursive: true });
  const wim = join(work, 'boot.wim');
  if (!existsSync(wim) || (await stat(wim)).size < 1) await runChecked('cp', [PRISTINE, wim]);
  const restorer = await Restorer.of(PRISTINE);
  await restorer.restore(wim);
  const launcher = join(REPO_ROOT, 'winpe-overlay', 'launch.cmd');
  const ini = join(work, 'winpeshl.ini');
  await writeFile(ini, Buffer.from('\ufeff[LaunchApps]\r\nwpeinit\r\n%SYSTEMROOT%\\System32\\cmd.exe, /c %SYSTEMDRIVE%\\lifeboat\\launch.cmd\r\nX:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe\r\n', 'utf16le'));
  const oursWith = (js: string) => [js, 'wim', 'update', wim, '--image', '1', '--add', `${launcher}=/lifeboat/launch.cmd`, '--add', `${ini}=/Windows/System32/winpeshl.ini`];
  const contenders: Contender[] = [
    { name: 'ours', command: 'node bin/lifeboat.js wim update boot.wim --image 1 --add launch.cmd=/lifeboat/launch.cmd --add winpeshl.ini=/Windows/System32/winpeshl.ini',
      cmd: process.execPath, args: oursWith(join(REPO_ROOT, 'bin', 'lifeboat.js')) },
    ...EXTRAS.map((x) => ({ name: x.name, command: `node ${x.js} wim update ...`, cmd: process.execPath, args: oursWith(x.js) })),
    { name: 'wimlib', command: 'wimlib-imagex update boot.wim 1 --no-acls < "add launch.cmd /lifeboat/launch.cmd; add winpeshl.ini /Windows/System32/winpeshl.ini"',
      cmd: 'wimlib-imagex', args: ['update', wim, '1', '--no-acls'], input: `add "${launcher}" "/lifeboat/launch.cmd"\nadd "${ini}" "/Windows/System32/winpeshl.ini"\n` },
  ];
  const before = (await runChecked('wimlib-imagex', ['dir', wim, '1'], { maxBuffer: 2 ** 26 })).stdout.split('\n').filter(Boolean);
  const want = new Map([['/lifeboat/launch.cmd', await readFile(launcher)], ['/Windows/System32/winpeshl.ini', await readFile(ini)]]);

  async function check(c: Contender, full: boolean): Promise<void> {
    const list = (await runChecked('wimlib-imagex', ['dir', wim, '1'], { maxBuffer: 2 ** 26 })).stdout.split('\n').filter(Boolean);
    const expected = [...new Set([...before, '/lifeboat', '/lifeboat/launch.cmd'])].sort();
    if (JSON.stringify([...list].sort()) !== JSON.stringify(expected)) throw new Error(`${c.name}: file list differs after the update`);
    for (const [p, bytes] of want) {
      const r = await runChecked('wimlib-imagex', ['extract', wim, '1', p, '--to-stdout'], { maxBuffer: 2 ** 20 });
      if (r.stdout !== bytes.toString('utf8')) throw new Error(`${c.name}: ${p} differs after the update`);
    }
    if (full) await runChecked('wimlib-imagex', ['verify', wim], { timeoutMs: 3_600_000 });
  }

  async function measure(c: Contender, verify: boolean) {
    await restorer.restore(wim);
    await runChecked('sync', []);
    const rss = join(work, 'rss.txt');
    await rm(rss, { force: true });
    const t0 = performance.now();
    const r = await spawnMeasured(c.cmd, c.args, c.input, rss);
    const t1 = performance.now();
    await runChecked('sync', []);
    const t2 = performance.now();
    if (r.code !== 0) throw new Error(`${c.name} exited ${r.code}: ${r.stderr.slice(-2000)}`);
    const grown = (await stat(wim)).size - restorer.size;
    await check(c, verify);
    return { exitMs: t1 - t0, durableMs: t2 - t0, peakRssKiB: r.peakRssKiB, grownBytes: grown };
  }

  log(`boot.wim: ${(restorer.size / 2 ** 20).toFixed(0)} MiB, ${before.length} paths; warm-up round (verified with wimlib-imagex verify)`);
  for (const c of contenders) await measure(c, true);
  const samples = new Map(contenders.map((c) => [c.name, [] as Awaited<ReturnType<typeof measure>>[]]));
  for (let round = 0; round < RUNS; round++) {
    for (const c of contenders.map((_, i) => contenders[(i + round) % contenders.length]!)) {
      const s = await measure(c, false);
      samples.get(c.name)!.push(s);
      log(`round ${round + 1}/${RUNS}: ${c.name.padEnd(6)} exit ${(s.exitMs / 1000).toFixed(2)} s, durable ${(s.durableMs / 1000).toFixed(2)} s, peak RSS ${(s.peakRssKiB / 1024).toFixed(0)} MiB, +${(s.grownBytes / 2 ** 20).toFixed(2)} MiB`);
    }
  }
  // Scenario 2: the build's autostart, in-process, per backend.
  // Each: [label, backend, dist/ to load it from].
  const autoRuns: [string, string, string][] = [
    ['lifeboat', 'lifeboat', join(REPO_ROOT, 'dist')],
    ...EXTRAS.map((x): [string, string, string] => [`lifeboat@${x.name}`, 'lifeboat', join(dirname(x.js), '..', 'dist')]),
    ['wimlib-imagex', 'wimlib-imagex', join(REPO_ROOT, 'dist')],
  ];
  const auto = new Map(autoRuns.map(([label]) => [label, { ms: [] as number[], cpuMs: [] as number[] }]));
  for (let round = 0; round < RUNS; round++) {
    for (const [name, backend, dist] of autoRuns.map((_, i) => autoRuns[(i + round) % autoRuns.length]!)) {
      await restorer.restore(wim);
      await runChecked('sync', []);
      const r = await runChecked(process.execPath, [join(REPO_ROOT, 'bench', 'wim', 'autostart-one.mjs'), backend, wim, dist], { timeoutMs: 600_000 });
      const j = JSON.parse(r.stdout) as { ms: number; cpuMs: number; veeam: boolean };
      if (!j.veeam) throw new Error(`${name}: the autostart did not see Veeam`);
      const list = (await runChecked('wimlib-imagex', ['dir', wim, '1'], { maxBuffer: 2 ** 26 })).stdout.split('\n').filter(Boolean);
      if (!list.includes('/lifeboat/launch.cmd')) throw new Error(`${name}: no launcher after the autostart`);
      auto.get(name)!.ms.push(j.ms);
      auto.get(name)!.cpuMs.push(j.cpuMs);
      log(`autostart round ${round + 1}/${RUNS}: ${name.padEnd(13)} ${(j.ms / 1000).toFixed(2)} s (CPU ${(j.cpuMs / 1000).toFixed(2)} s)`);
    }
  }
  await restorer.restore(wim);
  const autostart = [...auto].map(([name, v]) => ({ name, ms: round1(median(v.ms)), cpuMs: round1(median(v.cpuMs)) }));
  const summary = contenders.map((c) => {
    const ss = samples.get(c.name)!;
    const st = (xs: number[]) => ({ median: round1(median(xs)), min: round1(Math.min(...xs)), max: round1(Math.max(...xs)) });
    return { name: c.name, command: c.command, exitMs: st(ss.map((s) => s.exitMs)), durableMs: st(ss.map((s) => s.durableMs)),
      peakRssMiB: round1(Math.max(...ss.map((s) => s.peakRssKiB / 1024))), grownMiB: round1(median(ss.map((s) => s.grownBytes / 2 ** 20))) };
  });
  const wimlib = summary.find((s) => s.name === 'wimlib')!;
  const autoWimlib = autostart.find((a) => a.name === 'wimlib-imagex')!;
  const vsWimlib = Object.fromEntries(summary.filter((s) => s !== wimlib).map((s) =>
    [s.name, { exit: ratio(s.exitMs.median, wimlib.exitMs.median), durable: ratio(s.durableMs.median, wimlib.durableMs.median) }]));
  const autoVsWimlib = Object.fromEntries(autostart.filter((a) => a !== autoWimlib).map((a) => [a.name, ratio(a.ms, autoWimlib.ms)]));
  const result = {
    wim: { bytes: restorer.size, paths: before.length }, runs: RUNS, summary,
    ratios: vsWimlib['ours']!, ratiosByName: vsWimlib,
    autostart: { medians: autostart, ratio: autoVsWimlib['lifeboat']!, ratioByName: autoVsWimlib },
  };
  if (!JSON_ONLY) {
    log('\n| tool | exit, median (min-max) | durable, median | peak RSS | WIM grew by |');
    log('|---|---|---|---|---|');
    for (const s of summary) log(`| ${s.name} | ${s.exitMs.median} ms (${s.exitMs.min}-${s.exitMs.max}) | ${s.durableMs.median} ms | ${s.peakRssMiB} MiB | ${s.grownMiB} MiB |`);
    for (const [name, r] of Object.entries(vsWimlib)) log(`${name} / wimlib: exit ${r.exit}x, durable ${r.durable}x`);
    for (const a of autostart) log(`autostart (build path) ${a.name}: ${a.ms} ms, CPU ${a.cpuMs} ms`);
    for (const [name, r] of Object.entries(autoVsWimlib)) log(`autostart ${name} / wimlib-imagex: ${r}x`);
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
