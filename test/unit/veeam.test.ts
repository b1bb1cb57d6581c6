import assert from 'node:assert/strict';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { discoverChains, scanShare } from '../../src/veeam/discover.js';
import { checkChainHealth } from '../../src/veeam/health.js';
import { buildChain, groupServers, matchSiteServer, pointDetails, type BackupChain } from '../../src/veeam/model.js';
import { computeChainStats } from '../../src/veeam/stats.js';
import { parseVbm, parseVeeamLocalTime, parseVeeamUtcTime, parseSize, parseInteger, readVbm } from '../../src/veeam/vbm.js';
import { decodeEntities, parseXmlDocument } from '../../src/veeam/xml.js';
import {
  REAL_FULL_FILE,
  REAL_NEWEST_UTC,
  REAL_VBM_PATH,
  breakLink,
  deleteStorageFile,
  emptyStorageFile,
  makeShare,
  readRealVbm,
  redate,
  setCorrupted,
  setEncryptionState,
  setInconsistent,
  synthesizeChain,
  truncateText,
  type TestShare,
} from '../helpers/veeam-fixtures.js';

const HOUR = 3_600_000;
const EXPECTED_FILES = [
  'Kerserv - 2025-07-13T000458.vbk',
  ...[14, 15, 16, 17].map((d) => `Kerserv - 2025-07-${d}T000458.vib`),
  'Kerserv - 2025-07-18T000456.vib',
  'Kerserv - 2025-07-19T000459.vib',
  'Kerserv - 2025-07-20T000458.vib',
  ...[21, 22, 23, 24, 25, 26, 27].map((d) => `Kerserv - 2025-07-${d}T000457.vib`),
];

async function realChain(): Promise<BackupChain> {
  return buildChain(await readVbm(REAL_VBM_PATH));
}

async function inputError(fn: () => unknown, re: RegExp): Promise<InputError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, re);
    return err;
  }
  assert.fail('expected an InputError');
}

describe('veeam: value parsing', () => {
  it('parses Veeam times, UTC to Date and local to parts', () => {
    assert.equal(parseVeeamUtcTime('07/17/2025 22:04:56')?.toISOString(), '2025-07-17T22:04:56.000Z');
    assert.deepEqual(parseVeeamLocalTime('07/18/2025 00:04:56'), { year: 2025, month: 7, day: 18, hour: 0, minute: 4, second: 56, text: '07/18/2025 00:04:56' });
    for (const bad of ['13/01/2025 00:00:00', '02/30/2025 00:00:00', '07/18/2025 24:00:00', '2025-07-18 00:04:56', '', 'x']) {
      assert.equal(parseVeeamUtcTime(bad), undefined, bad);
    }
    assert.equal(parseVeeamUtcTime(undefined), undefined);
  });

  it('never yields NaN for sizes and numbers', () => {
    assert.equal(parseSize('117552345088'), 117552345088);
    assert.equal(parseSize('9223372036854775808'), undefined);
    assert.equal(parseSize('-1'), undefined);
    assert.equal(parseSize('abc'), undefined);
    assert.equal(parseInteger('261.0000000000'), 261);
    assert.equal(parseInteger('261.5'), undefined);
  });

  it('decodes only predefined entities and character references', () => {
    assert.equal(decodeEntities('a&lt;b&gt;&amp;&quot;&apos;&#xD;&#xA;&#65;'), 'a<b>&"\'\r\nA');
    assert.throws(() => parseXmlDocument('<a b="&lol;"/>', 'x.xml'), InputError);
    assert.throws(() => parseXmlDocument('<a>&#0;</a>', 'x.xml'), InputError);
  });
  it('refuses XML fast-xml-parser alone would accept: mismatched, unclosed, two roots', () => {
    assert.throws(() => parseXmlDocument('<a><b></a>', 'm.xml'), /"m\.xml" is not well-formed XML: end tag <\/a> does not match <b>/);
    assert.throws(() => parseXmlDocument('<a><b/>', 'c.xml'), /"c\.xml" is cut short or damaged: the file ends before <\/a>/);
    assert.throws(() => parseXmlDocument('<a/><b/>', 'r.xml'), /more than one root element/);
    assert.throws(() => parseXmlDocument('<a x="1>', 'q.xml'), /attribute value of <a> is not closed/);
    assert.equal(parseXmlDocument('<?xml version="1.0"?><!-- c --><a x=\'>\'>t<![CDATA[<x>]]></a>', 'ok.xml').attrs['x'], '>');
  });
});

