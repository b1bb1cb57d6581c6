/**
 * ISO writer benchmark: `lifeboat iso create` and `lifeboat iso remaster` against their natural peers.
 *
 *  create    a 1 GiB tree (one large file + 2,000 small files of 1-64 KiB in 20 folders, long mixed-case names)
 *            ours:    node bin/lifeboat.js iso create --dir TREE --out OUT --volid BENCH
 *            xorriso: xorriso -as mkisofs -iso-level 3 -J -joliet-long -V BENCH -o OUT TREE
 *            cp:      cp -r TREE OUT (the plain I/O floor)
 *  remaster  a ~700 MiB bootable stand-in Windows PE base (BIOS + UEFI El Torito, built once by xorriso) plus a
 *            ~90 MiB folder grafted at /lifeboat
 *            ours:    node bin/lifeboat.js iso remaster --base BASE --add ADD=/lifeboat --out OUT
 *            xorriso: xorriso -indev BASE -outdev OUT -joliet on -boot_image any replay -map ADD /lifeboat -commit
 *
 * All data is pseudo-random (AES-CTR keystream), so nothing compresses, dedupes or is sparse. Inputs are built once
 * in a fresh directory under os.tmpdir() (checked for free space first) and removed at the end (--keep keeps them).
 * After one untimed warm-up round, every contender runs N times (default 5) in rounds whose order rotates
 * (round r starts with contender r mod k). Before every run the previous output is deleted and `sync` flushes the
 * disk, so no run pays for another's writeback; the inputs stay warm in the page cache (--cold also drops the page
 * cache before every run: `echo 3 > /proc/sys/vm/drop_caches`, needs root).
 *
 * Two wall times per run, both with performance.now() in this process:
 *   exit     spawn until the child exits (what a user waits for)
 *   durable  exit plus a `sync` right after it: the output is on disk. Ours fsyncs its output before renaming it
 *            into place (src/util/atomic-file.ts), xorriso and cp do not, so `durable` is the like-for-like figure.
 * Peak RSS of each child is GNU time's %M (maximum resident set, KiB) when /usr/bin/time exists, else the child's
 * VmHWM polled from /proc every 10 ms.
 *
 * Every timed output is verified: its file list (path and size, read back by `xorriso -find`, an independent
 * reader) must equal the expected one, and the large files plus a sample of small ones are extracted by xorriso
 * and compared by SHA-256 with the sources; remaster outputs must also keep both El Torito entries, with the
 * boot images' bytes at the catalog's LBAs.
 *
 * Usage: node --import tsx bench/iso/run.ts [--runs N] [--json] [--cold] [--keep] [--only create|remaster] [--cli JS]
 *        (needs a build: npx tsc -p tsconfig.json). --json prints only the JSON document on stdout. --cli runs another
 *        JS entry as "ours" (one accepting `iso create|remaster ...`, e.g. a build of a snapshot of src/).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join, relative, sep } from 'node:path';

import {
  mkTempDir, pseudoRandomBytes, REPO_ROOT, removeTempDir, run, runChecked, sha256, sha256File, writePseudoRandomFile,
} from '../../test/helpers/tools.js';
import { buildStandInWinPeTree, xorrisoElTorito } from '../../test/helpers/winpe-fixture.js';
import { argValue, log, median, ratio, round1 } from '../stats.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;

// ---------------------------------------------------------------------------------------------------------------
// Arguments

const RUNS = Number(argValue('--runs') ?? 5);
const JSON_ONLY = process.argv.includes('--json');
const COLD = process.argv.includes('--cold');
const KEEP = process.argv.includes('--keep');
const ONLY = argValue('--only');
/** The JS entry run as "ours" (it must accept `iso create ...` / `iso remaster ...`); default the real CLI. */
const CLI = argValue('--cli') ?? 'bin/lifeboat.js';
/** For smoke tests of the script itself: shrinks every input by this factor (the README figures use 1). */
const SCALE = Number(argValue('--scale') ?? 1);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('--runs must be a positive integer');
if (!(SCALE > 0 && SCALE <= 1)) throw new Error('--scale must be in (0, 1]');
if (ONLY !== undefined && ONLY !== 'create' && ONLY !== 'remaster') throw new Error('--only create|remaster');

