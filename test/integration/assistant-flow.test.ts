/**
 * The restore assistant as a technician meets it: `lifeboat assistant --simulate <scenario>` in a terminal (tmux),
 * driven with keys and checked on the screens, then on the session log and restore report it writes to the
 * (simulated) share. One test per training scenario's way of going wrong; the tests run side by side.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
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

async function startAssistant(scenario: string): Promise<Run> {
  const dir = await mkTempDir(`assistant-${scenario}`);
  const t = await TmuxSession.start([process.execPath, LIFEBOAT_BIN, 'assistant', '--simulate', join(SCENARIOS, scenario), '--keep', dir], { name: scenario, killAfterSeconds: 90 });
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

describe('the restore assistant in a terminal (tmux), as a technician drives it', { skip, concurrency: 4, timeout: 150_000 }, () => {
  test('healthy-physical: from boot to the restore report, secrets never written', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('healthy-physical');
    let s = await t.waitFor('? Recovery code or passphrase (Esc: back)', 30_000);
    assert.match(s, /Restore kit for Steuerbuero Kerner \(training\)/);
    assert.match(s, /OK Media check: all \d+ files are as they were written\./);
    assert.match(s, /Booted in UEFI mode/);
    assert.match(s, /FUJITSU PRIMERGY TX1330 M5, 16 GB memory, 8 CPUs/);
    assert.match(s, /Disk 0: 1920 GB RAID FTS PRAID EP420i\n/);
    assert.match(s, /Disk 1: 32 GB USB SanDisk Ultra USB 3\.0 {2}<- the recovery media/);
    assert.match(s, /Waiting for an address from DHCP\.\.\./);
    assert.match(s, /OK Network: Ethernet 192\.168\.80\.50/);
    assert.match(s, /OK The NAS nas01 answers on the file sharing port \(445\)\./);

    const m = await t.mark();
    await t.answer(PASSPHRASE);
    s = await t.waitFor(/\? Choose \(Esc: back\)/, { after: m - 1 });
    assert.match(s, /Recovery code or passphrase \(Esc: back\) \*{10,}/, 'the passphrase is masked');
    assert.match(s, /OK Unlocked\./);
    assert.match(s, /Connecting \\\\nas01\\veeam as STB\\svc-restore \.\.\./);
    assert.match(s, /OK Connected to \\\\nas01\\veeam\./);
    assert.match(s, /Restore a server\n {2}Save diagnostics from a failed system first\n {2}Quit/);
    await t.send('Enter');

    s = await t.waitFor('? Which server do you restore?');
    assert.match(choicesOf(s, 'Which server do you restore?'), /KERSERV +newest .* \(2 hours old\), healthy/);
    await t.send('Enter');
    s = await t.waitFor('? Which restore point? (the newest good one is preselected)');
    await t.send('Enter');

    s = await t.waitFor('? Restore onto which disk? EVERYTHING ON IT WILL BE ERASED. (Esc: back)');
    assert.match(s, /== What this restore needs ==\nKERSERV: Microsoft Windows Server 2022 Standard/);
    assert.match(s, /Firmware: the backup's system disk is GPT: needs UEFI; this machine booted UEFI\./);
    assert.match(s, /! This is a DOMAIN CONTROLLER: restore the NEWEST good point/);
    assert.doesNotMatch(s, /would not start/);
    const disks = choicesOf(s, 'Restore onto which disk?');
    assert.match(disks, /Disk 0: 1920 GB RAID FTS PRAID EP420i \[empty\]/);
    assert.doesNotMatch(disks, /Disk 1|SanDisk|USB/, 'the USB stick holding the media is not offered');
    await t.send('Enter');

    await t.waitFor('? Type the disk number 0 to confirm that disk 0 may be erased (Esc: back)');
    await t.answer('0');
    s = await t.waitFor('? Show the share password now? (Esc: back) (y/N)');
    assert.match(s, /OK Disk 0 chosen\. Nothing has been erased yet/);
    const card = s.slice(s.lastIndexOf('== Hand-over to Veeam Bare Metal Recovery =='));
    for (const line of [
      /Shared folder: +\\\\nas01\\veeam/,
      /\[x\] This share requires access credentials/,
      /User name: +STB\\svc-restore/,
      /Password: +\(on request below\)/,
      /Backup: +KERSERV \(job "Kerserv - 192\.168\.80\.1"\)/,
      /Restore point: +\d{1,2} \w{3} \d{4} \d{2}:\d{2} \(increment\)/,
      /Restore mode: +Entire computer/,
      /Target disk: +disk 0, 1920 GB FTS PRAID EP420i/,
    ]) assert.match(card, line);
    await t.send('Enter'); // No
    await t.waitFor('? Start Veeam Recovery now? (this assistant waits for it) (Esc: back) (Y/n)');
    await t.send('Enter'); // Yes
    s = await t.waitFor('? Rewrite the boot files (bcdboot)?');
    assert.match(s, /Veeam Recovery has ended \(code 0\)\./);
    await t.send('Enter'); // No
    s = await t.waitFor('Remove the recovery media and restart.');
    assert.equal(await t.waitForExit(), 0);
    assert.match(s, new RegExp(`OK Session log and restore report saved in ${dir.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}/share/lifeboat-logs/KERSERV/`));
    assert.ok(!s.includes(SHARE_PASSWORD) && !s.includes(PASSPHRASE), 'no secret on the screen');

    const { report, log, text } = await records(dir, 'KERSERV');
    assert.equal(report.server, 'KERSERV');
    assert.equal(report.targetDisk.number, 0);
    assert.equal(report.targetDisk.model, 'FTS PRAID EP420i');
    assert.equal(report.restoreMode, 'Entire computer');
    assert.equal(report.veeamExitCode, 0);
    assert.equal(report.unlocked, true);
    assert.equal(report.mediaOk, true);
    assert.equal(report.outcome, 'restore finished');
    assert.equal(report.restorePoint.type, 'increment');
    assert.match(text, /^server +KERSERV$/m);
    for (const step of ['start', 'machine', 'drivers', 'network', 'unlock', 'share', 'menu', 'backups', 'requirements', 'target-disk', 'handover', 'after-restore']) {
      assert.match(log, new RegExp(`Z step ${step}$`, 'm'), `the session log records step ${step}`);
    }
    assert.match(log, /unlock: ok after 1 attempt\(s\)/);
    assert.match(log, /target disk 0: .*; mode Entire computer; confirmed by typing 0/);
    assert.match(log, /Veeam Recovery ended with code 0/);
    assert.match(log, /session ends: restore finished/);
    assert.doesNotMatch(log, /password shown/);
    await assertNoSecretsWritten(dir);
  });

  test('Esc goes back: restore point -> server, disk confirmation -> disk list, disk list -> server; the password on request is on the screen only', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('healthy-physical');
    await toServerPrompt(t);
    await t.send('Enter');
    await t.waitFor('? Which restore point?');
    let m = await t.mark();
    await t.send('Escape');
    await t.waitFor('? Which server do you restore?', { after: m - 1 });
    await t.send('Enter');
    await t.waitFor('? Which restore point?', { after: m });
    await t.send('Enter');
    await t.waitFor('? Restore onto which disk?');
    await t.send('Enter');
    await t.waitFor('? Type the disk number 0 to confirm');
    // A wrong number is refused in place.
    await t.answer('1');
    await t.waitFor('> Type 0 to confirm, or press Esc to choose again');
    m = await t.mark();
    await t.send('Escape');
    await t.waitFor(/== Target disk ==\n\? Restore onto which disk\?/, { after: m - 1 });
    // Esc at the disk list: back to the choice of server and point (not the same list again).
    m = await t.mark();
    await t.send('Escape');
    await t.waitFor('? Which server do you restore?', { after: m - 1 });
    await t.send('Enter');
    await t.waitFor('? Which restore point?', { after: m });
    await t.send('Enter');
    await t.waitFor('? Restore onto which disk?', { after: m });
    await t.send('Enter');
    await t.waitFor('? Type the disk number 0 to confirm', { after: m });
    await t.answer('0');
    await t.waitFor('? Show the share password now?');
    m = await t.mark();
    await t.answer('y');
    const s = await t.waitFor('? Start Veeam Recovery now?', { after: m - 1 });
    assert.match(s, new RegExp(`Password: +${SHARE_PASSWORD}`), 'the password is shown on request');
    await t.send('Enter');
    await t.waitFor('? Rewrite the boot files (bcdboot)?');
    await t.send('Enter');
    assert.equal(await t.waitForExit(), 0);

    const { log, report } = await records(dir, 'KERSERV');
    assert.equal(report.targetDisk.number, 0);
    assert.match(log, /hand-over: password shown on request/);
    assert.equal(log.match(/Z step backups$/gm)?.length, 3, 'the backups step was entered three times (two Esc)');
    await assertNoSecretsWritten(dir);
  });

  test('wrong unlock three times: "3 attempts failed", the contact, and a way on', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('healthy-physical');
    for (const [i, wrong] of ['not-the-passphrase-one', 'not-the-passphrase-two', 'not-the-passphrase-three'].entries()) {
      // The prompt is the last line: drawn anew after each failed attempt.
      await t.waitFor(/\? Recovery code or passphrase \(Esc: back\)$/, 30_000);
      const m = await t.mark();
      await t.answer(wrong);
      await t.waitFor('That did not unlock the media', { after: m - 1 });
      if (i < 2) await t.waitFor(`${2 - i} attempt${i === 0 ? 's' : ''} left.`, { after: m - 1 });
    }
    let s = await t.waitFor('? What now? (Esc: back)');
    assert.match(s, /! 3 attempts failed\./);
    assert.match(s, /Call Trainer on duty \(\+49 89 0000 0000\) for the recovery code\./);
    const menu = choicesOf(s, 'What now?');
    assert.match(menu, /Try again\n {2}Go on without: I will type the share password into Veeam myself\n {2}Quit/);
    // Quit: the session ends with its log saved.
    await t.send('Down', 'Down', 'Enter');
    s = await t.waitFor('The session log is saved.');
    assert.equal(await t.waitForExit(), 0);
    // The share was never connected: the records are in the scratch folder (X:\ in Windows PE).
    const { report, log } = await records(dir, 'no-server', 'x');
    assert.equal(report.unlocked, false);
    assert.equal(log.match(/unlock: attempt \d failed/g)?.length, 3);
    assert.ok(!log.includes('not-the-passphrase'), 'typed secrets are not logged');
  });

  test('share-unreachable: the NAS does not answer, and the technician is offered a way on', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('share-unreachable');
    let s = await t.waitFor('? What now? (Esc: back)', 30_000);
    assert.match(s, /OK Network: Ethernet 192\.168\.80\.50/);
    assert.match(s, /! The NAS nas01 does not answer on port 445 \(file sharing\)\./);
    assert.match(s, /Check that the NAS is on, that this machine is in the right network/);
    assert.match(choicesOf(s, 'What now?'), /Try again\n {2}Set a fixed IPv4 address\n {2}Go on without the network check/);
    // Go on: the share step then names the error in plain words.
    await t.send('Down', 'Down', 'Enter');
    await unlockIt(t);
    s = await t.waitFor(/Could not connect .*\n.*\n[\s\S]*\? What now\?/);
    assert.match(s, /! Could not connect \\\\nas01\\veeam: the network path was not found: the NAS name or address is not reachable \(error 53\)\./);
    assert.match(s, /Check that the NAS is on and in this network; go back to the network step, or use the NAS IP address\./);
    assert.match(choicesOf(s, 'What now?'), /Try again\n {2}Back to the network step\n {2}Go on without the share: I will connect it in Veeam by hand/);
  });

  test('bad-password: net use error 1326 explained (user name or password incorrect, rebuild the media)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('bad-password');
    await unlockIt(t);
    const s = await t.waitFor(/error 1326\)[\s\S]*\? What now\?/);
    assert.match(s, /! Could not connect \\\\nas01\\veeam: the user name or password is incorrect \(error 1326\)\./);
    assert.match(s, /The credentials on the media are out of date: type the current ones into Veeam by hand, and rebuild the media afterwards\./);
    assert.ok(!s.includes(SHARE_PASSWORD), 'the password is not shown');
    // Go on without the share: the hand-over still tells what to type.
    await t.send('Down', 'Down', 'Enter');
    const card = await t.waitFor('? Show the share password now?');
    assert.match(card, /Shared folder: +\\\\nas01\\veeam/);
    assert.match(card, /User name: +STB\\svc-restore/);
  });

  test('no-backups: "No Veeam backups" on the share, and what to do', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('no-backups');
    await unlockIt(t);
    await t.waitFor(/\? Choose \(Esc: back\)/);
    await t.send('Enter');
    const s = await t.waitFor(/No Veeam backups[\s\S]*\? What now\?/);
    assert.match(s, /! No Veeam backups \(\.vbm files\) were found on \\\\nas01\\veeam\./);
    assert.match(s, /Check that this is the share the Veeam agents back up to/);
    assert.match(choicesOf(s, 'What now?'), /Look again\n {2}Open Veeam Recovery and browse the share by hand/);
    assert.doesNotMatch(s, /Which server do you restore/);
  });

  test('wrong-firmware: booted BIOS, the backup needs UEFI: warned with how to fix; "Stop here" saves the session log', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('wrong-firmware');
    await toServerPrompt(t);
    await t.send('Enter');
    await t.waitFor('? Which restore point?');
    await t.send('Enter');
    let s = await t.waitFor('? The restore would not boot on this machine as it is. What now? (Esc: back)');
    assert.match(s, /Booted in legacy BIOS mode/);
    assert.match(s, /Firmware: the backup's system disk is GPT: needs UEFI; this machine booted BIOS\./);
    assert.match(s, /! This machine booted in BIOS mode, but the restored system needs UEFI: it would not start\./);
    assert.match(s, /In the firmware setup \(F2\/Del at power-on\) set boot mode to UEFI, then boot the USB stick's UEFI entry\./);
    assert.match(s, /Then boot this media again\./);
    assert.match(choicesOf(s, 'would not boot on this machine'), /Stop here: I will fix the firmware mode and boot again\n {2}Go on anyway/);
    await t.send('Enter'); // Stop here
    s = await t.waitFor('The session log is saved.');
    assert.doesNotMatch(s, /Restore onto which disk/);
    assert.equal(await t.waitForExit(), 0);
    const { log, report } = await records(dir, 'KERSERV');
    assert.match(log, /requirements: firmware uefi \(machine bios\)/);
    assert.match(log, /session ends: ended by the technician/);
    assert.equal(report.targetDisk, undefined);
    await assertNoSecretsWritten(dir);
  });

  test('disk-too-small: the disk is flagged TOO SMALL and refused', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('disk-too-small');
    await toServerPrompt(t);
    await t.send('Enter');
    await t.waitFor('? Which restore point?');
    await t.send('Enter');
    let s = await t.waitFor('? Restore onto which disk?');
    assert.match(choicesOf(s, 'Restore onto which disk?'), /Disk 0: 120 GB SATA Samsung SSD 870 EVO 120GB \[empty\] TOO SMALL/);
    const m = await t.mark();
    await t.send('Enter');
    s = await t.waitFor(/! Disk 0 \(120 GB\) is smaller than the data in the backup \(144 GB\): the restore cannot fit\.\n[\s\S]*\? Restore onto which disk\?/, { after: m - 1 });
    assert.doesNotMatch(s, /Type the disk number/, 'no confirmation is asked for a disk that is too small');
  });

  test('only-boot-disk: the only disk is the recovery media, and no disk is offered', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t } = await startAssistant('only-boot-disk');
    await toServerPrompt(t);
    await t.send('Enter');
    await t.waitFor('? Which restore point?');
    await t.send('Enter');
    const s = await t.waitFor(/The only disk this machine shows is the recovery media[\s\S]*\? What now\?/);
    assert.match(s, /Disk 0: 32 GB USB SanDisk Ultra USB 3\.0 {2}<- the recovery media|Disk 0: 32 GB .*<- the recovery media/);
    assert.match(s, /! The only disk this machine shows is the recovery media itself: there is no disk to restore onto\./);
    assert.match(choicesOf(s, 'What now?'), /Look again\n {2}Quit/);
    assert.doesNotMatch(s, /Restore onto which disk/);
  });

  test('broken-chain: "BACKUP CHAIN DAMAGED", later points NOT RESTORABLE and not selectable, newest whole point preselected', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('broken-chain');
    await toServerPrompt(t);
    let s = await t.screen();
    assert.match(choicesOf(s, 'Which server do you restore?'), /KERSERV .*BACKUP CHAIN DAMAGED/);
    await t.send('Enter');
    s = await t.waitFor('? Which restore point?');
    const points = choicesOf(s, 'Which restore point?').split('\n').slice(1).filter((l) => /\d{4} \d{2}:\d{2}/.test(l));
    assert.ok(points.length >= 10, `restore points listed:\n${points.join('\n')}`);
    const damaged = points.filter((l) => l.includes('NOT RESTORABLE'));
    const whole = points.filter((l) => !l.includes('NOT RESTORABLE'));
    assert.ok(damaged.length >= 1 && whole.length >= 1, `both kinds listed:\n${points.join('\n')}`);
    // Newest first: every damaged point comes before (is newer than) every whole one.
    assert.ok(points.indexOf(damaged.at(-1)!) < points.indexOf(whole[0]!), `damaged points are the newest:\n${points.join('\n')}`);
    assert.ok(whole[0]!.startsWith('❯') || whole[0]!.startsWith('>'), `the newest whole point is preselected:\n${points.join('\n')}`);
    for (const d of damaged) assert.doesNotMatch(d, /^[❯>]/, 'a damaged point is not the cursor');
    assert.match(s, /! missing file "Kerserv - 2025-07-20T\d+\.vib" for restore point of/);
    for (const d of damaged) assert.match(d, /NOT RESTORABLE missing file "Kerserv - 2025-07-20T\d+\.vib"/);
    const preselected = /^❯ (.+?) {2}/.exec(whole[0]!)![1]!;
    // Up from the newest whole point: the cursor skips the damaged (disabled) ones and wraps to the oldest point.
    let m = await t.mark();
    await t.send('Up');
    const esc = (x: string) => x.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
    s = await t.waitFor(new RegExp(`❯ (?!${esc(preselected)})`), { after: m - 20 });
    const cursor = choicesOf(s, 'Which restore point?').split('\n').find((l) => l.startsWith('❯')) ?? '';
    assert.ok(cursor && !cursor.includes('NOT RESTORABLE') && !cursor.includes(preselected), `the cursor moved to an older whole point: ${cursor}`);
    m = await t.mark();
    await t.send('Down', 'Enter');
    s = await t.waitFor('? Restore onto which disk?', { after: m - 20 });
    const chosen = /✔ Which restore point\? .*\(Esc: back\) (.*)/.exec(s)?.[1] ?? '';
    assert.ok(chosen.startsWith(preselected), `the newest whole point (${preselected}) was chosen: ${chosen}`);
    assert.match(s, /! This is a DOMAIN CONTROLLER/);
    await t.send('Enter');
    await t.waitFor('? Type the disk number 0');
    await t.answer('0');
    await t.waitFor('? Show the share password now?');
    await t.send('Enter');
    await t.waitFor('? Start Veeam Recovery now?');
    await t.send('Enter');
    await t.waitFor('? Rewrite the boot files');
    await t.send('Enter');
    assert.equal(await t.waitForExit(), 0);
    const { log, report } = await records(dir, 'KERSERV');
    assert.match(log, /chainOk=false/);
    assert.equal(report.restorePoint.label, preselected);
    assert.ok(!report.restorePoint.file.includes('2025-07-20T'), `the restored point's file: ${report.restorePoint.file}`);
  });

  test('p2v-kvm: virtio drivers loaded at start, injected into the restored Windows (default yes), and reported', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { t, dir } = await startAssistant('p2v-kvm');
    let s = await t.waitFor('? Recovery code or passphrase (Esc: back)', 30_000);
    assert.match(s, /QEMU Standard PC \(Q35 \+ ICH9, 2009\) \(a kvm virtual machine\)/);
    assert.match(s, /OK Loaded 1 of 1 driver packages \(virtio\)\./);
    await t.answer(PASSPHRASE);
    await t.waitFor(/\? Choose \(Esc: back\)/);
    await t.send('Enter');
    await t.waitFor('? Which server do you restore?');
    await t.send('Enter');
    await t.waitFor('? Which restore point?');
    await t.send('Enter');
    s = await t.waitFor('? Restore onto which disk?');
    assert.doesNotMatch(choicesOf(s, 'Restore onto which disk?'), /<- the recovery media|Disk 1/);
    await t.send('Enter');
    await t.waitFor('? Type the disk number 0');
    await t.answer('0');
    await t.waitFor('? Show the share password now?');
    await t.send('Enter');
    await t.waitFor('? Start Veeam Recovery now?');
    await t.send('Enter');
    s = await t.waitFor('? Add the virtio drivers to the restored Windows on W:?');
    assert.match(s, /INACCESSIBLE_BOOT_DEVICE\) \(Esc: back\) \(Y\/n\)/, 'default yes in a VM');
    await t.send('Enter');
    s = await t.waitFor('? Rewrite the boot files (bcdboot)?');
    assert.match(s, /OK virtio drivers added/);
    await t.send('Enter');
    assert.equal(await t.waitForExit(), 0);
    const { report, log } = await records(dir, 'KERSERV');
    assert.deepEqual(report.afterRestore, ['drivers virtio: added']);
    assert.equal(report.drivers.length, 1);
    assert.match(report.drivers[0].inf, /[\\/]drivers[\\/]virtio[\\/]viostor\.inf$/);
    assert.equal(report.drivers[0].ok, true);
    assert.match(log, /drvload .*viostor\.inf: ok/);
    assert.match(log, /dism add-driver virtio -> W: ok/);
    await assertNoSecretsWritten(dir);
  });
});
