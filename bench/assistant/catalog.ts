/**
 * Catalog parse benchmark: the real Veeam metadata fixture (goal: median under 50 ms) and a synthetic
 * 8,760-point chain, hourly for a year (goal: under 2 s). "Parse" is what the assistant does before showing the
 * backups screen: read the .vbm text, parse it (safe XML), build the chain model, decode the newest point's details.
 * Prints one JSON document. Run: node --import tsx bench/assistant/catalog.ts [--runs N]
 */
import { readFile } from 'node:fs/promises';
import { buildChain, pointDetails } from '../../src/veeam/model.js';
import { parseVbm } from '../../src/veeam/vbm.js';
import { REAL_VBM_PATH, readRealVbm, synthesizeChain } from '../../test/helpers/veeam-fixtures.js';
import { median } from '../stats.js';


function once(text: string, label: string): { ms: number; points: number } {
  const t0 = performance.now();
  const chain = buildChain(parseVbm(text, label));
  const newest = chain.newest;
  if (newest) pointDetails(newest);
  return { ms: performance.now() - t0, points: chain.points.length };
}

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 21;
const bigRuns = Math.max(3, Math.round(runs / 4));

const firstRead = performance.now();
const realText = await readFile(REAL_VBM_PATH, 'utf8');
const cold = once(realText, REAL_VBM_PATH);
const readMs = performance.now() - firstRead;
const real: number[] = [];
for (let i = 0; i < runs; i++) real.push(once(realText, REAL_VBM_PATH).ms);

const big = synthesizeChain(await readRealVbm(), { points: 8760, intervalHours: 1 });
const bigTimes: number[] = [];
let bigPoints = 0;
for (let i = 0; i < bigRuns; i++) {
  const r = once(big, 'synthetic-8760.vbm');
  bigTimes.push(r.ms);
  bigPoints = r.points;
}

const result = {
  node: process.version,
  realFixture: {
    file: REAL_VBM_PATH,
    bytes: Buffer.byteLength(realText),
    points: cold.points,
    coldMs: Math.round(cold.ms * 10) / 10,
    coldWithReadMs: Math.round(readMs * 10) / 10,
    runs,
    medianMs: Math.round(median(real) * 10) / 10,
    goalMs: 50,
    meetsGoal: median(real) < 50,
  },
  synthetic8760: {
    bytes: Buffer.byteLength(big),
    points: bigPoints,
    note: 'AuxData kept on the full and the newest point only (a real file with AuxData on every point would be ~250 MB)',
    runs: bigRuns,
    medianMs: Math.round(median(bigTimes)),
    maxMs: Math.round(Math.max(...bigTimes)),
    goalMs: 2000,
    meetsGoal: median(bigTimes) < 2000,
  },
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
