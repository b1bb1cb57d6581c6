/**
 * The portable Windows executable (dist/release/lifeboat-win-x64.exe, `make release`) under Wine, as an admin runs it
 * on the Windows server: every path given the Windows way (Z:\... is how Wine names the host's /), no WIM tool, no
 * syslinux, no browser. One build under Wine, reused by every test:
 *  - `build` makes the stand-in Veeam ISO's restore kit with the assistant's autostart (our own WIM engine: no
 *    wimlib-imagex or DISM is reachable from Wine), a UEFI-only USB image that says why, and the HTML manual;
 *  - `verify` (under Wine) accepts the ISO and the USB image; `iso inspect` (under Wine) shows the base's El Torito
 *    entries, whose images xorriso finds byte-identical to the base's;
 *  - the ISO's files equal those of the Linux build (dist/release/lifeboat-linux-x64) of the same site and date: byte
 *    for byte, except the build id (random part) in site.json and the manual, the vault (fresh salt and nonce: both
 *    open to the same payload), MANIFEST.sha256 (same paths; equal hashes for equal files) and boot.wim (same tree
 *    and the same autostart files, checked with wimlib-imagex);
 *  - `audit` on a share given as a Windows path, `backup-setup` and `plan` give what the Linux exe gives.
 * Under Wine a Windows program's stdout must not be a pipe (EBADF): output goes to files.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeStandInBase } from '../../src/media/stand-in-base.js';
import { Secret, openVault } from '../../src/secrets/index.js';
import { makeShare, readRealVbm, redate, siteYaml } from '../helpers/veeam-fixtures.js';
import { REPO_ROOT, hasCommand, mkTempDir, removeTempDir, run, runChecked, sha256File } from '../helpers/tools.js';

const WIN_EXE = join(REPO_ROOT, 'dist', 'release', 'lifeboat-win-x64.exe');
const LINUX_EXE = join(REPO_ROOT, 'dist', 'release', 'lifeboat-linux-x64');
const SITE = join(REPO_ROOT, 'examples', 'site.yaml');
const PASSWORD = 'Share-Pa55word-for-the-NAS!';
const PASSPHRASE = 'correct-horse-battery-staple-Quokka-93';
const DATE = '2026-11-02T09:30:00Z';
const NOW = new Date('2030-03-12T12:00:00Z');

/** How a Windows program under Wine names a host path. */
const winePath = (p: string): string => `Z:${p.replace(/\//g, '\\')}`;
const secretsEnv = { LIFEBOAT_SHARE_PASSWORD: PASSWORD, LIFEBOAT_UNLOCK: PASSPHRASE, NO_COLOR: '1' };

interface Result { code: number | null; stdout: string; stderr: string }

const skip = !(await hasCommand('wine')) ? 'wine is not installed (scripts/setup-wine.sh installs it; make test runs it)' : false;

