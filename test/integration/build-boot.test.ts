/**
 * End to end: `lifeboat build` from a stand-in Veeam base whose boot files really boot, then
 *   - the USB image boots under OVMF as a USB disk (qemu-xhci + usb-storage) to \EFI\BOOT\BOOTX64.EFI (a GRUB
 *     binary printing `LIFEBOAT-BOOT-OK <marker> efi`), and under SeaBIOS through mbr.bin, syslinux and chain.c32
 *     `ntldr=/bootmgr` to a stand-in bootmgr printing its marker on COM1;
 *   - the ISO's files, copied to a folder, hold an assistant.exe that under Wine shows the site, unlocks the vault
 *     with the passphrase given at build time and refuses a wrong one without hanging.
 * The ISO itself is not booted: its UEFI El Torito image is the base's efisys.bin stand-in, which is not bootable.
 *
 * Wine: stdout and stderr go to files (a Wine pipe gives EBADF in node.exe; so does a piped stdin). Only the first
 * unlock attempt comes from LIFEBOAT_UNLOCK; later ones are typed, which is done in a tmux session (a real
 * terminal, so the prompt reads keystrokes one line at a time) or given as a file / /dev/null on stdin.
 * QEMU always runs with -accel tcg -nic none (test/helpers/qemu.ts).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { makeStandInBase } from '../../src/media/stand-in-base.js';
import { findSyslinux, isSyslinuxMissing } from '../../src/usb/bios-boot.js';
import { lifeboat } from '../helpers/cli.js';
import { cachedGrubBootFiles, type GrubBootFiles } from '../helpers/grub-fixture.js';
import { bootDisk, hasOvmf, hasQemu, plainSerial, type BootResult } from '../helpers/qemu.js';
import { standInBootmgr } from '../helpers/standin-bootmgr.js';
import { REPO_ROOT, hasCommand, mkTempDir, removeTempDir, runChecked, sha256File } from '../helpers/tools.js';

const GRUB_MARKER = 'build-boot';
const BOOTMGR_MARKER = 'LIFEBOAT-STANDIN-BOOTMGR-OK build-boot';
const SITE_FILE = join(REPO_ROOT, 'examples', 'site.yaml');
const SITE_ID = 'muster-stb';
const SITE_NAME = 'Muster Steuerberatung';
const SHARE_PASSWORD = 'Build-Boot-Share-Pw-4711';
const PASSPHRASE = 'correct-horse-battery-staple-Quokka-93';
const WRONG = 'correct-horse-battery-staple-Quokka-39';
const BOOT_TIMEOUT_MS = 60_000;
const WINE_TIMEOUT_MS = 60_000;
const NODE_VERSION = '22.22.2';
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function explain(r: BootResult): string {
  return `timedOut=${r.timedOut} exit=${r.exitCode} after ${Math.round(r.durationMs)} ms\n--- serial (tail) ---\n${plainSerial(r.serial).slice(-1500)}\n--- qemu stderr ---\n${r.stderr}`;
}

/** Output of the assistant with its prompt's ANSI sequences and CRs taken out. */
function plain(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/** Z:\path\to\dir: how a Windows program under Wine names a host path (Wine maps / as drive Z:). */
function winePath(p: string): string {
  return `Z:${p.replace(/\//g, '\\')}`;
}

describe('lifeboat build: the media boots and its assistant unlocks the vault', { timeout: 300_000 }, async () => {
  const needed = ['xorriso', 'wimlib-imagex', 'mformat', 'mcopy', 'grub-mkimage'];
  const missing: string[] = [];
  for (const t of needed) if (!(await hasCommand(t))) missing.push(t);
  const setupSkip = missing.length > 0 ? `missing ${missing.join(', ')} (make installs them)` : false;
  const syslinux = await findSyslinux();
  const qemu = await hasQemu();
  const skipUefi = setupSkip || (!qemu ? 'qemu-system-x86_64 is not installed' : !(await hasOvmf()) ? 'OVMF firmware (package ovmf) is not installed' : false);
  const skipBios = setupSkip || (!qemu ? 'qemu-system-x86_64 is not installed' : isSyslinuxMissing(syslinux) ? `syslinux is missing: ${syslinux.reason}` : false);

  let work = '';
  let out = '';
  let iso = '';
  let usb = '';
  let grub: GrubBootFiles;
  let buildStdout = '';

  before(async () => {
    if (setupSkip) return;
    const t0 = performance.now();
    work = await mkTempDir('build-boot');
    const exe = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-assistant.mjs')], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 600_000 });
    assert.equal(exe.status, 0, `scripts/build-assistant.mjs failed:\n${exe.stderr}`);
    grub = await cachedGrubBootFiles(GRUB_MARKER);
    const base = join(work, 'base.iso');
    await makeStandInBase(base, join(work, 'base-work'), {
      files: {
        bootmgr: standInBootmgr(BOOTMGR_MARKER),
        'efi/boot/bootx64.efi': await readFile(grub.bootx64Efi),
        'boot/grub/grub.cfg': await readFile(grub.grubCfg),
      },
    });
    const t1 = performance.now();
    out = join(work, 'out');
    const env = { ...process.env, LIFEBOAT_SHARE_PASSWORD: SHARE_PASSWORD, LIFEBOAT_UNLOCK: PASSPHRASE, NO_COLOR: '1' };
    const r = await lifeboat(['build', '--site', SITE_FILE, '--base', base, '--out', out], { env, timeoutMs: 180_000 });
    assert.equal(r.code, 0, `lifeboat build failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
    buildStdout = r.stdout + r.stderr;
    iso = join(out, `${SITE_ID}.iso`);
    usb = join(out, `${SITE_ID}-usb.img`);
    console.log(`# stand-in base ${Math.round(t1 - t0)} ms (incl. assistant.exe check), lifeboat build ${Math.round(r.durationMs)} ms`);
  });
  after(async () => {
    if (work) await removeTempDir(work);
  });

  test('lifeboat build writes the ISO, a UEFI+BIOS USB image, its block map, SHA256SUMS and the report', { skip: setupSkip }, async () => {
    const report = JSON.parse(await readFile(join(out, 'build-report.json'), 'utf8')) as {
      site: { id: string; name: string };
      usb: { built: boolean; bios: boolean; reason?: string };
      outputs: { file: string; sha256: string }[];
    };
    assert.equal(report.site.id, SITE_ID);
    assert.equal(report.site.name, SITE_NAME);
    assert.equal(report.usb.built, true);
    if (!isSyslinuxMissing(syslinux)) assert.equal(report.usb.bios, true, `the host has syslinux, yet: ${report.usb.reason}`);
    const sums = await readFile(join(out, 'SHA256SUMS'), 'utf8');
    for (const name of [`${SITE_ID}.iso`, `${SITE_ID}-usb.img`, `${SITE_ID}-usb.img.blockmap.json`]) {
      const line = sums.split('\n').find((l) => l.endsWith(`  ${name}`));
      assert.ok(line, `SHA256SUMS lists ${name}:\n${sums}`);
      assert.equal(line.slice(0, 64), await sha256File(join(out, name)), `${name} matches SHA256SUMS`);
    }
    assert.ok(!buildStdout.includes(SHARE_PASSWORD) && !buildStdout.includes(PASSPHRASE), 'the build output shows no secret');
  });

  test('the USB image boots under OVMF as a USB disk to \\EFI\\BOOT\\BOOTX64.EFI', { skip: skipUefi, timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const marker = `${grub.markerLine} efi`;
    const r = await bootDisk(usb, { firmware: 'uefi', bus: 'usb', timeoutMs: BOOT_TIMEOUT_MS, marker });
    console.log(`# OVMF USB boot: ${Math.round(r.durationMs)} ms`);
    assert.ok(r.markerSeen, `expected "${marker}" on serial\n${explain(r)}`);
    assert.match(plainSerial(r.serial), /USB/, 'OVMF booted the USB disk');
  });

  test('the USB image boots under SeaBIOS as a USB disk through syslinux to the stand-in bootmgr', { skip: skipBios, timeout: BOOT_TIMEOUT_MS + 30_000 }, async () => {
    const r = await bootDisk(usb, { firmware: 'bios', bus: 'usb', timeoutMs: BOOT_TIMEOUT_MS, marker: BOOTMGR_MARKER });
    console.log(`# SeaBIOS USB boot: ${Math.round(r.durationMs)} ms`);
    assert.ok(r.markerSeen, `expected "${BOOTMGR_MARKER}" on serial\n${explain(r)}`);
  });

  describe('assistant.exe from the ISO, under Wine', async () => {
    const wineMissing = !(await hasCommand('wine')) ? 'wine is not installed (scripts/setup-wine.sh installs it)' : false;
    const skip = setupSkip || wineMissing;
    const skipTmux = skip || (!(await hasCommand('tmux')) ? 'tmux is not installed (needed to type at the prompt)' : false);
    let env: NodeJS.ProcessEnv = {};
    let media = '';
    let exe = '';
    let tmuxSocket = '';

    before(async () => {
      if (skip) return;
      const setup = spawnSync(join(REPO_ROOT, 'scripts', 'setup-wine.sh'), [], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 900_000 });
      assert.equal(setup.status, 0, `scripts/setup-wine.sh failed:\n${setup.stderr}`);
      const prefix = setup.stdout.trim().split('\n').pop() ?? '';
      env = { ...process.env, WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
      delete env.DISPLAY;
      delete env.WAYLAND_DISPLAY;
      delete env.LIFEBOAT_UNLOCK;
      media = join(work, 'media');
      await runChecked('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', media]);
      await runChecked('chmod', ['-R', 'u+w', media]); // xorriso restores the ISO's read-only modes
      exe = join(media, 'lifeboat', 'assistant.exe');
      tmuxSocket = `lifeboat-build-boot-${process.pid}`;
    });
    after(() => {
      if (skip) return;
      if (tmuxSocket) spawnSync('tmux', ['-L', tmuxSocket, 'kill-server'], { stdio: 'ignore' });
      // No `wineserver -k`: the prefix is shared with assistant-exe.test.ts, which may run concurrently, and
      // wineserver exits by itself a few seconds after its last client.
    });

    interface WineRun {
      status: number | null;
      stdout: string;
      stderr: string;
      timedOut: boolean;
      ms: number;
    }

    /** wine assistant.exe ARGS with stdout/stderr in files; stdin from `stdinFile` or /dev/null; bounded. */
    async function runAssistant(args: string[], opts: { unlock?: string; stdinFile?: string; name: string }): Promise<WineRun> {
      const outPath = join(work, `${opts.name}.out`);
      const errPath = join(work, `${opts.name}.err`);
      const fds = [opts.stdinFile ? openSync(opts.stdinFile, 'r') : 'ignore', openSync(outPath, 'w'), openSync(errPath, 'w')] as const;
      const started = performance.now();
      const runEnv = { ...env, ...(opts.unlock === undefined ? {} : { LIFEBOAT_UNLOCK: opts.unlock }) };
      let timedOut = false;
      const status = await new Promise<number | null>((resolve, reject) => {
        const child = spawn('wine', [exe, ...args], { env: runEnv, stdio: [...fds] });
        const timer = setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, WINE_TIMEOUT_MS);
        child.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
      }).finally(() => {
        for (const fd of fds) if (typeof fd === 'number') closeSync(fd);
      });
      return { status, stdout: plain(await readFile(outPath, 'utf8')), stderr: await readFile(errPath, 'utf8'), timedOut, ms: performance.now() - started };
    }

    /**
     * Runs the assistant in a tmux session (a real terminal for its prompt; stdout and stderr still go to files) with
     * a wrong secret in LIFEBOAT_UNLOCK, then types each of `typed` when the previous attempt has been answered.
     */
    async function runInTmux(name: string, typed: string[]): Promise<WineRun> {
      const outPath = join(work, `${name}.out`);
      const errPath = join(work, `${name}.err`);
      const rcPath = join(work, `${name}.rc`);
      const script = join(work, `${name}.sh`);
      const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const exports = Object.entries({ WINEPREFIX: env.WINEPREFIX ?? '', WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', LIFEBOAT_UNLOCK: WRONG })
        .map(([k, v]) => `export ${k}=${q(v)}`)
        .join('\n');
      // timeout --foreground: the assistant must stay in the terminal's foreground process group to read from it.
      await writeFile(script, `#!/bin/sh\nunset DISPLAY WAYLAND_DISPLAY\n${exports}\ntimeout --foreground -s KILL ${WINE_TIMEOUT_MS / 1000} wine ${q(exe)} --check --media ${q(winePath(media))} >${q(outPath)} 2>${q(errPath)}\necho $? >${q(rcPath)}.tmp && mv ${q(rcPath)}.tmp ${q(rcPath)}\n`);
      await chmod(script, 0o755);
      const started = performance.now();
      const tmux = (...a: string[]) => runChecked('tmux', ['-L', tmuxSocket, ...a]);
      await tmux('new-session', '-d', '-s', name, '-x', '220', '-y', '50', script);
      const output = async () => plain(await readFile(outPath, 'utf8').catch(() => ''));
      const exists = (p: string) => stat(p).then(() => true, () => false);
      const waitFor = async (what: string, ok: () => Promise<boolean>) => {
        const deadline = performance.now() + WINE_TIMEOUT_MS;
        while (!(await ok())) {
          if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}; output so far:\n${await output()}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const attemptsAnswered = async () => (await output()).match(/cannot unlock the vault/g)?.length ?? 0;
      for (const [i, text] of typed.entries()) {
        // The prompt for attempt i+2 is up once attempt i+1 failed and the prompt line was drawn after it.
        await waitFor(`the prompt for attempt ${i + 2}`, async () => {
          const o = await output();
          return (await attemptsAnswered()) === i + 1 && /Recovery code or passphrase[^\n]*$/.test(o.trimEnd());
        });
        await tmux('send-keys', '-t', name, '-l', text);
        await tmux('send-keys', '-t', name, 'Enter');
      }
      await waitFor('the assistant to exit', () => exists(rcPath));
      const rc = Number((await readFile(rcPath, 'utf8')).trim());
      return { status: rc, stdout: await output(), stderr: await readFile(errPath, 'utf8'), timedOut: rc === 137, ms: performance.now() - started };
    }

    const diag = (r: WineRun) => `exit ${r.status}${r.timedOut ? ' (timed out)' : ''} after ${Math.round(r.ms)} ms\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr.slice(-2000)}`;

    test('the media carries build/assistant.exe byte for byte', { skip }, async () => {
      assert.equal(await sha256File(exe), await sha256File(join(REPO_ROOT, 'build', 'assistant.exe')));
    });

    test('--version prints the version line', { skip }, async () => {
      const r = await runAssistant(['--version'], { name: 'version' });
      assert.equal(r.status, 0, diag(r));
      assert.equal(r.stdout, `lifeboat-assistant ${VERSION} (node v${NODE_VERSION})\n`);
      console.log(`# wine assistant.exe --version: ${Math.round(r.ms)} ms`);
    });

    test('with the passphrase in LIFEBOAT_UNLOCK it shows the site and unlocks the share account', { skip }, async () => {
      const r = await runAssistant(['--check', '--media', winePath(media)], { unlock: PASSPHRASE, name: 'unlock-ok' });
      assert.equal(r.status, 0, diag(r));
      assert.ok(r.stdout.startsWith(`lifeboat-assistant ${VERSION}`), diag(r));
      assert.match(r.stdout, new RegExp(`Restore kit for ${SITE_NAME}`), diag(r));
      assert.ok(r.stdout.includes('\\\\nas01\\veeam'), `share path shown\n${diag(r)}`);
      assert.match(r.stdout, /^Unlocked\./m, diag(r));
      assert.ok(r.stdout.includes('MUSTER\\svc-restore'), `account shown\n${diag(r)}`);
      assert.ok(r.stdout.includes(`(${SHARE_PASSWORD.length} characters)`), `password length from the vault\n${diag(r)}`);
      assert.ok(!r.stdout.includes(SHARE_PASSWORD) && !r.stderr.includes(SHARE_PASSWORD), 'the password itself is not printed');
      assert.ok(!r.stdout.includes(PASSPHRASE), 'the passphrase is not printed');
      console.log(`# wine assistant.exe unlock: ${Math.round(r.ms)} ms`);
    });

    test('with a wrong LIFEBOAT_UNLOCK and nothing to type (stdin /dev/null) it says so and exits 1 without hanging', { skip }, async () => {
      const r = await runAssistant(['--check', '--media', winePath(media)], { unlock: WRONG, name: 'unlock-wrong' });
      assert.equal(r.timedOut, false, `hung\n${diag(r)}`);
      assert.equal(r.status, 1, diag(r));
      assert.match(r.stdout, /Restore kit for Muster Steuerberatung/, diag(r));
      assert.match(r.stdout, /cannot unlock the vault: wrong unlock secret/, diag(r));
      assert.match(r.stdout, /vault stays locked/, diag(r));
      assert.doesNotMatch(r.stdout, /^Unlocked/m, diag(r));
      assert.doesNotMatch(r.stdout, /unexpected error/, diag(r));
      console.log(`# wine assistant.exe wrong secret: ${Math.round(r.ms)} ms`);
    });

    test('a wrong LIFEBOAT_UNLOCK, then the right passphrase given on stdin (a file): unlocked', { skip }, async () => {
      const input = join(work, 'typed.txt');
      await writeFile(input, `${PASSPHRASE}\r\n`);
      const r = await runAssistant(['--check', '--media', winePath(media)], { unlock: WRONG, stdinFile: input, name: 'unlock-stdin' });
      assert.equal(r.status, 0, diag(r));
      assert.match(r.stdout, /2 attempts left/, diag(r));
      assert.match(r.stdout, /^Unlocked\./m, diag(r));
    });

    test('typed at the prompt in a terminal (tmux): wrong, wrong after a wrong LIFEBOAT_UNLOCK -> locked, exit 1', { skip: skipTmux }, async () => {
      const r = await runInTmux('three-wrong', ['wrong-one-battery-staple', 'wrong-two-battery-staple']);
      assert.equal(r.timedOut, false, `hung\n${diag(r)}`);
      assert.equal(r.status, 1, diag(r));
      assert.equal(r.stdout.match(/cannot unlock the vault/g)?.length, 3, diag(r));
      assert.match(r.stdout, /1 attempt left/, diag(r));
      assert.match(r.stdout, /Call Anna Berger \(\+49 89 4520 1170\)/, diag(r));
      assert.doesNotMatch(r.stdout, /^Unlocked/m, diag(r));
      console.log(`# tmux, three wrong attempts: ${Math.round(r.ms)} ms`);
    });

    test('typed at the prompt in a terminal (tmux): wrong, then right after a wrong LIFEBOAT_UNLOCK -> unlocked', { skip: skipTmux }, async () => {
      const r = await runInTmux('wrong-then-right', ['wrong-one-battery-staple', PASSPHRASE]);
      assert.equal(r.status, 0, diag(r));
      assert.equal(r.stdout.match(/cannot unlock the vault/g)?.length, 2, diag(r));
      assert.match(r.stdout, /^Unlocked\./m, diag(r));
      assert.ok(r.stdout.includes('MUSTER\\svc-restore'), diag(r));
      assert.ok(!r.stdout.includes(PASSPHRASE), 'the typed passphrase is masked');
      console.log(`# tmux, wrong then right: ${Math.round(r.ms)} ms`);
    });
  });
});
