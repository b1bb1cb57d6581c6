/**
 * Build benchmark: `lifeboat build` from a ~700 MiB stand-in Veeam base against the plain-I/O peer,
 * `cp base.iso a && cp base.iso b` (the build writes the data twice: the ISO and the USB image).
 *
 *  ours  node bin/lifeboat.js build --site examples/site.yaml --base BASE --out OUT
 *        (env LIFEBOAT_SHARE_PASSWORD and LIFEBOAT_UNLOCK; autostart through wimlib-imagex, BIOS USB through syslinux
 *        when the host has them: the normal build)
 *  cp    cp BASE a && cp BASE b (one `sh -c`)
 *
 * The base is made once by makeStandInBase (src/media/stand-in-base.ts) with boot.wim grown by --pad-mib of filler
 * (default 689 MiB, giving a ~700 MiB ISO), in a fresh directory under os.tmpdir(), removed at the end (--keep keeps
 * it). Method as bench/iso/run.ts: one untimed warm-up round, then N rounds (default 5) whose order alternates; the
 * previous output is deleted and `sync` runs before every run; the base stays warm in the page cache.
 *
 * Two wall times per run, performance.now() in this process:
 *   exit     spawn until the child exits (what a user waits for)
 *   durable  exit plus a `sync` right after it. Ours fsyncs its outputs before renaming them into place, cp does not,
 *            so `durable` is the like-for-like figure.
 * Peak RSS of each child is GNU time's %M (else VmHWM polled from /proc every 10 ms); VmRSS is also polled every
 * 10 ms to give each stage's highest RSS.
 *
 * Where our time goes: the CLI prints one `• <stage>` line on stderr per build stage; every line is timestamped as
 * it arrives (stderr is a pipe, which Node writes synchronously), so each stage lasts from its line to the next one.
 * `start-up` is spawn to the first line, `exit` the last stage's end (the summary) to the process exit.
 * --profile adds one untimed run under `node --cpu-prof` and prints the top self-time functions.
 *
 * Every timed output is verified: `lifeboat verify` of the ISO and of the USB image exits 0, `sha256sum -c
 * SHA256SUMS` passes (coreutils, not our hashing), and xorriso (an independent reader) lists every file of the base
 * in the ISO with the same size (sources/boot.wim excepted: autostart rewrites it) plus /lifeboat/assistant.exe
 * with the size of build/assistant.exe. The peer's copies are compared with the base by `cmp`.
 *
 * Usage: node --import tsx bench/build/run.ts [--runs N] [--json] [--keep] [--profile] [--pad-mib N]
 *                                            [--cli JS | --snapshot] [--extra NAME=JS]...
 *   (needs a build: npx tsc -p tsconfig.json, and build/assistant.exe: node scripts/build-assistant.mjs)
 *   --json      only the JSON document on stdout (the table goes to stderr)
 *   --cli JS    run another JS entry as "ours" (one accepting `build ...` and `verify ...`)
 *   --snapshot  compile a private copy of src/ into the work dir and run that (for a workspace where src/ or
 *               dist/ changes under the benchmark)
 *   --extra NAME=JS  (repeatable) one more contender, `node JS build ...` (e.g. a compiled copy of an earlier
 *               version), timed in the same rounds and verified as ours; its stages are reported too
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, readFile, rm, stat, statfs, symlink, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

import { storeFor } from '../../src/media/output-set.js';
import { makeStandInBase } from '../../src/media/stand-in-base.js';
import { mkTempDir, REPO_ROOT, removeTempDir, run, runChecked } from '../../test/helpers/tools.js';
import { argValue, log, median, ratio, round1 } from '../stats.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;

// ---------------------------------------------------------------------------------------------------------------
// Arguments

const RUNS = Number(argValue('--runs') ?? 5);
const JSON_ONLY = process.argv.includes('--json');
const KEEP = process.argv.includes('--keep');
const PROFILE = process.argv.includes('--profile');
const SNAPSHOT = process.argv.includes('--snapshot');
const PAD_MIB = Number(argValue('--pad-mib') ?? 689);
const CLI_ARG = argValue('--cli');
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs must be a positive integer');
if (!(PAD_MIB >= 0)) throw new Error('--pad-mib must be >= 0');
if (SNAPSHOT && CLI_ARG) throw new Error('--cli and --snapshot exclude each other');
const EXTRAS: { name: string; js: string }[] = [];
for (let i = process.argv.indexOf('--extra'); i >= 0; i = process.argv.indexOf('--extra', i + 1)) {
  const arg = process.argv[i + 1] ?? '';
  const at = arg.indexOf('=');
  if (at <= 0 || at === arg.length - 1 || ['ours', 'cp'].includes(arg.slice(0, at))) throw new Error('--extra NAME=JS (NAME not ours or cp)');
  EXTRAS.push({ name: arg.slice(0, at), js: arg.slice(at + 1) });
}

/** Issue 17's goals: at most 3x two cp's of the base (durable), peak RSS under 256 MiB. */
const GOAL_RATIO = 3;
const GOAL_RSS_MIB = 256;

