/**
 * Flash benchmark: a 1 GiB image with 30% of it mapped (32 runs of 9.6 MiB of pseudo-random data, one
 * every 32 MiB; the rest sparse zeros) written to a regular file target, which already holds 1 GiB of old data
 * (preallocated, so every contender overwrites in place).
 *
 * Contenders (each a child process, wall time until exit; all make their output durable before exiting):
 *   ours     `lifeboat flash IMG TARGET --yes --json`: writes the mapped ranges (buffered, 4 MiB), flushed every 32 MiB;
 *            reads every range back with O_DIRECT once flushed, beside the writing, and compares it with the image;
 *            its JSON gives the write+flush phase, the read-back's span and what is left of it after the final flush
 *   ours-direct  the same with `--io direct` (O_DIRECT writes, as used for block devices)
 *   dd       `dd if=IMG of=TARGET bs=4M conv=fsync,notrunc` (writes all 1 GiB, no verification)
 *   bmaptool `bmaptool copy --bmap IMG.bmap IMG TARGET` (Debian bmap-tools; checks the image's checksums while
 *            reading it, no read-back of the target), when installed
 * One warm-up round, then N rounds (default 5) rotating the order; `sync` before every run; the image stays in the
 * page cache (warm). Medians are reported; ratios are ours / peer.
 *
 * `--extra NAME=JS` (repeatable) adds `node JS flash ...` as one more contender, e.g. a compiled snapshot of an
 * earlier commit, so before and after are measured in the same rounds.
 *
 * Usage: node --import tsx bench/flash/run.ts [--runs N] [--keep] [--extra NAME=JS]...  (needs `npx tsc -p tsconfig.json` first)
 * Prints a table on stderr and one JSON document on stdout.
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';

import { blockMapOf, serializeBlockMap } from '../../src/usb/block-map.js';
import { SequentialWriter } from '../../src/util/sequential-writer.js';
import { hasCommand, mkTempDir, pseudoRandomBytes, removeTempDir, REPO_ROOT, runChecked } from '../../test/helpers/tools.js';
import { writeFile } from 'node:fs/promises';
import { median } from '../stats.js';

const MIB = 2 ** 20;
const IMAGE = 1024 * MIB;
const SEGMENT = 32 * MIB;
const MAPPED_PER_SEGMENT = Math.floor((0.3 * SEGMENT) / 4096) * 4096;


function timedRun(cmd: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t;
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr.slice(-2000)}`));
      else resolve({ ms, stdout });
    });
  });
}

async function makeImage(path: string): Promise<void> {
  const fh = await open(path, 'w+');
  try {
    const w = await SequentialWriter.create(fh, IMAGE, { name: path, mapRanges: true });
    for (let s = 0; s < IMAGE / SEGMENT; s++) {
      await w.skipTo(s * SEGMENT);
      await w.write(pseudoRandomBytes(`bench-flash-${s}`, MAPPED_PER_SEGMENT));
    }
    const { ranges } = await w.finish();
    await writeFile(`${path}.blockmap.json`, serializeBlockMap(blockMapOf(IMAGE, ranges!)));
  } finally {
    await fh.close();
  }
}

async function preallocate(path: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < IMAGE; off += 64 * MIB) await fh.write(pseudoRandomBytes(`old-${off}`, 64 * MIB), 0, 64 * MIB, off);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const runs = Number(argv[argv.indexOf('--runs') + 1] ?? 5) || 5;
  const keep = argv.includes('--keep');
  const work = await mkTempDir('bench-flash');
  const cli = join(REPO_ROOT, 'bin', 'lifeboat.js');
  try {
    const image = join(work, 'bench-usb.img');
    await makeImage(image);
    const bmap = (await hasCommand('bmaptool')) ? `${image}.bmap` : undefined;
    if (bmap) await runChecked('bmaptool', ['create', image, '-o', bmap], { timeoutMs: 600_000 });
    const contenders: { name: string; target: string; run: () => Promise<{ ms: number; stdout: string }> }[] = [];
    const target = (name: string) => join(work, `target-${name}.bin`);
    contenders.push({ name: 'ours', target: target('ours'), run: () => timedRun(process.execPath, [cli, 'flash', image, target('ours'), '--yes', '--json']) });
    contenders.push({ name: 'ours-direct', target: target('ours-direct'), run: () => timedRun(process.execPath, [cli, 'flash', image, target('ours-direct'), '--yes', '--json', '--io', 'direct']) });
    for (let i = argv.indexOf('--extra'); i >= 0; i = argv.indexOf('--extra', i + 1)) {
      const [name, js] = (argv[i + 1] ?? '').split('=');
      if (!name || !js) throw new Error('--extra NAME=JS');
      contenders.push({ name, target: target(name), run: () => timedRun(process.execPath, [js, 'flash', image, target(name), '--yes', '--json']) });
    }
    contenders.push({ name: 'dd', target: target('dd'), run: () => timedRun('dd', [`if=${image}`, `of=${target('dd')}`, 'bs=4M', 'conv=fsync,notrunc', 'status=none']) });
    if (bmap) contenders.push({ name: 'bmaptool', target: target('bmaptool'), run: () => timedRun('bmaptool', ['copy', '--bmap', bmap, image, target('bmaptool')]) });
    for (const c of contenders) await preallocate(c.target);
    await runChecked('cat', [image], { timeoutMs: 600_000, maxBuffer: 1 }); // warm the image into the page cache
    const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    const phases: { write: number[]; verify: number[]; afterFlush: number[] } = { write: [], verify: [], afterFlush: [] };
    const phasesDirect: { write: number[]; verify: number[]; afterFlush: number[] } = { write: [], verify: [], afterFlush: [] };
    for (let round = -1; round < runs; round++) {
      const order = contenders.map((_, i) => contenders[(i + Math.max(round, 0)) % contenders.length]!);
      for (const c of order) {
        await runChecked('sync', [], { timeoutMs: 600_000 });
        const r = await c.run();
        if (round < 0) continue;
        times.get(c.name)!.push(r.ms);
        if (c.name.startsWith('ours')) {
          const j = JSON.parse(r.stdout) as { writeMs: number; flushMs: number; verifyMs: number; verifyAfterFlushMs?: number; ok: boolean };
          if (!j.ok) throw new Error('ours reported failure');
          const p = c.name === 'ours' ? phases : phasesDirect;
          p.write.push(j.writeMs + j.flushMs);
          p.verify.push(j.verifyMs);
          p.afterFlush.push(j.verifyAfterFlushMs ?? j.verifyMs);
        }
      }
    }
    const med = Object.fromEntries([...times].map(([k, v]) => [k, median(v)]));
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
      image: { bytes: IMAGE, mappedBytes: MAPPED_PER_SEGMENT * (IMAGE / SEGMENT) },
      runs,
      medianMs: med,
      minMaxMs: Object.fromEntries([...times].map(([k, v]) => [k, [Math.min(...v), Math.max(...v)]])),
      oursPhasesMedianMs: { writeAndFlush: median(phases.write), verify: median(phases.verify), verifyAfterFlush: median(phases.afterFlush) },
      oursDirectPhasesMedianMs: { writeAndFlush: median(phasesDirect.write), verify: median(phasesDirect.verify), verifyAfterFlush: median(phasesDirect.afterFlush) },
      ratios: {
        ...Object.fromEntries(Object.keys(med).filter((k) => k !== 'dd').map((k) => [`${k}VsDd`, med[k]! / med.dd!])),
        oursWritePhaseVsDd: median(phases.write) / med.dd!,
        oursTotalVsDd: med.ours! / med.dd!,
        oursDirectTotalVsDd: med['ours-direct']! / med.dd!,
        ...(med.bmaptool ? { oursTotalVsBmaptool: med.ours! / med.bmaptool } : {}),
      },
      bmaptool: bmap ? 'installed' : 'not installed',
    };
    for (const [k, v] of Object.entries(med)) process.stderr.write(`${k.padEnd(12)} ${(v / 1000).toFixed(2)} s\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (!keep) await removeTempDir(work);
  }
}

await main();
