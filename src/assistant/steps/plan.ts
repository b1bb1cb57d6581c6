/**
 * The one plan screen before anything is erased (as ReaR shows its disk plan before it acts): the backup and
 * point, its disks and sizes, the target disk with model, size and what is on it now, and what will be lost. The
 * technician confirms by typing the disk number.
 */
import { BACK } from '../ui.js';
import { type Step, gb, pointTime } from '../context.js';
import { diskNeeds } from './requirements.js';
import { diskContents } from './target-disk.js';

export const plan: Step = {
  id: 'plan',
  title: 'The restore plan',
  async run(ctx) {
    const { ui, log, state } = ctx;
    const disk = state.targetDisk!;
    const server = state.server?.name ?? state.siteServer?.name ?? '?';
    const need = diskNeeds(ctx);
    ui.say(`Restore:      ${server}${state.chain?.chain.jobName ? ` (job "${state.chain.chain.jobName}")` : ''}`);
    ui.say(`Point:        ${state.point ? `${pointTime(state.point)} (${state.point.type})` : 'the newest in Veeam\'s list (the backups were not read here)'}`);
    if (state.details?.disks.length) {
      for (const d of state.details.disks) ui.say(`Backup disk:  ${d.number ?? '?'}: ${gb(d.capacity)} ${d.partitionStyle}, ${gb(d.usedBytes)} used`);
    } else {
      ui.say(`Backup disk:  ${gb(need.whole)} (site.yaml; Veeam shows the exact layout)`);
    }
    ui.say(`Target disk:  disk ${disk.number}: ${disk.model}, ${gb(disk.sizeBytes)} ${disk.bus}${disk.partitionStyle ? `, ${disk.partitionStyle}` : ''}`);
    ui.say(`On it now:    ${diskContents(disk)}`);
    ui.say(`Restore mode: ${state.restoreMode}`);
    ui.warn(`WILL BE LOST: everything on disk ${disk.number}${disk.volumes.length ? ` (${diskContents(disk)})` : ''}.`);
    if (state.dataLoss) ui.warn(`WILL BE LOST: ${server}'s work since ${state.dataLoss.since} (${state.dataLoss.hours} hours; accepted).`);
    ui.say('Nothing is erased yet: Veeam does that after its own summary page.');
    const typed = await ui.input(`Type the disk number ${disk.number} to confirm this plan`, {
      validate: (t) => (t.trim() === String(disk.number) ? true : `Type ${disk.number} to confirm, or press Esc to choose another disk`),
    });
    if (typed === BACK) return 'back';
    state.planConfirmed = true;
    log.write(`plan confirmed by typing ${typed.trim()}: ${server}, point ${state.point?.label ?? 'newest in Veeam'}, disk ${disk.number} (${disk.sizeBytes} ${disk.model}, now: ${diskContents(disk)}), mode ${state.restoreMode}`);
    ui.ok(`Plan confirmed: ${server} onto disk ${disk.number}.`);
    return 'next';
  },
};
