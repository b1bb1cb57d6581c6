/**
 * USB image benchmark: our streaming FAT32 + MBR writer against the natural peer, `mkfs.fat -F 32` + `mcopy -s`
 * (mtools) into a partitioned image of the same size, and `cp -r` of the tree as the plain I/O reference.
 *
 * Tree: one 1 GiB file plus 2,000 small files (1-64 KiB) in 20 directories. Each contender runs 3 times in this
 * process's run, interleaved, after a `sync` (sources warm in the page cache, outputs deleted between runs); the
 * median wall time is reported. Wall times do not include flushing the output to disk (nobody fsyncs).
 * Ours runs as a child process so its peak RSS (process.resourceUsage().maxRSS) is its own.
 *
 * Usage: node --import tsx bench/usb/run.ts [--keep]      Prints one JSON document on stdout.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { mkTempDir, removeTempDir, REPO_ROOT, runChecked, writePseudoRandomFile } from '../../test/helpers/tools.js';
import { median } from '../stats.js';

const MIB = 2 ** 20;
const RUNS = 3;
const LARGE = 1024 * MIB;
const SMALL_FILES = 2000;


async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function runOurs(tree: string, out: string): Promise<{ wallMs: number; inner: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/usb/build-one.ts'), tree, out], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t;
      if (code !== 0) return reject(new Error(`build-one exited ${code}`));
      resolve({ wallMs, inner: JSON.parse(stdout.trim()) as Record<string, number> });
    });
  });
}

async function makeTree(root: string): Promise<{ files: number; bytes: number }> {
  await writePseudoRandomFile(join(root, 'sources', 'boot.wim'), LARGE, 'bench-usb-large');
  let bytes = LARGE;
  for (let i = 0; i < SMALL_FILES; i++) {
    const dir = join(root, 'lifeboat', 'drivers', `package ${String(i % 20).padStart(2, '0')}`);
    await mkdir(dir, { recursive: true });
    const size = 1024 + ((i * 7919) % (63 * 1024));
    await writeFile(join(dir, `driver file number ${String(i).padStart(4, '0')}.sys`), Buffer.alloc(size, i & 0xff));
    bytes += size;
  }
  return { files: SMALL_FILES + 1, bytes };
}

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  const work = await mkTempDir('bench-usb');
  try {
    const tree = join(work, 'tree');
    const made = await makeTree(tree);

    // Rounds interleave the contenders so page-cache writeback noise spreads evenly; `sync` before every run
    // flushes the previous run's dirty pages so no run pays for another's writeback.
    const ours: { wallMs: number; inner: Record<string, number> }[] = [];
    const peer: number[] = [];
    const peerPhases: { mkfsMs: number; mcopyMs: number }[] = [];
    const cp: number[] = [];
    const settle = async () => void (await runChecked('sync', [], { timeoutMs: 600_000 }));
    let imageSize = 0;
    let partitionBytes = 0;
    for (let round = 0; round < RUNS; round++) {
      const out = join(work, 'ours.img');
      await rm(out, { force: true });
      await settle();
      const o = await runOurs(tree, out);
      ours.push(o);
      imageSize = o.inner['imageSize'] as number;
      partitionBytes = o.inner['partitionBytes'] as number;
      await rm(out, { force: true });

      // Peer: same image size, same partition; mkfs.fat formats the partition in place, mcopy copies the tree.
      const img = join(work, 'peer.img');
      await settle();
      let mkfsMs = 0;
      let mcopyMs = 0;
      const total = await timed(async () => {
        mkfsMs = await timed(async () => {
          await runChecked('truncate', ['-s', String(imageSize), img]);
          await runChecked('sfdisk', ['--quiet', img], { input: 'label: dos\nstart=2048, type=c, bootable\n' });
          await runChecked('mkfs.fat', ['-F', '32', '-n', 'LIFEBOAT', '--offset=2048', img, String(partitionBytes / 1024)]);
        });
        mcopyMs = await timed(async () => {
          await runChecked('mcopy', ['-s', '-i', `${img}@@1M`, join(tree, 'sources'), join(tree, 'lifeboat'), '::/'], {
            env: { ...process.env, MTOOLS_SKIP_CHECK: '1' },
            timeoutMs: 600_000,
          });
        });
      });
      peer.push(total);
      peerPhases.push({ mkfsMs, mcopyMs });
      await rm(img, { force: true });

      const dest = join(work, 'cp-copy');
      await settle();
      cp.push(await timed(async () => void (await runChecked('cp', ['-r', tree, dest], { timeoutMs: 600_000 }))));
      await rm(dest, { recursive: true, force: true });
    }

    const oursWall = median(ours.map((o) => o.wallMs));
    const oursInner = median(ours.map((o) => o.inner['ms'] as number));
    const peerMedian = median(peer);
    const report = {
      benchmark: 'usb-image',
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryBytes: totalmem(), node: process.version },
      tree: { files: made.files, bytes: made.bytes, largeFileBytes: LARGE, smallFiles: SMALL_FILES },
      image: { imageSize, partitionBytes, mappedBytes: ours[0]?.inner['mappedBytes'], ranges: ours[0]?.inner['ranges'] },
      runs: RUNS,
      ours: {
        medianWallMs: Math.round(oursWall),
        medianBuildMs: Math.round(oursInner),
        peakRssMiB: Math.round(Math.max(...ours.map((o) => o.inner['maxRssKiB'] as number)) / 1024),
        wallMs: ours.map((o) => Math.round(o.wallMs)),
        note: 'wall includes node + tsx start-up; build is writeUsbImage alone (layout, write, block-map hashes)',
      },
      peer: {
        tool: 'truncate + sfdisk + mkfs.fat -F 32 --offset=2048 + mcopy -s',
        medianMs: Math.round(peerMedian),
        runsMs: peer.map(Math.round),
        phasesMs: peerPhases.map((p) => ({ mkfs: Math.round(p.mkfsMs), mcopy: Math.round(p.mcopyMs) })),
      },
      cp: { tool: 'cp -r tree', medianMs: Math.round(median(cp)), runsMs: cp.map(Math.round) },
      ratio: { oursWallToPeer: +(oursWall / peerMedian).toFixed(2), oursWallToCp: +(oursWall / median(cp)).toFixed(2) },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (keep) process.stderr.write(`kept ${work}\n`);
  } finally {
    if (!keep) await removeTempDir(work);
  }
}

await main();
