import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, truncateSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  collectDiagnostics,
  MANIFEST_NAME,
  planDiagnostics,
  README_NAME,
  type CollectOptions,
  type DiagnosticsManifest,
  type DiagnosticsPlan,
} from '../../src/assistant/diagnostics.js';

const GiB = 1024 * 1024 * 1024;
const NOW = new Date('2025-03-04T05:06:07.000Z');

let work: string;

before(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'lifeboat-diag-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function put(root: string, rel: string, data: Buffer | string): Promise<Buffer> {
  const abs = path.join(root, ...rel.split('/'));
  await mkdir(path.dirname(abs), { recursive: true });
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  await writeFile(abs, buf);
  return buf;
}

async function sparse(root: string, rel: string, size: number, marker?: Buffer): Promise<void> {
  const abs = path.join(root, ...rel.split('/'));
  await mkdir(path.dirname(abs), { recursive: true });
  const fh = await open(abs, 'w');
  try {
    await fh.truncate(size);
    if (marker) await fh.write(marker, 0, marker.length, Math.floor(size / 2));
  } finally {
    await fh.close();
  }
}

/** A fake Windows volume with names in the mixed case a real one has. */
async function makeVolume(name: string, opts: { memoryDumpSize: number }): Promise<string> {
  const root = path.join(work, name);
  const logs = 'WINDOWS/system32/winevt/Logs';
  await put(root, `${logs}/System.evtx`, randomBytes(300_000));
  await put(root, `${logs}/application.EVTX`, randomBytes(70_000));
  await put(root, `${logs}/Security.evtx`, randomBytes(20_000));
  await put(root, `${logs}/Setup.evtx`, randomBytes(10_000));
  await put(root, `${logs}/Microsoft-Windows-Kernel-Boot%4Operational.evtx`, randomBytes(68_000));
  await put(root, `${logs}/Microsoft-Windows-Kernel-PnP%4Configuration.evtx`, randomBytes(68_000));
  await put(root, `${logs}/Microsoft-Windows-AppXDeployment%4Operational.evtx`, randomBytes(30_000));
  await put(root, `${logs}/not-a-log.txt`, 'ignored');
  await mkdir(path.join(root, ...`${logs}/Weird.evtx`.split('/')), { recursive: true });
  await symlink(path.join(root, 'nowhere', 'gone.evtx'), path.join(root, ...`${logs}/Broken.evtx`.split('/')));
  await put(root, 'outside-secret.evtx', 'not inside the Windows tree, but reachable'); // inside the volume
  await put(path.join(work, `${name}-outside`), 'secret.evtx', 'outside the volume');
  await symlink(
    path.join(work, `${name}-outside`, 'secret.evtx'),
    path.join(root, ...`${logs}/Escape.evtx`.split('/')),
  );
  await symlink(path.join(root, 'outside-secret.evtx'), path.join(root, ...`${logs}/Inside-Link.evtx`.split('/')));

  await put(root, 'WINDOWS/MiniDump/030425-12345-01.DMP', randomBytes(150_000));
  await put(root, 'WINDOWS/MiniDump/030325-11111-01.dmp', randomBytes(90_000));
  await put(root, 'WINDOWS/system32/LogFiles/SRT/srttrail.TXT', 'Startup Repair diagnosis and repair log\r\n');
  await put(root, 'WINDOWS/inf/SetupAPI.dev.log', randomBytes(40_000).toString('base64'));
  await put(root, 'WINDOWS/inf/setupapi.app.log', 'app log\r\n');
  await put(root, 'WINDOWS/Logs/cbs/cbs.log', randomBytes(50_000).toString('hex'));
  for (let i = 1; i <= 7; i++) {
    await put(root, `WINDOWS/Logs/cbs/CbsPersist_2025010${i}000000.log`, `persist ${i}\r\n`);
    const t = new Date(Date.UTC(2025, 0, i));
    await utimes(path.join(root, 'WINDOWS/Logs/cbs', `CbsPersist_2025010${i}000000.log`), t, t);
  }
  await put(root, 'WINDOWS/Panther/SetupAct.log', 'setupact\r\n');
  await put(root, 'WINDOWS/system32/CONFIG/system', randomBytes(120_000));
  await put(root, 'WINDOWS/system32/CONFIG/SOFTWARE', randomBytes(200_000));
  await put(root, 'WINDOWS/system32/CONFIG/SAM', randomBytes(1000));
  await sparse(root, 'WINDOWS/memory.dmp', opts.memoryDumpSize, Buffer.from('PAGEDU64 marker'));
  return root;
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

function tarList(archive: string): string[] {
  return execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

async function extract(archive: string, name: string): Promise<string> {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  execFileSync('tar', ['-xzf', archive, '-C', dir]);
  return dir;
}

async function readManifest(dir: string): Promise<DiagnosticsManifest> {
  return JSON.parse(await readFile(path.join(dir, MANIFEST_NAME), 'utf8')) as DiagnosticsManifest;
}

function baseOpts(extra: Partial<CollectOptions> = {}): CollectOptions {
  return { includeMemoryDump: false, includeHives: false, serverName: 'FS01', now: NOW, ...extra };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

describe('planDiagnostics', () => {
  let root: string;
  let plan: DiagnosticsPlan;
  before(async () => {
    root = await makeVolume('plan-vol', { memoryDumpSize: 3 * GiB });
    plan = await planDiagnostics(root);
  });

  test('finds the files ignoring case and reports them with the on-disk case', () => {
    const paths = plan.items.map((i) => `${i.category}:${i.path}`);
    const logs = 'WINDOWS/system32/winevt/Logs';
    for (const want of [
      `eventlogs:${logs}/System.evtx`,
      `eventlogs:${logs}/application.EVTX`,
      `eventlogs:${logs}/Security.evtx`,
      `eventlogs:${logs}/Setup.evtx`,
      `eventlogs:${logs}/Microsoft-Windows-Kernel-Boot%4Operational.evtx`,
      `eventlogs:${logs}/Microsoft-Windows-AppXDeployment%4Operational.evtx`,
      `eventlogs:${logs}/Inside-Link.evtx`,
      'minidumps:WINDOWS/MiniDump/030425-12345-01.DMP',
      'minidumps:WINDOWS/MiniDump/030325-11111-01.dmp',
      'srt:WINDOWS/system32/LogFiles/SRT/srttrail.TXT',
      'setupapi:WINDOWS/inf/SetupAPI.dev.log',
      'setupapi:WINDOWS/inf/setupapi.app.log',
      'cbs:WINDOWS/Logs/cbs/cbs.log',
      'panther:WINDOWS/Panther/SetupAct.log',
    ]) {
      assert.ok(paths.includes(want), `${want} missing from ${paths.join(', ')}`);
    }
    assert.ok(!paths.some((p) => /not-a-log|\/SAM$|memory\.dmp|\/CONFIG\//i.test(p)), paths.join(', '));
    // the core event logs come first
    assert.deepEqual(
      plan.items.slice(0, 4).map((i) => path.posix.basename(i.path).toLowerCase()),
      ['system.evtx', 'application.evtx', 'setup.evtx', 'security.evtx'],
    );
    assert.equal(
      plan.totalBytes,
      plan.items.reduce((s, i) => s + i.size, 0),
    );
    assert.equal(plan.items.find((i) => i.path.endsWith('System.evtx'))?.size, 300_000);
  });

  test('MEMORY.DMP is separate, with its size (a 3 GiB sparse file)', () => {
    assert.deepEqual(plan.memoryDump, { path: 'WINDOWS/memory.dmp', size: 3 * GiB });
    assert.ok(plan.totalBytes < 10 * 1024 * 1024, 'the memory dump is not in the default total');
  });

  test('hives are separate and optional; SAM is never collected', () => {
    assert.deepEqual(plan.hives, [
      { path: 'WINDOWS/system32/CONFIG/system', size: 120_000 },
      { path: 'WINDOWS/system32/CONFIG/SOFTWARE', size: 200_000 },
    ]);
  });

  test('the newest five CbsPersist logs are kept, older ones noted', () => {
    const persist = plan.items.filter((i) => /CbsPersist_/.test(i.path)).map((i) => path.posix.basename(i.path));
    assert.deepEqual(persist, [3, 4, 5, 6, 7].reverse().map((i) => `CbsPersist_2025010${i}000000.log`));
    const skipped = (plan.skipped ?? []).filter((s) => /CbsPersist_/.test(s.path));
    assert.equal(skipped.length, 2);
  });

  test('a directory named like a file, a dangling symlink and a symlink out of the volume are skipped with reasons', () => {
    const reason = (suffix: string): string | undefined =>
      plan.skipped?.find((s) => s.path.endsWith(suffix))?.reason;
    assert.match(reason('/Weird.evtx') ?? '', /not a regular file \(directory\)/);
    assert.match(reason('/Broken.evtx') ?? '', /dangling symlink/);
    assert.match(reason('/Escape.evtx') ?? '', /outside the volume/);
    assert.ok(!plan.items.some((i) => /Weird|Broken|Escape/.test(i.path)));
  });

  test('the Security log is included and noted', () => {
    assert.ok(plan.notes?.some((n) => /Security/.test(n)));
  });

  test('event log caps: per-file limit and total cap apply to optional logs only', async () => {
    const capped = await planDiagnostics(root, { evtxMaxFileBytes: 50_000, evtxTotalBytes: 450_000 });
    const names = capped.items.filter((i) => i.category === 'eventlogs').map((i) => path.posix.basename(i.path));
    // System (300 000) is core: above the per-file limit but kept.
    assert.ok(names.includes('System.evtx'));
    assert.ok(names.includes('application.EVTX'));
    assert.ok(!names.some((n) => n.startsWith('Microsoft-Windows-Kernel')), names.join(','));
    assert.match(
      capped.skipped?.find((s) => s.path.endsWith('Kernel-Boot%4Operational.evtx'))?.reason ?? '',
      /larger than/,
    );
    const tight = await planDiagnostics(root, { evtxTotalBytes: 400_010 });
    const tightNames = tight.items.filter((i) => i.category === 'eventlogs').map((i) => path.posix.basename(i.path));
    assert.equal(tightNames.length, 4, tightNames.join(','));
    assert.ok(tight.skipped?.some((s) => /total cap/.test(s.reason)));
  });

  test('a volume without Windows gives an empty plan', async () => {
    const empty = path.join(work, 'empty-vol');
    await mkdir(empty, { recursive: true });
    const p = await planDiagnostics(empty);
    assert.deepEqual(p.items, []);
    assert.equal(p.totalBytes, 0);
    assert.equal(p.memoryDump, undefined);
    assert.deepEqual(p.hives, []);
  });
});

describe('collectDiagnostics', () => {
  let root: string;
  let plan: DiagnosticsPlan;
  before(async () => {
    root = await makeVolume('collect-vol', { memoryDumpSize: 3 * GiB });
    plan = await planDiagnostics(root);
  });

  test('default collection: a tar.gz that system tar lists and extracts byte-equal, manifest last, no dump, no hives', async () => {
    const dest = path.join(work, 'out', 'default.tar.gz');
    const calls: [number, number, string][] = [];
    const res = await collectDiagnostics(root, plan, dest, baseOpts({ onProgress: (d, t, c) => calls.push([d, t, c]) }));

    assert.equal(res.file, dest);
    assert.ok(!(await exists(dest + '.partial')));
    const archive = await readFile(dest);
    assert.equal(res.bytes, archive.length);
    assert.equal(res.sha256, sha256(archive));
    assert.equal(res.files, plan.items.length);
    assert.deepEqual(res.skipped, []);

    const names = tarList(dest);
    assert.equal(names[0], README_NAME);
    assert.equal(names.at(-1), MANIFEST_NAME);
    assert.equal(names.length, plan.items.length + 2);
    assert.ok(names.includes('eventlogs/WINDOWS/system32/winevt/Logs/System.evtx'));
    assert.ok(names.includes('srt/WINDOWS/system32/LogFiles/SRT/srttrail.TXT'));
    assert.ok(!names.some((n) => n.startsWith('memorydump/') || n.startsWith('hives/')));

    const dir = await extract(dest, 'x-default');
    const manifest = await readManifest(dir);
    assert.equal(manifest.manifestPosition, 'last');
    assert.equal(manifest.server, 'FS01');
    assert.equal(manifest.time, NOW.toISOString());
    assert.equal(manifest.volume, root);
    assert.equal(manifest.files.length, plan.items.length);
    for (const item of plan.items) {
      const entry = manifest.files.find((f) => f.source === item.path);
      assert.ok(entry, item.path);
      assert.equal(entry.path, `${item.category}/${item.path}`);
      const original = await readFile(path.join(root, ...item.path.split('/')));
      const extracted = await readFile(path.join(dir, ...entry.path.split('/')));
      assert.ok(original.equals(extracted), `${item.path} differs`);
      assert.equal(entry.size, original.length);
      assert.equal(entry.sha256, sha256(extracted));
      assert.equal(entry.note, undefined);
      assert.ok(!Number.isNaN(Date.parse(entry.mtime)));
    }
    assert.ok(manifest.skipped.some((s) => s.path.endsWith('/Broken.evtx')), 'plan skips are carried over');
    assert.match(await readFile(path.join(dir, README_NAME), 'utf8'), /manifest\.json is the LAST entry/);

    // progress: non-decreasing, same total throughout, ends at total
    assert.ok(calls.length > plan.items.length);
    let last = 0;
    for (const [d, t] of calls) {
      assert.equal(t, plan.totalBytes);
      assert.ok(d >= last && d <= t, `${d} after ${last}`);
      last = d;
    }
    assert.equal(calls.at(-1)?.[0], plan.totalBytes);
  });

  test('MEMORY.DMP and hives only when asked (small sparse dump)', async () => {
    const small = await makeVolume('dump-vol', { memoryDumpSize: 5 * 1024 * 1024 + 123 });
    const p = await planDiagnostics(small);
    assert.equal(p.memoryDump?.size, 5 * 1024 * 1024 + 123);

    const dest = path.join(work, 'out', 'dump.tar.gz');
    let lastProgress: [number, number] = [0, 0];
    const res = await collectDiagnostics(
      small,
      p,
      dest,
      baseOpts({ includeMemoryDump: true, includeHives: true, onProgress: (d, t) => (lastProgress = [d, t]) }),
    );
    const expectTotal = p.totalBytes + (p.memoryDump?.size ?? 0) + p.hives.reduce((s, h) => s + h.size, 0);
    assert.deepEqual(lastProgress, [expectTotal, expectTotal]);
    assert.equal(res.files, p.items.length + 1 + p.hives.length);

    const names = tarList(dest);
    assert.ok(names.includes('memorydump/WINDOWS/memory.dmp'));
    assert.ok(names.includes('hives/WINDOWS/system32/CONFIG/system'));
    assert.ok(names.includes('hives/WINDOWS/system32/CONFIG/SOFTWARE'));
    const dir = await extract(dest, 'x-dump');
    const dump = await readFile(path.join(dir, 'memorydump/WINDOWS/memory.dmp'));
    assert.ok(dump.equals(await readFile(path.join(small, 'WINDOWS/memory.dmp'))));
    const manifest = await readManifest(dir);
    assert.equal(manifest.files.find((f) => f.category === 'memorydump')?.sha256, sha256(dump));
    assert.deepEqual(manifest.options, { includeMemoryDump: true, includeHives: true });

    // the same plan without the options leaves them out
    const dest2 = path.join(work, 'out', 'nodump.tar.gz');
    await collectDiagnostics(small, p, dest2, baseOpts());
    assert.ok(!tarList(dest2).some((n) => n.startsWith('memorydump/') || n.startsWith('hives/')));
  });

  test('a file that became unreadable after planning is skipped with a reason, the rest is collected', async () => {
    const vol = await makeVolume('skip-vol', { memoryDumpSize: 1024 });
    const p = await planDiagnostics(vol);
    const setupact = path.join(vol, 'WINDOWS/Panther/SetupAct.log');
    await rm(setupact);
    await symlink(path.join(vol, 'does-not-exist'), setupact); // dangling symlink
    const srt = path.join(vol, 'WINDOWS/system32/LogFiles/SRT/srttrail.TXT');
    await rm(srt);
    await mkdir(srt); // a directory named like the file
    const dump = path.join(vol, 'WINDOWS/MiniDump/030325-11111-01.dmp');
    await rm(dump);
    await symlink(path.join(work, 'skip-vol-outside', 'secret.evtx'), dump); // out of the volume

    const dest = path.join(work, 'out', 'skip.tar.gz');
    const res = await collectDiagnostics(vol, p, dest, baseOpts());
    const reasons = new Map(res.skipped.map((s) => [s.path, s.reason]));
    assert.match(reasons.get('WINDOWS/Panther/SetupAct.log') ?? '', /dangling symlink/);
    assert.match(reasons.get('WINDOWS/system32/LogFiles/SRT/srttrail.TXT') ?? '', /not a regular file \(directory\)/);
    assert.match(reasons.get('WINDOWS/MiniDump/030325-11111-01.dmp') ?? '', /outside the volume/);
    assert.equal(res.files, p.items.length - 3);

    const names = tarList(dest);
    assert.ok(!names.some((n) => /SetupAct|srttrail|030325/.test(n)));
    const manifest = await readManifest(await extract(dest, 'x-skip'));
    for (const [k, v] of reasons) assert.ok(manifest.skipped.some((s) => s.path === k && s.reason === v));
  });

  test('a live log that grows or shrinks while read is stored with what was read and noted', async () => {
    const vol = path.join(work, 'live-vol');
    const growing = 'Windows/System32/winevt/Logs/System.evtx';
    const shrinking = 'Windows/Logs/CBS/CBS.log';
    const g = await put(vol, growing, randomBytes(3 * 1024 * 1024 + 17));
    const s = await put(vol, shrinking, randomBytes(3 * 1024 * 1024 + 5));
    const p = await planDiagnostics(vol);
    assert.equal(p.items.length, 2);

    const touched = new Set<string>();
    const dest = path.join(work, 'out', 'live.tar.gz');
    await collectDiagnostics(
      vol,
      p,
      dest,
      baseOpts({
        onProgress: (_d, _t, current) => {
          // called after the first chunk of a file has been stored
          if (touched.has(current)) return;
          if (current === growing && _d > 0) {
            touched.add(current);
            appendFileSync(path.join(vol, growing), Buffer.alloc(4096, 1));
          } else if (current === shrinking && _d > g.length) {
            touched.add(current);
            truncateSync(path.join(vol, shrinking), 1536 * 1024);
          }
        },
      }),
    );
    assert.equal(touched.size, 2);
    const dir = await extract(dest, 'x-live');
    const manifest = await readManifest(dir);

    const grown = manifest.files.find((f) => f.source === growing);
    assert.ok(grown);
    assert.equal(grown.size, g.length);
    assert.match(grown.note ?? '', /grew while being read/);
    const gx = await readFile(path.join(dir, 'eventlogs', growing));
    assert.ok(gx.equals(g));
    assert.equal(grown.sha256, sha256(gx));

    const shrunk = manifest.files.find((f) => f.source === shrinking);
    assert.ok(shrunk);
    assert.equal(shrunk.size, s.length);
    assert.equal(shrunk.bytesRead, 1536 * 1024);
    assert.match(shrunk.note ?? '', /shrank while being read/);
    const sx = await readFile(path.join(dir, 'cbs', shrinking));
    assert.equal(sx.length, s.length);
    assert.ok(sx.subarray(0, 1536 * 1024).equals(s.subarray(0, 1536 * 1024)));
    assert.ok(sx.subarray(1536 * 1024).equals(Buffer.alloc(s.length - 1536 * 1024)));
    assert.equal(shrunk.sha256, sha256(sx));
  });

  describe('an interrupted collection leaves no final file and no partial file', () => {
    test('failing progress callback', async () => {
      const dest = path.join(work, 'out', 'broken-progress.tar.gz');
      let n = 0;
      await assert.rejects(
        collectDiagnostics(
          root,
          plan,
          dest,
          baseOpts({
            onProgress: () => {
              if (++n === 5) throw new Error('boom');
            },
          }),
        ),
        /boom/,
      );
      assert.ok(!(await exists(dest)));
      assert.ok(!(await exists(dest + '.partial')));
    });

    test('cancelled with an AbortSignal', async () => {
      const dest = path.join(work, 'out', 'aborted.tar.gz');
      const ac = new AbortController();
      await assert.rejects(
        collectDiagnostics(
          root,
          plan,
          dest,
          baseOpts({ signal: ac.signal, onProgress: (d) => d > 100_000 && ac.abort(new Error('user cancelled')) }),
        ),
        /user cancelled/,
      );
      assert.ok(!(await exists(dest)));
      assert.ok(!(await exists(dest + '.partial')));
    });

    test('the share fills up (write to /dev/full)', { skip: !existsSync('/dev/full') }, async () => {
      const vol = path.join(work, 'full-vol');
      await put(vol, 'Windows/System32/winevt/Logs/System.evtx', randomBytes(2 * 1024 * 1024));
      const p = await planDiagnostics(vol);
      const dest = path.join(work, 'out', 'full.tar.gz');
      await symlink('/dev/full', dest + '.partial'); // every write to the partial file fails with ENOSPC
      await assert.rejects(collectDiagnostics(vol, p, dest, baseOpts()), /ENOSPC|no space/i);
      assert.ok(!(await exists(dest)));
      assert.ok(!(await readdir(path.dirname(dest))).includes('full.tar.gz.partial'));
    });
  });

  test('an existing archive is only replaced once the new one is complete', async () => {
    const dest = path.join(work, 'out', 'replace.tar.gz');
    await writeFile(dest, 'old archive');
    let n = 0;
    await assert.rejects(
      collectDiagnostics(
        root,
        plan,
        dest,
        baseOpts({
          onProgress: () => {
            if (++n === 3) throw new Error('network gone');
          },
        }),
      ),
    );
    assert.equal(await readFile(dest, 'utf8'), 'old archive');
    await collectDiagnostics(root, plan, dest, baseOpts());
    assert.equal(tarList(dest).at(-1), MANIFEST_NAME);
  });
});
