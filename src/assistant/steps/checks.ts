/**
 * Can this machine take a restore at all? Checked right after boot, before any secret is typed: the firmware
 * mode against the firmware the site's servers need, and whether any disk besides the media can be restored onto.
 * A dead end found here costs seconds; found after unlock and share it costs minutes of typing.
 */
import { type Step, GB, gb } from '../context.js';
import { FIRMWARE_NAME as FW, firmwareHowTo } from '../firmware.js';
import { whatNow } from '../what-now.js';

export const checks: Step = {
  id: 'checks',
  title: 'Can this machine take the restore?',
  async run(ctx) {
    const { ui, log, platform, media, state } = ctx;
    const m = state.machine!;
    const disks = (state.disks = await platform.disks());
    const servers = media.site.servers;
    const fitting = servers.filter((s) => s.firmware === m.firmware);
    const others = servers.filter((s) => s.firmware !== m.firmware);
    const firmwareOk = fitting.length > 0;
    if (others.length === 0) {
      ui.ok(`Firmware: this machine booted in ${FW[m.firmware]} mode, as the backups need.`);
    } else {
      const need = others[0]!.firmware;
      const names = others.map((s) => s.name).join(', ');
      ui.warn(`Firmware: this machine booted in ${FW[m.firmware]} mode, but ${names} need${others.length === 1 ? 's' : ''} ${FW[need]}: restored here, ${others.length === 1 ? 'it' : 'they'} would not start.`);
      ui.say(firmwareHowTo(need, m.hypervisor));
      ui.say(firmwareOk ? `${fitting.map((s) => s.name).join(', ')} can be restored as the machine is.` : 'Then boot this media again.');
    }
    const candidates = disks.filter((d) => !d.holdsBootMedia);
    const diskOk = candidates.length > 0;
    const smallest = Math.min(...servers.map((s) => (s.disks[0]?.sizeGb ?? 0) * GB));
    if (!diskOk) {
      ui.warn(disks.length === 0
        ? 'Disks: this machine shows no disk at all: there is nothing to restore onto.'
        : 'Disks: the only disk this machine shows is the recovery media itself: there is nothing to restore onto.');
      ui.say('Check that the new disk is connected and seen by the firmware (a RAID volume must be created in the controller\'s setup first), or load its storage driver.');
    } else if (candidates.every((d) => d.sizeBytes < smallest)) {
      ui.warn(`Disks: every disk is smaller than the servers' system disks (${gb(smallest)}): only a "Manual restore" with shrunk volumes can fit, if the data fits (checked once the backup is read).`);
    } else {
      const big = candidates.filter((d) => d.sizeBytes >= smallest);
      ui.ok(`Disks: ${big.map((d) => `disk ${d.number} (${gb(d.sizeBytes)})`).join(', ')} can take a restore.`);
    }
    state.machineCheck = { firmwareOk, diskOk };
    log.write(`machine check: firmware ${m.firmware} ${firmwareOk ? 'fits' : 'fits no server'}${others.length ? ` (needs other: ${others.map((s) => s.name).join(',')})` : ''}; restore disks ${candidates.length}`);
    if (firmwareOk && diskOk && !ctx.revisit) return 'next';
    if (ctx.revisit && firmwareOk && diskOk) ui.say('This is the first screen that asks something: the next steps are the network and the unlock.');
    const extra = [];
    if (firmwareOk && diskOk) extra.push({ name: 'Go on', value: 'on' as const, description: 'to the network and the unlock' });
    if (!firmwareOk) extra.push({ name: 'Stop here and switch the machine off: I will change the firmware mode and boot again', value: 'stop' as const, description: 'the session log is saved to X: and the machine switches off; Veeam is not needed now' });
    if (!firmwareOk || !diskOk) {
      extra.push({
        name: 'Go on anyway',
        value: 'on' as const,
        description: !firmwareOk ? 'the restored system will not start until the firmware mode is changed' : 'network, unlock and backups; a disk to restore onto is still needed before the hand-over',
      });
    }
    const choice = await whatNow(ctx, 'checks', firmwareOk && diskOk ? 'What now?' : 'This machine cannot take the restore as it is. What now?', extra, { first: true });
    if (choice === 'on') {
      if (!firmwareOk || !diskOk) {
        state.machineCheck.wentOnAnyway = [...(!firmwareOk ? ['firmware'] : []), ...(!diskOk ? ['no disk'] : [])];
        log.write(`machine check: technician goes on anyway (${state.machineCheck.wentOnAnyway.join(', ')})`);
      }
      return 'next';
    }
    if (choice === 'stop') {
      state.endNote = `The machine switches off now. Change the firmware mode to ${FW[others[0]!.firmware]} in its setup, then boot this media again; Veeam Recovery is not needed now.`;
      state.powerOffAtEnd = true;
      return 'quit';
    }
    return choice;
  },
};
