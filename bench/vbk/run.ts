/**
 * `lifeboat backup verify` throughput (issue 14): a Veeam backup file grown from the real v13 fixture to N blocks of
 * 1 MiB (bench/vbk/make-vbk.ts: copies of the fixture's real LZ4 blocks of NTFS data, every checksum right).
 *
 * Contenders, each a child process on the same bytes, wall time until exit, peak RSS by GNU time:
 *   verify   `node bin/lifeboat.js backup verify FILE`: every bank's CRC-32C, every block read, LZ4-decoded, its
 *            CRC-32C and MD5 checked
 *   cat      `cat FILE > /dev/null`: reading the bytes, nothing else (the I/O floor)
 *   gzip -t  `gzip -t FILE.gz` of the same file gzipped (-1): decompress and check a CRC, a common "is it intact" check
 * One warm-up round (the page cache is warm), then N rounds (default 3) rotating the order. Also: peak RSS of
 * `backup extract` of the whole disk. Throughput is file bytes per second; ratios are verify / peer.
 *
 * Usage: npx tsc -p tsconfig.json && node --import tsx bench/vbk/run.ts [--blocks N] [--runs R] [--keep]
 * Prints a table on stderr and one JSON document on stdout.
 */
import { spawn } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mkTempDir, removeTempDir, REPO_ROOT, runChecked } from '../../test/helpers/tools.js';
import { argValue, log, median, ratio, round1 } from '../stats.js';
import { makeBenchVbk } from './make-vbk.js';

interface Timed {
  ms: number;
  rssKiB: number;
  stderr: string;
}

function timed(cmd: string, args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%M', cmd, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      const lines = stderr.trim().split('\n');
      resolve({ ms, rssKiB: Number(lines.pop()), stderr: lines.join('\n') });
    });
  });
}

const blocks = Number(argValue('--blocks') ?? 1024);
const runs = Number(argValue('--runs') ?? 3);
const dir = await mkTempDir('bench-vbk');
try {
  const file = join(dir, 'bench.vbk');
  await writeFile(file, makeBenchVbk(blocks));
  await runChecked('sh', ['-c', `gzip -1 -c "${file}" > "${file}.gz"`]);
  const bytes = (await stat(file)).size;
  log(`${file}: ${bytes} bytes, ${blocks} blocks of 1 MiB (${(await stat(`${file}.gz`)).size} bytes gzipped)`);
  const bin = join(REPO_ROOT, 'bin', 'lifeboat.js');
  const contenders: Record<string, () => Promise<Timed>> = {
    verify: async () => {
      const r = await timed(process.execPath, [bin, 'backup', 'verify', file]);
      if (!new RegExp(`verified bench\\.vbk: ${blocks + 8} blocks`).test(r.stderr)) throw new Error(`verify did not verify: ${r.stderr}`);
      return r;
    },
    cat: () => timed('sh', ['-c', `cat "${file}" > /dev/null`]),
    'gzip -t': () => timed('gzip', ['-t', `${file}.gz`]),
  };
  const names = Object.keys(contenders);
  const results: Record<string, Timed[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = -1; round < runs; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(Math.max(round, 0) + k) % names.length]!;
      const r = await contenders[name]!();
      if (round >= 0) results[name]!.push(r);
    }
  }
  const extract = await timed(process.execPath, [bin, 'backup', 'extract', file, '8b14f74c-360d-4d7a-98f7-7f4c5e737eb7', '--out', join(dir, 'disk.raw')]);
  const table = names.map((name) => {
    const ms = median(results[name]!.map((r) => r.ms));
    return {
      name,
      medianMs: Math.round(ms),
      minMs: Math.round(Math.min(...results[name]!.map((r) => r.ms))),
      maxMs: Math.round(Math.max(...results[name]!.map((r) => r.ms))),
      mibPerSecond: round1(bytes / 2 ** 20 / (ms / 1000)),
      peakRssMiB: round1(Math.max(...results[name]!.map((r) => r.rssKiB)) / 1024),
    };
  });
  const v = table[0]!.medianMs;
  log('| contender | median | min-max | file MiB/s | verify time / this | peak RSS |');
  log('|---|---|---|---|---|---|');
  for (const t of table) log(`| ${t.name} | ${(t.medianMs / 1000).toFixed(2)} s | ${(t.minMs / 1000).toFixed(2)}-${(t.maxMs / 1000).toFixed(2)} s | ${t.mibPerSecond} | ${ratio(v, t.medianMs)} | ${t.peakRssMiB} MiB |`);
  log(`backup extract of the ${blocks} MiB disk: ${(extract.ms / 1000).toFixed(2)} s, peak RSS ${round1(extract.rssKiB / 1024)} MiB`);
  process.stdout.write(`${JSON.stringify({ blocks, fileBytes: bytes, runs, table, extract: { ms: Math.round(extract.ms), peakRssMiB: round1(extract.rssKiB / 1024) } }, null, 2)}\n`);
} finally {
  if (!process.argv.includes('--keep')) await removeTempDir(dir);
}
