/**
 * `assistant.exe --check`: a quick test of new media on any Windows PC or under Wine: shows the site, unlocks the
 * vault with the recovery code or passphrase and says what the restore will type into Veeam. Nothing else is done.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { password } from '@inquirer/prompts';
import { Secret, openVault, unlockSecretFromInput, VaultError, parseRecoveryCode, looksLikeRecoveryCode } from '../secrets/index.js';
import { versionLine } from './version.js';

const MAX_ATTEMPTS = 3;

interface SiteJson {
  buildId: string;
  site: { site: { id: string; name: string }; share: { path: string; user: string; domain?: string }; servers: { name: string; role: string; firmware: string }[]; contacts: { name: string; phone: string }[] };
  veeamLaunch?: { path: string }[];
}

/**
 * The unlock secret: from LIFEBOAT_UNLOCK on the first call (then removed from the environment), else typed.
 * Undefined when the input ended or the technician pressed Ctrl+C (inquirer's ExitPromptError), so the caller can
 * say so instead of reporting an unexpected error.
 */
async function askUnlock(): Promise<Secret | undefined> {
  const fromEnv = process.env.LIFEBOAT_UNLOCK;
  if (fromEnv) {
    delete process.env.LIFEBOAT_UNLOCK;
    return new Secret(fromEnv);
  }
  let typed: string;
  try {
    typed = await password({
      message: 'Recovery code or passphrase (from the sealed page of the manual)',
      mask: '*',
      validate: (text) => {
        if (!looksLikeRecoveryCode(text)) return true;
        const parsed = parseRecoveryCode(text);
        return parsed.ok ? true : parsed.message;
      },
    });
  } catch (e) {
    if ((e as Error | undefined)?.name === 'ExitPromptError') return undefined;
    throw e;
  }
  return new Secret(typed);
}

export async function runCheck(root: string): Promise<number> {
  const say = (s = '') => process.stdout.write(`${s}\n`);
  let site: SiteJson;
  let vault: string;
  try {
    site = JSON.parse(readFileSync(join(root, 'lifeboat', 'site.json'), 'utf8')) as SiteJson;
    vault = readFileSync(join(root, 'lifeboat', 'vault.json'), 'utf8');
  } catch (e) {
    say(`The recovery media was not found at ${root} (${(e as NodeJS.ErrnoException).code ?? e}).`);
    say('Start this program from the media: \\lifeboat\\start.cmd, or give --media D:\\');
    return 2;
  }
  say(versionLine());
  say(`Restore kit for ${site.site.site.name} (build ${site.buildId})`);
  say(`Servers: ${site.site.servers.map((s) => `${s.name} (${s.role}, ${s.firmware.toUpperCase()})`).join(', ')}`);
  say(`Backups: ${site.site.share.path}`);
  say();
  const callForHelp = () => {
    say(`Call ${site.site.contacts[0]?.name ?? 'your IT contact'} (${site.site.contacts[0]?.phone ?? 'see the manual'}) for the recovery code, then start \\lifeboat\\start.cmd again.`);
    say('Without it, type the share password into Veeam Recovery yourself.');
  };
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const typed = await askUnlock();
    if (!typed) {
      say();
      say('No recovery code or passphrase was entered: the vault stays locked.');
      callForHelp();
      return 1;
    }
    try {
      const payload = await openVault(vault, unlockSecretFromInput(typed), site.site.site.id);
      const share = payload.share;
      say('Unlocked. For Veeam Bare Metal Recovery > Network storage > Shared folder:');
      say(`  Shared folder:  ${site.site.share.path}`);
      say(`  User name:      ${share.domain ? `${share.domain}\\${share.user}` : share.user}`);
      say(`  Password:       stored on the media (${share.password.byteLength} characters); the full assistant shows it on request`);
      if (payload.veeamEncryptionPassword) say('  Backup encryption password: stored on the media');
      say();
      say(`Next: ${site.veeamLaunch?.length ? 'Veeam Recovery starts when this window closes.' : 'start Veeam Recovery from its menu.'}`);
      return 0;
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      const left = MAX_ATTEMPTS - attempt;
      say(`${e.message}.${left > 0 ? ` ${left} attempt${left === 1 ? '' : 's'} left.` : ''}`);
      if (left === 0) callForHelp();
    } finally {
      typed.wipe();
    }
  }
  return 1;
}

