/**
 * Connect the backup share with the vault's credentials; every Windows error in plain words, with what the
 * technician can fix here: type the current password (1326), type the NAS address (53), disconnect (1219).
 */
import { BACK } from '../ui.js';
import type { Step } from '../context.js';
import { askNasAddress, shareUnc } from './network.js';

/** What `net use` errors mean, and what to do next. */
export const NET_USE_ERRORS: Record<number, { meaning: string; next: string }> = {
  5: { meaning: 'access is denied: the account may not read this share', next: 'Give the restore account read access on the NAS, or use an account that has it.' },
  53: { meaning: 'the network path was not found: the NAS name or address is not reachable', next: 'Check that the NAS is on and in this network; type its IP address, or go back to the network step.' },
  67: { meaning: 'the network name cannot be found: the NAS answers, but the share name is wrong', next: 'Check the share name (the part after the NAS name) in the NAS administration.' },
  86: { meaning: 'the password is not correct', next: 'The password on the media is out of date: type the current one here, and rebuild the media afterwards.' },
  1219: { meaning: 'this machine already has a connection to the NAS with other credentials', next: 'Choose "Disconnect and try again".' },
  1272: { meaning: 'the NAS allows only guest access, which Windows blocks', next: 'Set up a user account on the NAS for restores (a guest share cannot be used).' },
  1326: { meaning: 'the user name or password is incorrect', next: 'The password on the media is out of date: type the current one here, and rebuild the media afterwards.' },
  2242: { meaning: 'the password of this account has expired', next: 'Set a new password for the restore account on the NAS or domain, then type it here.' },
};

const PASSWORD_ERRORS = new Set([86, 1326, 2242]);

export function explainNetUse(code: number): { meaning: string; next: string } {
  return NET_USE_ERRORS[code] ?? { meaning: `Windows reported error ${code}`, next: 'Write down the number and call your IT contact; Veeam Recovery can still connect with credentials typed by hand.' };
}

export const share: Step = {
  id: 'share',
  title: 'Connect the backup share',
  async run(ctx) {
    const { ui, log, platform, state } = ctx;
    const creds = state.credentials!;
    const account = creds.share.domain ? `${creds.share.domain}\\${creds.share.user}` : creds.share.user;
    let password = creds.share.password;
    for (;;) {
      const unc = shareUnc(ctx);
      ui.say(`Connecting ${unc} as ${account} ...`);
      const r = await platform.connectShare(unc, account, password);
      if (r.ok) {
        state.shareRoot = r.root;
        state.shareProblem = undefined;
        if (password !== creds.share.password) {
          // The typed password is the one that works: hand it over instead of the stored one.
          creds.share.password.wipe();
          creds.share.password = password;
          state.passwordTyped = true;
        }
        log.write(`share ${unc} connected as ${account}${state.passwordTyped ? ' with a typed password' : ''}`);
        ui.ok(`Connected to ${unc}.`);
        if (state.passwordTyped) ui.warn('The share password on the media is out of date: rebuild the media after the restore (lifeboat build).');
        return 'next';
      }
      const { meaning, next } = explainNetUse(r.code);
      log.write(`share ${unc}: error ${r.code}: ${r.message}`);
      ui.warn(`Could not connect ${unc}: ${meaning} (error ${r.code}).`);
      ui.say(next);
      const choice = await ui.select('What now?', [
        ...(PASSWORD_ERRORS.has(r.code) ? [{ name: 'Type the current share password', value: 'password', description: `for ${account}; it is used for this restore only and not stored` }] : []),
        ...(r.code === 53 ? [{ name: 'Type the NAS IP address', value: 'ip', description: 'when its name is not known in this network; the share is then connected by the address' }] : []),
        ...(r.code === 1219 ? [{ name: 'Disconnect and try again', value: 'disconnect', description: 'drops the other connection to the NAS, then connects again' }] : []),
        { name: 'Try again', value: 'retry', description: 'connects again with the same account and password' },
        { name: 'Back to the network step', value: 'network', description: 'DHCP, a fixed IP address, the NAS check' },
        { name: 'Go on without the share: I will connect it in Veeam by hand', value: 'without', description: 'you still choose the server and the target disk here; the hand-over card says what to type into Veeam' },
      ]);
      if (choice === BACK) return 'back';
      if (choice === 'network') return { goto: 'network' };
      if (choice === 'without') {
        state.shareProblem = `${meaning} (error ${r.code})`;
        log.write(`share: technician goes on without it (${r.code})`);
        return 'next';
      }
      if (choice === 'disconnect') await platform.disconnectShare(unc);
      if (choice === 'ip') await askNasAddress(ctx);
      if (choice === 'password') {
        const typed = await ui.secret(`Current password of ${account}`, { validate: (t) => (t ? true : 'Type the password, or press Esc') });
        if (typed === BACK) continue;
        log.protect(typed);
        if (password !== creds.share.password) password.wipe();
        password = typed;
      }
    }
  },
};