describe('veeam: the real fixture', () => {
  it('has 15 points: 1 full and 14 increments, daily, oldest first', async () => {
    const chain = await realChain();
    assert.equal(chain.points.length, 15);
    assert.equal(chain.points.filter((p) => p.type === 'full').length, 1);
    assert.equal(chain.points.filter((p) => p.type === 'increment').length, 14);
    const first = chain.points[0];
    assert.equal(first?.type, 'full');
    assert.equal(first?.num, 132);
    assert.equal(first?.time?.toISOString(), '2025-07-12T22:04:58.000Z');
    assert.equal(first?.localTime, '2025-07-13 00:04:58');
    assert.equal(first?.label, '13 Jul 2025 00:04');
    assert.equal(chain.newest?.time?.toISOString(), REAL_NEWEST_UTC.toISOString());
    assert.equal(chain.newest?.num, 274);
    assert.equal(chain.newest?.localTime, '2025-07-27 00:04:57');
    for (let i = 1; i < chain.points.length; i++) {
      const gap = (chain.points[i]!.time!.getTime() - chain.points[i - 1]!.time!.getTime()) / HOUR;
      assert.ok(gap > 23.9 && gap < 24.1, `daily gap ${gap}`);
      assert.equal(chain.points[i]!.linkId, chain.points[i - 1]!.id, 'Point@LinkId names the previous point');
      assert.equal(chain.points[i]!.previousStorageId, chain.points[i - 1]!.storageId, 'Storage@LinkId names the previous file');
    }
    assert.equal(first?.linkId, undefined);
    assert.equal(first?.previousStorageId, undefined);
  });

  it('names the right storage files and sizes', async () => {
    const chain = await realChain();
    assert.deepEqual(chain.points.map((p) => p.storageFile), EXPECTED_FILES);
    const full = chain.points[0]!;
    assert.equal(full.size, 117552345088);
    assert.equal(full.dataSize, 1919695740189);
    const p18 = chain.points.find((p) => p.storageFile === 'Kerserv - 2025-07-18T000456.vib');
    assert.equal(p18?.size, 1977118720);
    assert.equal(p18?.time?.toISOString(), '2025-07-17T22:04:56.000Z');
    assert.equal(p18?.label, '18 Jul 2025 00:04');
    assert.equal(chain.newest?.approxSize, 144526186496);
    assert.match(full.storageFilePath ?? '', /^\\\\10\.0\.1\.65\\Marc\\.*\\Kerserv - 2025-07-13T000458\.vbk$/);
  });

  it('identifies the server, job and retention', async () => {
    const chain = await realChain();
    assert.equal(chain.jobName, 'Kerserv - 192.168.80.1');
    assert.equal(chain.identity.fqdn, 'kerserv.stb.local');
    assert.equal(chain.identity.shortName, 'kerserv');
    assert.equal(chain.identity.displayName, 'kerserv');
    assert.equal(chain.encrypted, false);
    assert.equal(chain.retentionDays, 14);
    assert.deepEqual(chain.warnings, []);
  });

  it('reads the machine of a point: Windows Server 2022, GPT/UEFI, disks, volumes, RAM, domain controller', async () => {
    const chain = await realChain();
    const d = pointDetails(chain.newest!);
    assert.ok(d);
    assert.equal(d.osName, 'Microsoft Windows Server 2022 Standard');
    assert.equal(d.osVersion, '10.0.20348');
    assert.equal(d.osType, 'EVeeamOs2022');
    assert.equal(d.ramBytes, 8192 * 1024 * 1024);
    assert.equal(d.firmware, 'uefi');
    assert.deepEqual(d.roles, { ad: true, sql: false, exchange: false });
    assert.equal(d.encrypted, false);
    assert.equal(d.isCorrupted, false);
    assert.equal(d.isConsistent, true);
    assert.equal(d.durationMs, 70_000);
    assert.equal(d.disks.length, 1, 'only disk 0 is in the backup');
    const disk = d.disks[0]!;
    assert.equal(disk.number, 0);
    assert.equal(disk.capacity, 1918999986176);
    assert.equal(disk.partitionStyle, 'GPT');
    assert.equal(disk.partitions.length, 4);
    assert.equal(disk.partitions[0]?.name, 'EFI system partition');
    assert.deepEqual(
      disk.volumes.map((v) => [v.letter, v.label, v.capacity, v.used, v.isEfiSystem]),
      [
        [undefined, undefined, 104857600, 34830336, true],
        ['C', 'sys', 156668788736, 64487452672, false],
        ['D', 'Data', 1761606631424, 79897088000, false],
      ],
    );
    assert.equal(disk.usedBytes, 34830336 + 64487452672 + 79897088000);
    assert.equal(pointDetails(chain.newest!), d, 'cached');
  });

  it('computes capacity statistics', async () => {
    const s = computeChainStats(await realChain());
    assert.equal(s.fulls, 1);
    assert.equal(s.increments, 14);
    assert.equal(s.fullSize, 117552345088);
    assert.equal(s.incrementSizes.length, 14);
    assert.equal(s.maxIncrementSize, 3655147520);
    assert.ok(s.meanIncrementSize! > 1.4e9 && s.meanIncrementSize! < 2.0e9);
    assert.ok(Math.abs(s.spanDays! - 14) < 0.01);
    assert.ok(Math.abs(s.dailyChange! - s.meanIncrementSize!) / s.meanIncrementSize! < 0.01, 'one increment a day');
    assert.ok(s.incrementReduction! > 0.5 && s.incrementReduction! < 0.65, String(s.incrementReduction));
    assert.ok(Math.abs(s.fullReduction! - (1 - 117552345088 / 143813957632)) < 1e-9);
    assert.equal(s.compressPercent, 41);
    assert.equal(s.durations.length, 15);
    assert.equal(s.maxDurationMs, 189_000, 'the full: 22:05:39 -> 22:08:48');
    assert.equal(s.storagesWithoutStats, 0);
  });

  it('matches site servers by job name, FQDN or host name, case-insensitively', async () => {
    const chain = await realChain();
    assert.equal(matchSiteServer(chain.identity, [{ name: 'dc1', veeamJob: 'KERSERV - 192.168.80.1' }])?.matchedBy, 'veeamJob');
    assert.equal(matchSiteServer(chain.identity, [{ name: 'dc1', fqdn: 'KerServ.stb.local' }])?.matchedBy, 'fqdn');
    assert.equal(matchSiteServer(chain.identity, [{ name: 'KERSERV' }])?.matchedBy, 'name');
    assert.equal(matchSiteServer(chain.identity, [{ name: 'other', fqdn: 'kerserv.example.org' }])?.matchedBy, 'name');
    assert.equal(matchSiteServer(chain.identity, [{ name: 'fileserver' }]), undefined);
    const cat = groupServers([chain], [{ name: 'Kerserv' }, { name: 'fileserver' }]);
    assert.equal(cat.servers.length, 1);
    assert.equal(cat.servers[0]?.name, 'Kerserv');
    assert.equal(cat.servers[0]?.newest?.point.num, 274);
    assert.deepEqual(cat.missing.map((s) => s.name), ['fileserver']);
    assert.deepEqual(cat.unknown, []);
    assert.equal(groupServers([chain], [{ name: 'x' }]).unknown.length, 1);
  });
});

