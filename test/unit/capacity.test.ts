/**
 * The plan's figures: the capacity formula, restore time and RPO feasibility, against hand-computed examples and
 * against the statistics of the real Veeam fixture (15 points: a 117.6 GB full and 14 daily increments).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSite, type Site } from '../../src/site/index.js';
import {
  capacity,
  capacityFigures,
  CAPACITY_DEFAULTS,
  formatDuration,
  GB,
  restoreTimeEstimate,
  serverCapacity,
} from '../../src/veeam/capacity.js';
import { feasibility, measureShare, planSite } from '../../src/veeam/feasibility.js';
import { buildChain, pointDetails } from '../../src/veeam/model.js';
import { backupSchedule } from '../../src/veeam/schedule.js';
import { computeChainStats } from '../../src/veeam/stats.js';
import { parseVbm } from '../../src/veeam/vbm.js';
import { makeShare, readRealVbm, redate } from '../helpers/veeam-fixtures.js';

const close = (actual: number, expected: number, relTol = 1e-9, what = '') =>
  assert.ok(Math.abs(actual - expected) <= Math.abs(expected) * relTol, `${what} ${actual} != ${expected}`);

/** The fixture's increment files (Stats BackupSize), oldest first, as the .vbm records them. */
const FIXTURE_VIB_SIZES = [
  1442263040, 1658331136, 1443287040, 1420632064, 1977118720, 1552990208, 1441021952, 3655147520, 1941577728, 1418256384,
  1952169984, 1650601984, 1488924672, 1884999680,
];
const FIXTURE_FULL = 117_552_345_088;
const FIXTURE_USED = 144_419_371_008; // EFI 34,830,336 + C: 64,487,452,672 + D: 79,897,088,000

function site(yamlServers: string, extra = ''): Site {
  return parseSite(`site: { name: Plan Test, id: plan-test }
contacts: [ { name: A, role: IT, phone: "+49 89 1234567" } ]
share: { path: '\\\\nas01\\veeam', user: restore }
retentionDays: 7
${extra}servers:
${yamlServers}`);
}

const TWO_DISKS = `  - { name: SRV1, role: file, runsOn: { kind: vm, hypervisor: kvm }, firmware: uefi, ramGb: 8, veeamJob: J1, disks: [ { sizeGb: 100 }, { sizeGb: 300 } ] }
`;

describe('capacity: the formula', () => {
  it('daily change x days kept x (1 - reduction), plus a 10% pad, plus the full (hand-computed)', () => {
    // 10 GB/day x 14 days x 0.5 = 70 GB; pad 7 GB; full 100 GB: 177 GB.
    const f = capacityFigures({ fullBytes: 100 * GB, dailyChangeBytes: 10 * GB, retentionDays: 14, reduction: 0.5 });
    close(f.incrementsBytes, 70 * GB);
    close(f.padBytes, 7 * GB);
    close(f.totalBytes, 177 * GB);
    // No reduction, 30 days, 1 GB/day, a 20% pad: 30 + 6 + 50 = 86 GB.
    close(capacityFigures({ fullBytes: 50 * GB, dailyChangeBytes: GB, retentionDays: 30, reduction: 0, padFraction: 0.2 }).totalBytes, 86 * GB);
  });

  it('from site.yaml disk sizes with the stated defaults', () => {
    assert.deepEqual(CAPACITY_DEFAULTS, { usedFraction: 0.5, dailyChangeFraction: 0.03, reduction: 0.5, padFraction: 0.1 });
    const s = site(TWO_DISKS);
    const c = serverCapacity(s, s.servers[0]!);
    // Disks 100 + 300 GB, half used: 200 GB. Change 3%: 6 GB/day. 6 x 7 x 0.5 = 21 GB; pad 2.1 GB; full 200 x 0.5 = 100 GB.
    assert.equal(c.basis, 'site.yaml');
    close(c.inputs.dataBytes.value, 200 * GB);
    close(c.inputs.dailyChangeBytes.value, 6 * GB);
    close(c.incrementsBytes, 21 * GB);
    close(c.padBytes, 2.1 * GB);
    close(c.fullBytes, 100 * GB);
    close(c.totalBytes, 123.1 * GB);
    assert.equal(c.inputs.retentionDays.source, 'site.yaml');
    assert.equal(c.inputs.reduction.source, 'assumed');
    assert.equal(c.formula, '6.0 GB/day x 7 days x (1 - 0.50) = 21.0 GB; + 10% pad 2.1 GB; + full 100.0 GB = 123.1 GB');
    assert.equal(c.assumptions.length, 3, 'used share, reduction and change rate are named as assumptions');
    assert.ok(c.assumptions.some((a) => a.includes('50% of each disk holds data')));
  });

  it('sums servers into a total', () => {
    const s = site(`${TWO_DISKS}  - { name: SRV2, role: dc, runsOn: { kind: physical, vendor: hpe }, firmware: bios, ramGb: 8, veeamJob: J2, disks: [ { sizeGb: 1000 } ] }
`);
    const plan = capacity(s);
    // SRV2: used 500 GB, change 15 GB/day: 15 x 7 x 0.5 = 52.5; pad 5.25; full 250: 307.75 GB.
    close(plan.servers[1]!.totalBytes, 307.75 * GB);
    close(plan.totalBytes, (123.1 + 307.75) * GB);
    close(plan.fullBytes, 350 * GB);
    close(plan.incrementsBytes, 73.5 * GB);
    close(plan.padBytes, 7.35 * GB);
  });
});

