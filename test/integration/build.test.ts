/**
 * `lifeboat build` end to end on a stand-in Veeam recovery ISO: outputs verified by our verifier and by independent
 * tools (xorriso, wimlib-imagex, fsck.fat, mtools), no secret in any byte of any artifact, bad input refused with
 * exit 2 and nothing at the final paths.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, open, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IsoImage, allFiles } from '../../src/iso/index.js';
import { makeStandInBase } from '../../src/media/stand-in-base.js';
import { Secret, openVault, parseRecoveryCode, scanFileForSecrets } from '../../src/secrets/index.js';
import { decodeIni, parseWinpeshl } from '../../src/wim/winpeshl.js';
import { LIFEBOAT_BIN, lifeboat } from '../helpers/cli.js';
import { REPO_ROOT, mkTempDir, removeTempDir, run, runChecked, sha256, sha256File } from '../helpers/tools.js';
import { scanBlockMap } from '../../src/usb/block-map.js';

const SITE = join(REPO_ROOT, 'examples', 'site.yaml');
const PASSWORD = 'Share-Pa55word-for-the-NAS!';
const PASSPHRASE = 'correct-horse-battery-staple-Quokka-93';
const exists = (p: string) => stat(p).then(() => true, () => false);

function secretsEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, LIFEBOAT_SHARE_PASSWORD: PASSWORD, LIFEBOAT_UNLOCK: PASSPHRASE, NO_COLOR: '1', ...extra };
}

async function bootImageHashes(iso: string, dir: string): Promise<string[]> {
  await runChecked('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract_boot_images', `${dir}/`]);
  const names = (await readdir(dir)).filter((n) => /_img\d+_/.test(n)).sort();
  return Promise.all(names.map((n) => sha256File(join(dir, n))));
}

describe('lifeboat build from a stand-in Veeam recovery ISO', () => {
  let dir: string;
  let base: string;
  let out: string;
  let stderr: string;
  let report: {
    buildId: string; autostart: { enabled: boolean; tool?: string; launches: string[] }; usb: { built: boolean; bios: boolean };
    outputs: { file: string; bytes: number; sha256: string }[]; warnings: string[];
  };

  before(async () => {
    dir = await mkTempDir('build');
    base = join(dir, 'veeam.iso');
    await makeStandInBase(base, join(dir, 'base-work'));
    out = join(dir, 'out');
    const r = await lifeboat(['build', '--site', SITE, '--base', base, '--out', out, '--json'], { env: secretsEnv() });
    assert.equal(r.code, 0, r.stderr);
    stderr = r.stderr;
    report = JSON.parse(r.stdout);
  });
  after(() => removeTempDir(dir));

  test('the outputs are all there, with the hashes the report and SHA256SUMS give', async () => {
    assert.deepEqual((await readdir(out)).sort(), ['SHA256SUMS', 'build-report.json', 'muster-stb-manual.html', 'muster-stb-manual.pdf', 'muster-stb-usb.img', 'muster-stb-usb.img.blockmap.json', 'muster-stb-usb.img.bmap', 'muster-stb.iso']);
    const sums = await readFile(join(out, 'SHA256SUMS'), 'utf8');
    for (const o of report.outputs) {
      assert.equal(await sha256File(join(out, o.file)), o.sha256, o.file);
      assert.ok(sums.includes(`${o.sha256}  ${o.file}`));
    }
    assert.equal(report.autostart.enabled, true);
    assert.equal(report.autostart.tool, 'lifeboat', 'our own WIM engine did the autostart');
    assert.deepEqual(report.autostart.launches, ['X:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe']);
    assert.deepEqual(report.usb, { built: true, bios: true });
    assert.deepEqual(report.warnings, []);
  });

  test('lifeboat verify passes on the ISO and on the USB image', async () => {
    for (const file of ['muster-stb.iso', 'muster-stb-usb.img']) {
      const r = await lifeboat(['verify', join(out, file), '--json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const v = JSON.parse(r.stdout);
      assert.equal(v.ok, true);
      assert.ok(v.checks.find((c: { name: string }) => c.name === 'manifest').detail.match(/^\d+ files match/));
    }
  });

  test("xorriso shows the base's El Torito entries unchanged and the boot images byte-identical", async () => {
    const report = async (iso: string) => (await runChecked('xorriso', ['-indev', iso, '-report_el_torito', 'plain'])).stdout
      .split('\n').filter((l) => l.startsWith('El Torito boot img')).map((l) => l.replace(/\s+\d+\s*$/, ''));
    assert.deepEqual(await report(join(out, 'muster-stb.iso')), await report(base));
    assert.deepEqual(await bootImageHashes(join(out, 'muster-stb.iso'), join(dir, 'b1')), await bootImageHashes(base, join(dir, 'b2')));
  });

  test("the boot image holds launch.cmd and a winpeshl.ini that runs wpeinit, the assistant, then Veeam's program", async () => {
    const x = join(dir, 'iso-files');
    await runChecked('xorriso', ['-osirrox', 'on', '-indev', join(out, 'muster-stb.iso'), '-extract', '/sources/boot.wim', join(x, 'boot.wim')]);
    const ini = await runChecked('wimlib-imagex', ['extract', join(x, 'boot.wim'), '1', '/Windows/System32/winpeshl.ini', '--to-stdout'], {});
    const parsed = parseWinpeshl(decodeIni(Buffer.from(ini.stdout, 'latin1')));
    assert.deepEqual(parsed.apps.map((a) => a.path.toLowerCase()), [
      '%systemroot%\\system32\\wpeinit.exe', '%systemroot%\\system32\\cmd.exe', 'x:\\veeamrecovery\\veeam.endpoint.recovery.exe',
    ]);
    assert.match(parsed.apps[1]!.args ?? '', /lifeboat\\launch\.cmd/i);
    const launch = await runChecked('wimlib-imagex', ['extract', join(x, 'boot.wim'), '1', '/lifeboat/launch.cmd', '--to-stdout']);
    assert.match(launch.stdout, /assistant\.exe/);
    const files = await runChecked('wimlib-imagex', ['dir', join(x, 'boot.wim'), '1']);
    assert.match(files.stdout, /VeeamRecovery\/Veeam\.Endpoint\.Recovery\.exe/);
  });

  test('the USB image: one active FAT32 partition, fsck.fat clean, every file equal to the ISO', async () => {
    const usb = join(out, 'muster-stb-usb.img');
    const table = JSON.parse((await runChecked('sfdisk', ['-J', usb])).stdout).partitiontable;
    assert.equal(table.partitions.length, 1);
    assert.equal(table.partitions[0].type, 'c');
    assert.equal(table.partitions[0].bootable, true);
    const part = join(dir, 'partition.img');
    await runChecked('dd', [`if=${usb}`, `of=${part}`, 'bs=1M', `skip=${table.partitions[0].start / 2048}`, `count=${Math.ceil(table.partitions[0].size / 2048)}`, 'status=none']);
    const fsck = await run('fsck.fat', ['-n', part]);
    assert.equal(fsck.code, 0, fsck.stdout + fsck.stderr);
    const fromIso = join(dir, 'from-iso');
    const fromUsb = join(dir, 'from-usb');
    await runChecked('xorriso', ['-osirrox', 'on', '-indev', join(out, 'muster-stb.iso'), '-extract', '/', fromIso]);
    await mkdir(fromUsb);
    await runChecked('mcopy', ['-s', '-n', '-i', part, '::/*', fromUsb]);
    const list = async (root: string, rel = ''): Promise<string[]> => {
      const names = await readdir(join(root, rel), { withFileTypes: true });
      const outList: string[] = [];
      for (const n of names) {
        const r = rel ? `${rel}/${n.name}` : n.name;
        if (n.isDirectory()) outList.push(...(await list(root, r)));
        else outList.push(r);
      }
      return outList;
    };
    const isoList = (await list(fromIso)).sort();
    // Each medium carries its own media manifest (lifeboat/MEDIA.sha256); every other file is the same.
    for (const f of isoList.filter((f) => f !== 'lifeboat/MEDIA.sha256')) assert.equal(await sha256File(join(fromUsb, f)), await sha256File(join(fromIso, f)), f);
    assert.match(await readFile(join(fromUsb, 'lifeboat/MEDIA.sha256'), 'utf8'), /^# lifeboat media manifest 1 usb\n/);
    assert.match(await readFile(join(fromIso, 'lifeboat/MEDIA.sha256'), 'utf8'), /^# lifeboat media manifest 1 iso\n/);
    const extra = (await list(fromUsb)).filter((f) => !isoList.includes(f)).sort();
    assert.deepEqual(extra, ['syslinux/chain.c32', 'syslinux/ldlinux.c32', 'syslinux/ldlinux.sys', 'syslinux/libcom32.c32', 'syslinux/libutil.c32', 'syslinux/syslinux.cfg']);
  });

  test('the block map covers every non-zero block of the USB image, and its hashes match', async () => {
    const usb = join(out, 'muster-stb-usb.img');
    const map = JSON.parse(await readFile(`${usb}.blockmap.json`, 'utf8')) as { imageSize: number; ranges: { start: number; length: number; sha256: string }[] };
    const union: { start: number; end: number }[] = [];
    for (const r of map.ranges) {
      const last = union.at(-1);
      if (last && r.start <= last.end) last.end = Math.max(last.end, r.start + r.length);
      else union.push({ start: r.start, end: r.start + r.length });
    }
    const inMap = (start: number, end: number) => union.some((u) => u.start <= start && end <= u.end);
    const scan = await scanBlockMap(usb);
    for (const r of scan.ranges) assert.ok(inMap(r.start, r.start + r.length), `non-zero bytes at ${r.start} are outside the map`);
    const fh = await open(usb, 'r');
    try {
      for (const r of map.ranges.slice(0, 40)) {
        const buf = Buffer.alloc(r.length);
        await fh.read(buf, 0, r.length, r.start);
        assert.equal(sha256(buf), r.sha256, `range at ${r.start}`);
      }
    } finally {
      await fh.close();
    }
    assert.equal(scan.imageSha256, report.outputs.find((o) => o.file === 'muster-stb-usb.img')!.sha256);
  });

  test('no secret in any artifact or output: password and passphrase in UTF-8, UTF-16LE and base64', async () => {
    const secrets = [new Secret(PASSWORD), new Secret(PASSPHRASE)];
    for (const name of await readdir(out)) {
      const hits = await scanFileForSecrets(join(out, name), secrets);
      assert.deepEqual(hits, [], `${name} holds a secret`);
    }
    assert.ok(!stderr.includes(PASSWORD) && !stderr.includes(PASSPHRASE));
  });

  test('the vault on the media opens with the passphrase and holds the share credentials', async () => {
    const image = await IsoImage.open(join(out, 'muster-stb.iso'));
    try {
      const read = async (p: string) => {
        const chunks: Buffer[] = [];
        for await (const c of image.stream(image.find(p)!.extents)) chunks.push(c);
        return Buffer.concat(chunks);
      };
      const vault = await read('/lifeboat/vault.json');
      const payload = await openVault(vault, new Secret(PASSPHRASE), 'muster-stb');
      assert.equal(payload.share.password.reveal(), PASSWORD);
      assert.equal(payload.share.user, 'svc-restore');
      await assert.rejects(openVault(vault, new Secret('wrong-passphrase-entirely-9'), 'muster-stb'), /wrong unlock secret/);
      const site = JSON.parse((await read('/lifeboat/site.json')).toString());
      assert.equal(site.buildId, report.buildId);
      assert.equal(site.veeamLaunch[0].path, 'X:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe');
      assert.ok(image.find('/lifeboat/drivers/virtio/viostor.inf'));
      assert.ok(image.find('/lifeboat/start.cmd'));
    } finally {
      await image.close();
    }
  });

  test('--generate-code: the code is shown once, opens the vault, and is in no artifact', async () => {
    const o = join(dir, 'code');
    const r = await lifeboat(['build', '--site', SITE, '--base', base, '--out', o, '--generate-code', '--no-usb'], { env: secretsEnv({ LIFEBOAT_UNLOCK: '' }) });
    assert.equal(r.code, 0, r.stderr);
    const shown = /\b(\d{5}(?:-\d{5}){7})\b/.exec(r.stderr)?.[1];
    assert.ok(shown, r.stderr);
    assert.equal(r.stderr.split(shown!).length, 2, 'shown exactly once');
    const parsed = parseRecoveryCode(shown!);
    assert.ok(parsed.ok);
    const image = await IsoImage.open(join(o, 'muster-stb.iso'));
    try {
      const chunks: Buffer[] = [];
      for await (const c of image.stream(image.find('/lifeboat/vault.json')!.extents)) chunks.push(c);
      const payload = await openVault(Buffer.concat(chunks), new Secret(shown!), 'muster-stb');
      assert.equal(payload.share.password.reveal(), PASSWORD);
    } finally {
      await image.close();
    }
    // The code is printed on the manual's sealed page only: in no other output, and not in the manual on the media.
    for (const name of await readdir(o)) {
      // The printed manual and the sealed page on its own hold the code (0600); the copy to share does not.
      const withCode = name.startsWith('muster-stb-manual.') || name.startsWith('muster-stb-recovery-code.');
      const secrets = withCode ? [new Secret(PASSWORD)] : [new Secret(shown!), new Secret(PASSWORD)];
      if (withCode) assert.equal((await stat(join(o, name))).mode & 0o777, 0o600, `${name} is readable by its owner only`);
      assert.deepEqual(await scanFileForSecrets(join(o, name), secrets), [], name);
    }
    assert.ok((await readdir(o)).includes('muster-stb-recovery-code.pdf') && (await readdir(o)).includes('muster-stb-manual-shareable.pdf'), 'the sealed page as its own PDF, and a copy to share');
    assert.match(await readFile(join(o, 'SHA256SUMS'), 'utf8'), /muster-stb-recovery-code\.pdf/);
    const printed = await readFile(join(o, 'muster-stb-manual.html'), 'utf8');
    for (const group of shown!.split('-')) assert.ok(printed.includes(group), `the printed manual's sealed page carries group ${group}`);
    const media = await IsoImage.open(join(o, 'muster-stb.iso'));
    try {
      const onMedia = [...allFiles(media.root)].find((f) => f.path.startsWith('/lifeboat/manual/'))!;
      const chunks: Buffer[] = [];
      for await (const c of media.stream(onMedia.extents)) chunks.push(c);
      const text = Buffer.concat(chunks).toString('utf8');
      assert.ok(text.includes('Muster Steuerberatung'), 'the manual on the media is the site manual');
      assert.ok(!text.includes('Sealed page: recovery code'), 'the manual on the media has no sealed page');
      assert.ok(!text.replace(/\D/g, '').includes(shown!.replace(/-/g, '')), 'nor the code in any form');
    } finally {
      await media.close();
    }
  });

  test('--no-prompt-boot boots UEFI from efisys_noprompt.bin and drops bootfix.bin', async () => {
    const o = join(dir, 'noprompt');
    const r = await lifeboat(['build', '--site', SITE, '--base', base, '--out', o, '--no-prompt-boot', '--no-usb', '--json'], { env: secretsEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).noPromptBoot, { requested: true, applied: true });
    const image = await IsoImage.open(join(o, 'muster-stb.iso'));
    try {
      const efi = image.bootImages.find((b) => b.platform === 'UEFI')!;
      const noprompt = image.find('/efi/microsoft/boot/efisys_noprompt.bin')!;
      assert.equal(efi.lba * 2048, noprompt.extents[0]!.offset);
      assert.equal(image.find('/boot/bootfix.bin'), undefined);
    } finally {
      await image.close();
    }
  });

  test('--wim-tool wimlib-imagex does the autostart with wimlib and says so; an unknown tool is exit 2', async () => {
    const o = join(dir, 'wimlib');
    const r = await lifeboat(['build', '--site', SITE, '--base', base, '--out', o, '--wim-tool', 'wimlib-imagex', '--no-usb', '--json'], { env: secretsEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).autostart.tool, 'wimlib-imagex');
    const bad = await lifeboat(['build', '--site', SITE, '--base', base, '--out', join(dir, 'bad-tool'), '--wim-tool', '7z', '--no-usb'], { env: secretsEnv() });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /WIM tool "7z": unknown; expected one of lifeboat, wimlib-imagex, dism/);
  });

  test('--no-autostart leaves boot.wim untouched and says so', async () => {
    const o = join(dir, 'noauto');
    const r = await lifeboat(['build', '--site', SITE, '--base', base, '--out', o, '--no-autostart', '--no-usb', '--json'], { env: secretsEnv() });
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.equal(rep.autostart.enabled, false);
    assert.match(rep.warnings.join('\n'), /start\.cmd from Veeam's Tools > Command Prompt/);
    const baseImage = await IsoImage.open(base);
    const built = await IsoImage.open(join(o, 'muster-stb.iso'));
    try {
      assert.deepEqual(built.find('/sources/boot.wim')!.size, baseImage.find('/sources/boot.wim')!.size);
    } finally {
      await baseImage.close();
      await built.close();
    }
  });
});

describe('lifeboat build refuses bad input with exit 2 and leaves nothing behind', () => {
  let dir: string;
  let base: string;
  before(async () => {
    dir = await mkTempDir('build-bad');
    base = join(dir, 'veeam.iso');
    await makeStandInBase(base, join(dir, 'base-work'));
  });
  after(() => removeTempDir(dir));

  async function refused(args: string[], pattern: RegExp, env = secretsEnv()): Promise<void> {
    const o = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const r = await lifeboat(['build', '--out', o, ...args], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.deepEqual(await readdir(o).catch(() => []), [], 'nothing in the output folder');
  }

  test('a Linux ISO as base names what is missing', async () => {
    const tree = join(dir, 'linux');
    await mkdir(join(tree, 'boot', 'grub'), { recursive: true });
    await writeFile(join(tree, 'boot', 'grub', 'grub.cfg'), 'menuentry x {}\n');
    const linux = join(dir, 'linux.iso');
    await runChecked('xorriso', ['-as', 'mkisofs', '-quiet', '-o', linux, tree]);
    await refused(['--site', SITE, '--base', linux], /is not Windows PE recovery media: missing \/bootmgr, \/boot\/bcd, \/efi\/boot\/bootx64\.efi, \/sources\/boot\.wim, a BIOS El Torito boot entry, a UEFI El Torito boot entry/);
  });

  test('a truncated base', async () => {
    const cut = join(dir, 'cut.iso');
    await copyFile(base, cut);
    await truncate(cut, 200_000);
    await refused(['--site', SITE, '--base', cut], /cut\.iso" is not a usable ISO 9660 image: .*truncated/);
  });

  test('Windows PE media that does not start Veeam, unless --force', async () => {
    const pe = join(dir, 'plain-pe.iso');
    await makeStandInBase(pe, join(dir, 'pe-work'), { winpeshl: null });
    await refused(['--site', SITE, '--base', pe], /does not start Veeam Recovery.*\n.*--force/);
    const r = await lifeboat(['build', '--site', SITE, '--base', pe, '--out', join(dir, 'forced'), '--force', '--no-usb'], { env: secretsEnv() });
    assert.equal(r.code, 0, r.stderr);
  });

  test('a missing site field names file, line and path', async () => {
    const site = join(dir, 'site.yaml');
    await writeFile(site, (await readFile(SITE, 'utf8')).replace('  user: svc-restore\n', ''));
    await copyFile(SITE, join(dir, 'unused.yaml'));
    await mkdir(join(dir, 'drivers'), { recursive: true });
    await rm(join(dir, 'drivers'), { recursive: true });
    await runChecked('cp', ['-r', join(REPO_ROOT, 'examples', 'drivers'), join(dir, 'drivers')]);
    await refused(['--site', site, '--base', base], /site\.yaml:\d+: share\.user: /);
  });

  test('an unreadable driver folder', async () => {
    const site = join(dir, 'site-drivers.yaml');
    await writeFile(site, (await readFile(SITE, 'utf8')).replace('virtio: drivers/virtio', 'virtio: drivers/no-such-folder'));
    await refused(['--site', site, '--base', base], /cannot read the virtio driver folder ".*no-such-folder": ENOENT/);
  });

  test('a weak passphrase is refused with the reason', async () => {
    await refused(['--site', SITE, '--base', base], /unlock passphrase|LIFEBOAT_UNLOCK|too short|at least/i, secretsEnv({ LIFEBOAT_UNLOCK: 'password1' }));
  });

  test('no space left on the output file system', async (t) => {
    const small = join(dir, 'small-fs');
    await mkdir(small);
    const mounted = process.getuid?.() === 0 && (await run('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', small])).code === 0;
    if (!mounted) return t.skip('needs root and tmpfs mounts to make a small file system');
    try {
      const r = await lifeboat(['build', '--site', SITE, '--base', base, '--out', join(small, 'out')], { env: secretsEnv() });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /not enough space|disk is full/);
      assert.deepEqual(await readdir(join(small, 'out')).catch(() => []), []);
    } finally {
      await run('umount', [small]);
    }
  });

  test('killed mid-build: no file at the final paths; a rerun succeeds', async () => {
    const o = join(dir, 'killed');
    const child = spawn(process.execPath, [LIFEBOAT_BIN, 'build', '--site', SITE, '--base', base, '--out', o], { env: secretsEnv(), stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    const store = join(dir, '.killed.lifeboat');
    for (let i = 0; i < 4000; i++) {
      const partial = (await readdir(store).catch(() => [])).find((n) => n.startsWith('partial-'));
      if (partial && (await readdir(join(store, partial)).catch(() => [])).some((n) => n.endsWith('.iso'))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    assert.deepEqual(await readdir(o).catch(() => []), [], 'no output at a final path');
    const r = await lifeboat(['build', '--site', SITE, '--base', base, '--out', o], { env: secretsEnv() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(o)).sort(), ['SHA256SUMS', 'build-report.json', 'muster-stb-manual.html', 'muster-stb-manual.pdf', 'muster-stb-usb.img', 'muster-stb-usb.img.blockmap.json', 'muster-stb-usb.img.bmap', 'muster-stb.iso'], 'the stale staging folder was cleared');
    assert.ok(await exists(join(o, 'muster-stb.iso')));
  });
});