describe('veeam: shares derived from the fixture', () => {
  const now = new Date('2030-03-10T12:00:00Z');
  const newest = new Date(now.getTime() - 1 * HOUR);
  let xml: string;
  const shares: TestShare[] = [];
  const share = async (opts: Parameters<typeof makeShare>[0] = {}): Promise<TestShare> => {
    const s = await makeShare({ xml, ...opts });
    shares.push(s);
    return s;
  };
  const health = async (s: TestShare, rpoHours = 3, at = now) => {
    const d = await discoverChains(s.root);
    assert.deepEqual(d.errors, []);
    assert.equal(d.chains.length, 1);
    return checkChainHealth(d.chains[0]!, { now: at, rpoHours });
  };

  before(async () => {
    xml = redate(await readRealVbm(), newest);
  });
  after(async () => {
    for (const s of shares) await s.cleanup();
  });

  it('re-dating moves every time, including inside AuxData, and keeps the chain intact', async () => {
    const chain = buildChain(parseVbm(xml, 'redated.vbm'));
    assert.equal(chain.newest?.time?.toISOString(), newest.toISOString());
    assert.equal(chain.points[0]?.time?.toISOString(), new Date(newest.getTime() - 14 * 24 * HOUR + 1000).toISOString());
    assert.equal(chain.newest?.localTime, '2030-03-10 13:00:00');
    assert.ok(!xml.includes('2025 '), 'no 2025 time left');
    assert.match(xml, /&lt;CreationTimeUtc&gt;03\/10\/2030 11:00:39&lt;\/CreationTimeUtc&gt;/);
  });

  it('a healthy share: all files found by name, chain ok, RPO met', async () => {
    const s = await share();
    const d = await discoverChains(s.root);
    assert.equal(d.chains.length, 1);
    const located = d.chains[0]!;
    for (const loc of located.locations.values()) assert.equal(loc.path, join(s.dir, loc.fileName!));
    const h = await checkChainHealth(located, { now, rpoHours: 3 });
    assert.deepEqual(h.findings, []);
    assert.equal(h.ok, true);
    assert.equal(h.points.filter((p) => p.restorable).length, 15);
    assert.ok(Math.abs(h.newestAgeHours! - 1) < 1e-9);
    assert.equal(h.files.length, 15);
    assert.ok(h.files.every((f) => f.size === 1024));
  });

  it('files are found wherever they are on the share, not by a fixed layout', async () => {
    const s = await share({ subdirs: ['a', 'b', 'c'] });
    const h = await health(s);
    assert.equal(h.ok, true);
  });

  it('past the RPO', async () => {
    const s = await share();
    const h = await health(s, 3, new Date(now.getTime() + 5 * HOUR));
    assert.equal(h.chainOk, true);
    assert.equal(h.rpoMet, false);
    assert.equal(h.ok, false);
    const f = h.findings.find((x) => x.code === 'rpo-exceeded');
    assert.equal(f?.message, 'the newest restore point (10 Mar 2030 13:00) is 6 hours old, more than the RPO of 3 hours');
  });

  it('a missing .vib breaks that point and every later one', async () => {
    const s = await share();
    await deleteStorageFile(s, 'Kerserv - 2025-07-18T000456.vib');
    const h = await health(s);
    assert.equal(h.chainOk, false);
    const f = h.findings.filter((x) => x.code === 'missing-file');
    assert.equal(f.length, 1);
    assert.equal(f[0]?.message, 'missing file "Kerserv - 2025-07-18T000456.vib" for restore point of 1 Mar 2030 12:59');
    assert.deepEqual(
      h.points.map((p) => p.restorable),
      [true, true, true, true, true, false, false, false, false, false, false, false, false, false, false],
    );
    assert.equal(h.newestRestorable?.storageFile, 'Kerserv - 2025-07-17T000458.vib');
    assert.equal(h.rpoMet, false);
    assert.match(h.findings.find((x) => x.code === 'rpo-exceeded')?.message ?? '', /^the newest restorable point \(28 Feb 2030 13:00\) is 10 days old, more than the RPO of 3 hours$/);
  });

  it('an empty .vbk breaks the whole chain', async () => {
    const s = await share();
    await emptyStorageFile(s, REAL_FULL_FILE);
    const h = await health(s);
    assert.equal(h.points.some((p) => p.restorable), false);
    assert.deepEqual(h.findings.map((f) => f.code), ['empty-file', 'no-restorable-point']);
    assert.equal(h.findings[0]?.message, `empty file "${REAL_FULL_FILE}" (0 bytes) for restore point of 24 Feb 2030 13:00`);
  });

  it('a broken link (Storage@LinkId to nowhere)', async () => {
    const s = await share({ xml: breakLink(xml, 'Kerserv - 2025-07-22T000457.vib') });
    const h = await health(s);
    const f = h.findings.find((x) => x.code === 'broken-link');
    assert.ok(f);
    assert.match(f.message, /^broken chain: restore point of 5 Mar 2030 13:00 builds on a backup file the metadata no longer lists/);
    assert.equal(h.points.filter((p) => p.restorable).length, 9);
    assert.equal(h.newestRestorable?.storageFile, 'Kerserv - 2025-07-21T000457.vib');
  });

  it('an encrypted backup is noted, not unhealthy', async () => {
    const s = await share({ xml: setEncryptionState(xml, 2) });
    const h = await health(s);
    assert.equal(h.ok, true);
    const d = await discoverChains(s.root);
    assert.equal(d.chains[0]?.chain.encrypted, true);
    assert.equal(pointDetails(d.chains[0]!.chain.newest!)?.encrypted, true);
    assert.deepEqual(h.findings.map((f) => [f.code, f.severity]), [['encrypted', 'info']]);
  });

  it('a point flagged corrupted (and one inconsistent)', async () => {
    const s = await share({ xml: setCorrupted(xml, 'Kerserv - 2025-07-26T000457.vib') });
    const h = await health(s);
    assert.equal(h.findings[0]?.message, 'restore point of 9 Mar 2030 13:00 is marked corrupted by Veeam');
    assert.deepEqual(h.points.slice(-3).map((p) => p.restorable), [true, false, false]);
    assert.equal(h.chainOk, false);
    assert.equal(h.rpoMet, false, 'the newest restorable point is 2 days old');

    const s2 = await share({ xml: setInconsistent(xml, 'Kerserv - 2025-07-27T000457.vib') });
    const h2 = await health(s2);
    assert.equal(h2.findings[0]?.code, 'inconsistent');
    assert.equal(h2.points.filter((p) => p.restorable).length, 14);
  });

  it('a truncated .vbm gives a clear error, and discovery reports it without failing', async () => {
    const cut = truncateText(xml, 0.4);
    await inputError(() => parseVbm(cut, 'cut.vbm'), /^"cut\.vbm" is cut short or damaged/);
    const tail = xml.slice(0, xml.lastIndexOf('</BackupMeta>'));
    await inputError(() => parseVbm(tail, 'tail.vbm'), /"tail\.vbm" is cut short or damaged/);
    const s = await share({ xml: cut, noFiles: true });
    const d = await discoverChains(s.root);
    assert.equal(d.chains.length, 0);
    assert.equal(d.errors.length, 1);
    assert.match(d.errors[0]?.message ?? '', /cut short/);
    await inputError(() => parseVbm('<Other/>', 'o.vbm'), /not Veeam backup metadata/);
  });

  it('tolerates missing optional fields', async () => {
    const stripped = xml
      .replace(/ Stats="[^"]*"/g, '')
      .replace(/ AuxData="[^"]*"/g, '')
      .replace(/ CompletionTimeUtc="[^"]*"/g, '')
      .replace(/ ApproxSize="[^"]*"/g, ' ApproxSize="n/a"');
    const chain = buildChain(parseVbm(stripped, 'stripped.vbm'));
    assert.equal(chain.points.length, 15);
    assert.equal(chain.newest?.size, undefined);
    assert.equal(chain.newest?.approxSize, undefined);
    assert.equal(chain.newest?.durationMs, undefined);
    const d = pointDetails(chain.newest!);
    assert.equal(d?.osName, 'Microsoft Windows Server 2022 Standard', 'from GuestInfo');
    assert.deepEqual(d?.disks, []);
    const st = computeChainStats(chain);
    assert.equal(st.fullSize, undefined);
    assert.equal(st.dailyChange, undefined);
    assert.equal(st.storagesWithoutStats, 15);
    assert.equal(st.totalBackupSize, 0);
    for (const v of Object.values(st)) assert.ok(!Number.isNaN(v));
  });

  it('skips .adhoc. folders unless asked, bounds depth, survives a symlink loop', async () => {
    const s = await share();
    await makeShare({ xml, root: s.root, subdirs: ['Kerserv.adhoc.2030-03-01T000000'], noFiles: true });
    await makeShare({ xml, root: s.root, subdirs: ['1', '2', '3', '4', '5'], noFiles: true });
    await symlink(s.root, join(s.dir, 'loop'));
    const d = await discoverChains(s.root);
    assert.equal(d.chains.length, 1);
    assert.ok(d.skipped.some((x) => /adhoc/.test(x.reason)));
    assert.ok(d.skipped.some((x) => /deeper than 4/.test(x.reason)));
    assert.ok(d.skipped.some((x) => /loop/.test(x.reason)));
    const all = await discoverChains(s.root, { includeAdhoc: true });
    assert.equal(all.chains.length, 2);
    const scan = await scanShare(s.root, { maxDepth: 6 });
    assert.equal(scan.vbmFiles.length, 2);
  });

  it('groups several chains on one share into servers and lists the missing ones', async () => {
    const s = await share();
    const other = xml.replace(/kerserv\.stb\.local/g, 'files.stb.local').replace(/DisplayName="kerserv"/, 'DisplayName="files"').replace(/Kerserv - 192\.168\.80\.1/g, 'Files job');
    await makeShare({ xml: other, root: s.root, subdirs: ['files'] });
    await mkdir(join(s.root, 'empty'));
    await writeFile(join(s.root, 'empty', 'notes.txt'), 'x');
    const d = await discoverChains(s.root);
    const cat = groupServers(d.chains.map((c) => c.chain), [{ name: 'kerserv' }, { name: 'files', veeamJob: 'files job' }, { name: 'mail' }]);
    assert.deepEqual(cat.servers.map((x) => [x.name, x.site?.matchedBy]), [['files', 'veeamJob'], ['kerserv', 'name']]);
    assert.deepEqual(cat.missing.map((x) => x.name), ['mail']);
  });

  it('8,760 hourly points parse, link and check', async () => {
    const big = synthesizeChain(xml, { points: 8760, intervalHours: 1, newestUtc: newest });
    const chain = buildChain(parseVbm(big, 'big.vbm'));
    assert.equal(chain.points.length, 8760);
    assert.equal(chain.points.filter((p) => p.type === 'full').length, 1);
    assert.equal(chain.newest?.time?.toISOString(), newest.toISOString());
    assert.equal(pointDetails(chain.newest!)?.firmware, 'uefi');
    assert.deepEqual(pointDetails(chain.points[100]!)?.disks, [], 'AuxData kept on the newest point only');
    const st = computeChainStats(chain);
    assert.ok(Math.abs(st.incrementsPerDay! - 24) < 0.01);
    const located = { chain, locations: new Map(chain.storages.map((x) => [x.id, { storageId: x.id, fileName: x.fileName, path: `/share/${x.fileName}` }])) };
    const h = await checkChainHealth(located, { now, rpoHours: 3, stat: async () => ({ size: 1, isFile: () => true }) });
    assert.equal(h.ok, true);
    assert.equal(h.points.length, 8760);
  });
});