describe('capacity: the real fixture', () => {
  it('measured inputs reproduce the share: full + increments = the 142.5 GB the chain occupies, plus the pad', async () => {
    const chain = buildChain(parseVbm(await readRealVbm(), 'fixture.vbm'));
    const stats = computeChainStats(chain);
    const restoreBytes = pointDetails(chain.newest!)!.disks.reduce((a, d) => a + (d.usedBytes ?? 0), 0);
    assert.equal(restoreBytes, FIXTURE_USED);
    const s = site(TWO_DISKS.replace('SRV1', 'KERSERV'), '').servers[0]!;
    const c = serverCapacity({ retentionDays: 14 }, s, { stats, restoreBytes });
    assert.equal(c.basis, 'share');
    assert.equal(c.inputs.fullBytes.value, FIXTURE_FULL);
    assert.equal(c.inputs.fullBytes.source, 'measured');
    close(c.inputs.reduction.value, 0.5610891257375875, 1e-12, 'increment reduction');
    // Daily change (data read) x (1 - reduction) = bytes written per day = mean .vib size x increments per day.
    const vibSum = FIXTURE_VIB_SIZES.reduce((a, b) => a + b, 0);
    assert.equal(vibSum, 24_927_322_112);
    const perDay = (vibSum / 14) * stats.incrementsPerDay!;
    close(c.inputs.dailyChangeBytes.value * (1 - c.inputs.reduction.value), perDay, 1e-9, 'written per day');
    // Data read by the 14 increments (Stats DataSize): 56,793,585,153 bytes, 4.06 GB a day.
    close(c.inputs.dailyChangeBytes.value, (56_793_585_153 / 14) * stats.incrementsPerDay!, 1e-12, 'read per day');
    close(c.inputs.dailyChangeBytes.value, 4.0567e9, 1e-4);
    // 14 days kept: the increments the formula predicts are the 14 .vib files on the share.
    close(c.incrementsBytes, vibSum, 1e-5, 'increments');
    close(c.fullBytes + c.incrementsBytes, FIXTURE_FULL + vibSum, 1e-5, 'full + increments = measured chain');
    close(c.padBytes, vibSum * 0.1, 1e-5, 'pad');
    close(c.totalBytes, 144_972_054_499, 1e-5, 'total');
    assert.equal(c.inputs.dataBytes.value, FIXTURE_USED);
    assert.ok(c.assumptions.every((a) => !a.includes('holds data')), 'nothing guessed about used space');
  });

  it('measureShare and planSite read the same figures from a share', async () => {
    const now = new Date('2030-01-15T12:00:00Z');
    const share = await makeShare({ xml: redate(await readRealVbm(), now) });
    try {
      const s = site(
        `  - { name: KERSERV, fqdn: kerserv.stb.local, role: dc, runsOn: { kind: physical, vendor: dell }, firmware: uefi, ramGb: 32, veeamJob: "Kerserv - 192.168.80.1", disks: [ { sizeGb: 2000 } ] }
  - { name: NEWSRV, role: app, runsOn: { kind: vm, hypervisor: esxi }, firmware: uefi, ramGb: 8, veeamJob: New, disks: [ { sizeGb: 100 } ] }
`,
        'nas: { linkSpeedGbps: 1 }\nrpoHours: 3\n',
      );
      const m = await measureShare(share.root, s);
      assert.deepEqual([...m.measured.keys()], ['KERSERV']);
      assert.deepEqual(m.missing, ['NEWSRV']);
      const plan = await planSite({ ...s, retentionDays: 14 }, { share: share.root });
      const k = plan.servers[0]!;
      assert.equal(k.basis, 'share');
      close(k.capacity.totalBytes, 144_972_054_499, 1e-5);
      assert.equal(k.restore.bytes, FIXTURE_USED);
      assert.equal(k.restore.text, 'about 50 minutes');
      assert.equal(k.feasibility.basis, 'measured');
      assert.equal(plan.servers[1]!.basis, 'site.yaml');
      assert.deepEqual(plan.share?.missing, ['NEWSRV']);
      close(plan.capacity.totalBytes, k.capacity.totalBytes + plan.servers[1]!.capacity.totalBytes);
    } finally {
      await share.cleanup();
    }
  });
});

