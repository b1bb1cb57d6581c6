/** Step 10: the summary card with exactly what to type into Veeam, then Veeam Recovery itself. */
import { BACK } from '../ui.js';
import { type Step, gb } from '../context.js';

export const handover: Step = {
  id: 'handover',
  title: 'Hand-over to Veeam Bare Metal Recovery',
  async run({ ui, log, platform, media, state }) {
    const share = media.site.site.share;
    const creds = state.credentials;
    const account = creds ? (creds.share.domain ? `${creds.share.domain}\\${creds.share.user}` : creds.share.user) : share.domain ? `${share.domain}\\${share.user}` : share.user;
    ui.say('In Veeam Recovery choose: Bare Metal Recovery > Network storage > Shared folder, then:');
    ui.say(`  Shared folder:       ${share.path}`);
    ui.say('  [x] This share requires access credentials');
    ui.say(`  User name:           ${account}`);
    ui.say(`  Password:            ${creds ? '(on request below)' : '(type it yourself: the media was not unlocked)'}`);
    if (state.server) ui.say(`  Backup:              ${state.server.name}${state.chain?.chain.jobName ? ` (job "${state.chain.chain.jobName}")` : ''}`);
    if (state.point) ui.say(`  Restore point:       ${state.point.label} (${state.point.type})`);
    if (state.restoreMode) ui.say(`  Restore mode:        ${state.restoreMode}`);
    if (state.targetDisk) ui.say(`  Target disk:         disk ${state.targetDisk.number}, ${gb(state.targetDisk.sizeBytes)} ${state.targetDisk.model}`);
    if (creds) {
      const show = await ui.confirm('Show the share password now?', false);
      if (show === BACK) return 'back';
      if (show) {
        ui.say(`  Password:            ${creds.share.password.reveal()}`);
        if (creds.veeamEncryptionPassword) ui.say(`  Backup encryption:   ${creds.veeamEncryptionPassword.reveal()}`);
        log.write('hand-over: password shown on request');
      }
    }
    const launch = media.site.veeamLaunch?.[0];
    const go = await ui.confirm(launch ? 'Start Veeam Recovery now? (this assistant waits for it)' : 'Veeam Recovery starts when this assistant ends. Continue?', true);
    if (go === BACK) return 'back';
    if (!go) return 'quit';
    log.write(`hand-over: server=${state.server?.name ?? '-'} point=${state.point?.label ?? '-'} mode=${state.restoreMode ?? '-'} disk=${state.targetDisk?.number ?? '-'}`);
    if (!launch) return 'next';
    const r = await platform.run(launch.path, launch.args ? launch.args.split(' ') : []);
    state.veeamExitCode = r.code;
    log.write(`Veeam Recovery ended with code ${r.code}`);
    ui.say(`Veeam Recovery has ended (code ${r.code}).`);
    return 'next';
  },
};
