/**
 * Ctrl+C at the build's password prompt, driven in a terminal (tmux) as a person would: one line saying what was
 * interrupted and that nothing was written, exit code 130, no stack trace, nothing in the output folder.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeStandInBase } from '../../src/media/stand-in-base.js';
import { LIFEBOAT_BIN } from '../helpers/cli.js';
import { REPO_ROOT, mkTempDir, removeTempDir } from '../helpers/tools.js';
import { TmuxSession, killAllTmux, tmuxMissing } from '../helpers/tmux.js';

const skip = await tmuxMissing();

describe('lifeboat build: Ctrl+C at the password prompt', { skip, timeout: 120_000 }, () => {
  let dir: string;
  let base: string;
  before(async () => {
    dir = await mkTempDir('build-interrupt');
    base = join(dir, 'veeam.iso');
    await makeStandInBase(base, join(dir, 'base-work'));
  });
  after(async () => {
    await killAllTmux();
    await removeTempDir(dir);
  });

  for (const [name, keys] of [['the first question', 0], ['the second question (the same password again)', 1]] as const) {
    test(`at ${name}: one line, exit 130, nothing written`, async () => {
      const out = join(dir, `out-${keys}`);
      const t = await TmuxSession.start([process.execPath, LIFEBOAT_BIN, 'build', '--site', join(REPO_ROOT, 'examples', 'site.yaml'), '--base', base, '--out', out], {
        unset: ['LIFEBOAT_SHARE_PASSWORD', 'LIFEBOAT_UNLOCK'], killAfterSeconds: 60, name: 'build-interrupt',
      });
      try {
        await t.waitFor(/\? Password of .* for \\\\/, 30_000);
        if (keys === 1) {
          await t.answer('a-share-password-typed');
          await t.waitFor('? The same password again');
        }
        await t.send('C-c');
        assert.equal(await t.waitForExit(), 130);
        const screen = await t.screen();
        const question = keys === 0 ? 'Password of MUSTER\\\\svc-restore for \\\\\\\\nas01\\\\veeam' : 'The same password again';
        assert.match(screen, new RegExp(`^error: interrupted \\(Ctrl\\+C\\) at "${question}": nothing was written$`, 'm'));
        assert.doesNotMatch(screen, /this is a bug|at .*\.js:\d+|ExitPromptError/i);
        assert.ok(!screen.includes('a-share-password-typed'));
        // The build makes its output folder before it asks (a check that it can write there); nothing is in it.
        assert.deepEqual(await readdir(out).catch(() => []), [], 'nothing in the output folder');
      } finally {
        await t.kill();
      }
    });
  }
});