describe('veeam: hostile XML', () => {
  it('refuses entity expansion (billion laughs)', async () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><BackupMeta MetaSchemaVersion="2">&lol3;</BackupMeta>';
    await inputError(() => parseVbm(bomb, 'bomb.vbm'), /^"bomb\.vbm" contains a DOCTYPE or ENTITY declaration/);
  });

  it('refuses external entities', async () => {
    const xxe = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><BackupMeta>&e;</BackupMeta>';
    await inputError(() => parseVbm(xxe, 'xxe.vbm'), /DOCTYPE/);
  });

  it('refuses a DOCTYPE hidden in attribute XML', async () => {
    const xml = (await readRealVbm()).replace(/AuxData="&lt;COibAuxData&gt;/g, 'AuxData="&lt;!DOCTYPE x [&lt;!ENTITY a &quot;b&quot;&gt;]&gt;&lt;COibAuxData&gt;');
    const chain = buildChain(parseVbm(xml, 'aux.vbm'));
    await inputError(() => pointDetails(chain.newest!), /^attribute AuxData of OIB a3f42f44-ffa7-4ebf-8c36-4f16e139f0c2 in "aux\.vbm" contains a DOCTYPE/);
  });

  it('refuses a huge attribute', async () => {
    const huge = `<BackupMeta MetaSchemaVersion="2"><BackupMetaInfo><Storages><Storage Id="1" Stats="${'x'.repeat(5 * 1024 * 1024)}"/></Storages></BackupMetaInfo></BackupMeta>`;
    await inputError(() => parseVbm(huge, 'huge.vbm'), /^"huge\.vbm" has an attribute Stats of 5242880 characters, more than the limit of 4194304/);
  });

  it('refuses deep nesting and too many elements', async () => {
    const deep = `<BackupMeta>${'<a>'.repeat(500)}${'</a>'.repeat(500)}</BackupMeta>`;
    await inputError(() => parseVbm(deep, 'deep.vbm'), /nested deeper than 64 levels/);
    const many = `<BackupMeta><BackupMetaInfo>${'<x/>'.repeat(2000)}</BackupMetaInfo></BackupMeta>`;
    await inputError(
      () => parseVbm(many, 'many.vbm', { limits: { maxBytes: 1e6, maxAttributeLength: 1e3, maxElements: 1000, maxDepth: 64 } }),
      /more than 1000 elements/,
    );
  });

  it('survives a bounded fuzz of the real .vbm: every input parses or is refused with a message, never a crash', async () => {
    const original = Buffer.from(await readRealVbm(), 'utf8');
    // Deterministic: the same 400 inputs every run (xorshift32 seeded with a constant).
    let seed = 0x1ceb00da;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const special = Buffer.from('<>/"\'&=; \x00\xff');
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const buf = Buffer.from(original);
      const kind = i % 4;
      if (kind === 0) for (let k = 0; k < 1 + rand(8); k++) buf[rand(buf.length)] = rand(256);
      else if (kind === 1) for (let k = 0; k < 1 + rand(8); k++) buf[rand(buf.length)] = special[rand(special.length)]!;
      const input = kind === 2 ? buf.subarray(0, rand(buf.length)) : kind === 3 ? Buffer.concat([buf.subarray(0, rand(buf.length)), buf.subarray(rand(buf.length))]) : buf;
      try {
        const chain = buildChain(parseVbm(input, `fuzz-${i}.vbm`));
        if (chain.newest) pointDetails(chain.newest);
        accepted++;
      } catch (err) {
        assert.ok(err instanceof InputError, `input ${i} threw ${String(err)}`);
        assert.match(err.message, new RegExp(`fuzz-${i}\\.vbm`), `input ${i}: the message names the file`);
        refused++;
      }
    }
    assert.equal(accepted + refused, 400);
    assert.ok(refused > 100 && accepted > 10, `both outcomes exercised: ${accepted} accepted, ${refused} refused`);
  });

  it('a read for the chain alone refuses what a full read refuses, with the same message, and builds the same chain', async () => {
    /** What the audit uses of a chain (see VbmReadOptions.detail). */
    const shape = (c: BackupChain): unknown => ({
      identity: c.identity,
      jobName: c.jobName,
      encrypted: c.encrypted,
      retentionDays: c.retentionDays,
      warnings: c.warnings,
      newest: c.newest?.id,
      points: c.points.map((p) => [p.id, p.time?.getTime(), p.localTime, p.label, p.type, p.storageId, p.storageFile, p.linkId, p.isCorrupted, p.isConsistent]),
      storages: c.storages.map((x) => [x.id, x.fileName, x.linkId, x.size, x.time?.getTime(), x.localTime, x.pointIds]),
    });
    const outcome = (input: Buffer, file: string, detail: 'full' | 'chain'): unknown => {
      try {
        return shape(buildChain(parseVbm(input, file, { detail })));
      } catch (err) {
        assert.ok(err instanceof InputError, `${file} threw ${String(err)}`);
        return err.message;
      }
    };
    const real = await readRealVbm();
    const crafted = [
      real.replace('GuestInfo="&lt;GuestInfo&gt;', 'GuestInfo="&bogus;&lt;GuestInfo&gt;'),
      real.replace('GuestInfo="&lt;GuestInfo&gt;', 'GuestInfo="&#0;&lt;GuestInfo&gt;'),
      real.replace('ProductVersion="', 'ProductVersion="&#x41;'),
      real.replace(/Stats="&lt;CBackupStats&gt;/g, 'Stats=" &lt;CBackupStats&gt;'),
      real.replace(/&lt;Elements&gt;Kerserv/g, '&lt;Elements&gt; Kerserv'),
      real.replace(/&lt;BackupSize&gt;/, '&lt;BackupSize&gt;&lt;!DOCTYPE'),
    ];
    for (const [i, xml] of crafted.entries()) {
      const input = Buffer.from(xml, 'utf8');
      assert.deepEqual(outcome(input, `crafted-${i}.vbm`, 'chain'), outcome(input, `crafted-${i}.vbm`, 'full'), `crafted input ${i}`);
    }
    const original = Buffer.from(real, 'utf8');
    let seed = 0x5eed1e55;
    const rand = (n: number): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const special = Buffer.from('<>/"\'&=; #x0');
    for (let i = 0; i < 200; i++) {
      const buf = Buffer.from(original);
      for (let k = 0; k < 1 + rand(6); k++) buf[rand(buf.length)] = special[rand(special.length)]!;
      assert.deepEqual(outcome(buf, `fuzz-${i}.vbm`, 'chain'), outcome(buf, `fuzz-${i}.vbm`, 'full'), `fuzzed input ${i}`);
    }
  });

  it('a tag is read the same from the quotes the scanner found as byte by byte: same refusals, same chain', () => {
    // The scanner notes up to 256 quoted values per tag; with more, the attributes are read byte by byte. Each odd tag
    // below (well-formed as far as the scanner goes), read both ways, must give the same message or the same chain.
    const point = (attrs: string): string =>
      `<BackupMeta MetaSchemaVersion="2"><BackupMetaInfo><Points><Point ${attrs} /></Points></BackupMetaInfo></BackupMeta>`;
    const many = Array.from({ length: 300 }, (_, i) => `x${i}="${i}"`).join(' ');
    const ok = 'Id="11111111-0000-4000-8000-000000000000" Type="0" CreationTimeUtc="03/12/2029 12:00:00"';
    const odd = [
      ok,
      'Id = "11111111-0000-4000-8000-000000000000"  Type=\'1\'\tNum="2.000"',
      'Id="11111111-0000-4000-8000-000000000000" Type',
      'Id="11111111-0000-4000-8000-000000000000" Type=0',
      'Id="11111111-0000-4000-8000-000000000000" Type="0" Type="1"',
      'Id="11111111-0000-4000-8000-000000000000" T\'y\'pe="0" Type="1"',
      'Id="11111111-0000-4000-8000-000000000000" ="0"',
      'Id="11111111-0000-4000-8000-000000000000" Type="0"Num="1"',
      'Id="11111111-0000-4000-8000-000000000000" Type="a&amp;b" Num="&bogus;"',
      'Id="11111111-0000-4000-8000-000000000000" LinkId=\'"\' Type="0"',
    ];
    const outcome = (xml: string): unknown => {
      try {
        const c = buildChain(parseVbm(xml, 'odd.vbm', { detail: 'chain' }));
        return c.points.map((p) => [p.id, p.type, p.num, p.linkId, p.time?.getTime()]);
      } catch (err) {
        assert.ok(err instanceof InputError, String(err));
        return err.message;
      }
    };
    for (const attrs of odd) assert.deepEqual(outcome(point(`${attrs} ${many}`)), outcome(point(attrs)), attrs);
    assert.deepEqual(outcome(point(ok)), [['11111111-0000-4000-8000-000000000000', 'full', undefined, undefined, Date.UTC(2029, 2, 12, 12)]]);
    assert.match(String(outcome(point(odd[4]!))), /has the attribute Type twice in <Point>/);
    assert.match(String(outcome(point(odd[3]!))), /unquoted value for attribute Type of <Point>/);
  });

  it('refuses an oversized file before reading it', async () => {
    const s = await makeShare({ noFiles: true });
    try {
      await inputError(() => readVbm(s.vbmPath, { limits: { maxBytes: 1000, maxAttributeLength: 1000, maxElements: 10, maxDepth: 8 } }), /bytes, more than the limit of 1000 bytes/);
    } finally {
      await s.cleanup();
    }
  });
});