const TREE_BYTES = Math.round((GIB * SCALE) / 2048) * 2048;
const SMALL_FILES = Math.max(20, Math.round(2000 * SCALE));
const BASE_BIG_BYTES = Math.round((696 * MIB * SCALE) / 2048) * 2048;
const ADD_BIG_BYTES = Math.round(80 * MIB * SCALE);
const ADD_SMALL_FILES = Math.max(10, Math.round(100 * SCALE));
const ADD_SMALL_BYTES = 100 * 1024;


// ---------------------------------------------------------------------------------------------------------------
// Measurement

interface Sample {
  exitMs: number;
  durableMs: number;
  peakRssKiB: number;
  outputBytes: number;
}

interface Contender {
  name: string;
  /** What is run, for the report. */
  command: string;
  cmd: string;
  args: string[];
  out: string;
  verify: (out: string) => Promise<string>;
  /** Accept these exit codes (default 0 only). */
  okCodes?: number[];
}

const HAVE_GNU_TIME = existsSync('/usr/bin/time');

async function sync(): Promise<void> {
  await runChecked('sync', [], { timeoutMs: 600_000 });
}

async function dropCaches(): Promise<void> {
  await sync();
  await writeFile('/proc/sys/vm/drop_caches', '3\n');
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

/** Runs `cmd` and returns its exit code and peak RSS; the caller times it. */
function spawnMeasured(cmd: string, args: string[], rssFile: string): Promise<{ code: number | null; stderr: string; peakRssKiB: number }> {
  return new Promise((resolve, reject) => {
    const argv = HAVE_GNU_TIME ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, '--', cmd, ...args]] as const : [cmd, args] as const;
    const child = spawn(argv[0], [...argv[1]], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += b.toString();
    });
    let hwm = 0;
    const poll = HAVE_GNU_TIME
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]));
          } catch {
            /* exited */
          }
        }, 10);
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      let peakRssKiB = hwm;
      if (HAVE_GNU_TIME) {
        const lines = (existsSync(rssFile) ? readFileSync(rssFile, 'utf8') : '').trim().split('\n');
        peakRssKiB = Number(lines[lines.length - 1]);
      }
      resolve({ code, stderr, peakRssKiB });
    });
  });
}

async function measure(c: Contender, work: string, verify: boolean): Promise<Sample & { verified?: string }> {
  await rm(c.out, { recursive: true, force: true });
  if (COLD) await dropCaches();
  else await sync();
  const rssFile = join(work, 'rss.txt');
  await rm(rssFile, { force: true });
  const t0 = performance.now();
  const r = await spawnMeasured(c.cmd, c.args, rssFile);
  const t1 = performance.now();
  await sync();
  const t2 = performance.now();
  if (!(c.okCodes ?? [0]).includes(r.code ?? -1)) {
    throw new Error(`${c.name}: ${c.command} exited ${r.code}\n${r.stderr.slice(-4000)}`);
  }
  const sample = { exitMs: t1 - t0, durableMs: t2 - t0, peakRssKiB: r.peakRssKiB, outputBytes: await sizeOf(c.out) };
  const verified = verify ? await c.verify(c.out) : undefined;
  await rm(c.out, { recursive: true, force: true });
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
}

async function bench(title: string, contenders: Contender[], work: string): Promise<Summary[]> {
  const samples = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  const verified = new Map<string, string>();
  log(`${title}: warm-up round (untimed, verified)`);
  for (const c of contenders) verified.set(c.name, (await measure(c, work, true)).verified!);
  for (let round = 0; round < RUNS; round++) {
    const order = contenders.map((_, i) => contenders[(i + round) % contenders.length]!);
    for (const c of order) {
      const s = await measure(c, work, true);
      samples.get(c.name)!.push(s);
      log(`${title} round ${round + 1}/${RUNS}: ${c.name.padEnd(8)} exit ${(s.exitMs / 1000).toFixed(2)} s, durable ${(s.durableMs / 1000).toFixed(2)} s, peak RSS ${(s.peakRssKiB / 1024).toFixed(0)} MiB (${s.verified})`);
    }
  }
  return contenders.map((c) => {
    const ss = samples.get(c.name)!;
    const stats = (xs: number[]) => ({ median: round1(median(xs)), min: round1(Math.min(...xs)), max: round1(Math.max(...xs)), all: xs.map(round1) });
    return {
      name: c.name,
      command: c.command,
      runs: ss.length,
      exitMs: stats(ss.map((s) => s.exitMs)),
      durableMs: stats(ss.map((s) => s.durableMs)),
      peakRssMiB: { median: round1(median(ss.map((s) => s.peakRssKiB / 1024))), max: round1(Math.max(...ss.map((s) => s.peakRssKiB / 1024))) },
      outputBytes: ss[0]!.outputBytes,
      verified: verified.get(c.name)!,
    };
  });
}


