/**
 * The Windows build of the assistant (build/assistant.exe, a Node single executable) under Wine, in a terminal
 * (tmux), on the healthy-physical training scenario: the same screens as `lifeboat assistant --simulate`, driven
 * with the same keys, from the media check to the records saved. Wine's console redraws prompts its own way (lines
 * broken where it likes), so the assertions look for substrings in the screen with its line breaks taken out.
 *
 * Under Wine, node.exe's stdout must not be a pipe (EBADF); in tmux it is the terminal. `timeout --foreground`
 * (in the tmux helper) keeps the program in the terminal's foreground process group so it can read the keys.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, hasCommand } from '../helpers/tools.js';
import { TmuxSession, flat, killAllTmux, tmuxMissing } from '../helpers/tmux.js';

const PASSPHRASE = 'training-lifeboat-restore-2026';
const SHARE_PASSWORD = 'training-share-password';
const EXE = join(REPO_ROOT, 'build', 'assistant.exe');
/** A prompt under Wine can take a few seconds (node.exe start-up, scrypt, the catalog). */
const STEP_MS = 30_000;

/** Z:\path\to\dir: how a Windows program under Wine names a host path (Wine maps / as drive Z:). */
function winePath(p: string): string {
  return `Z:${p.replace(/\//g, '\\')}`;
}

const skip = !(await hasCommand('wine')) ? 'wine is not installed (scripts/setup-wine.sh installs it; make test runs it)' : await tmuxMissing();

describe('assistant.exe --simulate under Wine, in a terminal (tmux)', { skip, timeout: 150_000 }, () => {
  let prefix = '';
  let t: TmuxSession | undefined;

  before(() => {
    const setup = spawnSync(join(REPO_ROOT, 'scripts', 'setup-wine.sh'), [], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 900_000 });
    assert.equal(setup.status, 0, `scripts/setup-wine.sh failed:\n${setup.stderr}`);
    prefix = setup.stdout.trim().split('\n').pop() ?? '';
    // Up to date after `make test`'s build; builds it when run alone.
    const build = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-assistant.mjs')], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 600_000 });
    assert.equal(build.status, 0, `scripts/build-assistant.mjs failed:\n${build.stderr}`);
  });

  after(async () => {
    await t?.kill();
    await killAllTmux();
    // No `wineserver -k`: the prefix is shared with other test files that may run at the same time; wineserver
    // ends by itself a few seconds after its last client.
  });

  test('healthy-physical: media check, machine, unlock, share, server, point, disk, summary card, Veeam, records saved', { timeout: 140_000 }, async () => {
    const started = performance.now();
    const scenario = winePath(join(REPO_ROOT, 'examples', 'scenarios', 'healthy-physical'));
    t = await TmuxSession.start(['wine', EXE, '--simulate', scenario], {
      name: 'wine-healthy',
      env: { WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' },
      unset: ['DISPLAY', 'WAYLAND_DISPLAY', 'LIFEBOAT_UNLOCK'],
      killAfterSeconds: 130,
    });
    const wait = (text: string, timeoutMs = STEP_MS) => t!.waitFor(text, { timeoutMs, flat: true }).then(flat);

    let s = await wait('Recovery code or passphrase (Esc: back)', 60_000);
    console.log(`# wine assistant.exe --simulate: first prompt after ${Math.round(performance.now() - started)} ms`);
    for (const part of [
      'Restore kit for Steuerbuero Kerner (training)',
      'Media check: all 4 files are as they were written.',
      'Booted in UEFI mode',
      'FUJITSU PRIMERGY TX1330 M5, 16 GB memory, 8 CPUs',
      'Disk 0: 1920 GB RAID FTS PRAID EP420i',
      'Disk 1: 32 GB USB SanDisk Ultra USB 3.0  <- the recovery media',
      'Network: Ethernet 192.168.80.50',
      'The NAS nas01 answers on the file sharing port (445).',
    ]) assert.ok(s.includes(part), `"${part}" on the screen:\n${await t.screen()}`);

    await t.answer(PASSPHRASE);
    s = await wait('Restore a server');
    assert.ok(s.includes('Unlocked.'), 'unlocked');
    assert.ok(s.includes('Connected to \\\\nas01\\veeam.'), 'share connected');
    await t.send('Enter');
    s = await wait('Which server do you restore?');
    await wait(', healthy');
    await t.send('Enter');
    await wait('Which restore point? (the newest good one is preselected)');
    await t.send('Enter');
    s = await wait('Restore onto which disk? EVERYTHING ON IT WILL BE ERASED.');
    assert.ok(s.includes('This is a DOMAIN CONTROLLER'), 'the domain controller warning');
    await wait('Disk 0: 1920 GB RAID FTS PRAID EP420i [empty]');
    await t.send('Enter');
    s = await wait('Type the disk number 0 to confirm this plan');
    assert.ok(s.includes('WILL BE LOST: everything on disk 0.'), 'the plan screen says what is lost');
    await t.answer('0');
    s = await wait('Show the share password now?');
    const card = s.slice(s.lastIndexOf('Hand-over to Veeam Bare Metal Recovery'));
    for (const part of ['\\\\nas01\\veeam', 'STB\\svc-restore', '(on request below)', 'KERSERV (job "Kerserv - 192.168.80.1")', '(increment)', 'Restore mode:        Entire computer', 'Target disk:         disk 0, 1920 GB FTS PRAID EP420i']) {
      assert.ok(card.includes(part), `"${part}" on the summary card:\n${await t.screen()}`);
    }
    await t.send('Enter'); // No
    await wait('Start Veeam Recovery now?');
    await t.send('Enter'); // Yes
    s = await wait('Remove the recovery media and restart.');
    assert.ok(s.includes('Veeam Recovery has ended (code 0).'));
    assert.equal(await t.waitForExit(STEP_MS), 0, await t.screen());
    assert.match(s, /Session log and restore report saved in [A-Z]:\\.*\\share\\lifeboat-logs\\KERSERV\\/);
    assert.match(s, /Session log and restore report saved in [A-Z]:\\.*\\x\\lifeboat-logs\\KERSERV\\/);
    assert.ok(!s.includes(PASSPHRASE) && !s.includes(SHARE_PASSWORD), 'no secret on the screen');
    assert.ok(!s.includes('unexpected error'), 'no unexpected error');
    console.log(`# wine assistant.exe --simulate healthy-physical, whole flow: ${Math.round(performance.now() - started)} ms`);
  });
});
