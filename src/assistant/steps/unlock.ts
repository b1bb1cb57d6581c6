/** Step 5: unlock the share credentials with the recovery code or passphrase; typos caught per group. */
import { looksLikeRecoveryCode, parseRecoveryCode, unlockSecretFromInput } from '../../secrets/recovery-code.js';
import { VaultError, openVault } from '../../secrets/vault.js';
import { BACK } from '../ui.js';
import type { Step } from '../context.js';

export const MAX_ATTEMPTS = 3;

export const unlock: Step = {
  id: 'unlock',
  title: 'Unlock the share credentials',
  async run({ ui, log, media, state }) {
    const contact = media.site.site.contacts[0];
    ui.say(media.site.unlock === 'recovery-code'
      ? 'Type the recovery code from the sealed page of the manual (groups of 5 digits; dashes and spaces optional).'
      : 'Type the unlock passphrase for this media.');
    for (;;) {
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const typed = await ui.secret('Recovery code or passphrase', {
          validate: (t) => {
            if (!looksLikeRecoveryCode(t)) return true;
            const parsed = parseRecoveryCode(t);
            return parsed.ok ? true : parsed.message;
          },
        });
        if (typed === BACK) return 'back';
        try {
          state.credentials = await openVault(media.vaultText, unlockSecretFromInput(typed), media.site.site.site.id);
          log.protect(state.credentials.share.password);
          if (state.credentials.veeamEncryptionPassword) log.protect(state.credentials.veeamEncryptionPassword);
          log.write(`unlock: ok after ${attempt} attempt(s)`);
          ui.ok('Unlocked.');
          return 'next';
        } catch (e) {
          if (!(e instanceof VaultError)) throw e;
          log.write(`unlock: attempt ${attempt} failed`);
          const left = MAX_ATTEMPTS - attempt;
          ui.warn(`That did not unlock the media (${e.message}).${left ? ` ${left} attempt${left > 1 ? 's' : ''} left.` : ''}`);
        } finally {
          typed.wipe();
        }
      }
      ui.warn(`${MAX_ATTEMPTS} attempts failed.`);
      ui.say(`Call ${contact ? `${contact.name} (${contact.phone})` : 'your IT contact'} for the recovery code.`);
      const choice = await ui.select('What now?', [
        { name: 'Try again', value: 'again' },
        { name: 'Go on without: I will type the share password into Veeam myself', value: 'without' },
        { name: 'Quit', value: 'quit' },
      ]);
      if (choice === BACK) return 'back';
      if (choice === 'quit') return 'quit';
      if (choice === 'without') {
        log.write('unlock: skipped; credentials typed by hand in Veeam');
        return { goto: 'handover' };
      }
    }
  },
};
