/**
 * The restore assistant as a technician meets it: `lifeboat assistant --simulate <scenario>` in a terminal (tmux),
 * driven with keys and checked on the screens, then on the session log and restore report it writes to the
 * (simulated) share. One test per training scenario's way of going wrong; the tests run side by side.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { LIFEBOAT_BIN } from '../helpers/cli.js';
import { REPO_ROOT, mkTempDir, removeTempDir } from '../helpers/tools.js';
import { TmuxSession, killAllTmux, tmuxMissing } from '../helpers/tmux.js';

const PASSPHRASE = 'training-lifeboat-restore-2026';
const SHARE_PASSWORD = 'training-share-password';
const SCENARIOS = join(REPO_ROOT, 'examples', 'scenarios');
const TEST_TIMEOUT_MS = 60_000;

const skip = (await tmuxMissing())
  || ((await stat(join(REPO_ROOT, 'dist', 'cli', 'main.js')).then(() => false, () => true)) ? 'the CLI is not built (npx tsc -p tsconfig.json; make test does it)' : false);

/** Every file under `dir` (recursively), absolute paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

interface Run {
  t: TmuxSession;
  /** The --keep folder: media, share (share/), scratch (x/). */
  dir: string;
}

const running: Run[] = [];
after(async () => {
  for (const r of running) {
    await r.t.kill();
    await removeTempDir(r.dir).catch(() => undefined);
  }
  await killAllTmux();
});

async function startAssistant(scenario: string, opts: { width?: number; dir?: string } = {}): Promise<Run> {
  const dir = opts.dir ?? (await mkTempDir(`assistant-${scenario.replace(/[^\w-]/g, '_').slice(-40)}`));
  const folder = scenario.startsWith('/') ? scenario : join(SCENARIOS, scenario);
  const t = await TmuxSession.start([process.execPath, LIFEBOAT_BIN, 'assistant', '--simulate', folder, '--keep', dir], { name: 'assistant', killAfterSeconds: 90, width: opts.width ?? 200 });
  const r = { t, dir };
  running.push(r);
  return r;
}

/** Start to the unlock prompt: the passphrase typed, unlocked. */
async function unlockIt(t: TmuxSession): Promise<void> {
  await t.waitFor('? Recovery code or passphrase (Esc: back)', 30_000);
  const m = await t.mark();
  await t.answer(PASSPHRASE);
  await t.waitFor('OK Unlocked.', { after: m - 1 });
}

/**
 * A scenario of examples/scenarios changed for one test (`change` edits its JSON), written to a temp folder; returns
 * the folder to give startAssistant.
 */
async function variant(name: string, change: (json: Record<string, any>) => void): Promise<string> {
  const json = JSON.parse(await readFile(join(SCENARIOS, name, 'scenario.json'), 'utf8')) as Record<string, any>;
  const dir = await mkTempDir(`scenario-${name}`);
  const folder = join(dir, 'scenario');
  await mkdir(folder);
  // Paths in a scenario are relative to its folder.
  json.site = relative(folder, join(SCENARIOS, 'training-site.yaml'));
  json.share.vbm = json.share.vbm.map((v: string) => relative(folder, join(SCENARIOS, name, v)));
  change(json);
  await writeFile(join(folder, 'scenario.json'), JSON.stringify(json));
  running.push({ t: { kill: async () => undefined } as unknown as TmuxSession, dir });
  return folder;
}

/** Text drawn at the bottom after an Esc or an answer: waits for `pattern` after the current prompt line. */
async function then(t: TmuxSession, act: () => Promise<void>, pattern: string | RegExp): Promise<string> {
  const m = await t.mark();
  await act();
  return t.waitFor(pattern, { after: m });
}

/** Start to the main menu, then "Restore a server": returns at the server prompt. */
async function toServerPrompt(t: TmuxSession): Promise<void> {
  await unlockIt(t);
  await t.waitFor(/\? Choose \(Esc: back\)\n. Restore a server/);
  await t.send('Enter');
  await t.waitFor('? Which server do you restore?');
}

/** The choices of the prompt drawn last whose message contains `message` (the lines up to the key help). */
function choicesOf(screen: string, message: string): string {
  const at = screen.lastIndexOf(message);
  assert.ok(at >= 0, `no prompt "${message}" on the screen:\n${screen}`);
  const rest = screen.slice(at);
  const end = rest.indexOf('navigate');
  return end >= 0 ? rest.slice(0, end) : rest;
}

/** The records written under <share>/lifeboat-logs/<server>/<stamp>/ (or the scratch folder's, x/). */
async function records(dir: string, server: string, where: 'share' | 'x' = 'share'): Promise<{ folder: string; report: Record<string, any>; log: string; text: string }> {
  const base = join(dir, where, 'lifeboat-logs', server);
  const stamps = await readdir(base);
  assert.equal(stamps.length, 1, `one session folder under ${base}: ${stamps.join(', ')}`);
  const folder = join(base, stamps[0]!);
  const report = JSON.parse(await readFile(join(folder, 'restore-report.json'), 'utf8')) as Record<string, any>;
  return { folder, report, log: await readFile(join(folder, 'session.log'), 'utf8'), text: await readFile(join(folder, 'restore-report.txt'), 'utf8') };
}

