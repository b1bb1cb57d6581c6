/**
 * `assistant.exe --check`: a quick test of new media on any Windows PC or under Wine: shows the site, unlocks the
 * vault with the recovery code or passphrase (the same routine as the assistant's unlock step) and says what the
 * restore will type into Veeam. Nothing else is done.
 */
import { LifeboatError } from '../errors.js';
import { Secret } from '../secrets/secret.js';
import { loadMedia } from './run.js';
import { ConsoleUi } from './ui.js';
import { callFor, askAndUnlock } from './unlock-vault.js';
import { versionLine } from './version.js';

export async function runCheck(root: string): Promise<number> {
  const say = (s = '') => process.stdout.write(`${s}\n`);
  let media;
  try {
    media = await loadMedia(root);
  } catch (e) {
    if (!(e instanceof LifeboatError)) throw e;
    say(`${e.message}.`);
    if (e.hint) say(e.hint);
    return 2;
  }
  const { site } = media;
  say(versionLine());
  say(`Restore kit for ${media.siteName} (build ${media.build.buildId})`);
  say(`Servers: ${site.servers.map((s) => `${s.name} (${s.role}, ${s.firmware.toUpperCase()})`).join(', ')}`);
  say(`Backups: ${site.share.path}`);
  say();
  const callForHelp = () => {
    say(`${callFor(media).replace(/\.$/, '')}, then start \\lifeboat\\start.cmd again.`);
    say('Without it, type the share password into Veeam Recovery yourself.');
  };
  // LIFEBOAT_UNLOCK (for scripted checks) is read once and removed from the environment.
  const fromEnv = process.env.LIFEBOAT_UNLOCK;
  delete process.env.LIFEBOAT_UNLOCK;
  let r;
  try {
    r = await askAndUnlock(new ConsoleUi(), media, 0, fromEnv ? { typed: new Secret(fromEnv) } : {});
  } catch (e) {
    if ((e as Error | undefined)?.name !== 'ExitPromptError') throw e;
    say();
    if (/SIGINT/.test((e as Error).message)) {
      say(`Stopped (Ctrl+C) at the ${media.build.unlock === 'recovery-code' ? 'recovery code' : 'passphrase'} prompt: the vault stays locked; nothing was written.`);
      return 130;
    }
    // The input ended (nothing more to read): nothing was typed.
    say('No recovery code or passphrase was entered: the vault stays locked.');
    callForHelp();
    return 1;
  }
  if (!r.ok) {
    if (r.reason === 'back') say('No recovery code or passphrase was entered: the vault stays locked.');
    callForHelp();
    return 1;
  }
  const share = r.payload.share;
  say('Unlocked. For Veeam Bare Metal Recovery > Network storage > Shared folder:');
  say(`  Shared folder:  ${site.share.path}`);
  say(`  User name:      ${share.domain ? `${share.domain}\\${share.user}` : share.user}`);
  say(`  Password:       stored on the media (${share.password.byteLength} characters); the full assistant shows it on request`);
  if (r.payload.veeamEncryptionPassword) say('  Backup encryption password: stored on the media');
  say();
  say(`Next: ${media.build.veeamLaunch?.length ? 'Veeam Recovery starts when this window closes.' : 'start Veeam Recovery from its menu.'}`);
  return 0;
}
