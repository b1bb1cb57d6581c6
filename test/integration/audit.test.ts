/**
 * `lifeboat audit` on shares built from the real Veeam fixture, re-dated to a chosen --now: a healthy server, one
 * past its RPO, a missing .vib, an empty .vbk, a broken link, a site server with no backups and a backup of a server
 * site.yaml does not list. Checks the exit codes (0 / 3 / 2), the JSON report (field by field, stable between runs),
 * the terminal table and the HTML report.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir } from '../helpers/tools.js';
import {
  breakLink,
  editTags,
  getAttr,
  makeShare,
  newestPointTime,
  readRealVbm,
  redate,
  renameServer,
  setAttr,
  siteYaml,
  storageFiles,
  titleCase,
  veeamTime,
} from '../helpers/veeam-fixtures.js';

const HOUR = 3_600_000;
const NOW = new Date('2030-03-12T12:00:00Z');
const NOW_ARG = NOW.toISOString();

const fileOf = (name: string, stamp: string, ext: 'vbk' | 'vib'): string => `${titleCase(name)} - ${stamp}.${ext}`;

interface Json {
  ok: boolean;
  exitCode: number;
  now: string;
  summary: Record<string, number>;
  servers: {
    name: string;
    status: string;
    ok: boolean;
    rpoMet: boolean;
    chainOk: boolean;
    matchedBy?: string;
    allowedAgeHours: number;
    newest?: { ageHours: number; time: string; type: string };
    newestRestorable?: { ageHours: number; time: string };
    points: { total: number; restorable: number; fulls: number; increments: number; daysCovered?: number };
    retention: { siteDays: number; backupDays?: number; expectedPoints: number };
    encrypted: boolean;
    space: { onShareBytes: number; recordedBytes: number };
    chains: { vbm: string; job: string; chainOk: boolean }[];
    findings: { code: string; severity: string; message: string; file?: string }[];
  }[];
  unknown: { name: string; fqdn?: string; jobs: string[]; chains: string[]; points: number }[];
  unreadable: { file: string }[];
  problems: string[];
  warnings: string[];
}

describe('lifeboat audit', () => {
  let dir: string;
  let base: string;
  let healthyShare: string;
  let mixedShare: string;
  const healthySite = () => join(dir, 'healthy-site.yaml');
  const mixedSite = () => join(dir, 'mixed-site.yaml');

  before(async () => {
    dir = await mkTempDir('audit');
    base = await readRealVbm();
    // One healthy server, newest point an hour before --now.
    healthyShare = join(dir, 'healthy-share');
    await makeShare({ root: healthyShare, xml: renameServer(redate(base, new Date(NOW.getTime() - HOUR)), 'SRVOK') });
    await writeFile(healthySite(), siteYaml(['SRVOK']));

    // Every kind of trouble on one share, each server in its own folder as the agents write them.
    mixedShare = join(dir, 'mixed-share');
    const fresh = redate(base, new Date(NOW.getTime() - HOUR));
    const put = (name: string, xml: string, opts: Parameters<typeof makeShare>[0] = {}) =>
      makeShare({ root: mixedShare, subdirs: ['VeeamAgentUser', `${titleCase(name)}_-_192.168.80.1`], vbmName: `${titleCase(name)} -.vbm`, xml: renameServer(xml, name), ...opts });
    await put('SRVOK', fresh);
    await put('SRVLATE', redate(base, new Date(NOW.getTime() - 5 * HOUR)));
    await put('SRVVIB', fresh, { omit: [fileOf('SRVVIB', '2025-07-20T000458', 'vib')] });
    await put('SRVVBK', fresh, { empty: [fileOf('SRVVBK', '2025-07-13T000458', 'vbk')] });
    await put('SRVLINK', breakLink(fresh, 'Kerserv - 2025-07-24T000457.vib'));
    await put('OTHER', fresh);
    await writeFile(mixedSite(), siteYaml(['SRVOK', 'SRVLATE', 'SRVVIB', 'SRVVBK', 'SRVLINK', 'SRVNONE']));
  });
  after(() => removeTempDir(dir));

  test('a healthy share: exit 0, newest point 1 hour old, 15 restorable points, all inputs reported', async () => {
    const r = await lifeboat(['audit', '--site', healthySite(), '--share', healthyShare, '--now', NOW_ARG, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Json;
    assert.equal(report.ok, true);
    assert.equal(report.exitCode, 0);
    assert.equal(report.now, NOW_ARG);
    assert.deepEqual(report.summary, { servers: 1, ok: 1, late: 0, unhealthy: 0, missing: 0, unknown: 0, unreadable: 0 });
    const s = report.servers[0]!;
    assert.equal(s.name, 'SRVOK');
    assert.equal(s.status, 'ok');
    assert.equal(s.matchedBy, 'veeamJob');
    assert.equal(s.newest?.ageHours, 1);
    assert.equal(s.newest?.type, 'increment');
    assert.equal(s.newestRestorable?.time, new Date(NOW.getTime() - HOUR).toISOString());
    assert.equal(s.allowedAgeHours, 3);
    const { total, restorable, fulls, increments, daysCovered } = s.points;
    assert.deepEqual({ total, restorable, fulls, increments, daysCovered }, { total: 15, restorable: 15, fulls: 1, increments: 14, daysCovered: 14.04 });
    assert.deepEqual(s.retention, { siteDays: 14, backupDays: 14, expectedPoints: 14 * 8 + 1 });
    assert.equal(s.encrypted, false);
    assert.equal(s.space.onShareBytes, 15 * 1024, 'the test share holds 1 KiB per file');
    assert.equal(s.space.recordedBytes, 142_479_667_200, 'the sizes the fixture records');
    assert.deepEqual(s.chains.map((c) => [c.vbm, c.job, c.chainOk]), [['VeeamAgentUser5cf2da00/Kerserv_-_192.168.80.1/Kerserv -.vbm', 'Srvok - 192.168.80.1', true]]);
    assert.deepEqual(s.findings.filter((f) => f.severity !== 'info'), []);
    assert.deepEqual(report.problems, []);
    // Human output: a table on stderr, nothing on stdout.
    const human = await lifeboat(['audit', '--site', healthySite(), '--share', healthyShare, '--now', NOW_ARG]);
    assert.equal(human.code, 0);
    assert.equal(human.stdout, '');
    assert.match(human.stderr, /SERVER\s+STATUS\s+NEWEST RESTORABLE\s+AGE/);
    assert.match(human.stderr, /SRVOK\s+ok\s+12 Mar 2030 13:00\s+1 hour\s+3 hours\s+15\/15\s+14\/14 d/);
    assert.match(human.stderr, /all servers meet their RPO/);
  });

  test('every kind of trouble: exit 3 and each server reported with the right finding', async () => {
    const r = await lifeboat(['audit', '--site', mixedSite(), '--share', mixedShare, '--now', NOW_ARG, '--json']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /the audit found problems: SRVLATE late, SRVVIB unhealthy, SRVVBK unhealthy, SRVLINK unhealthy, SRVNONE missing/);
    const report = JSON.parse(r.stdout) as Json;
    assert.equal(report.ok, false);
    assert.equal(report.exitCode, 3);
    assert.deepEqual(report.summary, { servers: 6, ok: 1, late: 1, unhealthy: 3, missing: 1, unknown: 1, unreadable: 0 });
    const by = new Map(report.servers.map((s) => [s.name, s]));
    const codes = (name: string) => [...new Set(by.get(name)!.findings.filter((f) => f.severity === 'error').map((f) => f.code))].sort();
    // Snapshot-like: status, the error codes, and the restorable count of every server, in site order.
    assert.deepEqual(
      report.servers.map((s) => [s.name, s.status, codes(s.name).join(','), s.points.restorable, s.points.total]),
      [
        ['SRVOK', 'ok', '', 15, 15],
        ['SRVLATE', 'late', 'rpo-exceeded', 15, 15],
        ['SRVVIB', 'unhealthy', 'missing-file,rpo-exceeded', 7, 15],
        ['SRVVBK', 'unhealthy', 'empty-file,no-restorable-point', 0, 15],
        ['SRVLINK', 'unhealthy', 'broken-link,rpo-exceeded', 11, 15],
        ['SRVNONE', 'missing', 'no-backup', 0, 0],
      ],
    );
    const late = by.get('SRVLATE')!;
    assert.equal(late.newest?.ageHours, 5);
    assert.equal(late.chainOk, true);
    assert.equal(late.rpoMet, false);
    assert.match(late.findings.find((f) => f.code === 'rpo-exceeded')!.message, /is 5 hours old; with every 3 hours around the clock \(from 22:00\) it should be at most 3 hours old/);
    const vib = by.get('SRVVIB')!;
    assert.equal(vib.findings.find((f) => f.code === 'missing-file')?.file, 'Srvvib - 2025-07-20T000458.vib');
    assert.equal(vib.newestRestorable?.ageHours, 8 * 24 + 1, 'the last point before the gap');
    assert.equal(by.get('SRVVBK')!.findings.find((f) => f.code === 'empty-file')?.file, 'Srvvbk - 2025-07-13T000458.vbk');
    assert.ok(by.get('SRVVBK')!.findings.some((f) => f.code === 'no-restorable-point'));
    assert.equal(by.get('SRVLINK')!.findings.find((f) => f.code === 'broken-link')?.file, 'Srvlink - 2025-07-24T000457.vib');
    assert.match(by.get('SRVNONE')!.findings[0]!.message, /no backup of SRVNONE on the share \(looked for job "Srvnone - 192\.168\.80\.1", srvnone\.stb\.local/);
    assert.deepEqual(
      report.unknown.map((u) => [u.name, u.fqdn, u.jobs, u.chains, u.points]),
      [['other', 'other.stb.local', ['Other - 192.168.80.1'], ['VeeamAgentUser/Other_-_192.168.80.1/Other -.vbm'], 15]],
    );
    assert.ok(report.warnings.some((w) => /backups of other .* site\.yaml does not list/.test(w)));
    assert.equal(report.problems.length, report.servers.flatMap((s) => s.findings).filter((f) => f.severity === 'error').length);
  });

  test('the JSON is stable: the same share and --now give the same document', async () => {
    const args = ['audit', '--site', mixedSite(), '--share', mixedShare, '--now', NOW_ARG, '--json'];
    const [a, b] = [await lifeboat(args), await lifeboat(args)];
    assert.equal(a.stdout, b.stdout);
    const { share, ...rest } = JSON.parse(a.stdout) as Json & { share: string };
    assert.equal(share, mixedShare);
    assert.ok(!JSON.stringify(rest).includes(dir), 'paths inside the report are relative to the share');
  });

  test('--html writes a self-contained report atomically, with site text escaped', async () => {
    const html = join(dir, 'report.html');
    const r = await lifeboat(['audit', '--site', mixedSite(), '--share', mixedShare, '--now', NOW_ARG, '--html', html]);
    assert.equal(r.code, 3);
    const page = await readFile(html, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    assert.match(page, /Backup audit: Audit Test &lt;GmbH&gt;/);
    for (const name of ['SRVOK', 'SRVLATE', 'SRVVIB', 'SRVVBK', 'SRVLINK', 'SRVNONE', 'other']) assert.ok(page.includes(name), name);
    assert.match(page, /<tr class="bad"><td>SRVLATE<\/td><td>late<\/td>/);
    assert.doesNotMatch(page, /<script|https?:\/\//);
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
    // The human table names each server with its status.
    assert.match(r.stderr, /SRVNONE\s+MISSING/);
    assert.match(r.stderr, /SRVVBK\s+UNHEALTHY/);
    assert.match(r.stderr, /\(not in site\.yaml\) other: 15 points/);
  });

  test('a backup window: at 07:10 on Monday the Sunday 22:00 backup is still fine, at 08:00 it is late', async () => {
    const winShare = join(dir, 'window-share');
    // The fixture records local time = UTC + 2 h: Sunday 22:00 local is 20:00 UTC.
    const sunday22 = new Date('2030-03-10T20:00:00Z');
    await makeShare({ root: winShare, xml: renameServer(redate(base, sunday22), 'SRVWIN') });
    const site = join(dir, 'window-site.yaml');
    await writeFile(site, siteYaml(['SRVWIN'], { extra: 'schedule: { window: { days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00" }, dailyAt: "22:00" }\n' }));
    const at = async (iso: string) => lifeboat(['audit', '--site', site, '--share', winShare, '--now', iso, '--json']);
    const early = await at('2030-03-11T05:10:00Z');
    assert.equal(early.code, 0, early.stdout);
    assert.ok((JSON.parse(early.stdout) as Json).servers[0]!.allowedAgeHours > 9);
    const later = await at('2030-03-11T06:00:00Z');
    assert.equal(later.code, 3);
    const s = (JSON.parse(later.stdout) as Json).servers[0]!;
    assert.equal(s.status, 'late');
    assert.equal(s.allowedAgeHours, 3);
  });

  test('bad input is exit 2: a share that does not exist, a --now that is not a time', async () => {
    const missing = await lifeboat(['audit', '--site', healthySite(), '--share', join(dir, 'no-such-share')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no-such-share/);
    const badNow = await lifeboat(['audit', '--site', healthySite(), '--share', healthyShare, '--now', 'yesterday']);
    assert.equal(badNow.code, 2);
    assert.match(badNow.stderr, /--now "yesterday" is not a date/);
    const noShare = await lifeboat(['audit', '--site', healthySite()]);
    assert.equal(noShare.code, 2);
  });

  test('an unreadable .vbm is a problem (exit 3) and named', async () => {
    const share = join(dir, 'damaged-share');
    await makeShare({ root: share, xml: renameServer(redate(base, new Date(NOW.getTime() - HOUR)), 'SRVOK') });
    const damaged = join(share, 'Broken');
    await makeShare({ root: damaged, xml: '<BackupMeta><Backup', subdirs: ['x'], noFiles: true });
    const r = await lifeboat(['audit', '--site', healthySite(), '--share', share, '--now', NOW_ARG, '--json']);
    assert.equal(r.code, 3);
    const report = JSON.parse(r.stdout) as Json;
    assert.equal(report.servers[0]!.status, 'ok');
    assert.deepEqual(report.unreadable.map((u) => u.file), ['Broken/x/Kerserv -.vbm']);
    await rm(damaged, { recursive: true });
  });

  test('a restore point dated in the future never makes a late server current (exit 3)', async () => {
    // Late by 14 days; then the newest point is re-dated to 2100, as a tampered file or a wild clock would.
    const late = renameServer(redate(base, new Date(NOW.getTime() - 14 * 24 * HOUR)), 'SRVOK');
    const newestNum = Math.max(...[...late.matchAll(/<Point\s[^>]*>/g)].map((m) => Number(getAttr(m[0], 'Num'))));
    const future = new Date('2100-01-01T00:00:00Z');
    const tampered = editTags(late, 'Point', (tag) =>
      Number(getAttr(tag, 'Num')) === newestNum
        ? setAttr(setAttr(tag, 'CreationTimeUtc', veeamTime(future)), 'CreationTime', veeamTime(future))
        : tag,
    );
    assert.equal(newestPointTime(tampered).getUTCFullYear(), 2100, 'the fixture edit took');
    const share = join(dir, 'future-share');
    await makeShare({ root: share, xml: tampered });
    const r = await lifeboat(['audit', '--site', healthySite(), '--share', share, '--now', NOW_ARG, '--json']);
    assert.equal(r.code, 3);
    const s = (JSON.parse(r.stdout) as Json).servers[0]!;
    assert.equal(s.ok, false);
    assert.ok(s.findings.some((f) => f.code === 'in-future' && f.severity === 'error' && /2100/.test(f.message)), JSON.stringify(s.findings));
    assert.ok(s.findings.some((f) => f.code === 'rpo-exceeded'));
    assert.ok(s.newestRestorable!.ageHours > 14 * 24, `newest restorable is the real one: ${JSON.stringify(s.newestRestorable)}`);
    assert.ok(!s.newestRestorable!.time.startsWith('2100'));
    await rm(share, { recursive: true });
  });

  test('a 60 MiB .vbm of empty elements is refused early, naming the file, within a small heap', async () => {
    const share = join(dir, 'flood-share');
    await makeShare({ root: share, xml: renameServer(redate(base, new Date(NOW.getTime() - HOUR)), 'SRVOK') });
    const flood = `<BackupMeta MetaSchemaVersion="2"><BackupMetaInfo><Points>${'<Point/>'.repeat(60 * 1024 * 1024 / 8)}</Points></BackupMetaInfo></BackupMeta>`;
    await makeShare({ root: join(share, 'Flood'), xml: flood, subdirs: ['x'], noFiles: true });
    // The heap cap is the bound under test: building a tree of this file took 2.1 GB before the scanner counted.
    const r = await lifeboat(['audit', '--site', healthySite(), '--share', share, '--now', NOW_ARG, '--json'], {
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=128' },
    });
    assert.equal(r.code, 3, r.stderr);
    const report = JSON.parse(r.stdout) as Json & { unreadable: { file: string; message: string }[] };
    assert.equal(report.servers[0]!.status, 'ok');
    assert.deepEqual(report.unreadable.map((u) => u.file), ['Flood/x/Kerserv -.vbm']);
    assert.match(report.unreadable[0]!.message, /Kerserv -\.vbm" has more than 500000 elements/);
    await rm(share, { recursive: true });
  });

  test('storage names in the fixture are what the test expects', () => {
    assert.ok(storageFiles(base).includes('Kerserv - 2025-07-20T000458.vib'));
    assert.ok(storageFiles(base).includes('Kerserv - 2025-07-24T000457.vib'));
  });
});
