/** Step 6: connect the backup share with the vault's credentials; every Windows error in plain words. */
import { BACK } from '../ui.js';
import type { Step } from '../context.js';

/** What `net use` errors mean, and what to do next. */
export const NET_USE_ERRORS: Record<number, { meaning: string; next: string }> = {
  5: { meaning: 'access is denied: the account may not read this share', next: 'Give the restore account read access on the NAS, or use an account that has it.' },
  53: { meaning: 'the network path was not found: the NAS name or address is not reachable', next: 'Check that the NAS is on and in this network; go back to the network step, or use the NAS IP address.' },
  67: { meaning: 'the network name cannot be found: the NAS answers, but the share name is wrong', next: 'Check the share name (the part after the NAS name) in the NAS administration.' },
  86: { meaning: 'the password is not correct', next: 'The password on the media is out of date: type the current one into Veeam by hand, and rebuild the media afterwards.' },
  1219: { meaning: 'this machine already has a connection to the NAS with other credentials', next: 'Choose "Disconnect and try again".' },
  1272: { meaning: 'the NAS allows only guest access, which Windows blocks', next: 'Set up a user account on the NAS for restores (a guest share cannot be used).' },
  1326: { meaning: 'the user name or password is incorrect', next: 'The credentials on the media are out of date: type the current ones into Veeam by hand, and rebuild the media afterwards.' },
  2242: { meaning: 'the password of this account has expired', next: 'Set a new password for the restore account on the NAS or domain, then type it into Veeam by hand.' },
};

export function explainNetUse(code: number): { meaning: string; next: string } {
  return NET_USE_ERRORS[code] ?? { meaning: `Windows reported error ${code}`, next: 'Write down the number and call your IT contact; Veeam Recovery can still connect with credentials typed by hand.' };
}

export const share: Step = {
  id: 'share',
  title: 'Connect the backup share',
  async run({ ui, log, platform, media, state }) {
    const unc = media.site.site.share.path;
    const creds = state.credentials!;
    const account = creds.share.domain ? `${creds.share.domain}\\${creds.share.user}` : creds.share.user;
    for (;;) {
      ui.say(`Connecting ${unc} as ${account} ...`);
      const r = await platform.connectShare(unc, account, creds.share.password);
      if (r.ok) {
        state.shareRoot = r.root;
        log.write(`share ${unc} connected as ${account}`);
        ui.ok(`Connected to ${unc}.`);
        return 'next';
      }
      const { meaning, next } = explainNetUse(r.code);
      log.write(`share ${unc}: error ${r.code}: ${r.message}`);
      ui.warn(`Could not connect ${unc}: ${meaning} (error ${r.code}).`);
      ui.say(next);
      const choices = [
        { name: 'Try again', value: 'retry' },
        ...(r.code === 1219 ? [{ name: 'Disconnect and try again', value: 'disconnect' }] : []),
        { name: 'Back to the network step', value: 'network' },
        { name: 'Go on without the share: I will connect it in Veeam by hand', value: 'without' },
      ];
      const choice = await ui.select('What now?', choices);
      if (choice === BACK) return 'back';
      if (choice === 'network') return { goto: 'network' };
      if (choice === 'without') return { goto: 'handover' };
      if (choice === 'disconnect') await platform.disconnectShare(unc);
    }
  },
};