/** No file the assistant wrote (share records, scratch copies, the running log) holds a secret. */
async function assertNoSecretsWritten(dir: string): Promise<void> {
  const files = [...(await filesUnder(join(dir, 'share', 'lifeboat-logs'))), ...(await filesUnder(join(dir, 'x')))];
  assert.ok(files.length >= 3, `records written: ${files.join(', ')}`);
  for (const f of files) {
    const text = await readFile(f, 'utf8');
    assert.ok(!text.includes(SHARE_PASSWORD), `${f} holds the share password`);
    assert.ok(!text.includes(PASSPHRASE), `${f} holds the unlock passphrase`);
  }
}


/** The plan screen, confirmed by typing the disk number; returns the screen part. */
async function confirmPlan(t: TmuxSession, disk = 0): Promise<string> {
  const s = await t.waitFor(`? Type the disk number ${disk} to confirm this plan`);
  await t.answer(String(disk));
  return s;
}

/** From the menu (Choose): restore, the server, the point and the first disk, then the plan confirmed. */
async function menuToPlanConfirmed(t: TmuxSession): Promise<void> {
  for (const next of ['? Which server do you restore?', '? Which restore point?', '? Restore onto which disk?']) {
    await t.send('Enter');
    await t.waitFor(next);
  }
  await t.send('Enter');
  await confirmPlan(t);
}

/** Hand-over without showing the password, start Veeam, wait for the end. */
async function handOverAndFinish(t: TmuxSession): Promise<string> {
  await t.waitFor('? Show the share password now?');
  await t.send('Enter');
  await t.waitFor('? Start Veeam Recovery now?');
  await t.send('Enter');
  const s = await t.waitFor('Remove the recovery media and restart.');
  assert.equal(await t.waitForExit(), 0);
  return s;
}

const STOPPED = /Stopped \(Ctrl\+C\) at "([^"]+)": nothing was written to or changed on this machine's disks\. Start again with \\lifeboat\\start\.cmd\./;

