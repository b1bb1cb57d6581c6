/**
 * The one unlock routine, shared by the unlock step and `assistant.exe --check`: ask for the recovery code or
 * passphrase (typos caught per group before anything is tried), open the vault bound to the site id, count the
 * attempts (kept by the caller, so Esc and a second visit do not reset them), say whom to call.
 */
import { looksLikeRecoveryCode, parseRecoveryCode, unlockSecretFromInput } from '../secrets/recovery-code.js';
import type { Secret } from '../secrets/secret.js';
import { VaultError, type VaultPayload, openVault } from '../secrets/vault.js';
import { type Media, firstContact } from './context.js';
import { BACK, type Ui } from './ui.js';

export const MAX_ATTEMPTS = 3;

/** A typed recovery code is checked group by group; anything else is taken as a passphrase. */
export function checkUnlockInput(text: string): true | string {
  if (!looksLikeRecoveryCode(text)) return true;
  const parsed = parseRecoveryCode(text);
  return parsed.ok ? true : parsed.message;
}

/** What the technician needs, in the media's own words: the recovery code (sealed page) or the passphrase. */
export function secretName(media: Media): string {
  return media.build.unlock === 'recovery-code' ? 'recovery code' : 'passphrase';
}

export function callFor(media: Media): string {
  return `Call ${firstContact(media.site)} for the ${secretName(media)}.`;
}

export type UnlockResult = { ok: true; payload: VaultPayload; attempts: number } | { ok: false; reason: 'back' | 'failed'; attempts: number };

/**
 * Asks until the vault opens or MAX_ATTEMPTS (counted from `attemptsSoFar`) have failed. `typed` gives a secret
 * without asking (LIFEBOAT_UNLOCK for --check) for the first attempt.
 */
export async function askAndUnlock(ui: Ui, media: Media, attemptsSoFar: number, opts: { typed?: Secret; onAttempt?: (n: number, ok: boolean) => void } = {}): Promise<UnlockResult> {
  let attempts = attemptsSoFar;
  let given = opts.typed;
  while (attempts < MAX_ATTEMPTS) {
    const typed = given ?? (await ui.secret(media.build.unlock === 'recovery-code' ? 'Recovery code (from the sealed page)' : 'Recovery code or passphrase', { validate: checkUnlockInput }));
    given = undefined;
    if (typed === BACK) return { ok: false, reason: 'back', attempts };
    attempts++;
    try {
      const payload = await openVault(media.vaultText, unlockSecretFromInput(typed), media.siteId);
      opts.onAttempt?.(attempts, true);
      return { ok: true, payload, attempts };
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      opts.onAttempt?.(attempts, false);
      const left = MAX_ATTEMPTS - attempts;
      ui.warn(`That did not unlock the media (${e.message}).${left ? ` ${left} attempt${left > 1 ? 's' : ''} left.` : ''}`);
    } finally {
      typed.wipe();
    }
  }
  return { ok: false, reason: 'failed', attempts };
}
