/**
 * Audit benchmark (issue 17): `lifeboat audit` of a share holding 5 servers x 8,760 hourly restore points (a year
 * each, built from the real fixture by synthesizeChain) against `xmllint --stream --noout` over the same five .vbm
 * files: libxml2's streaming (SAX-like) C parser, the cost of merely reading the metadata well-formed.
 * Goals: under 3 s and 300 MB peak RSS for ours.
 *
 * Run: node --import tsx bench/audit/run.ts [--runs N] [--points N] [--before CHECKOUT] [--keep]
 * --before times a built checkout of an earlier version too (e.g. `git worktree add /tmp/before <commit>`, then
 * `npm ci && npx tsc` there), in the same alternating rounds.
 * Prints one JSON document on stdout; progress on stderr. Needs /usr/bin/time (peak RSS) and xmllint (libxml2-utils).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeShare, readRealVbm, redate, renameServer, siteYaml, synthesizeChain, titleCase } from '../../test/helpers/veeam-fixtures.js';
import { argValue, log, median, ratio, round1 } from '../stats.js';

const SERVERS = ['SRVA', 'SRVB', 'SRVC', 'SRVD', 'SRVE'];
const runs = Number(argValue('--runs') ?? 5);
const points = Number(argValue('--points') ?? 8760);
const before = argValue('--before');
/** Keep the share (to profile the audit on it); its folder is printed. */
const keep = process.argv.includes('--keep');
const NOW = new Date('2030-03-12T12:00:00Z');

interface Sample {
  seconds: number;
  peakMiB: number;
  exit: number;
}

/** Runs a command under GNU time and returns wall time, peak RSS and exit code. */
function timed(cmd: string, args: readonly string[]): Sample {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [secs, kib] = last.split(' ').map(Number);
  return { seconds: secs ?? Number.NaN, peakMiB: round1((kib ?? 0) / 1024), exit: r.status ?? -1 };
}

async function vbmFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.vbm')) out.push(join(e.parentPath, e.name));
  }
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'lifeboat-bench-audit-'));
try {
  log(`building a share of ${SERVERS.length} servers x ${points} points in ${dir}`);
  const base = await readRealVbm();
  const share = join(dir, 'share');
  for (const name of SERVERS) {
    const t = titleCase(name);
    const xml = synthesizeChain(renameServer(redate(base, new Date(NOW.getTime() - 3_600_000)), name), {
      points,
      intervalHours: 1,
      newestUtc: new Date(NOW.getTime() - 3_600_000),
    });
    await makeShare({ root: share, subdirs: ['VeeamAgentUser', `${t}_-_192.168.80.1`], vbmName: `${t} -.vbm`, xml });
  }
  const site = join(dir, 'site.yaml');
  await writeFile(site, siteYaml(SERVERS, { site: { name: 'Audit Bench', id: 'audit-bench' }, retentionDays: 730 }));
  const vbms = await vbmFiles(share);
  const ours = ['bin/lifeboat.js', 'audit', '--site', site, '--share', share, '--now', NOW.toISOString(), '--json'];

  const first = timed('node', ours);
  if (first.exit !== 0 && first.exit !== 3) throw new Error(`audit failed with exit ${first.exit}`);
  const check = spawnSync('node', ours, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const report = JSON.parse(check.stdout) as { servers: { name: string; points: { total: number } }[] };
  const counted = report.servers.map((s) => s.points.total);
  if (counted.some((n) => n !== points)) throw new Error(`audit counted ${counted.join(', ')} points, expected ${points} each`);

  const oursRuns: Sample[] = [];
  const peerRuns: Sample[] = [];
  const beforeRuns: Sample[] = [];
  const contenders = before ? ['ours', 'peer', 'before'] : ['ours', 'peer'];
  for (let i = 0; i < runs; i++) {
    // Rotate the order so no contender always runs on a warmer cache.
    const order = contenders.map((_, k) => contenders[(k + i) % contenders.length] as string);
    for (const who of order) {
      if (who === 'ours') oursRuns.push(timed('node', ours));
      else if (who === 'peer') peerRuns.push(timed('xmllint', ['--stream', '--noout', '--huge', ...vbms]));
      else beforeRuns.push(timed('node', [join(before as string, ours[0] as string), ...ours.slice(1)]));
    }
    log(`round ${i + 1}/${runs}: ours ${oursRuns.at(-1)?.seconds} s, xmllint ${peerRuns.at(-1)?.seconds} s${before ? `, before ${beforeRuns.at(-1)?.seconds} s` : ''}`);
  }
  const oursS = median(oursRuns.map((r) => r.seconds));
  const peerS = median(peerRuns.map((r) => r.seconds));
  const oursMiB = Math.max(...oursRuns.map((r) => r.peakMiB));
  process.stdout.write(
    `${JSON.stringify(
      {
        node: process.version,
        servers: SERVERS.length,
        pointsPerServer: points,
        metadataBytes: (await Promise.all(vbms.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0),
        runs,
        ours: { medianSeconds: oursS, peakMiB: oursMiB, samples: oursRuns },
        xmllintStream: { medianSeconds: peerS, peakMiB: Math.max(...peerRuns.map((r) => r.peakMiB)) },
        ratioToXmllint: ratio(oursS, peerS),
        ...(before
          ? {
              before: { checkout: before, medianSeconds: median(beforeRuns.map((r) => r.seconds)), peakMiB: Math.max(...beforeRuns.map((r) => r.peakMiB)) },
              beforeRatioToXmllint: ratio(median(beforeRuns.map((r) => r.seconds)), peerS),
            }
          : {}),
        goals: { seconds: 3, peakMiB: 300, met: oursS < 3 && oursMiB < 300 },
      },
      null,
      2,
    )}\n`,
  );
} finally {
  if (keep) log(`kept: ${dir}`);
  else await rm(dir, { recursive: true, force: true });
}