describe('the restore assistant in a terminal (tmux), as a technician drives it', { skip, concurrency: 3, timeout: 600_000 }, () => {
  test('healthy-physical: machine check, unlock, backups, plan screen, hand-over, records as JSON and text', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('healthy-physical');
    let s = await t.waitFor('? Recovery code or passphrase (Esc: back)', 30_000);
    assert.match(s, /Restore kit for Steuerbuero Kerner \(training\)/);
    assert.match(s, /OK Media check: all \d+ files are as they were written\./);
    assert.match(s, /Booted in UEFI mode/);
    assert.match(s, /Disk 1: 32 GB USB SanDisk Ultra USB 3\.0 {2}<- the recovery media/);
    // The machine is checked before any secret is typed.
    const check = s.indexOf('== Can this machine take the restore? ==');
    assert.ok(check > 0 && check < s.indexOf('== Unlock the share credentials =='), 'the machine check comes before the unlock');
    assert.match(s, /OK Firmware: this machine booted in UEFI mode, as the backups need\./);
    assert.match(s, /OK Disks: disk 0 \(1920 GB\) can take a restore\./);
    assert.match(s, /Type the unlock passphrase for this media\./);
    await t.answer(PASSPHRASE);
    s = await t.waitFor(/\? Choose \(Esc: back\)/);
    assert.match(s, /Recovery code or passphrase \(Esc: back\) \*{10,}/, 'the passphrase is masked');
    assert.match(s, /OK Connected to \\\\nas01\\veeam\./);
    assert.match(s, /Restore a server\n {2}Save diagnostics from a failed system first\n {2}Repair a restored Windows that does not start\n {2}Quit/);
    await t.send('Enter');
    s = await t.waitFor('? Which server do you restore?');
    assert.match(choicesOf(s, 'Which server do you restore?'), /KERSERV +newest .* \(2 hours old\), healthy/);
    await t.send('Enter');
    s = await t.waitFor('? Which restore point? (the newest good one is preselected) Times: server time (UTC+2)');
    await t.send('Enter');
    s = await t.waitFor('? Restore onto which disk? EVERYTHING ON IT WILL BE ERASED. (Esc: back)');
    assert.match(s, /Restore point: \d{1,2} \w{3} \d{4} \d{2}:\d{2} server time \(UTC\+2\), increment\./, 'the point carries its time zone');
    assert.doesNotMatch(s, /WORK WILL BE LOST/, 'a point within the RPO needs no acknowledgement');
    assert.match(s, /volumes EFI 35 MB used, C: 64 GB used/, 'small volumes in MB, not "0.0 GB"');
    assert.match(choicesOf(s, 'Restore onto which disk?'), /Disk 0: 1920 GB RAID FTS PRAID EP420i \[empty\]/);
    await t.send('Enter');
    s = await confirmPlan(t);
    const plan = s.slice(s.lastIndexOf('== The restore plan =='));
    for (const line of [
      /Restore: +KERSERV \(job "Kerserv - 192\.168\.80\.1"\)/,
      /Point: +\d{1,2} \w{3} \d{4} \d{2}:\d{2} server time \(UTC\+2\) \(increment\)/,
      /Backup disk: +0: 1919 GB GPT, 144 GB used/,
      /Target disk: +disk 0: FTS PRAID EP420i, 1920 GB RAID, RAW/,
      /On it now: +empty/,
      /Restore mode: +Entire computer/,
      /! WILL BE LOST: everything on disk 0\./,
    ]) assert.match(plan, line);
    s = await t.waitFor('? Show the share password now? (Esc: back) (y/N)');
    const card = s.slice(s.lastIndexOf('== Hand-over to Veeam Bare Metal Recovery =='));
    for (const line of [
      /Shared folder: +\\\\nas01\\veeam/, /User name: +STB\\svc-restore/, /Password: +\(on request below\)/,
      /Backup: +KERSERV \(job "Kerserv - 192\.168\.80\.1"\)/, /Restore point: +\d{1,2} \w{3} \d{4} \d{2}:\d{2} server time \(UTC\+2\) \(increment\)/,
      /Restore mode: +Entire computer/, /Target disk: +disk 0, 1920 GB FTS PRAID EP420i/,
    ]) assert.match(card, line);
    s = await handOverAndFinish(t);
    assert.doesNotMatch(s, /Rewrite the boot files/, 'bcdboot is not offered before the first restart');
    assert.match(s, /choose "Repair a restored Windows" in the menu/);
    assert.ok(!s.includes(SHARE_PASSWORD) && !s.includes(PASSPHRASE), 'no secret on the screen');

    const { report, log, text } = await records(dir, 'KERSERV');
    assert.equal(report.server, 'KERSERV');
    assert.equal(report.targetDisk.number, 0);
    assert.equal(report.planConfirmed, true);
    assert.equal(report.outcome, 'restore finished');
    assert.equal(report.dataLoss, undefined);
    assert.match(text, /^Lifeboat restore report: Steuerbuero Kerner \(training\)$/m);
    assert.match(text, /^Server: +KERSERV$/m);
    assert.match(text, /^Target disk: +disk 0, 1920 GB RAID FTS PRAID EP420i$/m);
    assert.match(text, /^Plan confirmed: yes \(disk number typed\)$/m);
    assert.doesNotMatch(text, /[{}"]/, 'the text report is for people, not JSON');
    for (const step of ['start', 'machine', 'drivers', 'checks', 'network', 'unlock', 'share', 'menu', 'backups', 'restore-point', 'requirements', 'target-disk', 'plan', 'handover', 'after-restore']) {
      assert.match(log, new RegExp(`Z step ${step}$`, 'm'), `the session log records step ${step}`);
    }
    assert.match(log, /unlock: ok at attempt 1 \(0 failed before\)/);
    assert.match(log, /plan confirmed by typing 0: KERSERV, point .*, disk 0 .*mode Entire computer/);
    await assertNoSecretsWritten(dir);
  });

  test('Esc goes back exactly one step everywhere, and the password leaves the screen once typed', { timeout: 90_000 }, async () => {
    const { t, dir } = await startAssistant('healthy-physical');
    await t.waitFor('? Recovery code or passphrase (Esc: back)', 30_000);
    // Esc at the first question: the machine check screen (the step before), not the unlock again.
    let s = await then(t, () => t.send('Escape'), '? What now? (Esc: back)');
    assert.match(s, /== Can this machine take the restore\? ==/);
    assert.match(choicesOf(s, 'What now?'), /❯ Go on\n {2}Rescan the disks\n {2}Load a driver from a folder\n {2}Open a command prompt\n {2}Quit to Veeam Recovery/);
    await t.send('Enter');
    await unlockIt(t);
    await t.waitFor(/\? Choose \(Esc: back\)/);
    // Esc at the menu: the unlock (the share step asked nothing).
    s = await then(t, () => t.send('Escape'), '? Recovery code or passphrase (Esc: back)');
    assert.doesNotMatch(s, /Which server/);
    await then(t, () => t.answer(PASSPHRASE), /OK Connected[\s\S]*\? Choose \(Esc: back\)/);
    await t.send('Enter');
    await t.waitFor('? Which server do you restore?');
    s = await then(t, () => t.send('Escape'), /\? Choose \(Esc: back\)/);
    assert.doesNotMatch(s, /Restore onto which disk/, 'Esc on the server list goes to the menu, not forward');
    await then(t, () => t.send('Enter'), '? Which server do you restore?');
    await then(t, () => t.send('Enter'), '? Which restore point?');
    await then(t, () => t.send('Escape'), '? Which server do you restore?');
    await then(t, () => t.send('Enter'), '? Which restore point?');
    await then(t, () => t.send('Enter'), '? Restore onto which disk?');
    // Esc at the disk list: the restore point (the requirements screen asked nothing).
    await then(t, () => t.send('Escape'), '? Which restore point?');
    await then(t, () => t.send('Enter'), '? Restore onto which disk?');
    await then(t, () => t.send('Enter'), '? Type the disk number 0 to confirm this plan');
    await t.answer('1');
    await t.waitFor('> Type 0 to confirm, or press Esc to choose another disk');
    s = await then(t, () => t.send('Escape'), '? Restore onto which disk?');
    assert.match(s, /== Target disk ==/);
    await then(t, () => t.send('Enter'), '? Type the disk number 0 to confirm this plan');
    await then(t, () => t.answer('0'), '? Show the share password now?');
    // Esc at the hand-over: the plan again.
    await then(t, () => t.send('Escape'), '? Type the disk number 0 to confirm this plan');
    await then(t, () => t.answer('0'), '? Show the share password now?');
    s = await then(t, () => t.answer('y'), '? Press Enter when you have written it down or typed it');
    assert.match(s, new RegExp(`Password: +${SHARE_PASSWORD}`), 'the password is shown on request');
    await t.send('Enter');
    s = await t.waitFor('? Start Veeam Recovery now?');
    assert.ok(!(await t.screen()).includes(SHARE_PASSWORD), 'the password is off the screen and its scrollback');
    assert.match(s, /Password: +\(on request below\)/, 'the card is drawn again');
    await t.send('Enter');
    await t.waitFor('Remove the recovery media and restart.');
    assert.equal(await t.waitForExit(), 0);
    const { log } = await records(dir, 'KERSERV');
    assert.match(log, /hand-over: password taken off the screen/);
    assert.match(log, /Z step checks \(back\)$/m);
    assert.equal(log.match(/Z step backups( \(back\))?$/gm)?.length, 3, 'the server list was entered three times');
    await assertNoSecretsWritten(dir);
  });

  test('unlock: Esc does not reset the attempts; after 3 the contact for the passphrase, then "go on without" still leads to the disk plan', { timeout: 90_000 }, async () => {
    const { t, dir } = await startAssistant('healthy-physical');
    for (const wrong of ['not-the-passphrase-one', 'not-the-passphrase-two']) {
      await t.waitFor(/\? Recovery code or passphrase \(Esc: back\)$/, 30_000);
      await then(t, () => t.answer(wrong), 'That did not unlock the media');
    }
    await t.waitFor('1 attempt left.');
    await then(t, () => t.send('Escape'), '? What now?');
    await then(t, () => t.send('Enter'), /\? Recovery code or passphrase \(Esc: back\)$/); // Go on
    let s = await then(t, () => t.answer('not-the-passphrase-three'), '? What now? (Esc: back)');
    assert.match(s, /! 3 attempts failed\./, 'the count went on after Esc');
    assert.match(s, /Call Trainer on duty \(\+49 89 0000 0000\) for the passphrase\./, 'passphrase media: "passphrase", not "recovery code"');
    assert.match(choicesOf(s, 'What now?'), /Try again\n {2}Go on without: I will type the share password into Veeam myself\n {2}Quit/);
    await then(t, () => t.send('Down', 'Enter'), /\? Choose \(Esc: back\)/);
    s = await then(t, () => t.send('Enter'), '? Which server do you restore? (domain controller first)');
    assert.match(s, /The backups cannot be read here \(the media was not unlocked\)/);
    assert.match(choicesOf(s, 'Which server do you restore?'), /KERSERV +dc, UEFI, disks 1920 GB/);
    await t.send('Enter');
    s = await t.waitFor('? Restore onto which disk?');
    assert.match(s, /Restore point: choose the newest one in Veeam's list/);
    assert.match(s, /Target disk: at least 1920 GB \(the server's system disk in site\.yaml\)/);
    await t.send('Enter');
    s = await confirmPlan(t);
    assert.match(s, /Point: +the newest in Veeam's list/);
    s = await t.waitFor('? Start Veeam Recovery now?');
    assert.match(s, /Password: +\(type it yourself: the media was not unlocked\)/);
    assert.match(s, /Restore point: +pick the newest in Veeam's list/);
    assert.match(s, /Target disk: +disk 0, 1920 GB FTS PRAID EP420i/);
    await t.send('Enter');
    await t.waitFor('Remove the recovery media and restart.');
    assert.equal(await t.waitForExit(), 0);
    const { report, log } = await records(dir, 'KERSERV', 'x');
    assert.equal(report.unlocked, false);
    assert.equal(report.restorePoint, 'newest in Veeam');
    assert.equal(log.match(/unlock: attempt \d failed/g)?.length, 3);
    assert.ok(!log.includes('not-the-passphrase'), 'typed secrets are not logged');
  });

  test('Ctrl-C at every kind of prompt and between prompts: one line, exit 130, nothing written', { timeout: 120_000 }, async () => {
    const noDhcp = await variant('healthy-physical', (j) => { delete j.nics[0].dhcpAfterSeconds; });
    const cases: { name: string; scenario: string; reach: (t: TmuxSession) => Promise<void>; step: string }[] = [
      { name: 'countdown (no prompt)', scenario: noDhcp, reach: (t) => t.waitFor('Waiting for an address from DHCP...', 30_000).then(() => undefined), step: 'Network' },
      { name: 'secret', scenario: 'healthy-physical', reach: (t) => t.waitFor('? Recovery code or passphrase', 30_000).then(() => undefined), step: 'Unlock the share credentials' },
      { name: 'select', scenario: 'healthy-physical', reach: async (t) => { await unlockIt(t); await t.waitFor(/\? Choose \(Esc: back\)/); }, step: 'What do you want to do?' },
      { name: 'input', scenario: 'healthy-physical', reach: async (t) => { await toServerPrompt(t); await t.send('Enter'); await t.waitFor('? Which restore point?'); await t.send('Enter'); await t.waitFor('? Restore onto which disk?'); await t.send('Enter'); await t.waitFor('? Type the disk number 0'); }, step: 'The restore plan' },
      { name: 'confirm', scenario: 'healthy-physical', reach: async (t) => { await toServerPrompt(t); await t.send('Enter'); await t.waitFor('? Which restore point?'); await t.send('Enter'); await t.waitFor('? Restore onto which disk?'); await t.send('Enter'); await confirmPlan(t); await t.waitFor('? Show the share password now?'); }, step: 'Hand-over to Veeam Bare Metal Recovery' },
    ];
    await Promise.all(cases.map(async (c) => {
      const { t, dir } = await startAssistant(c.scenario);
      await c.reach(t);
      await t.send('C-c');
      assert.equal(await t.waitForExit(), 130, `${c.name}: exit code 130\n${await t.screen()}`);
      const screen = await t.screen();
      const m = STOPPED.exec(screen);
      assert.ok(m, `${c.name}: the one line:\n${screen}`);
      assert.equal(m[1], c.step, `${c.name}: names the step`);
      assert.doesNotMatch(screen, /Error|at .*\.js:\d+|this is a bug|unexpected/i, `${c.name}: no stack trace`);
      const tail = screen.slice(screen.indexOf('Stopped (Ctrl+C)')).split('\n').filter((l) => l.trim() && !l.includes('__LIFEBOAT_TMUX_EXIT_'));
      assert.equal(tail.length, 1, `${c.name}: one line: ${tail.join(' | ')}`);
      assert.deepEqual(await readdir(join(dir, 'share', 'lifeboat-logs')).catch(() => []), [], `${c.name}: nothing written to the share`);
    }));
  });

  test('share-unreachable: fixed IP form goes back one field per Esc; typing the NAS IP connects the share by address', { timeout: 90_000 }, async () => {
    const { t, dir } = await startAssistant('share-unreachable');
    let s = await t.waitFor('? What now? (Esc: back)', 30_000);
    assert.match(s, /! The NAS nas01 does not answer on port 445 \(file sharing\)\./);
    assert.match(choicesOf(s, 'What now?'), /Try again\n {2}Type the NAS IP address\n {2}Set a fixed IPv4 address for this machine\n {2}Go on without the network check/);
    await t.send('Down', 'Down', 'Enter');
    await t.waitFor('? IPv4 address for this machine');
    await t.answer('192.168.80.77');
    await t.waitFor('? Subnet mask');
    s = await then(t, () => t.send('Escape'), '? IPv4 address for this machine');
    assert.doesNotMatch(s, /What now/, 'Esc on the mask goes back to the address, one field');
    await then(t, () => t.send('Escape'), '? What now?');
    await t.send('Down', 'Enter');
    await t.waitFor('? IP address of the NAS');
    s = await then(t, () => t.answer('192.168.80.10'), '? Recovery code or passphrase');
    assert.match(s, /OK The NAS answers at 192\.168\.80\.10: the share is connected as \\\\192\.168\.80\.10\\veeam\./);
    await t.answer(PASSPHRASE);
    s = await t.waitFor(/\? Choose \(Esc: back\)/);
    assert.match(s, /OK Connected to \\\\192\.168\.80\.10\\veeam\./);
    await t.send('Down', 'Down', 'Down', 'Enter');
    await t.waitFor('The session log is saved.');
    assert.equal(await t.waitForExit(), 0);
    const { report } = await records(dir, 'no-server');
    assert.equal(report.network.nasAddress, '192.168.80.10');
  });

  test('bad-password: error 1326, type the current password, connected; the media is flagged out of date', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('bad-password');
    await unlockIt(t);
    let s = await t.waitFor(/error 1326\)[\s\S]*\? What now\?/);
    assert.match(s, /The password on the media is out of date: type the current one here, and rebuild the media afterwards\./);
    const menu = choicesOf(s, 'What now?');
    assert.match(menu, /Type the current share password\n {2}Try again\n {2}Back to the network step\n {2}Go on without the share/);
    assert.doesNotMatch(menu, /[Ss]how/, 'the stored password that failed is never offered for showing');
    await t.send('Enter');
    await t.waitFor('? Current password of STB\\svc-restore');
    s = await then(t, () => t.answer('a-newer-password'), /\? Choose \(Esc: back\)/);
    assert.match(s, /OK Connected to \\\\nas01\\veeam\./);
    assert.match(s, /! The share password on the media is out of date: rebuild the media after the restore/);
    await menuToPlanConfirmed(t);
    s = await t.waitFor('? Start Veeam Recovery now?');
    assert.match(s, /Password: +\(the one you typed at the share step\)/);
    await t.send('Enter');
    await t.waitFor('Remove the recovery media and restart.');
    assert.equal(await t.waitForExit(), 0);
    const { report, text, log } = await records(dir, 'KERSERV');
    assert.equal(report.sharePasswordOutdated, true);
    assert.match(text, /the password on the media is OUT OF DATE: rebuild the media/);
    assert.ok(!log.includes('a-newer-password'), 'the typed password is not logged');
  });

  test('bad-password, go on without the share: the server from the site list, the disk plan, the hand-over card', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('bad-password');
    await unlockIt(t);
    await t.waitFor(/error 1326\)[\s\S]*\? What now\?/);
    await t.send('Up', 'Enter'); // the last choice: go on without
    await t.waitFor(/\? Choose \(Esc: back\)/);
    await t.send('Enter');
    let s = await t.waitFor('? Which server do you restore?');
    assert.match(s, /The backups cannot be read here \(the user name or password is incorrect \(error 1326\)\)/);
    await t.send('Enter');
    await t.waitFor('? Restore onto which disk?');
    await t.send('Enter');
    s = await confirmPlan(t);
    assert.match(s, /== The restore plan ==/);
    s = await t.waitFor('? Show the share password now?');
    assert.match(s, /Restore point: +pick the newest in Veeam's list/);
    assert.match(s, /Target disk: +disk 0, 1920 GB FTS PRAID EP420i/);
    assert.match(s, /! The share was not connected here \(the user name or password is incorrect \(error 1326\)\)/);
  });

  test('wrong-firmware: found by the machine check before the unlock; "stop" switches off, Veeam not promised', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('wrong-firmware');
    let s = await t.waitFor('? This machine cannot take the restore as it is. What now? (Esc: back)', 30_000);
    assert.doesNotMatch(s, /Recovery code or passphrase/, 'no secret asked before the check');
    assert.match(s, /! Firmware: this machine booted in legacy BIOS mode, but KERSERV needs UEFI: restored here, it would not start\./);
    assert.match(s, /In the firmware setup \(F2\/Del at power-on\) set boot mode to UEFI/);
    const menu = choicesOf(s, 'What now?');
    assert.match(menu, /Stop here and switch the machine off: I will change the firmware mode and boot again\n {2}Go on anyway\n {2}Rescan the disks\n {2}Load a driver from a folder\n {2}Open a command prompt\n {2}Quit to Veeam Recovery/);
    await t.send('Enter');
    s = await t.waitFor('The session log is saved.');
    assert.match(s, /The machine switches off now\. Change the firmware mode to UEFI in its setup, then boot this media again; Veeam Recovery is not needed now\./);
    assert.doesNotMatch(s, /Veeam Recovery starts when this window closes/);
    assert.equal(await t.waitForExit(), 0);
    const { log } = await records(dir, 'no-server', 'x');
    assert.match(log, /machine check: firmware bios fits no server/);
    // The running log (mirrored to X: as it goes) has what came after the records were saved.
    const running = (await readdir(join(dir, 'x', 'lifeboat-logs'))).find((f) => f.startsWith('lifeboat-session-'))!;
    assert.match(await readFile(join(dir, 'x', 'lifeboat-logs', running), 'utf8'), /power off: ok/);
  });

  test('firmware-check-vm: a Generation 1 Hyper-V VM for a UEFI backup: told to use Generation 2; "go on anyway" leads to the unlock', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('firmware-check-vm');
    const s = await t.waitFor('? This machine cannot take the restore as it is. What now?', 30_000);
    assert.match(s, /Hyper-V: create the VM as Generation 2 \(Generation 1 cannot boot UEFI\)\./);
    await t.send('Down', 'Enter');
    await t.waitFor('? Recovery code or passphrase');
  });

  test('only-boot-disk: no disk found before the unlock; a driver loaded from a folder brings the disk', { timeout: 90_000 }, async () => {
    const folder = await variant('only-boot-disk', (j) => {
      j.lateDisks = { driver: 'megasas.inf', disks: [{ number: 1, sizeGb: 2000, bus: 'RAID', model: 'LSI MegaRAID SAS 9361' }] };
    });
    const drivers = join(folder, '..', 'raid-driver');
    await mkdir(join(drivers, 'x64'), { recursive: true });
    await writeFile(join(drivers, 'x64', 'megasas.inf'), '; stand-in driver package\n');
    const { t } = await startAssistant(folder);
    let s = await t.waitFor('? This machine cannot take the restore as it is. What now?', 30_000);
    assert.match(s, /! Disks: the only disk this machine shows is the recovery media itself: there is nothing to restore onto\./);
    assert.match(choicesOf(s, 'What now?'), /Go on anyway\n {2}Rescan the disks\n {2}Load a driver from a folder/);
    await t.send('Down', 'Down', 'Enter');
    await t.waitFor('? Folder with the driver\'s .inf files');
    await t.answer(join(folder, 'nothing-here'));
    await t.waitFor(/No \.inf file in .*nothing-here/);
    // Esc leaves the folder prompt for the menu it came from.
    await then(t, () => t.send('Escape'), '? This machine cannot take the restore as it is. What now?');
    await then(t, () => t.send('Down', 'Down', 'Enter'), '? Folder with the driver\'s .inf files');
    s = await then(t, () => t.answer(drivers), '? Recovery code or passphrase');
    assert.match(s, /OK Loaded 1 of 1 driver packages from /);
    assert.match(s, /OK Disks: disk 1 \(2000 GB\) can take a restore\./);
  });

  test('disk-too-small: refused with "What now?"; the command prompt comes back; Esc on the disk list goes to the restore point', { timeout: 90_000 }, async () => {
    const { t } = await startAssistant('disk-too-small');
    let s = await t.waitFor('? Recovery code or passphrase', 30_000);
    assert.match(s, /! Disks: every disk is smaller than the servers' system disks \(1920 GB\): only a "Manual restore"/);
    await toServerPrompt(t);
    await t.send('Enter');
    await t.waitFor('? Which restore point?');
    await t.send('Enter');
    s = await t.waitFor('? Restore onto which disk?');
    assert.match(choicesOf(s, 'Restore onto which disk?'), /Disk 0: 120 GB SATA Samsung SSD 870 EVO 120GB \[empty\] TOO SMALL/);
    s = await then(t, () => t.send('Enter'), '? What now?');
    assert.match(s, /! Disk 0 \(120 GB\) is smaller than the data in the backup \(144 GB\): the restore cannot fit\./);
    assert.doesNotMatch(s, /Type the disk number/);
    assert.match(choicesOf(s, 'What now?'), /Choose another disk\n {2}Go back one step\n {2}Rescan the disks\n {2}Load a driver from a folder\n {2}Open a command prompt\n {2}Quit to Veeam Recovery/);
    assert.match(s, /Quit to Veeam Recovery\n\s*the list of disks again/, 'the highlighted choice says what happens next');
    s = await then(t, () => t.send('Down', 'Down', 'Down', 'Down', 'Enter'), '? Restore onto which disk?');
    assert.match(s, /A command prompt opens in this window\. Type exit to come back to this screen\./);
    await then(t, () => t.send('Escape'), '? Which restore point?');
  });

  test('broken-chain: later points NOT RESTORABLE; the newest whole one means lost work, acknowledged and reported', { timeout: 90_000 }, async () => {
    const { t, dir } = await startAssistant('broken-chain');
    await toServerPrompt(t);
    let s = await t.screen();
    assert.match(choicesOf(s, 'Which server do you restore?'), /KERSERV .*BACKUP CHAIN DAMAGED/);
    await t.send('Enter');
    s = await t.waitFor('? Which restore point?');
    const points = choicesOf(s, 'Which restore point?').split('\n').slice(1).filter((l) => /\d{4} \d{2}:\d{2}/.test(l));
    const damaged = points.filter((l) => l.includes('NOT RESTORABLE'));
    const whole = points.filter((l) => !l.includes('NOT RESTORABLE'));
    assert.ok(damaged.length >= 1 && whole.length >= 1, `both kinds listed:\n${points.join('\n')}`);
    assert.ok(whole[0]!.startsWith('❯'), `the newest whole point is preselected:\n${points.join('\n')}`);
    s = await then(t, () => t.send('Enter'), /\? Restore this point and lose \d+ (hours|days) of work\?/);
    assert.match(s, /! WORK WILL BE LOST: KERSERV comes back as it was at .* server time \(UTC\+2\)\./);
    assert.match(s, /Why: the backup chain is damaged, so the newer restore points cannot be restored\./);
    assert.match(s, /Call Trainer on duty \(\+49 89 0000 0000\) before going on/);
    assert.match(choicesOf(s, 'Restore this point and lose'), /❯ No: choose another restore point\n {2}Yes: the loss of/);
    await t.send('Down', 'Enter');
    await t.waitFor('? Restore onto which disk?');
    await t.send('Enter');
    s = await confirmPlan(t);
    assert.match(s, /! WILL BE LOST: KERSERV's work since .* \([\d.]+ hours; accepted\)\./);
    await handOverAndFinish(t);
    const { report, text } = await records(dir, 'KERSERV');
    assert.equal(report.dataLoss.reason, 'backup chain damaged');
    assert.equal(report.dataLoss.acknowledged, true);
    assert.match(text, /^DATA LOST: +\d+ (hours|days) of work, since .*; accepted by the technician; call Trainer on duty/m);
  });

  test('data-loss: 8 days since the newest point: said in time, "No" is the default, Yes is recorded; the DC note', { timeout: 90_000 }, async () => {
    const { t, dir } = await startAssistant('data-loss');
    await toServerPrompt(t);
    assert.match(choicesOf(await t.screen(), 'Which server do you restore?'), /KERSERV .*\(8\.2 days old\), older than the 3 h RPO/);
    await t.send('Enter');
    await t.waitFor('? Which restore point?');
    let s = await then(t, () => t.send('Enter'), '? Restore this point and lose 8 days of work?');
    assert.match(s, /! Everything done on it since then is lost: 8 days: since \d{1,2} \w{3} \d{2}:\d{2}\./);
    assert.match(s, /Why: the newest restorable point is older than the 3 h the business agreed to lose at most \(RPO\)\./);
    assert.match(s, /KERSERV is a DOMAIN CONTROLLER: an old copy next to other, newer domain controllers damages the directory \(USN rollback\)/);
    assert.match(s, /Read the manual, chapter "After the restore", part "Domain controller"/);
    // Enter takes the default: No, back to the list.
    await then(t, () => t.send('Enter'), '? Which restore point?');
    await then(t, () => t.send('Enter'), '? Restore this point and lose 8 days of work?');
    await t.send('Down', 'Enter');
    await t.waitFor('? Restore onto which disk?');
    await t.send('Enter');
    await confirmPlan(t);
    await handOverAndFinish(t);
    const { report, text, log } = await records(dir, 'KERSERV');
    assert.equal(report.dataLoss.reason, 'older than the RPO');
    assert.equal(report.dataLoss.domainController, true);
    assert.ok(report.dataLoss.hours > 190);
    assert.match(text, /^DATA LOST: +8 days of work/m);
    assert.match(text, /^Domain ctrl: +restored from an old point: USN rollback risk/m);
    assert.match(log, /data loss acknowledged: 8 days: since .* \(older than the RPO\); call Trainer on duty/);
  });

  test('read-only-share: the records go to the Lifeboat USB stick, not the share', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('read-only-share');
    await unlockIt(t);
    await t.waitFor(/\? Choose \(Esc: back\)/);
    await t.send('Down', 'Down', 'Down', 'Enter');
    const s = await t.waitFor('The session log is saved.');
    assert.match(s, /The share is read-only for the restore account \(as it should be\): the records go elsewhere\./);
    assert.match(s, /Records kept on the Lifeboat USB stick\./);
    assert.equal(await t.waitForExit(), 0);
    assert.deepEqual(await readdir(join(dir, 'share', 'lifeboat-logs')).catch(() => []), []);
    const base = join(dir, 'media', 'lifeboat-logs', 'no-server');
    const [stamp] = await readdir(base);
    assert.ok((await readFile(join(base, stamp!, 'restore-report.txt'), 'utf8')).startsWith('Lifeboat restore report'));
  });

  test('read-only share and an ISO: X: is lost at restart, said clearly; the records are copied to a disk the technician picks', { timeout: TEST_TIMEOUT_MS }, async () => {
    const folder = await variant('read-only-share', (j) => {
      j.media = 'iso';
      j.disks[0].volumes = [{ letter: 'E', label: 'DATA', sizeGb: 500, fs: 'NTFS' }];
    });
    const { t, dir } = await startAssistant(folder);
    await unlockIt(t);
    await t.waitFor(/\? Choose \(Esc: back\)/);
    await t.send('Down', 'Down', 'Down', 'Enter');
    const s = await t.waitFor('? Copy them to a disk that keeps them?');
    assert.match(s, /! Neither the share nor the recovery media can be written: the session log, the report and diagnostics are on X: only, which is LOST when this machine restarts\./);
    assert.match(choicesOf(s, 'Copy them to a disk'), /E: DATA \(disk 0, FTS PRAID EP420i\)\n {2}Leave them on X: \(lost at restart\)/);
    await t.send('Enter');
    await t.waitFor('Records kept on E:.');
    assert.equal(await t.waitForExit(), 0);
    const base = join(dir, 'volumes', 'E', 'lifeboat-logs', 'no-server');
    assert.equal((await readdir(base)).length, 1);
  });

  test('no-backups: "What now?" also offers the site list, so the disk plan still follows', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('no-backups');
    await unlockIt(t);
    await t.waitFor(/\? Choose \(Esc: back\)/);
    await t.send('Enter');
    let s = await t.waitFor(/No Veeam backups[\s\S]*\? What now\?/);
    assert.match(choicesOf(s, 'What now?'), /Look again\n {2}Choose the server from the site's list and go on\n {2}Go back one step/);
    await t.send('Down', 'Enter');
    s = await t.waitFor('? Which server do you restore?');
    assert.match(s, /no Veeam backups were found on the share/);
    await t.send('Enter');
    await t.waitFor('? Restore onto which disk?');
  });

  test('p2v-kvm: virtio drivers loaded at start, injected into the restored Windows; a second boot repairs the boot files from the menu', { timeout: 90_000 }, async () => {
    const { t, dir } = await startAssistant('p2v-kvm');
    let s = await t.waitFor('? Recovery code or passphrase (Esc: back)', 30_000);
    assert.match(s, /OK Loaded 1 of 1 driver packages \(virtio\)\./);
    await t.answer(PASSPHRASE);
    await t.waitFor(/\? Choose \(Esc: back\)/);
    await menuToPlanConfirmed(t);
    await t.waitFor('? Show the share password now?');
    await t.send('Enter');
    await t.waitFor('? Start Veeam Recovery now?');
    await t.send('Enter');
    s = await t.waitFor('? Add the virtio drivers to the restored Windows on W:?');
    assert.match(s, /INACCESSIBLE_BOOT_DEVICE\) \(Esc: back\) \(Y\/n\)/, 'default yes in a VM');
    await t.send('Enter');
    s = await t.waitFor('Remove the recovery media and restart.');
    assert.match(s, /OK virtio drivers added/);
    assert.equal(await t.waitForExit(), 0);
    const { report } = await records(dir, 'KERSERV');
    assert.deepEqual(report.afterRestore, ['drivers virtio: added']);
    // The second boot of the media (same machine, the restored Windows on its disk): Repair from the menu.
    await t.kill();
    const again = await startAssistant('p2v-kvm', { dir });
    await unlockIt(again.t);
    await again.t.waitFor(/\? Choose \(Esc: back\)/);
    // Diagnostics first: Esc on its one question goes back to the choice of volume, not to the menu.
    await then(again.t, () => again.t.send('Down', 'Enter'), '? Which Windows volume?');
    await then(again.t, () => again.t.send('Enter'), '? Also the registry hives SYSTEM and SOFTWARE');
    await then(again.t, () => again.t.send('Escape'), '? Which Windows volume?');
    await then(again.t, () => again.t.send('Enter'), '? Also the registry hives SYSTEM and SOFTWARE');
    s = await then(again.t, () => again.t.answer('y'), /\? Choose \(Esc: back\)/);
    assert.match(s, /OK Saved 2 files to .*diagnostics-W\.tar\.gz/);
    await again.t.send('Down', 'Down', 'Enter');
    await again.t.waitFor('? Add the virtio drivers to the restored Windows on W:?');
    await again.t.answer('n');
    await again.t.waitFor('? Rewrite the boot files of W: (bcdboot)?');
    s = await then(again.t, () => again.t.answer('y'), /\? Choose \(Esc: back\)/);
    assert.match(s, /OK Boot files rewritten/);
  });

  test('domain-controller-hyperv: a Generation 2 VM passes the machine check; the DC warning; Hyper-V drivers offered after the restore', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('domain-controller-hyperv');
    let s = await t.waitFor('? Recovery code or passphrase', 30_000);
    assert.match(s, /Microsoft Corporation Virtual Machine \(a hyperv virtual machine\)/);
    assert.match(s, /OK Firmware: this machine booted in UEFI mode, as the backups need\./);
    await t.answer(PASSPHRASE);
    await t.waitFor(/\? Choose \(Esc: back\)/);
    await menuToPlanConfirmed(t);
    s = await t.waitFor('? Show the share password now?');
    assert.match(s, /! This is a DOMAIN CONTROLLER: restore the NEWEST good point/);
    await t.send('Enter');
    await t.waitFor('? Start Veeam Recovery now?');
    await t.send('Enter');
    await t.waitFor('? Add the hyperv drivers to the restored Windows on W:?');
    await t.send('Enter');
    await t.waitFor('Remove the recovery media and restart.');
    assert.equal(await t.waitForExit(), 0);
    const { report } = await records(dir, 'KERSERV');
    assert.deepEqual(report.afterRestore, ['drivers hyperv: added']);
  });

  test('at 80 columns no word is broken at the edge', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('disk-too-small', { width: 80 });
    const s = await t.waitFor('? Recovery code or passphrase', 30_000);
    const long = s.split('\n').filter((l) => !l.startsWith('? ') && l.length > 80);
    assert.deepEqual(long, [], 'every line the assistant writes fits 80 columns (tmux did not have to wrap it)');
    assert.match(s, /! Disks: every disk is smaller than the servers' system disks \(1920 GB\):[^\n]*\n {2}\S/, 'continued on the next line, indented');
  });
});
