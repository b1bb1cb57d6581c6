/**
 * `lifeboat init` as a person meets it, driven in a terminal (tmux): every answer is checked when it is given and
 * against the answers before it (window end after start, a BIOS server's system disk over 2 TiB, a name already
 * used); the NAS host is offered from the share path; Esc goes back one question with the earlier answer offered;
 * Ctrl-C offers a draft, ends with exit 130, and `init --resume` continues where it stopped; driver folders are
 * suggested only when they exist, and the written site.yaml loads.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadSite } from '../../src/site/index.js';
import { LIFEBOAT_BIN } from '../helpers/cli.js';
import { killAllTmux, TmuxSession, tmuxMissing } from '../helpers/tmux.js';
import { mkTempDir, removeTempDir } from '../helpers/tools.js';

const exists = (p: string) => stat(p).then(() => true, () => false);
const skip = await tmuxMissing();

describe('lifeboat init in a terminal', { skip }, () => {
  let dir: string;
  before(async () => {
    dir = await mkTempDir('init');
  });
  after(async () => {
    await killAllTmux();
    await removeTempDir(dir);
  });

  const start = (args: string[], name: string) =>
    TmuxSession.start([process.execPath, LIFEBOAT_BIN, 'init', ...args], { cwd: dir, name, width: 160, height: 50, killAfterSeconds: 90 });

  /** Waits for a question (from `after` on the screen) and answers it. */
  async function answer(s: TmuxSession, question: string | RegExp, text: string | null): Promise<string> {
    const from = await s.mark();
    const screen = await s.waitFor(question, { after: from });
    if (text === null) await s.send('Enter');
    else await s.answer(text);
    return screen;
  }

  test('checks in context, Esc goes back one question, Ctrl-C keeps a draft, --resume finishes it', async () => {
    const out = join(dir, 'acme.yaml');
    await mkdir(join(dir, 'drivers', 'virtio'), { recursive: true });
    const s = await start(['--out', 'acme.yaml'], 'init-full');
    await s.waitFor('Esc goes back one question');
    await answer(s, 'Name of the business', 'Acme Bau');
    await answer(s, 'Short site id', null);
    await answer(s, 'Contact 1: name', 'Al');
    // Esc at the role question: back to the name, with "Al" offered.
    let mark = await s.mark();
    await s.waitFor('Contact 1: role', { after: mark });
    await s.send('Escape');
    const back = await s.waitFor(/Contact 1: name \(Al\)/, { after: mark });
    assert.match(back, /Contact 1: name \(Al\)/);
    await s.send('Enter');
    await answer(s, 'Contact 1: role', 'Owner');
    await answer(s, 'Contact 1: phone', '+49 30 1234 567');
    await answer(s, 'Contact 1: e-mail', null);
    await answer(s, 'Add another contact?', 'n');
    await answer(s, 'Add an escalation phone number?', 'n');
    await answer(s, 'Backup share as UNC path', '\\\\nas7\\backup');
    await answer(s, 'User for reading the share', 'restore');
    await answer(s, 'Domain of that user', null);
    const nas = await answer(s, 'NAS host name', null);
    assert.match(nas, /NAS host name or IP address \(empty: skip\) \(nas7\)/, 'the NAS host is offered from the share path');
    await answer(s, 'Network speed', null);
    await answer(s, 'Recovery point objective', null);
    await answer(s, 'Days of restore points', null);
    await answer(s, 'during business hours?', 'y');
    await answer(s, 'Business days', null);
    await answer(s, 'Business hours start', '\b\b\b\b\b09:00');
    // The end is checked against the start at once, not after fifty questions.
    mark = await s.mark();
    await s.waitFor('Business hours end', { after: mark });
    await s.send('BSpace', 'BSpace', 'BSpace', 'BSpace', 'BSpace');
    await s.answer('08:00');
    await s.waitFor('must be later than the start, 09:00', { after: mark });
    await s.send('BSpace', 'BSpace', 'BSpace', 'BSpace', 'BSpace');
    await s.answer('17:00');
    await answer(s, 'daily backup job', null);
    await answer(s, 'Server 1: Windows computer name', 'ERP1');
    await answer(s, 'ERP1: fully qualified name', null);
    await answer(s, 'ERP1: main role', null);
    await answer(s, 'ERP1: runs on', null);
    await answer(s, 'ERP1: hardware vendor', null);
    await answer(s, 'ERP1: model', null);
    mark = await s.mark();
    await s.waitFor('ERP1: boot firmware', { after: mark });
    await s.send('Down', 'Enter');
    await answer(s, 'ERP1: number of CPUs', null);
    await answer(s, 'ERP1: memory in GB', '16');
    await answer(s, 'ERP1: number of disks', null);
    await answer(s, 'ERP1: disk 1 label', null);
    mark = await s.mark();
    await s.waitFor('ERP1: disk 1 size', { after: mark });
    await s.answer('3000');
    await s.waitFor(/legacy BIOS server starts from an MBR disk, which holds at most 2 TiB/, { after: mark });
    await s.send('BSpace', 'BSpace', 'BSpace', 'BSpace');
    await s.answer('500');
    await answer(s, 'ERP1: Veeam backup job name', null);
    await answer(s, 'ERP1: operating system', null);
    await answer(s, 'Add another server?', 'y');
    await answer(s, 'Server 2: Windows computer name', 'erp1');
    await s.waitFor('already used by another server');
    // Ctrl-C: keep the answers as a draft.
    mark = await s.mark();
    await s.send('C-c');
    await s.waitFor(/Keep your \d+ answers as a draft/, { after: mark });
    await s.send('Enter');
    await s.waitFor('Draft kept in acme.yaml.draft.json; continue with: lifeboat init --out acme.yaml --resume');
    assert.equal(await s.waitForExit(), 130);
    assert.ok(!(await exists(out)), 'no site file after Ctrl-C');
    const draft = join(dir, 'acme.yaml.draft.json');
    assert.equal((await stat(draft)).mode & 0o777, 0o600);
    assert.doesNotMatch(await s.screen(), /Error|at .*\.js:\d+|this is a bug/i);
    // (The session stays until the end: a tmux server whose last session ends goes away under the next start.)

    // --resume: the kept answers are not asked again; it goes on at the question where Ctrl-C came.
    const r = await start(['--out', 'acme.yaml', '--resume'], 'init-resume');
    const resumed = await r.waitFor(/Server 2: Windows computer name/);
    assert.match(resumed, /Continuing from \d+ answers kept in acme\.yaml\.draft\.json/);
    assert.doesNotMatch(resumed, /Name of the business/, 'answered questions are replayed silently');
    await r.answer('\b\b\b\b\bWEB1');
    await answer(r, 'WEB1: fully qualified name', null);
    await answer(r, 'WEB1: main role', null);
    mark = await r.mark();
    await r.waitFor('WEB1: runs on', { after: mark });
    await r.send('Down', 'Enter');
    mark = await r.mark();
    await r.waitFor('WEB1: hypervisor', { after: mark });
    await r.send('Down', 'Down', 'Enter'); // KVM
    await answer(r, 'WEB1: boot firmware', null);
    await answer(r, 'WEB1: number of CPUs', null);
    await answer(r, 'WEB1: memory in GB', '8');
    await answer(r, 'WEB1: number of disks', null);
    await answer(r, 'WEB1: disk 1 label', null);
    await answer(r, 'WEB1: disk 1 size', '100');
    await answer(r, 'WEB1: Veeam backup job name', null);
    await answer(r, 'WEB1: operating system', null);
    await answer(r, 'Add another server?', null);
    // drivers/virtio exists beside the site file: offered and taken; drivers/dell does not: not offered.
    const virtio = await answer(r, 'Folder with virtio drivers', null);
    assert.match(virtio, /Folder with virtio drivers, relative to site\.yaml \(empty: add later\) \(drivers\/virtio\)/);
    const dell = await answer(r, 'Folder with the Dell driver pack', null);
    assert.doesNotMatch(dell, /\(drivers\/dell\)/);
    await answer(r, 'Folder with other drivers', null);
    await r.waitFor('wrote acme.yaml');
    assert.equal(await r.waitForExit(), 0);
    assert.ok(!(await exists(draft)), 'the draft is removed once the site is written');
    await s.kill();

    const site = await loadSite(out);
    assert.equal(site.site.id, 'acme-bau');
    assert.equal(site.contacts[0]?.name, 'Al');
    assert.equal(site.nas.host, 'nas7');
    assert.deepEqual(site.schedule?.window, { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' });
    assert.deepEqual(site.servers.map((x) => [x.name, x.firmware, x.disks[0]?.sizeGb]), [['ERP1', 'bios', 500], ['WEB1', 'uefi', 100]]);
    assert.deepEqual(site.drivers, { virtio: 'drivers/virtio' }, 'only the folder that exists is set');
    const text = await readFile(out, 'utf8');
    assert.match(text, /# dell: \(optional\) Folder with dell/);
  });

  test('Ctrl-C at the first question writes nothing', async () => {
    const s = await start(['--out', 'none.yaml'], 'init-ctrlc');
    await s.waitFor('Name of the business');
    await s.send('C-c');
    await s.waitFor('Interrupted: nothing was written.');
    assert.equal(await s.waitForExit(), 130);
    assert.ok(!(await exists(join(dir, 'none.yaml'))));
    assert.ok(!(await exists(join(dir, 'none.yaml.draft.json'))));
    assert.doesNotMatch(await s.screen(), /ExitPromptError|at .*\.js:\d+|this is a bug/i);
  });
});