const SITE = join(REPO_ROOT, 'examples', 'site.yaml');
const SITE_ID = 'muster-stb';
const ASSISTANT = join(REPO_ROOT, 'build', 'assistant.exe');
const ENV = {
  ...process.env,
  LIFEBOAT_SHARE_PASSWORD: 'bench-share-password',
  LIFEBOAT_UNLOCK: 'correct-horse-battery-staple-Quokka-93',
  NO_COLOR: '1',
};

// eslint-disable-next-line no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');


// ---------------------------------------------------------------------------------------------------------------
// Measurement

interface Stage {
  name: string;
  ms: number;
  /** Highest VmRSS seen while the stage ran (polled every 10 ms, so short spikes can be missed). */
  peakRssKiB: number;
}

interface Sample {
  exitMs: number;
  durableMs: number;
  peakRssKiB: number;
  outputBytes: number;
  stages: Stage[];
}

interface Contender {
  name: string;
  command: string;
  cmd: string;
  args: string[];
  out: string;
  verify: (out: string) => Promise<string>;
}

const HAVE_GNU_TIME = existsSync('/usr/bin/time');

async function sync(): Promise<void> {
  await runChecked('sync', [], { timeoutMs: 600_000 });
}

async function sizeOf(path: string): Promise<number> {
  const s = await stat(path);
  if (s.isFile()) return s.size;
  let total = 0;
  for (const e of await readdir(path, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

interface Spawned {
  code: number | null;
  stderr: string;
  peakRssKiB: number;
  /** `• stage` lines of the child's stderr, with the time (performance.now()) each arrived. */
  marks: { at: number; text: string }[];
  endAt: number;
  /** VmRSS of the measured process (below /usr/bin/time), polled: [performance.now(), KiB]. */
  rss: [number, number][];
}

/** Runs `cmd`, timestamping its stage lines, and returns its exit code and peak RSS. */
function spawnMeasured(cmd: string, args: string[], rssFile: string, extraNodeArgs: string[] = []): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const full = cmd === process.execPath ? [...extraNodeArgs, ...args] : args;
    const argv = HAVE_GNU_TIME ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, '--', cmd, ...full]] as const : [cmd, full] as const;
    const child = spawn(argv[0], [...argv[1]], { cwd: REPO_ROOT, env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let partial = '';
    const marks: Spawned['marks'] = [];
    child.stderr.on('data', (b: Buffer) => {
      const at = performance.now();
      const text = b.toString();
      if (stderr.length < 64 * 1024) stderr += text;
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const raw of lines) {
        const line = stripAnsi(raw).trim();
        if (line.startsWith('• ')) marks.push({ at, text: line.slice(2) });
        else if (line.startsWith('Built ')) marks.push({ at, text: '(summary)' });
      }
    });
    let hwm = 0;
    const rss: [number, number][] = [];
    let pid: number | undefined = HAVE_GNU_TIME ? undefined : child.pid;
    const poll = setInterval(() => {
      try {
        // Under /usr/bin/time the measured process is time's only child.
        pid ??= Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0]) || undefined;
        if (pid === undefined) return;
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(status);
        if (m) hwm = Math.max(hwm, Number(m[1]));
        const r = /VmRSS:\s+(\d+) kB/.exec(status);
        if (r) rss.push([performance.now(), Number(r[1])]);
      } catch {
        /* not started yet, or exited */
      }
    }, 10);
    child.on('error', reject);
    child.on('close', (code) => {
      const endAt = performance.now();
      clearInterval(poll);
      let peakRssKiB = hwm;
      if (HAVE_GNU_TIME) {
        const lines = (existsSync(rssFile) ? readFileSync(rssFile, 'utf8') : '').trim().split('\n');
        peakRssKiB = Number(lines[lines.length - 1]);
      }
      resolve({ code, stderr, peakRssKiB, marks, endAt, rss });
    });
  });
}

