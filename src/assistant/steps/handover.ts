/**
 * The summary card with exactly what to type into Veeam, then Veeam Recovery itself. The password is shown
 * only on request and taken off the screen (and its scrollback) once the technician has typed it.
 */
import { BACK } from '../ui.js';
import { type Context, type Step, gb, pointTime } from '../context.js';
import { shareUnc } from './network.js';

function card(ctx: Context): void {
  const { ui, media, state } = ctx;
  const share = media.site.share;
  const creds = state.credentials;
  const account = creds ? (creds.share.domain ? `${creds.share.domain}\\${creds.share.user}` : creds.share.user) : share.domain ? `${share.domain}\\${share.user}` : share.user;
  ui.say('In Veeam Recovery choose: Bare Metal Recovery > Network storage > Shared folder, then:');
  ui.say(`  Shared folder:       ${shareUnc(ctx)}`);
  ui.say('  [x] This share requires access credentials');
  ui.say(`  User name:           ${account}`);
  ui.say(`  Password:            ${creds ? (state.passwordTyped ? '(the one you typed at the share step)' : '(on request below)') : '(type it yourself: the media was not unlocked)'}`);
  ui.say(`  Backup:              ${state.server?.name ?? state.siteServer?.name ?? '?'}${state.chain?.chain.jobName ? ` (job "${state.chain.chain.jobName}")` : ''}`);
  ui.say(`  Restore point:       ${state.point ? `${pointTime(state.point)} (${state.point.type})` : 'pick the newest in Veeam\'s list'}`);
  if (state.restoreMode) ui.say(`  Restore mode:        ${state.restoreMode}`);
  if (state.targetDisk) ui.say(`  Target disk:         disk ${state.targetDisk.number}, ${gb(state.targetDisk.sizeBytes)} ${state.targetDisk.model}`);
  if (state.shareProblem) ui.warn(`The share was not connected here (${state.shareProblem}): connect it in Veeam with the lines above.`);
}

export const handover: Step = {
  id: 'handover',
  title: 'Hand-over to Veeam Bare Metal Recovery',
  async run(ctx) {
    const { ui, log, platform, media, state } = ctx;
    card(ctx);
    const creds = state.credentials;
    if (creds && !state.passwordTyped) {
      const show = await ui.confirm('Show the share password now?', false);
      if (show === BACK) return 'back';
      if (show) {
        ui.say(`  Password:            ${creds.share.password.reveal()}`);
        if (creds.veeamEncryptionPassword) ui.say(`  Backup encryption:   ${creds.veeamEncryptionPassword.reveal()}`);
        log.write('hand-over: password shown on request');
        await ui.input('Press Enter when you have written it down or typed it: it is then taken off the screen');
        ui.clear();
        log.write('hand-over: password taken off the screen');
        ui.heading(handover.title);
        card(ctx);
      }
    }
    const launch = media.build.veeamLaunch?.[0];
    const go = await ui.confirm(launch ? 'Start Veeam Recovery now? (this assistant waits for it)' : 'Veeam Recovery starts when this assistant ends. Continue?', true);
    if (go === BACK) return 'back';
    if (!go) return 'quit';
    log.write(`hand-over: server=${state.server?.name ?? state.siteServer?.name ?? '-'} point=${state.point?.label ?? 'newest in Veeam'} mode=${state.restoreMode ?? '-'} disk=${state.targetDisk?.number ?? '-'}`);
    if (!launch) return 'next';
    state.veeamStarted = true;
    const r = await platform.run(launch.path, launch.args ? launch.args.split(' ') : []);
    state.veeamExitCode = r.code;
    log.write(`Veeam Recovery ended with code ${r.code}`);
    ui.say(`Veeam Recovery has ended (code ${r.code}).`);
    return 'next';
  },
};
