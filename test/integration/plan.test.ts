/**
 * `lifeboat plan`: capacity, restore time and feasibility for the example site (estimated from site.yaml, figures
 * hand-computed here) and for a share built from the real fixture (measured from the VBM statistics).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir } from '../helpers/tools.js';
import { makeShare, readRealVbm, redate } from '../helpers/veeam-fixtures.js';

const GB = 1e9;
const close = (actual: number, expected: number, rel = 1e-9, what = '') =>
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * rel, `${what}: ${actual} != ${expected}`);

interface PlanJson {
  rpoHours: number;
  retentionDays: number;
  linkGbps: number;
  feasible: boolean;
  capacity: { totalBytes: number; fullBytes: number; incrementsBytes: number; padBytes: number; formula: string };
  restoreAll: { totalSeconds: number; text: string };
  share?: { missing: string[]; unknown: string[] };
  servers: {
    server: string;
    basis: string;
    schedule: { summary: string; runsPerWeek: number };
    capacity: { totalBytes: number; fullBytes: number; incrementsBytes: number; padBytes: number; inputs: Record<string, { value: number; source: string }> };
    restore: { bytes: number; totalSeconds: number; text: string; dataSource: string };
    feasibility: { basis: string; verdict: string; maxSeconds: number };
  }[];
}

describe('lifeboat plan', () => {
  let dir: string;
  before(async () => {
    dir = await mkTempDir('plan');
  });
  after(() => removeTempDir(dir));

  test('the example site from site.yaml: capacity, restore time and feasibility match the hand computation', async () => {
    const r = await lifeboat(['plan', '--site', 'examples/site.yaml', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as PlanJson;
    assert.equal(plan.rpoHours, 3);
    assert.equal(plan.retentionDays, 14);
    assert.equal(plan.linkGbps, 1);
    // Defaults: 50% used, 3% daily change, 50% reduction, 10% pad, 14 days kept.
    // DC01 480 GB: used 240, change 7.2/day: 7.2 x 14 x 0.5 = 50.4; pad 5.04; full 120: 175.44 GB.
    // FS01 127 + 2000 GB: used 1063.5, change 31.905: 223.335; pad 22.3335; full 531.75: 777.4185 GB.
    // APP01 100 + 250 GB: used 175, change 5.25: 36.75; pad 3.675; full 87.5: 127.925 GB.
    const expected: Record<string, number> = { DC01: 175.44, FS01: 777.4185, APP01: 127.925 };
    for (const s of plan.servers) {
      assert.equal(s.basis, 'site.yaml');
      close(s.capacity.totalBytes, expected[s.server]! * GB, 1e-9, s.server);
      assert.equal(s.capacity.inputs['retentionDays']!.value, 14);
      assert.equal(s.capacity.inputs['reduction']!.source, 'assumed');
      assert.equal(s.schedule.runsPerWeek, 32);
      assert.equal(s.feasibility.basis, 'estimated');
      assert.equal(s.feasibility.verdict, 'ok');
    }
    close(plan.capacity.totalBytes, (175.44 + 777.4185 + 127.925) * GB);
    close(plan.capacity.fullBytes, (120 + 531.75 + 87.5) * GB);
    // Restore: DC01 240 GB at 87.5 MB/s = 2742.9 s + 1200 s = 3942.9 s: about 1 h 10 min.
    const dc = plan.servers.find((s) => s.server === 'DC01')!;
    close(dc.restore.totalSeconds, 240e9 / 87.5e6 + 1200);
    assert.equal(dc.restore.text, 'about 1 h 10 min');
    assert.equal(dc.restore.dataSource, 'assumed');
    // All three one after another: 1478.5 GB / 87.5 MB/s + 3 x 20 minutes.
    close(plan.restoreAll.totalSeconds, 1478.5e9 / 87.5e6 + 3600);
    assert.equal(plan.feasible, true);
    assert.equal(plan.capacity.formula, 'daily change x days kept x (1 - reduction), plus a 10% pad on that, plus the full backup');
  });

  test('with --share: measured full, change and reduction from the fixture; missing servers still estimated', async () => {
    const share = await makeShare({ root: join(dir, 'share'), xml: redate(await readRealVbm(), new Date('2030-05-01T10:00:00Z')) });
    const site = join(dir, 'site.yaml');
    await writeFile(
      site,
      `site: { name: Plan, id: plan }
contacts: [ { name: A, role: IT, phone: "+49 89 1234567" } ]
share: { path: '\\\\nas01\\veeam', user: restore }
nas: { linkSpeedGbps: 10 }
retentionDays: 14
servers:
  - { name: KERSERV, fqdn: kerserv.stb.local, role: dc, runsOn: { kind: physical, vendor: dell }, firmware: uefi, ramGb: 32, veeamJob: "Kerserv - 192.168.80.1", disks: [ { sizeGb: 2000 } ] }
  - { name: NEW01, role: app, runsOn: { kind: vm, hypervisor: kvm }, firmware: uefi, ramGb: 8, veeamJob: New, disks: [ { sizeGb: 200 } ] }
`,
    );
    const r = await lifeboat(['plan', '--site', site, '--share', share.root, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as PlanJson;
    const [k, n] = plan.servers;
    assert.equal(k!.basis, 'share');
    assert.equal(k!.capacity.inputs['fullBytes']!.source, 'measured');
    assert.equal(k!.capacity.fullBytes, 117_552_345_088);
    // The 14 increments on the share (24.93 GB) plus 10%, plus the full.
    close(k!.capacity.incrementsBytes, 24_927_322_112, 1e-5);
    close(k!.capacity.totalBytes, 117_552_345_088 + 1.1 * 24_927_322_112, 1e-5);
    // 144.4 GB of used volumes over 10 GbE: 165 s + 20 minutes.
    assert.equal(k!.restore.bytes, 144_419_371_008);
    assert.equal(k!.restore.dataSource, 'measured');
    close(k!.restore.totalSeconds, 144_419_371_008 / 875e6 + 1200);
    assert.equal(k!.feasibility.basis, 'measured');
    assert.equal(k!.feasibility.maxSeconds, 99);
    assert.equal(n!.basis, 'site.yaml');
    assert.deepEqual(plan.share?.missing, ['NEW01']);
    // Human output names inputs and their sources.
    const human = await lifeboat(['plan', '--site', site, '--share', share.root]);
    assert.equal(human.code, 0);
    assert.equal(human.stdout, '');
    assert.match(human.stderr, /KERSERV \(measured on the share\)/);
    assert.match(human.stderr, /full backup: 117\.6 GB \(measured: size of the newest full backup file/);
    assert.match(human.stderr, /NEW01 \(estimated from site\.yaml\)/);
    assert.match(human.stderr, /assumed: 50% of each disk holds data/);
    assert.match(human.stderr, /no backup of NEW01 on the share/);
    assert.match(human.stderr, /NAS total: /);
  });

  test('the text names inputs as people do and says each assumption once', async () => {
    const r = await lifeboat(['plan', '--site', 'examples/site.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /fullBytes|padFraction|dailyChangeBytes|dataBytes/, 'no internal field names');
    const assumed = r.stderr.split('\n').filter((l) => /^\s*assumed/.test(l)).map((l) => l.trim());
    assert.ok(assumed.length > 0);
    assert.equal(new Set(assumed).size, assumed.length, `an "assumed" line is repeated:\n${assumed.join('\n')}`);
    assert.match(r.stderr, /assumed for every server: 50% of each disk holds data/);
    assert.match(r.stderr, /full backup: 120\.0 GB \(assumed/);
  });

  test('bad input: a missing site is exit 2, a share that is not there is exit 2', async () => {
    assert.equal((await lifeboat(['plan', '--site', join(dir, 'none.yaml')])).code, 2);
    const r = await lifeboat(['plan', '--site', 'examples/site.yaml', '--share', join(dir, 'no-share')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no-share/);
  });
});