/** Short, stable stage names (the CLI's lines carry file names and tool names). */
function stageKey(text: string): string {
  if (text === '(summary)') return 'summary + exit';
  if (text.startsWith('checking')) return 'check site + base';
  if (text.startsWith('adding the assistant')) return 'autostart (boot.wim update)';
  if (text.startsWith('sealing')) return 'seal the vault (scrypt)';
  if (/^writing .*-usb\.img/.test(text)) return 'write USB image';
  if (/^writing .*\.iso/.test(text)) return 'write ISO (remaster)';
  if (text.startsWith('writing checksums')) return 'checksums + build report + commit';
  return text;
}

function stagesOf(t0: number, r: Spawned): Stage[] {
  if (r.marks.length === 0) return [];
  const peak = (from: number, to: number) => Math.max(0, ...r.rss.filter(([t]) => t >= from && t < to).map(([, kib]) => kib));
  const stages: Stage[] = [{ name: 'start-up (node + CLI load)', ms: r.marks[0]!.at - t0, peakRssKiB: peak(t0, r.marks[0]!.at) }];
  r.marks.forEach((m, i) => {
    const end = i + 1 < r.marks.length ? r.marks[i + 1]!.at : r.endAt;
    stages.push({ name: stageKey(m.text), ms: end - m.at, peakRssKiB: peak(m.at, end) });
  });
  return stages;
}

/**
 * Removes an output before a run, as a user would delete it: for ours the whole output set (the --out link and its
 * store, `.NAME.lifeboat`), so no run pays for deleting the one before it (a rebuild into the same --out does:
 * see bench/README.md).
 */
async function removeOutput(out: string): Promise<void> {
  await rm(out, { recursive: true, force: true });
  await rm(storeFor(out), { recursive: true, force: true });
}

async function measure(c: Contender, work: string, verify: boolean): Promise<Sample & { verified?: string }> {
  await removeOutput(c.out);
  await sync();
  const rssFile = join(work, 'rss.txt');
  await rm(rssFile, { force: true });
  const t0 = performance.now();
  const r = await spawnMeasured(c.cmd, c.args, rssFile);
  const t1 = performance.now();
  await sync();
  const t2 = performance.now();
  if (r.code !== 0) throw new Error(`${c.name}: ${c.command} exited ${r.code}\n${r.stderr.slice(-4000)}`);
  const sample = { exitMs: t1 - t0, durableMs: t2 - t0, peakRssKiB: r.peakRssKiB, outputBytes: await sizeOf(c.out), stages: stagesOf(t0, r) };
  const verified = verify ? await c.verify(c.out) : undefined;
  await removeOutput(c.out);
  return { ...sample, verified };
}

interface Summary {
  name: string;
  command: string;
  runs: number;
  exitMs: { median: number; min: number; max: number; all: number[] };
  durableMs: { median: number; min: number; max: number; all: number[] };
  peakRssMiB: { median: number; max: number };
  outputBytes: number;
  verified: string;
  /** Median duration of each stage over the timed runs (ours only). */
  stagesMs?: { name: string; median: number; min: number; max: number; shareOfExit: number; peakRssMiB: number }[];
}

