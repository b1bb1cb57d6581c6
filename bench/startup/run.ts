/**
 * Start-up benchmark (issue 17): how long the CLI takes to start, against bare Node (`node -e 0`), in one run.
 *
 * Contenders (each a child process, wall time from spawn to exit, output discarded):
 *   node -e 0                   the floor: starting Node itself
 *   lifeboat --version          bin/lifeboat.js (compiled dist/): what every command pays before doing anything
 *   lifeboat flash --help       one command's file registered (not its flashing modules)
 *   lifeboat verify --help      another command: its file imports src/media/verify at top level
 *   lifeboat --help             every command file loaded (help lists them all)
 * With `--before REF`, the same CLI commands of git REF (its src/ compiled into a temporary folder) run in the same
 * rounds, so "before" and "after" come from one run on one machine state.
 * One warm-up round, then N rounds (default 21) rotating the order. Medians and ratios against `node -e 0`.
 *
 * Usage: npx tsc -p tsconfig.json && node --import tsx bench/startup/run.ts [--runs N] [--before REF] [--json]
 */
import { spawn } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { mkTempDir, removeTempDir, REPO_ROOT, runChecked } from '../../test/helpers/tools.js';
import { argValue, log, median, ratio } from '../stats.js';

function timed(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`node ${args.join(' ')} exited ${code}`))));
  });
}

/** Compiles `ref`'s src/ into `dir` (with this checkout's node_modules); returns its bin/lifeboat.js. */
async function compileRef(ref: string, dir: string): Promise<string> {
  const tar = join(dir, 'src.tar');
  await runChecked('git', ['-C', REPO_ROOT, 'archive', '-o', tar, ref, 'src', 'bin', 'package.json', 'tsconfig.json'], { timeoutMs: 60_000 });
  await runChecked('tar', ['-xf', tar, '-C', dir], { timeoutMs: 60_000 });
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  await runChecked(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { timeoutMs: 600_000 });
  return join(dir, 'bin', 'lifeboat.js');
}

async function main(): Promise<void> {
  const runs = Number(argValue('--runs') ?? 21) || 21;
  const before = argValue('--before');
  const json = process.argv.includes('--json');
  const work = before ? await mkTempDir('bench-startup') : undefined;
  try {
    const bin = join(REPO_ROOT, 'bin', 'lifeboat.js');
    const contenders: { name: string; args: string[] }[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'lifeboat --version', args: [bin, '--version'] },
      { name: 'lifeboat flash --help', args: [bin, 'flash', '--help'] },
      { name: 'lifeboat verify --help', args: [bin, 'verify', '--help'] },
      { name: 'lifeboat --help', args: [bin, '--help'] },
    ];
    if (before && work) {
      await mkdir(work, { recursive: true });
      const old = await compileRef(before, work);
      await writeFile(join(work, 'REF'), `${before}\n`);
      contenders.push({ name: `before: lifeboat --version`, args: [old, '--version'] });
      contenders.push({ name: `before: lifeboat flash --help`, args: [old, 'flash', '--help'] });
    }
    const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    const load = loadavg()[0];
    for (let round = -1; round < runs; round++) {
      for (let i = 0; i < contenders.length; i++) {
        const c = contenders[(i + Math.max(round, 0)) % contenders.length]!;
        const ms = await timed(c.args);
        if (round >= 0) times.get(c.name)!.push(ms);
      }
    }
    const floor = median(times.get('node -e 0')!);
    const rows = [...times].map(([name, v]) => ({ name, medianMs: Math.round(median(v)), minMs: Math.round(Math.min(...v)), maxMs: Math.round(Math.max(...v)), vsNode: ratio(median(v), floor) }));
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadAverageBefore: load, loadAverageAfter: loadavg()[0] },
      runs,
      before: before ?? null,
      rows,
    };
    for (const r of rows) log(`${r.name.padEnd(32)} ${String(r.medianMs).padStart(5)} ms (${r.minMs}–${r.maxMs})  ${r.vsNode.toFixed(2)}x node -e 0`);
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (work) await removeTempDir(work);
  }
}

await main();