describe('restore time', () => {
  it('data / (70% of the link) + 20 minutes (hand-computed)', () => {
    // 100 GB at 1 Gbit/s x 0.7 = 87.5 MB/s: 1142.9 s, + 1200 s = 2342.9 s, shown rounded up to 5 minutes.
    const r = restoreTimeEstimate(100 * GB, 1);
    close(r.throughputBytesPerSecond, 87.5e6);
    close(r.transferSeconds, 100e9 / 87.5e6);
    assert.equal(r.overheadSeconds, 1200);
    close(r.totalSeconds, 100e9 / 87.5e6 + 1200);
    assert.equal(r.text, 'about 40 minutes');
    assert.match(r.sentence, /^Restoring 100\.0 GB over 1 Gbit\/s takes about 40 minutes: 20 minutes of copying at 88 MB\/s \(70% of the link\) plus 20 minutes/);
    assert.ok(r.assumptions.some((a) => a.includes('70% of the 1 Gbit/s link')));
    // 10 GbE: 114.3 s + 1200 s.
    assert.equal(restoreTimeEstimate(100 * GB, 10).text, 'about 25 minutes');
    assert.ok(restoreTimeEstimate(100 * GB, 10).assumptions.some((a) => a.includes('NAS disks')));
    // 2 TB at 1 GbE: 22857 s + 1200 s = 6 h 41 min -> about 6 h 45 min.
    assert.equal(restoreTimeEstimate(2000 * GB, 1).text, 'about 6 h 45 min');
    assert.equal(restoreTimeEstimate(100 * GB, 1, { efficiency: 0.5, overheadMinutes: 0 }).totalSeconds, 1600);
  });

  it('the fixture: 144.4 GB of used volumes over 1 GbE is about 50 minutes', () => {
    const r = restoreTimeEstimate(FIXTURE_USED, 1);
    close(r.totalSeconds, FIXTURE_USED / 87.5e6 + 1200); // 1650.5 s + 1200 s = 2850.5 s
    assert.equal(r.text, 'about 50 minutes');
  });

  it('formats durations rounded up to 5 minutes', () => {
    assert.equal(formatDuration(1), 'about 5 minutes');
    assert.equal(formatDuration(3600), 'about 1 h');
    assert.equal(formatDuration(3601), 'about 1 h 5 min');
  });
});

describe('RPO feasibility', () => {
  it('measured on the fixture: the longest increment (99 s) against a 3-hour interval', async () => {
    const chain = buildChain(parseVbm(await readRealVbm(), 'fixture.vbm'));
    const stats = computeChainStats(chain);
    const s = site(TWO_DISKS, 'rpoHours: 3\n');
    const srv = s.servers[0]!;
    const f = feasibility(backupSchedule(s, srv), serverCapacity(s, srv, { stats }), 1, { stats });
    assert.equal(f.basis, 'measured');
    assert.equal(f.typicalSeconds, 69.5); // median of the 14 increments
    assert.equal(f.maxSeconds, 99);
    assert.equal(f.fullSeconds, 189);
    close(f.ratio, 99 / 10800);
    assert.equal(f.verdict, 'ok');
    assert.match(f.sentence, /The longest measured incremental backup took 99 seconds, well within the 3-hour interval \(0\.9%\)/);
    assert.ok(f.assumptions.some((a) => a.includes('about 24 hours apart')), 'daily increments are an upper bound for 3-hour ones');
  });

  it('estimated from site.yaml: 2 minutes + the change per run over the link (hand-computed)', () => {
    const s = site(TWO_DISKS, 'rpoHours: 3\n');
    const srv = s.servers[0]!;
    const f = feasibility(backupSchedule(s, srv), serverCapacity(s, srv), 1);
    // 6 GB/day x 3/24 = 0.75 GB at 87.5 MB/s = 8.57 s, + 120 s.
    assert.equal(f.basis, 'estimated');
    close(f.maxSeconds, 120 + 0.75e9 / 87.5e6);
    assert.equal(f.verdict, 'ok');
  });

  it('tight and too slow', () => {
    const s = site(TWO_DISKS.replace('sizeGb: 300', 'sizeGb: 400000'), 'rpoHours: 1\n');
    const srv = s.servers[0]!;
    // Used 200,050 GB, change 6001.5 GB/day, 1/24 of it per run: 250 GB at 8.75 MB/s (0.1 Gbit/s): far more than 1 hour.
    const slow = feasibility(backupSchedule(s, srv), serverCapacity(s, srv), 0.1);
    assert.equal(slow.verdict, 'too-slow');
    assert.match(slow.sentence, /longer than the 1-hour interval: the RPO cannot be met/);
    const tight = feasibility(backupSchedule(s, srv), serverCapacity({ retentionDays: 7 }, { name: 'X', disks: [{ sizeGb: 1600 }] }), 0.5);
    // 800 GB used, 24 GB/day, 1 GB per run at 43.75 MB/s = 22.9 s ... + 120 s: ok; make it tight with a slow link.
    assert.equal(tight.verdict, 'ok');
    const t2 = feasibility(backupSchedule(s, srv), serverCapacity({ retentionDays: 7 }, { name: 'X', disks: [{ sizeGb: 1600 }] }), 0.005);
    // 1 GB at 0.4375 MB/s = 2286 s + 120 s = 2406 s: 67% of an hour.
    assert.equal(t2.verdict, 'tight');
  });
});