async function bench(contenders: Contender[], work: string): Promise<Summary[]> {
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  const verified = new Map<string, string>();
  log('warm-up round (untimed, verified)');
  for (const c of contenders) verified.set(c.name, (await measure(c, work, true)).verified!);
  for (let round = 0; round < RUNS; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const c of order) {
      const s = await measure(c, work, true);
      samples.get(c.name)!.push(s);
      log(`round ${round + 1}/${RUNS}: ${c.name.padEnd(5)} exit ${(s.exitMs / 1000).toFixed(2)} s, durable ${(s.durableMs / 1000).toFixed(2)} s, ` +
        `peak RSS ${(s.peakRssKiB / 1024).toFixed(0)} MiB${s.stages.length ? ` [${s.stages.map((x) => (x.ms / 1000).toFixed(2)).join(' | ')}]` : ''} (${s.verified})`);
    }
  }
  return contenders.map((c) => {
    const ss = samples.get(c.name)!;
    const stats = (xs: number[]) => ({ median: round1(median(xs)), min: round1(Math.min(...xs)), max: round1(Math.max(...xs)), all: xs.map(round1) });
    const exitMedian = median(ss.map((s) => s.exitMs));
    const names = ss[0]!.stages.map((s) => s.name);
    const consistent = ss.every((s) => s.stages.map((x) => x.name).join('\n') === names.join('\n'));
    return {
      name: c.name,
      command: c.command,
      runs: ss.length,
      exitMs: stats(ss.map((s) => s.exitMs)),
      durableMs: stats(ss.map((s) => s.durableMs)),
      peakRssMiB: { median: round1(median(ss.map((s) => s.peakRssKiB / 1024))), max: round1(Math.max(...ss.map((s) => s.peakRssKiB / 1024))) },
      outputBytes: ss[0]!.outputBytes,
      verified: verified.get(c.name)!,
      stagesMs: names.length && consistent
        ? names.map((name, i) => {
            const xs = ss.map((s) => s.stages[i]!.ms);
            return {
              name, median: round1(median(xs)), min: round1(Math.min(...xs)), max: round1(Math.max(...xs)),
              shareOfExit: Math.round((median(xs) / exitMedian) * 1000) / 10,
              peakRssMiB: round1(Math.max(...ss.map((s) => s.stages[i]!.peakRssKiB)) / 1024),
            };
          })
        : undefined,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

type Listing = Map<string, number>;

/** Files (path -> size) of an ISO as xorriso reads it (Rock Ridge, else Joliet, else ISO 9660 names). */
async function isoListing(iso: string): Promise<Listing> {
  const r = await runChecked('xorriso', ['-indev', iso, '-find', '/', '-type', 'f', '-exec', 'lsdl'], { timeoutMs: 300_000 });
  const out: Listing = new Map();
  for (const line of r.stdout.split('\n')) {
    const m = /^\S+\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+'(.*)'$/.exec(line.trim());
    if (m) out.set(m[2]!.replace(/'"'"'/g, "'").toLowerCase(), Number(m[1]));
  }
  return out;
}

function oursVerifier(cli: string, base: Listing, assistantBytes: number) {
  return async (out: string): Promise<string> => {
    const iso = join(out, `${SITE_ID}.iso`);
    const usb = join(out, `${SITE_ID}-usb.img`);
    for (const f of [iso, usb]) {
      const r = await run(process.execPath, [cli, 'verify', f], { cwd: REPO_ROOT, timeoutMs: 600_000 });
      if (r.code !== 0) throw new Error(`lifeboat verify ${f} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    }
    const sums = await run('sha256sum', ['--strict', '-c', 'SHA256SUMS'], { cwd: out, timeoutMs: 600_000 });
    if (sums.code !== 0) throw new Error(`sha256sum -c SHA256SUMS failed in ${out}\n${sums.stdout}${sums.stderr}`);
    const checked = sums.stdout.split('\n').filter((l) => l.endsWith(': OK')).length;
    const got = await isoListing(iso);
    for (const [p, size] of base) {
      if (!got.has(p)) throw new Error(`${iso}: ${p} of the base is missing`);
      if (p !== '/sources/boot.wim' && got.get(p) !== size) throw new Error(`${iso}: ${p} is ${got.get(p)} bytes, the base's ${size}`);
    }
    if (got.get('/lifeboat/assistant.exe') !== assistantBytes) throw new Error(`${iso}: /lifeboat/assistant.exe missing or of the wrong size`);
    return `lifeboat verify ISO + USB ok, sha256sum -c: ${checked} OK, xorriso: ${base.size} base files + assistant.exe present`;
  };
}

async function cmpFiles(a: string, b: string): Promise<void> {
  const r = await run('cmp', [a, b], { timeoutMs: 600_000 });
  if (r.code !== 0) throw new Error(`cmp ${a} ${b}: ${r.stdout}${r.stderr}`);
}

// ---------------------------------------------------------------------------------------------------------------
// CPU profile (--profile)

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Top self-time entries of a .cpuprofile, grouped by function and file. */
function summariseProfile(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, top = 20) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const n = byId.get(id);
    const f = n?.callFrame;
    const url = f?.url.replace(`file://${REPO_ROOT}/`, '').replace(/^node:/, 'node:') ?? '';
    const key = `${f?.functionName || '(anonymous)'} ${url ? `${url}:${(f?.lineNumber ?? 0) + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return {
    totalMs: round1(total),
    top: [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([fn, ms]) => ({ fn, selfMs: round1(ms), share: Math.round((ms / total) * 1000) / 10 })),
  };
}

async function profileOnce(c: Contender, work: string) {
  const dir = join(work, 'cpu-prof');
  await rm(dir, { recursive: true, force: true });
  await removeOutput(c.out);
  await sync();
  const t0 = performance.now();
  const r = await spawnMeasured(c.cmd, c.args, join(work, 'rss.txt'), ['--cpu-prof', '--cpu-prof-dir', dir]);
  if (r.code !== 0) throw new Error(`profiled run exited ${r.code}\n${r.stderr.slice(-4000)}`);
  await removeOutput(c.out);
  const [file] = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile written');
  const summary = summariseProfile(JSON.parse(await readFile(join(dir, file), 'utf8')));
  return { wallMs: round1(r.endAt - t0), ...summary, stages: stagesOf(t0, r).map((s) => ({ name: s.name, ms: round1(s.ms), peakRssMiB: round1(s.peakRssKiB / 1024) })) };
}

// ---------------------------------------------------------------------------------------------------------------
// Setup

/** Compiles a private copy of src/ (with the repo's node_modules and build/ linked in) and returns its CLI entry. */
async function snapshotCli(work: string): Promise<string> {
  const snap = join(work, 'snapshot');
  await mkdir(snap, { recursive: true });
  await cp(join(REPO_ROOT, 'src'), join(snap, 'src'), { recursive: true });
  await cp(join(REPO_ROOT, 'bin'), join(snap, 'bin'), { recursive: true });
  for (const f of ['tsconfig.json', 'package.json']) await copyFile(join(REPO_ROOT, f), join(snap, f));
  // build/assistant.exe is copied too (a `make` elsewhere may rebuild it mid-benchmark); everything else the CLI
  // reads relative to its own location (node_modules, winpe-overlay/, templates/, ...) is the repository's, linked in.
  await mkdir(join(snap, 'build'));
  await copyFile(ASSISTANT, join(snap, 'build', 'assistant.exe'));
  for (const e of await readdir(REPO_ROOT)) {
    if (!['src', 'dist', 'bin', 'build', 'tsconfig.json', 'package.json'].includes(e) && !e.startsWith('.')) await symlink(join(REPO_ROOT, e), join(snap, e));
  }
  await runChecked(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(snap, 'tsconfig.json')], { timeoutMs: 300_000 });
  return join(snap, 'bin', 'lifeboat.js');
}

async function checkBuilt(): Promise<void> {
  const built = join(REPO_ROOT, 'dist', 'media', 'build.js');
  if (!existsSync(built)) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
  const builtAt = (await stat(built)).mtimeMs;
  for (const e of await readdir(join(REPO_ROOT, 'src'), { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith('.ts')) continue;
    const f = join(e.parentPath, e.name);
    if ((await stat(f)).mtimeMs > builtAt) throw new Error(`${f} is newer than dist/: run \`npx tsc -p tsconfig.json\` first (or use --snapshot)`);
  }
}

function table(rows: Summary[], title: string): string {
  const ref = rows[0]!;
  const lines = [
    title,
    `  ${'tool'.padEnd(6)} ${'exit s (min-max)'.padEnd(22)} ${'durable s (min-max)'.padEnd(22)} ${'ours/this exit'.padEnd(15)} ${'ours/this durable'.padEnd(18)} peak RSS MiB`,
  ];
  for (const r of rows) {
    const f = (s: Summary['exitMs']) => `${(s.median / 1000).toFixed(2)} (${(s.min / 1000).toFixed(2)}-${(s.max / 1000).toFixed(2)})`;
    lines.push(`  ${r.name.padEnd(6)} ${f(r.exitMs).padEnd(22)} ${f(r.durableMs).padEnd(22)} ${`${ratio(ref.exitMs.median, r.exitMs.median).toFixed(2)}x`.padEnd(15)} ` +
      `${`${ratio(ref.durableMs.median, r.durableMs.median).toFixed(2)}x`.padEnd(18)} ${r.peakRssMiB.max.toFixed(0)}`);
  }
  for (const r of rows) {
    if (!r.stagesMs) continue;
    lines.push('', `  where ${r.name}'s time goes (median of ${RUNS}, from the stage lines on stderr):`);
    for (const s of r.stagesMs) {
      lines.push(`    ${s.name.padEnd(40)} ${(s.median / 1000).toFixed(2).padStart(6)} s  (${(s.min / 1000).toFixed(2)}-${(s.max / 1000).toFixed(2)})  ${s.shareOfExit.toFixed(0).padStart(3)}%  RSS up to ${s.peakRssMiB.toFixed(0)} MiB`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (!existsSync(ASSISTANT)) throw new Error('build/assistant.exe is missing: run `node scripts/build-assistant.mjs` first');
  if (!CLI_ARG && !SNAPSHOT) await checkBuilt();
  const need = 6 * GIB;
  const s = await statfs(tmpdir());
  const free = s.bavail * s.bsize;
  if (free < need) throw new Error(`${tmpdir()} has ${(free / GIB).toFixed(1)} GiB free; the benchmark needs about ${(need / GIB).toFixed(1)} GiB`);
  const work = await mkTempDir('bench-build');
  log(`work dir ${work} (${(free / GIB).toFixed(0)} GiB free), ${RUNS} runs, page cache warm`);
  try {
    const cli = CLI_ARG ?? (SNAPSHOT ? await snapshotCli(work) : 'bin/lifeboat.js');
    const base = join(work, 'base.iso');
    log(`building the stand-in base (boot.wim + ${PAD_MIB} MiB filler)`);
    await makeStandInBase(base, join(work, 'base-work'), { padBytes: PAD_MIB * MIB });
    await rm(join(work, 'base-work'), { recursive: true, force: true });
    const baseBytes = (await stat(base)).size;
    log(`base ${(baseBytes / MIB).toFixed(1)} MiB`);
    const baseListing = await isoListing(base);
    const assistantBytes = (await stat(SNAPSHOT ? join(cli, '..', '..', 'build', 'assistant.exe') : ASSISTANT)).size;
    for (const x of EXTRAS) {
      const its = (await stat(join(x.js, '..', '..', 'build', 'assistant.exe')).catch(() => undefined))?.size;
      if (its !== assistantBytes) throw new Error(`--extra ${x.name}: ${x.js} has no build/assistant.exe beside it of the size ours carries (${assistantBytes} bytes)`);
    }

    const oursOut = join(work, 'out');
    const cpOut = join(work, 'cp');
    const contenders: Contender[] = [
      {
        name: 'ours', command: `node ${CLI_ARG ?? 'bin/lifeboat.js'} build --site examples/site.yaml --base BASE --out OUT`,
        cmd: process.execPath, args: [cli, 'build', '--site', SITE, '--base', base, '--out', oursOut],
        out: oursOut, verify: oursVerifier(cli, baseListing, assistantBytes),
      },
      ...EXTRAS.map((x): Contender => ({
        name: x.name, command: `node ${x.js} build --site examples/site.yaml --base BASE --out OUT`,
        cmd: process.execPath, args: [x.js, 'build', '--site', SITE, '--base', base, '--out', join(work, `out-${x.name}`)],
        out: join(work, `out-${x.name}`), verify: oursVerifier(x.js, baseListing, assistantBytes),
      })),
      {
        name: 'cp', command: 'cp BASE OUT/a && cp BASE OUT/b',
        cmd: 'sh', args: ['-c', 'mkdir -p "$2" && cp "$1" "$2/a" && cp "$1" "$2/b"', 'sh', base, cpOut],
        out: cpOut,
        verify: async (dir) => {
          await cmpFiles(base, join(dir, 'a'));
          await cmpFiles(base, join(dir, 'b'));
          return 'both copies equal the base (cmp)';
        },
      },
    ];
    const results = await bench(contenders, work);
    const profile = PROFILE ? await profileOnce(contenders[0]!, work) : undefined;
    const ours = results[0]!;
    const peer = results.at(-1)!;

    const report = {
      benchmark: 'build',
      date: new Date().toISOString(),
      runs: RUNS,
      warmupRounds: 1,
      cli: CLI_ARG ?? (SNAPSHOT ? 'snapshot of src/ compiled into the work dir' : 'bin/lifeboat.js'),
      pageCache: 'warm (base cached; outputs removed and `sync` before every run)',
      workDir: tmpdir(),
      peakRssFrom: HAVE_GNU_TIME ? '/usr/bin/time -f %M' : '/proc/PID/status VmHWM (polled)',
      machine: {
        cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / GIB), kernel: release(),
        fileSystem: (await run('stat', ['-f', '-c', '%T', work])).stdout.trim(), node: process.version,
        wimlib: (await run('wimlib-imagex', ['--version'])).stdout.split('\n')[0]?.trim(),
        cp: (await run('cp', ['--version'])).stdout.split('\n')[0],
      },
      input: { baseBytes, baseFiles: baseListing.size, padMiB: PAD_MIB, assistantBytes, site: 'examples/site.yaml' },
      contenders: results,
      ratios: {
        oursToCp: { exit: ratio(ours.exitMs.median, peer.exitMs.median), durable: ratio(ours.durableMs.median, peer.durableMs.median) },
        ...Object.fromEntries(results.slice(1, -1).flatMap((x) => [
          [`${x.name}ToCp`, { exit: ratio(x.exitMs.median, peer.exitMs.median), durable: ratio(x.durableMs.median, peer.durableMs.median) }],
          [`oursTo${x.name}`, { exit: ratio(ours.exitMs.median, x.exitMs.median), durable: ratio(ours.durableMs.median, x.durableMs.median) }],
        ])),
      },
      goals: { oursToCpMax: GOAL_RATIO, peakRssMiBMax: GOAL_RSS_MIB },
      goalsMet: {
        time: ratio(ours.durableMs.median, peer.durableMs.median) <= GOAL_RATIO,
        peakRss: ours.peakRssMiB.max < GOAL_RSS_MIB,
      },
      profile,
    };
    const text = [
      table(results, `build: ${(baseBytes / MIB).toFixed(0)} MiB stand-in base -> ISO + USB image (${(ours.outputBytes / MIB).toFixed(0)} MiB written by ours, ` +
        `${(peer.outputBytes / MIB).toFixed(0)} MiB by cp; median of ${RUNS})`),
      'exit = spawn until the child exits; durable = exit + `sync` (ours fsyncs its outputs itself, cp does not)',
      `goals: ours/cp <= ${GOAL_RATIO}x (durable ${report.ratios.oursToCp.durable}x: ${report.goalsMet.time ? 'met' : 'MISSED'}), ` +
        `peak RSS < ${GOAL_RSS_MIB} MiB (${ours.peakRssMiB.max.toFixed(0)} MiB: ${report.goalsMet.peakRss ? 'met' : 'MISSED'})`,
    ];
    if (profile) {
      text.push(`cpu profile (one run, ${(profile.wallMs / 1000).toFixed(2)} s wall, ${(profile.totalMs / 1000).toFixed(2)} s sampled), top self time:\n` +
        profile.top.map((t) => `  ${(t.selfMs / 1000).toFixed(2).padStart(6)} s ${t.share.toFixed(1).padStart(5)}%  ${t.fn}`).join('\n'));
    }
    if (JSON_ONLY) {
      log(text.join('\n\n'));
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      process.stdout.write(`${text.join('\n\n')}\n\n${JSON.stringify(report, null, 2)}\n`);
    }
  } finally {
    if (KEEP) log(`kept ${work}`);
    else await removeTempDir(work);
  }
}

await main();
