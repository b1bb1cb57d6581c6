/**
 * assistant.exe cold start to its first screen under Wine (goal: under 1.5 s). The media is a training
 * scenario's (site.json, vault, manifest); the first screen is the "Restore kit for ..." line the start step
 * prints. The first run after `wineserver -k` is the cold one; the rest are warm (Wine's server already up).
 * Peer: `wine cmd.exe /c ver`, the cost of starting any Windows program under Wine here.
 * Run: node --import tsx bench/assistant/startup.ts [--runs N]
 */
import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SimulatedPlatform } from '../../src/platform/simulated/simulated-platform.js';

const REPO = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');
const EXE = join(REPO, 'build', 'assistant.exe');
const env = { ...process.env, WINEPREFIX: join(REPO, '.cache', 'wine'), WINEDEBUG: '-all', DISPLAY: '' };
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

/** Milliseconds from spawn until `marker` appears in the program's stdout (a file: Wine cannot write to a pipe). */
async function timeToMarker(args: string[], marker: string, out: string): Promise<number> {
  const fd = openSync(out, 'w');
  const t0 = performance.now();
  const child = spawn('wine', args, { env, stdio: ['ignore', fd, 'ignore'] });
  closeSync(fd);
  try {
    for (;;) {
      const exited = child.exitCode !== null;
      if (readFileSync(out, 'utf8').includes(marker)) return performance.now() - t0;
      if (exited) throw new Error(`exited (${child.exitCode}) before "${marker}": ${readFileSync(out, 'utf8').slice(0, 300)}`);
      if (performance.now() - t0 > 30_000) throw new Error(`no "${marker}" within 30 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    child.kill('SIGKILL');
    spawnSync('pkill', ['-f', 'assistant.exe']);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const work = await mkdtemp(join(tmpdir(), 'lifeboat-bench-start-'));
try {
  const sim = await SimulatedPlatform.start(join(REPO, 'examples', 'scenarios', 'healthy-physical'), { work });
  const media = `Z:${sim.mediaRoot.replace(/\//g, '\\')}`;
  const out = join(work, 'out.txt');
  spawnSync('wineserver', ['-k'], { env });
  const cold = await timeToMarker([EXE, '--media', media], 'Restore kit for', out);
  const warm: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < runs; i++) {
    warm.push(await timeToMarker([EXE, '--media', media], 'Restore kit for', out));
    peer.push(await timeToMarker(['cmd.exe', '/c', 'ver'], 'Microsoft Windows', out));
  }
  console.log(JSON.stringify({
    coldMs: Math.round(cold), warmMedianMs: Math.round(median(warm)), peerWineCmdVerMedianMs: Math.round(median(peer)),
    ratioWarmToPeer: +(median(warm) / median(peer)).toFixed(2), goalMs: 1500, runs,
  }, null, 2));
} finally {
  await rm(work, { recursive: true, force: true });
}
