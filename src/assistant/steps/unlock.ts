/** Unlock the share credentials with the recovery code or passphrase; typos caught per group. */
import { BACK } from '../ui.js';
import type { Step } from '../context.js';
import { MAX_ATTEMPTS, askAndUnlock, callFor } from '../unlock-vault.js';

export { MAX_ATTEMPTS };

export const unlock: Step = {
  id: 'unlock',
  title: 'Unlock the share credentials',
  async run({ ui, log, media, state }) {
    ui.say(media.build.unlock === 'recovery-code'
      ? 'Type the recovery code from the sealed page of the manual (groups of 5 digits; dashes and spaces optional).'
      : 'Type the unlock passphrase for this media.');
    for (;;) {
      const before = state.unlockAttempts ?? 0;
      if (before >= MAX_ATTEMPTS) {
        ui.warn(`${before} attempts failed.`);
        ui.say(callFor(media));
        const choice = await ui.select('What now?', [
          { name: 'Try again', value: 'again', description: `${MAX_ATTEMPTS} more attempts` },
          { name: 'Go on without: I will type the share password into Veeam myself', value: 'without', description: 'the backups, the disk plan and the hand-over card still follow; Veeam asks for the password' },
          { name: 'Quit', value: 'quit', description: 'the session log is saved; Veeam Recovery starts when this window closes' },
        ]);
        if (choice === BACK) return 'back';
        if (choice === 'quit') return 'quit';
        if (choice === 'without') {
          log.write('unlock: skipped; credentials typed by hand in Veeam');
          state.shareProblem = 'the media was not unlocked';
          return { goto: 'menu' };
        }
        state.unlockAttempts = 0;
        log.write('unlock: trying again');
        continue;
      }
      const r = await askAndUnlock(ui, media, before, {
        onAttempt: (_, ok) => {
          const n = (state.unlockTotal = (state.unlockTotal ?? 0) + 1);
          log.write(ok ? `unlock: ok at attempt ${n} (${n - 1} failed before)` : `unlock: attempt ${n} failed`);
        },
      });
      state.unlockAttempts = r.attempts;
      if (r.ok) {
        state.credentials = r.payload;
        log.protect(r.payload.share.password);
        if (r.payload.veeamEncryptionPassword) log.protect(r.payload.veeamEncryptionPassword);
        ui.ok('Unlocked.');
        return 'next';
      }
      if (r.reason === 'back') return 'back';
    }
  },
};
