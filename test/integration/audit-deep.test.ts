/**
 * `lifeboat audit --deep` on a share built from the real fixtures: the real chain metadata (.vbm, re-dated) with the
 * real v13 backup file as the chain's full. Clean: exit 0, the full verified block by block, increments stated as
 * checked from metadata only. Damaged: exit 3 with the block named. Subsets: the report says how much was read.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir } from '../helpers/tools.js';
import { makeShare, readRealVbm, REAL_FULL_FILE, redate, siteYaml, vbkBytes, VBK_FIXTURES } from '../helpers/veeam-fixtures.js';

const NOW = new Date('2030-03-12T12:00:00Z');
const SITE = siteYaml(['KERSERV'], { site: { name: 'Deep Audit Test', id: 'deep-audit' } });

interface Deep {
  ok: boolean;
  subset: string;
  fractionRead: number;
  storedBytesRead: number;
  storedBytesTotal: number;
  increments: { count: number; checked: string; note: string };
  files: { server: string; file: string; status: string; blocksChecked: number; blocksTotal: number; damage?: { what: string; internalFile?: string; internalOffset?: number } }[];
  lines: string[];
}

describe('lifeboat audit --deep', () => {
  let dir: string;
  let clean: string;
  let damaged: string;
  const site = () => join(dir, 'site.yaml');
  const audit = (share: string, ...extra: string[]) => lifeboat(['audit', '--site', site(), '--share', share, '--now', NOW.toISOString(), '--deep', ...extra]);

  before(async () => {
    dir = await mkTempDir('audit-deep');
    await writeFile(site(), SITE);
    const xml = redate(await readRealVbm(), new Date(NOW.getTime() - 3_600_000));
    const v13 = await vbkBytes('v13');
    const c = await makeShare({ root: join(dir, 'clean'), xml });
    await writeFile(c.files.get(REAL_FULL_FILE)!, v13);
    clean = c.root;
    const d = await makeShare({ root: join(dir, 'damaged'), xml });
    const bad = Buffer.from(v13);
    // Inside the disk's first stored block (LZ4 data at 0x189400). Not a single byte: in LZ4 data a changed match
    // offset into a run of zeros can decode to the same bytes (still the right content, rightly "verified").
    bad.fill(0x5a, 0x189400 + 5000, 0x189400 + 5016);
    await writeFile(d.files.get(REAL_FULL_FILE)!, bad);
    damaged = d.root;
  });
  after(() => removeTempDir(dir));

  test('a clean share: exit 0, the full verified block by block, increments checked from metadata only', async () => {
    const r = await audit(clean, '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; deep: Deep };
    assert.equal(report.ok, true);
    const deep = report.deep;
    assert.equal(deep.ok, true);
    assert.equal(deep.files.length, 1);
    const f = deep.files[0]!;
    assert.equal(f.server, 'KERSERV');
    assert.equal(f.status, 'verified');
    assert.match(f.file, /Kerserv - 2025-07-13T000458\.vbk$/);
    assert.equal(f.blocksChecked, 8);
    assert.equal(f.blocksTotal, 8);
    assert.equal(deep.fractionRead, 1);
    assert.equal(deep.storedBytesRead, deep.storedBytesTotal);
    assert.deepEqual({ count: deep.increments.count, checked: deep.increments.checked }, { count: 14, checked: 'metadata-only' });
    assert.ok(deep.lines.some((l) => /14 increment file\(s\): increments \(\.vib\) are checked from metadata only/.test(l)));
    const human = await audit(clean);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stderr, /deep: KERSERV: .*Kerserv - 2025-07-13T000458\.vbk verified \d{4}-\d\d-\d\dT[\d:.]+Z, 8 of 8 blocks, 0\.00 GB of data/);
    assert.match(human.stderr, /deep: read 0\.00 GB of 0\.00 GB stored in full backups \(100\.0%, all blocks\); metadata checked whole/);
  });

  test('a damaged full: exit 3, the damaged block named by internal file and offset, also in the HTML report', async () => {
    const html = join(dir, 'audit.html');
    const r = await audit(damaged, '--json', '--html', html);
    assert.equal(r.code, 3, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; problems: string[]; deep: Deep };
    assert.equal(report.ok, false);
    assert.equal(report.exitCode, 3);
    const f = report.deep.files[0]!;
    assert.equal(f.status, 'damaged');
    assert.equal(f.damage?.internalFile, `${VBK_FIXTURES.v13.folder}/${VBK_FIXTURES.v13.disk.name}`);
    assert.equal(f.damage?.internalOffset, 0);
    assert.ok(report.problems.some((p) => /KERSERV: the full backup .*Kerserv - 2025-07-13T000458\.vbk is damaged: block 0 of/.test(p)), report.problems.join('\n'));
    assert.match(await readFile(html, 'utf8'), /Block-level check of full backups[\s\S]*DAMAGED: block 0 of/);
    assert.match(r.stderr, /damaged full backup file/);
  });

  test('subsets: slices n/m read part of the blocks and say so; together they find the damage; bad specs exit 2', async () => {
    const seen: number[] = [];
    let found = 0;
    for (const n of [1, 2, 3]) {
      const r = await audit(damaged, '--json', '--read-data-subset', `${n}/3`);
      const deep = (JSON.parse(r.stdout) as { deep: Deep }).deep;
      assert.equal(deep.subset, `slice ${n} of 3 of the blocks`);
      assert.ok(deep.fractionRead < 1, `slice ${n} reads ${deep.fractionRead}`);
      seen.push(deep.files[0]!.blocksChecked);
      if (r.code === 3) found++;
      else assert.equal(r.code, 0, r.stderr);
      assert.ok(deep.lines.some((l) => l.includes(`slice ${n} of 3 of the blocks`)));
    }
    assert.equal(seen.reduce((a, b) => a + b, 0), 8, `the slices cover every block once: ${seen.join(', ')}`);
    assert.equal(found, 1, 'exactly one slice holds the damaged block');
    const pct = await audit(clean, '--json', '--read-data-subset', '50%');
    assert.equal(pct.code, 0, pct.stderr);
    assert.equal((JSON.parse(pct.stdout) as { deep: Deep }).deep.subset, 'a random 50.0% of the blocks');
    for (const bad of ['0/3', '4/3', 'x', '0%', '150%']) {
      const r = await audit(clean, '--read-data-subset', bad);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--read-data-subset/);
    }
    const noDeep = await lifeboat(['audit', '--site', site(), '--share', clean, '--now', NOW.toISOString(), '--read-data-subset', '1/7']);
    assert.equal(noDeep.code, 2);
    assert.match(noDeep.stderr, /needs --deep/);
  });
});