describe('lifeboat-win-x64.exe under Wine', { skip, timeout: 900_000 }, () => {
  let dir: string;
  let prefix = '';
  let base: string;
  let winOut: string;
  let linOut: string;
  let winReport: {
    buildId: string; autostart: { enabled: boolean; tool?: string; reason?: string; launches?: string[] };
    usb: { built: boolean; bios: boolean; reason?: string }; manual: { html: string; pdf?: string; reason?: string }; warnings: string[];
  };
  let linReport: { buildId: string };

  /** Runs the Windows exe under Wine, stdout and stderr into files, bounded by `timeout`. */
  async function wine(args: string[], timeoutSeconds = 300): Promise<Result> {
    const io = await mkTempDir('wine-io');
    const out = await open(join(io, 'out'), 'w');
    const err = await open(join(io, 'err'), 'w');
    const env: NodeJS.ProcessEnv = { ...process.env, ...secretsEnv, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    try {
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn('timeout', ['-k', '10', String(timeoutSeconds), 'wine', WIN_EXE, ...args], { env, stdio: ['ignore', out.fd, err.fd] });
        child.on('error', reject);
        child.on('close', (c) => resolve(c));
      });
      return { code, stdout: await readFile(join(io, 'out'), 'utf8'), stderr: await readFile(join(io, 'err'), 'utf8') };
    } finally {
      await out.close();
      await err.close();
      await removeTempDir(io);
    }
  }

  const linux = (args: string[]) => run(LINUX_EXE, args, { env: { ...process.env, ...secretsEnv }, timeoutMs: 300_000 });

  before(async () => {
    const setup = await run(join(REPO_ROOT, 'scripts', 'setup-wine.sh'), [], { timeoutMs: 900_000 });
    assert.equal(setup.code, 0, `scripts/setup-wine.sh failed:\n${setup.stderr}`);
    prefix = setup.stdout.trim().split('\n').pop() ?? '';
    // Up to date after `make test` (which runs `make release`); builds it when this file is run alone.
    const release = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'build-release.mjs')], { timeoutMs: 1_200_000 });
    assert.equal(release.code, 0, `scripts/build-release.mjs failed:\n${release.stderr}`);

    dir = await mkTempDir('release-wine');
  });
  after(() => dir && removeTempDir(dir));

  describe('build (depends on the own WIM engine, issue 13 item 1: Wine reaches no wimlib-imagex or DISM)', () => {
    before(async () => {
      base = join(dir, 'veeam.iso');
      await makeStandInBase(base, join(dir, 'base-work'));
      winOut = join(dir, 'win');
      linOut = join(dir, 'linux');
      const started = performance.now();
      const w = await wine(['build', '--site', winePath(SITE), '--base', winePath(base), '--out', winePath(winOut), '--date', DATE, '--json'], 600);
      console.log(`# wine lifeboat-win-x64.exe build: ${Math.round(performance.now() - started)} ms`);
      assert.equal(w.code, 0, `build under Wine failed:\n${w.stderr}`);
      winReport = JSON.parse(w.stdout);
      const l = await linux(['build', '--site', SITE, '--base', base, '--out', linOut, '--date', DATE, '--json']);
      assert.equal(l.code, 0, `Linux build failed:\n${l.stderr}`);
      linReport = JSON.parse(l.stdout);
    });

    test('build: the autostart without any WIM tool, a UEFI-only USB image that says what it can boot, the HTML manual', async () => {
      // Depends on the own WIM engine (issue 13, item 1): Wine reaches neither wimlib-imagex nor DISM.
      assert.equal(winReport.autostart.enabled, true, `autostart: ${JSON.stringify(winReport.autostart)}`);
      assert.ok(!['wimlib-imagex', 'dism'].includes(String(winReport.autostart.tool)), `engine ${winReport.autostart.tool}`);
      assert.deepEqual(winReport.autostart.launches, ['X:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe']);
      assert.equal(winReport.usb.built, true);
      assert.equal(winReport.usb.bios, false);
      assert.match(winReport.usb.reason ?? '', /Linux-only.*UEFI mode.*not a machine set to legacy BIOS\/CSM boot/);
      assert.ok(winReport.warnings.some((w) => w.startsWith('UEFI-only USB image: ')), winReport.warnings.join('\n'));
      const files = (await readdir(winOut)).sort();
      for (const f of ['SHA256SUMS', 'build-report.json', 'muster-stb-manual.html', 'muster-stb-usb.img', 'muster-stb.iso']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
      assert.ok(!files.some((f) => f.includes('.tmp') || f.endsWith('.part')), 'nothing half-written left');
    });

    test('verify under Wine accepts the ISO and the USB image', async () => {
      for (const file of ['muster-stb.iso', 'muster-stb-usb.img']) {
        const r = await wine(['verify', winePath(join(winOut, file)), '--json']);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const v = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
        assert.equal(v.ok, true, JSON.stringify(v.checks));
        assert.match(v.checks.find((c) => c.name === 'manifest')?.detail ?? '', /^\d+ files match/);
      }
    });

    test("iso inspect under Wine shows the base's El Torito entries; xorriso finds the boot images byte-identical", async () => {
      const r = await wine(['iso', 'inspect', winePath(join(winOut, 'muster-stb.iso')), '--json']);
      assert.equal(r.code, 0, r.stderr);
      const b = await linux(['iso', 'inspect', base, '--json']);
      assert.equal(b.code, 0, b.stderr);
      const entries = (s: string) => (JSON.parse(s) as { boot: { entries: Record<string, unknown>[] } }).boot.entries.map(({ lba: _lba, ...e }) => e);
      const got = entries(r.stdout);
      assert.equal(got.length, 2);
      assert.deepEqual(got, entries(b.stdout));
      const images = async (iso: string, into: string) => {
        await mkdir(into, { recursive: true });
        await runChecked('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract_boot_images', `${into}/`]);
        const names = (await readdir(into)).filter((n) => /_img\d+_/.test(n)).sort();
        return Promise.all(names.map((n) => sha256File(join(into, n))));
      };
      assert.deepEqual(await images(join(winOut, 'muster-stb.iso'), join(dir, 'boot-win')), await images(base, join(dir, 'boot-base')));
    });

    test("the ISO's files equal those of the Linux build of the same site (build id and times aside)", async () => {
      const unpack = async (iso: string, into: string) => {
        await mkdir(into, { recursive: true });
        await runChecked('bsdtar', ['-xf', iso, '-C', into]);
        return into;
      };
      const a = await unpack(join(winOut, 'muster-stb.iso'), join(dir, 'iso-win'));
      const b = await unpack(join(linOut, 'muster-stb.iso'), join(dir, 'iso-linux'));
      const list = async (root: string): Promise<string[]> => {
        const out: string[] = [];
        const walk = async (d: string) => {
          for (const e of await readdir(d, { withFileTypes: true })) {
            if (e.isDirectory()) await walk(join(d, e.name));
            else out.push(relative(root, join(d, e.name)));
          }
        };
        await walk(root);
        return out.sort();
      };
      const files = await list(a);
      assert.deepEqual(files, await list(b), 'the same file names');
      const special = new Set(['lifeboat/vault.json', 'lifeboat/manifest.sha256', 'lifeboat/media.sha256', 'sources/boot.wim']);
      const noId = (text: string, id: string) => text.split(id).join('BUILD-ID');
      const differing: string[] = [];
      for (const f of files.filter((x) => !special.has(x.toLowerCase()))) {
        const [x, y] = [await readFile(join(a, f)), await readFile(join(b, f))];
        if (x.equals(y)) continue;
        // the build id's random part shows in site.json and the manual
        if (noId(x.toString('utf8'), winReport.buildId) !== noId(y.toString('utf8'), linReport.buildId)) differing.push(f);
      }
      assert.deepEqual(differing, [], 'files that differ beyond the build id');

      const payload = async (root: string) => {
        const p = await openVault(await readFile(join(root, 'lifeboat/vault.json')), new Secret(PASSPHRASE), 'muster-stb');
        return { user: p.share.user, domain: p.share.domain, password: p.share.password.reveal() };
      };
      assert.deepEqual(await payload(a), await payload(b), 'the vaults open to the same payload');
      assert.equal((await payload(a)).password, PASSWORD);

      const manifest = async (root: string, file: string) => {
        const text = await readFile(join(root, file), 'utf8');
        return new Map(text.split(/\r?\n/).filter((l) => /^[0-9a-f]{64}\s/.test(l)).map((l) => [l.slice(64).trim(), l.slice(0, 64)] as const));
      };
      // \lifeboat\MANIFEST.sha256 (the assistant's) and MEDIA.sha256 (verify's, over every file and boot structure):
      // the same entries, and equal hashes for everything the build id, the vault's salt or the WIM's times leave alone.
      for (const file of ['lifeboat/MANIFEST.sha256', 'lifeboat/MEDIA.sha256']) {
        const [ma, mb] = [await manifest(a, file), await manifest(b, file)];
        assert.deepEqual([...ma.keys()].sort(), [...mb.keys()].sort(), `${file}: the same entries`);
        const sameEverywhere = [...ma.keys()].filter((k) => !/vault\.json|site\.json|manifest|media\.sha256|boot\.wim|manual|^\[|volume|system area/i.test(k));
        assert.ok(sameEverywhere.includes('lifeboat/assistant.exe') || sameEverywhere.includes('/lifeboat/assistant.exe'), `${file}: ${sameEverywhere.join(', ')}`);
        for (const k of sameEverywhere) assert.equal(ma.get(k), mb.get(k), `${file}: ${k}`);
      }

      // boot.wim: the same tree and the same autostart files in the boot image (the WIM's own times aside)
      const wim = async (root: string, name: string) => {
        const file = join(root, 'sources/boot.wim');
        const info = await runChecked('wimlib-imagex', ['info', file]);
        const index = /Boot Index:\s+(\d+)/.exec(info.stdout)?.[1] ?? '1';
        const tree = (await runChecked('wimlib-imagex', ['dir', file, index])).stdout.split('\n').sort().join('\n');
        const into = join(dir, `wim-${name}`);
        await runChecked('wimlib-imagex', ['extract', file, index, '/Windows/System32/winpeshl.ini', '/lifeboat/launch.cmd', `--dest-dir=${into}`, '--no-acls']);
        const hash = async (p: string) => createHash('sha256').update(await readFile(join(into, p))).digest('hex');
        return { tree, winpeshl: await hash('winpeshl.ini'), launch: await hash('launch.cmd') };
      };
      assert.deepEqual(await wim(a, 'win'), await wim(b, 'linux'));
    });
  });

  describe('audit, backup-setup and plan under Wine', () => {
    let share: string;
    let site: string;
    before(async () => {
      share = join(dir, 'nas share');
      await makeShare({ root: share, xml: redate(await readRealVbm(), new Date(NOW.getTime() - 3_600_000)) });
      site = join(dir, 'site.yaml');
      await writeFile(site, siteYaml(['KERSERV'], { site: { name: 'Kerner Steuerbuero', id: 'kerner' } }));
    });

    test('audit on a share given as a Windows path (with a space) reports what the Linux exe reports', async () => {
      const w = await wine(['audit', '--site', winePath(site), '--share', winePath(share), '--now', NOW.toISOString(), '--json']);
      assert.equal(w.code, 0, w.stderr);
      const l = await linux(['audit', '--site', site, '--share', share, '--now', NOW.toISOString(), '--json']);
      assert.equal(l.code, 0, l.stderr);
      const [rw, rl] = [JSON.parse(w.stdout), JSON.parse(l.stdout)];
      assert.equal(rw.share, winePath(share));
      assert.equal(rw.servers[0].name, 'KERSERV');
      assert.equal(rw.servers[0].points.restorable, 15);
      assert.match(rw.servers[0].chains[0].vbm, /^VeeamAgentUser5cf2da00\/Kerserv_-_192\.168\.80\.1\/Kerserv -\.vbm$/, 'share-relative paths with /');
      delete rw.share;
      delete rl.share;
      assert.deepEqual(rw, rl);
      const bad = await wine(['audit', '--site', winePath(site), '--share', 'Q:\\no\\such\\share', '--now', NOW.toISOString()]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /Q:\\no\\such\\share/);
    });

    test('backup-setup writes the same files as on Linux; plan gives the same figures', async () => {
      const w = await wine(['backup-setup', '--site', winePath(site), '--out', winePath(join(dir, 'setup-win'))]);
      assert.equal(w.code, 0, w.stderr);
      const l = await linux(['backup-setup', '--site', site, '--out', join(dir, 'setup-linux')]);
      assert.equal(l.code, 0, l.stderr);
      const tree = async (root: string) => {
        const out: Record<string, string> = {};
        const walk = async (d: string) => {
          for (const e of await readdir(d, { withFileTypes: true })) {
            const p = join(d, e.name);
            if (e.isDirectory()) await walk(p);
            else out[relative(root, p)] = await sha256File(p);
          }
        };
        await walk(root);
        return out;
      };
      const files = await tree(join(dir, 'setup-win'));
      assert.ok(Object.keys(files).some((f) => f.endsWith('.xml')), Object.keys(files).join(', '));
      assert.deepEqual(files, await tree(join(dir, 'setup-linux')));

      const pw = await wine(['plan', '--site', winePath(site), '--share', winePath(share), '--json']);
      assert.equal(pw.code, 0, pw.stderr);
      const pl = await linux(['plan', '--site', site, '--share', share, '--json']);
      assert.equal(pl.code, 0, pl.stderr);
      const inJson = (p: string) => JSON.stringify(p).slice(1, -1);
      const strip = (s: string) => JSON.parse(s.split(inJson(winePath(share))).join('SHARE').split(inJson(share)).join('SHARE'));
      assert.deepEqual(strip(pw.stdout), strip(pl.stdout));
      assert.ok(existsSync(join(dir, 'setup-win')));
    });
  });
});