// ---------------------------------------------------------------------------------------------------------------
// Inputs and verification

type Listing = Map<string, number>;

/** Files (path -> size) of a host folder, with paths as '/'-rooted image paths. */
async function hostListing(dir: string, prefix = ''): Promise<Listing> {
  const out: Listing = new Map();
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath, e.name);
    out.set(`${prefix}/${relative(dir, full).split(sep).join('/')}`, (await stat(full)).size);
  }
  return out;
}

/** Files (path -> size) of an ISO as xorriso reads it (Rock Ridge, else Joliet, else ISO 9660 names). */
async function isoListing(iso: string): Promise<Listing> {
  const r = await runChecked('xorriso', ['-indev', iso, '-find', '/', '-type', 'f', '-exec', 'lsdl'], { timeoutMs: 300_000 });
  const out: Listing = new Map();
  for (const line of r.stdout.split('\n')) {
    const m = /^\S+\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+\S+\s+\S+\s+'(.*)'$/.exec(line.trim());
    if (m) out.set(m[2]!.replace(/'"'"'/g, "'"), Number(m[1]));
  }
  return out;
}

function compareListings(got: Listing, want: Listing, what: string): void {
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const extra = [...got.keys()].filter((k) => !want.has(k));
  const wrong = [...want].filter(([k, v]) => got.has(k) && got.get(k) !== v).map(([k]) => k);
  if (missing.length || extra.length || wrong.length) {
    throw new Error(`${what}: file list differs: missing ${missing.slice(0, 5).join(', ') || '-'} (${missing.length}), ` +
      `extra ${extra.slice(0, 5).join(', ') || '-'} (${extra.length}), wrong size ${wrong.slice(0, 5).join(', ') || '-'} (${wrong.length})`);
  }
}

/** Extracts `paths` from `iso` with xorriso and checks each against its expected SHA-256. */
async function checkIsoContent(iso: string, want: Map<string, string>, work: string): Promise<void> {
  const dest = join(work, 'extract');
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  try {
    const args = ['-osirrox', 'on', '-indev', iso];
    const local = new Map<string, string>();
    [...want.keys()].forEach((p, i) => {
      local.set(p, join(dest, String(i)));
      args.push('-extract', p, join(dest, String(i)));
    });
    await runChecked('xorriso', args, { timeoutMs: 600_000 });
    for (const [p, hash] of want) {
      if ((await sha256File(local.get(p)!)) !== hash) throw new Error(`${iso}: ${p} does not match its source`);
    }
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  const { bytesRead } = await fh.read(b, 0, length, offset);
  return b.subarray(0, bytesRead);
}

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

// ---------------------------------------------------------------------------------------------------------------
// create

async function makeCreateTree(root: string): Promise<{ files: number; bytes: number; largeBytes: number; samples: Map<string, string> }> {
  const samples = new Map<string, string>();
  let smallBytes = 0;
  for (let i = 0; i < SMALL_FILES; i++) {
    const rel = `lifeboat/Drivers/Package ${String(i % 20).padStart(2, '0')}/driver file number ${String(i).padStart(4, '0')}.sys`;
    const size = 1024 + ((i * 7919) % (63 * 1024));
    const data = pseudoRandomBytes(`bench-iso:small:${i}`, size);
    await mkdir(join(root, ...rel.split('/').slice(0, -1)), { recursive: true });
    await writeFile(join(root, ...rel.split('/')), data);
    smallBytes += size;
    if (i % Math.max(1, Math.floor(SMALL_FILES / 20)) === 0) samples.set(`/${rel}`, sha256(data));
  }
  const large = TREE_BYTES - smallBytes;
  await writePseudoRandomFile(join(root, 'sources', 'boot.wim'), large, 'bench-iso:large');
  samples.set('/sources/boot.wim', await sha256File(join(root, 'sources', 'boot.wim')));
  return { files: SMALL_FILES + 1, bytes: TREE_BYTES, largeBytes: large, samples };
}

async function benchCreate(work: string) {
  const tree = join(work, 'create-tree');
  log(`create: writing the tree (${(TREE_BYTES / MIB).toFixed(0)} MiB, ${SMALL_FILES} small files)`);
  const made = await makeCreateTree(tree);
  const want = await hostListing(tree);

  const isoVerify = (label: string) => async (iso: string) => {
    compareListings(await isoListing(iso), want, label);
    await checkIsoContent(iso, made.samples, work);
    return `${want.size} files listed by xorriso -find, ${made.samples.size} files SHA-256-checked`;
  };
  const oursOut = join(work, 'ours.iso');
  const xorrisoOut = join(work, 'xorriso.iso');
  const cpOut = join(work, 'cp-tree');
  const contenders: Contender[] = [
    {
      name: 'ours', command: `node ${CLI} iso create --dir TREE --out OUT --volid BENCH`,
      cmd: process.execPath, args: [CLI, 'iso', 'create', '--dir', tree, '--out', oursOut, '--volid', 'BENCH'],
      out: oursOut, verify: isoVerify('ours'),
    },
    {
      name: 'xorriso', command: 'xorriso -as mkisofs -iso-level 3 -J -joliet-long -V BENCH -o OUT TREE',
      cmd: 'xorriso', args: ['-as', 'mkisofs', '-iso-level', '3', '-J', '-joliet-long', '-V', 'BENCH', '-o', xorrisoOut, tree],
      out: xorrisoOut, verify: isoVerify('xorriso'),
    },
    {
      name: 'cp', command: 'cp -r TREE OUT',
      cmd: 'cp', args: ['-r', tree, cpOut],
      out: cpOut,
      verify: async (dir) => {
        compareListings(await hostListing(dir), want, 'cp');
        for (const [p, hash] of made.samples) {
          if ((await sha256File(join(dir, ...p.split('/')))) !== hash) throw new Error(`cp: ${p} differs`);
        }
        return `${want.size} files listed, ${made.samples.size} files SHA-256-checked`;
      },
    },
  ];
  const results = await bench('create', contenders, work);
  await rm(tree, { recursive: true, force: true });
  const [ours, xorriso, cp] = results as [Summary, Summary, Summary];
  return {
    input: { files: made.files, bytes: made.bytes, largeFileBytes: made.largeBytes, smallFiles: SMALL_FILES },
    contenders: results,
    ratios: {
      oursToXorriso: { exit: ratio(ours.exitMs.median, xorriso.exitMs.median), durable: ratio(ours.durableMs.median, xorriso.durableMs.median) },
      oursToCp: { exit: ratio(ours.exitMs.median, cp.exitMs.median), durable: ratio(ours.durableMs.median, cp.durableMs.median) },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// remaster

async function benchRemaster(work: string) {
  const baseTree = join(work, 'base-tree');
  const base = join(work, 'base.iso');
  log(`remaster: building the stand-in Windows PE base (~${((BASE_BIG_BYTES + 4 * MIB) / MIB).toFixed(0)} MiB)`);
  const pe = await buildStandInWinPeTree(baseTree, { seed: 'bench-iso', bigFiles: { 'sources/install.wim': BASE_BIG_BYTES } });
  // Both boot images are files of the tree, so xorriso can replay both entries (a hidden EFI image, as oscdimg
  // writes it, makes xorriso drop the UEFI entry: see test/helpers/winpe-fixture.ts).
  await runChecked('xorriso', [
    '-as', 'mkisofs', '-iso-level', '3', '-J', '-joliet-long', '-V', 'LIFEBOAT_PE',
    '-b', 'boot/etfsboot.com', '-no-emul-boot', '-boot-load-size', '8', '-hide', 'boot.catalog', '-hide-joliet', 'boot.catalog',
    '-eltorito-alt-boot', '-e', 'efi/microsoft/boot/efisys.bin', '-no-emul-boot', '-o', base, baseTree,
  ], { timeoutMs: 600_000 });
  const bootImages = [
    { platform: 'BIOS', sha: await sha256File(pe.etfsboot), size: (await stat(pe.etfsboot)).size },
    { platform: 'UEFI', sha: await sha256File(pe.efisys), size: (await stat(pe.efisys)).size },
  ];
  const baseListing = await isoListing(base);
  const samples = new Map<string, string>([
    ['/sources/install.wim', await sha256File(join(baseTree, 'sources', 'install.wim'))],
    ['/sources/boot.wim', await sha256File(pe.bootWim)],
  ]);
  await rm(baseTree, { recursive: true, force: true });

  const add = join(work, 'add');
  await writePseudoRandomFile(join(add, 'drivers', 'Storage Driver Pack.cab'), ADD_BIG_BYTES, 'bench-iso:add-big');
  samples.set('/lifeboat/drivers/Storage Driver Pack.cab', await sha256File(join(add, 'drivers', 'Storage Driver Pack.cab')));
  for (let i = 0; i < ADD_SMALL_FILES; i++) {
    const rel = `tools/Tool ${String(i).padStart(3, '0')}.exe`;
    const data = pseudoRandomBytes(`bench-iso:add:${i}`, ADD_SMALL_BYTES + i);
    await mkdir(join(add, 'tools'), { recursive: true });
    await writeFile(join(add, ...rel.split('/')), data);
    if (i % 10 === 0) samples.set(`/lifeboat/${rel}`, sha256(data));
  }
  const addListing = await hostListing(add, '/lifeboat');
  const want: Listing = new Map([...baseListing, ...addListing]);
  const addBytes = [...addListing.values()].reduce((a, b) => a + b, 0);

  const verify = (label: string) => async (iso: string) => {
    compareListings(await isoListing(iso), want, label);
    await checkIsoContent(iso, samples, work);
    const { entries } = await xorrisoElTorito(iso);
    if (entries.map((e) => e.platform).join(',') !== 'BIOS,UEFI') throw new Error(`${label}: El Torito entries ${entries.map((e) => e.platform).join(',')}`);
    const fh = await open(iso, 'r');
    try {
      for (const [i, e] of entries.entries()) {
        const img = bootImages[i]!;
        if (sha256(await readAt(fh, e.lba * 2048, img.size)) !== img.sha) throw new Error(`${label}: boot image ${i + 1} (${e.platform}) at LBA ${e.lba} is not the base's`);
      }
    } finally {
      await fh.close();
    }
    return `${want.size} files listed by xorriso -find, ${samples.size} files SHA-256-checked, El Torito BIOS+UEFI images checked`;
  };
  const oursOut = join(work, 'ours-remaster.iso');
  const xorrisoOut = join(work, 'xorriso-remaster.iso');
  const contenders: Contender[] = [
    {
      name: 'ours', command: `node ${CLI} iso remaster --base BASE --add ADD=/lifeboat --out OUT`,
      cmd: process.execPath, args: [CLI, 'iso', 'remaster', '--base', base, '--add', `${add}=/lifeboat`, '--out', oursOut],
      out: oursOut, verify: verify('ours'),
    },
    {
      name: 'xorriso', command: 'xorriso -indev BASE -outdev OUT -joliet on -boot_image any replay -map ADD /lifeboat -commit',
      cmd: 'xorriso', args: ['-indev', base, '-outdev', xorrisoOut, '-joliet', 'on', '-boot_image', 'any', 'replay', '-map', add, '/lifeboat', '-commit'],
      out: xorrisoOut, verify: verify('xorriso'),
    },
  ];
  const results = await bench('remaster', contenders, work);
  const [ours, xorriso] = results as [Summary, Summary];
  return {
    input: { baseBytes: (await stat(base)).size, baseFiles: baseListing.size, addedBytes: addBytes, addedFiles: addListing.size },
    contenders: results,
    ratios: { oursToXorriso: { exit: ratio(ours.exitMs.median, xorriso.exitMs.median), durable: ratio(ours.durableMs.median, xorriso.durableMs.median) } },
  };
}

// ---------------------------------------------------------------------------------------------------------------

function table(title: string, rows: Summary[]): string {
  const ref = rows[0]!;
  const lines = [
    title,
    `  ${'tool'.padEnd(8)} ${'exit s (min-max)'.padEnd(22)} ${'durable s (min-max)'.padEnd(22)} ${'ours/this exit'.padEnd(15)} ${'ours/this durable'.padEnd(18)} peak RSS MiB`,
  ];
  for (const r of rows) {
    const f = (s: Summary['exitMs']) => `${(s.median / 1000).toFixed(2)} (${(s.min / 1000).toFixed(2)}-${(s.max / 1000).toFixed(2)})`;
    lines.push(`  ${r.name.padEnd(8)} ${f(r.exitMs).padEnd(22)} ${f(r.durableMs).padEnd(22)} ${`${ratio(ref.exitMs.median, r.exitMs.median).toFixed(2)}x`.padEnd(15)} ` +
      `${`${ratio(ref.durableMs.median, r.durableMs.median).toFixed(2)}x`.padEnd(18)} ${r.peakRssMiB.max.toFixed(0)}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  // The CLI must be built and current (not checked for a --cli entry).
  const built = join(REPO_ROOT, 'dist', 'iso', 'writer.js');
  if (CLI === 'bin/lifeboat.js' && !existsSync(built)) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
  const builtAt = existsSync(built) ? (await stat(built)).mtimeMs : 0;
  for (const f of await readdir(join(REPO_ROOT, 'src', 'iso'))) {
    if (CLI === 'bin/lifeboat.js' && (await stat(join(REPO_ROOT, 'src', 'iso', f))).mtimeMs > builtAt) throw new Error(`src/iso/${f} is newer than dist/: run \`npx tsc -p tsconfig.json\` first`);
  }
  if (COLD) await writeFile('/proc/sys/vm/drop_caches', '3\n').catch(() => { throw new Error('--cold needs root (writes /proc/sys/vm/drop_caches)'); });

  const need = (ONLY === 'remaster' ? 3 : 5) * GIB * SCALE;
  const free = await freeBytes(tmpdir());
  if (free < need) throw new Error(`${tmpdir()} has ${(free / GIB).toFixed(1)} GiB free; the benchmark needs about ${(need / GIB).toFixed(1)} GiB`);
  const work = await mkTempDir('bench-iso');
  log(`work dir ${work} (${(free / GIB).toFixed(0)} GiB free), ${RUNS} runs, page cache ${COLD ? 'dropped before every run' : 'warm'}`);
  try {
    const xorrisoVersion = (await run('xorriso', ['-version'])).stdout.split('\n')[0]?.trim();
    const fsType = (await run('stat', ['-f', '-c', '%T', work])).stdout.trim();
    const report = {
      benchmark: 'iso',
      date: new Date().toISOString(),
      runs: RUNS,
      warmupRounds: 1,
      cli: CLI,
      pageCache: COLD ? 'dropped before every run' : 'warm (inputs cached; outputs removed and `sync` before every run)',
      scale: SCALE,
      workDir: tmpdir(),
      peakRssFrom: HAVE_GNU_TIME ? '/usr/bin/time -f %M' : '/proc/PID/status VmHWM (polled)',
      machine: {
        cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / GIB), kernel: release(), fileSystem: fsType,
        node: process.version, xorriso: xorrisoVersion, cp: (await run('cp', ['--version'])).stdout.split('\n')[0],
      },
      create: ONLY === 'remaster' ? undefined : await benchCreate(work),
      remaster: ONLY === 'create' ? undefined : await benchRemaster(work),
      goals: { oursToXorrisoMax: 1.0, oursToCpMax: 1.3, peakRssMiBMax: 150 },
    };
    const text: string[] = [];
    if (report.create) {
      text.push(table(`create: ${(report.create.input.bytes / GIB).toFixed(2)} GiB tree, ${report.create.input.files} files (median of ${RUNS})`, report.create.contenders));
    }
    if (report.remaster) {
      text.push(table(`remaster: ${(report.remaster.input.baseBytes / MIB).toFixed(0)} MiB base + ${(report.remaster.input.addedBytes / MIB).toFixed(0)} MiB added (median of ${RUNS})`, report.remaster.contenders));
    }
    text.push('exit = spawn until the child exits; durable = exit + `sync` (ours fsyncs its output itself, xorriso and cp do not)');
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
