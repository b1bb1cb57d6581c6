/**
 * What the restore needs from this machine, read from the restore point's metadata (or, when the share
 * could not be read, from site.yaml): firmware mode, disk sizes, memory, roles.
 */
import { type Context, type Step, GB, gb, ram } from '../context.js';
import { whatNow } from '../what-now.js';
import { firmwareHowTo } from '../firmware.js';

/** The sizes a target disk needs: the largest original disk (Entire computer) and the data (Manual restore). */
export function diskNeeds(ctx: Context): { whole: number; used?: number } {
  const d = ctx.state.details;
  if (d && d.disks.length) {
    return { whole: Math.max(0, ...d.disks.map((x) => x.capacity ?? 0)), used: d.disks.reduce((a, x) => a + (x.usedBytes ?? 0), 0) };
  }
  const server = ctx.state.siteServer;
  return { whole: (server?.disks[0]?.sizeGb ?? 0) * GB };
}

export const requirements: Step = {
  id: 'requirements',
  title: 'What this restore needs',
  async run(ctx) {
    const { ui, log, state } = ctx;
    const d = state.details;
    const m = state.machine!;
    const server = state.server?.name ?? state.siteServer?.name ?? 'The server';
    const firmware = d?.firmware ?? state.siteServer?.firmware;
    if (d) ui.say(`${server}: ${d.osName ?? 'Windows'}${d.osVersion ? ` ${d.osVersion}` : ''}, ${ram(d.ramBytes)} memory`);
    else ui.say(`${server} (from site.yaml; the backup itself was not read): ${state.siteServer?.os ?? 'Windows'}, ${state.siteServer?.ramGb ?? '?'} GB memory`);
    let firmwareProblem = false;
    if (firmware) {
      const need = firmware.toUpperCase();
      ui.say(d?.firmware
        ? `Firmware: the backup's system disk is ${firmware === 'uefi' ? 'GPT: needs UEFI' : 'MBR: needs legacy BIOS'}; this machine booted ${m.firmware.toUpperCase()}.`
        : `Firmware: ${server} needs ${need} (site.yaml); this machine booted ${m.firmware.toUpperCase()}.`);
      if (firmware !== m.firmware) {
        firmwareProblem = true;
        ui.warn(`This machine booted in ${m.firmware.toUpperCase()} mode, but the restored system needs ${need}: it would not start.`);
        ui.say(firmwareHowTo(firmware, m.hypervisor));
        ui.say('Then boot this media again.');
      }
    }
    for (const disk of d?.disks ?? []) {
      const vols = disk.volumes.map((v) => `${v.letter ? `${v.letter}:` : v.label ?? 'EFI'} ${v.used === undefined ? 'size unknown' : `${gb(v.used)} used`}`).join(', ');
      ui.say(`Backup disk ${disk.number ?? '?'}: ${gb(disk.capacity)} ${disk.partitionStyle}, used ${gb(disk.usedBytes)}; volumes ${vols}`);
    }
    const need = diskNeeds(ctx);
    ui.say(need.used !== undefined
      ? `Target disk: at least ${gb(need.whole)} for "Entire computer"; at least ${gb(need.used)} (the used data) for "Manual restore" with shrunk volumes.`
      : `Target disk: at least ${gb(need.whole)} (the server's system disk in site.yaml); Veeam checks the exact size.`);
    const ramNeed = d?.ramBytes ?? (state.siteServer ? state.siteServer.ramGb * 2 ** 30 : undefined);
    if (ramNeed && m.ramBytes < ramNeed * 0.5) ui.warn(`This machine has ${ram(m.ramBytes)} memory; the server had ${ram(ramNeed)}.`);
    if (d?.roles.ad || state.siteServer?.role === 'dc') {
      ui.warn('This is a DOMAIN CONTROLLER: restore the NEWEST good point, restore it first, and follow the domain controller chapter of the manual afterwards (USN rollback, SYSVOL).');
    }
    if (d?.roles.sql) ui.say('SQL Server: after the restore check the databases (manual, SQL chapter).');
    if (d?.roles.exchange) ui.say('Exchange: after the restore check the databases and mail flow (manual, Exchange chapter).');
    if (d?.encrypted) ui.say(state.credentials?.veeamEncryptionPassword ? 'The backup is encrypted: its password is on the media (shown at hand-over).' : 'The backup is encrypted: Veeam will ask for its password (not on this media).');
    log.write(`requirements: firmware ${firmware ?? '?'} (machine ${m.firmware}), whole ${need.whole}, used ${need.used ?? '?'}, dc=${d?.roles.ad ?? state.siteServer?.role === 'dc'}`);
    if (!firmwareProblem) return 'next';
    const choice = await whatNow(ctx, 'requirements', 'The restore would not boot on this machine as it is. What now?', [
      { name: 'Stop here and switch the machine off: I will change the firmware mode and boot again', value: 'stop', description: 'the session log is saved and the machine switches off; Veeam is not needed now' },
      { name: 'Go on anyway', value: 'on', description: 'the restored system will not start until the firmware mode is changed' },
    ]);
    if (choice === 'stop') {
      state.endNote = `The machine switches off now. Change the firmware mode to ${firmware!.toUpperCase()} in its setup, then boot this media again; Veeam Recovery is not needed now.`;
      state.powerOffAtEnd = true;
      return 'quit';
    }
    if (choice === 'on') {
      log.write('requirements: technician goes on despite the firmware mismatch');
      return 'next';
    }
    return choice;
  },
};
