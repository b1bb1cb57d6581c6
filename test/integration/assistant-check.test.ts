/**
 * `assistant.exe --check` (here: its source run by Node) on media made by the training platform, in a terminal
 * (tmux): the same unlock routine as the assistant's unlock step, and Ctrl+C at its prompt.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SimulatedPlatform } from '../../src/platform/simulated/simulated-platform.js';
import { REPO_ROOT, mkTempDir, removeTempDir } from '../helpers/tools.js';
import { TmuxSession, killAllTmux, tmuxMissing } from '../helpers/tmux.js';

const PASSPHRASE = 'training-lifeboat-restore-2026';
const skip = await tmuxMissing();

describe('assistant --check in a terminal', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let media: string;
  before(async () => {
    dir = await mkTempDir('assistant-check');
    const sim = await SimulatedPlatform.start(join(REPO_ROOT, 'examples', 'scenarios', 'healthy-physical'), { work: dir });
    media = sim.mediaRoot;
  });
  after(async () => {
    await killAllTmux();
    await removeTempDir(dir);
  });

  const start = () => TmuxSession.start([process.execPath, '--import', 'tsx', join(REPO_ROOT, 'src', 'assistant', 'main.ts'), '--check', '--media', media], { unset: ['LIFEBOAT_UNLOCK'], killAfterSeconds: 60, name: 'check' });

  test('a wrong passphrase, then the right one: unlocked, exit 0', async () => {
    const t = await start();
    try {
      let s = await t.waitFor('? Recovery code or passphrase (Esc: back)', 30_000);
      assert.match(s, /Restore kit for Steuerbuero Kerner \(training\) \(build kerner-training-training\)/);
      await t.answer('not-the-passphrase-at-all');
      await t.waitFor('2 attempts left.');
      await t.answer(PASSPHRASE);
      s = await t.waitFor('Unlocked. For Veeam Bare Metal Recovery');
      assert.match(s, /User name: +STB\\svc-restore/);
      assert.equal(await t.waitForExit(), 0);
    } finally {
      await t.kill();
    }
  });

  test('Ctrl+C at the prompt: one line, exit 130', async () => {
    const t = await start();
    try {
      await t.waitFor('? Recovery code or passphrase', 30_000);
      await t.send('C-c');
      assert.equal(await t.waitForExit(), 130);
      const s = await t.screen();
      assert.match(s, /^Stopped \(Ctrl\+C\) at the passphrase prompt: the vault stays locked; nothing was written\.$/m);
      assert.doesNotMatch(s, /Error|unexpected|at .*\.ts:\d+/);
    } finally {
      await t.kill();
    }
  });
});
