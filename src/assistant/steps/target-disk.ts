/** The disk to restore onto: never the media's own disk; a disk too small is refused with a way on. */
import type { Disk } from '../../platform/platform.js';
import { BACK } from '../ui.js';
import { type Step, gb } from '../context.js';
import { whatNow } from '../what-now.js';
import { diskNeeds } from './requirements.js';

/** "E: DATA 500 GB NTFS, (no letter) Recovery": what is on a disk now, for the technician to recognise it. */
export function diskContents(d: Disk): string {
  const vols = d.volumes.map((v) => [v.letter ? `${v.letter}:` : '', v.label ?? '', v.sizeBytes ? gb(v.sizeBytes) : '', v.fs ?? ''].filter(Boolean).join(' ')).filter(Boolean);
  return vols.length ? vols.join(', ') : d.partitionStyle && d.partitionStyle !== 'RAW' ? `${d.partitionStyle}, no volumes` : 'empty';
}

export const targetDisk: Step = {
  id: 'target-disk',
  title: 'Target disk',
  async run(ctx) {
    const { ui, log, platform, state } = ctx;
    const disks = (state.disks = await platform.disks());
    const candidates = disks.filter((d) => !d.holdsBootMedia);
    const need = diskNeeds(ctx);
    if (candidates.length === 0) {
      ui.warn('The only disk this machine shows is the recovery media itself: there is no disk to restore onto.');
      ui.say('Check that the new disk is connected and seen by the firmware (RAID volumes must be created first), or load its storage driver, then rescan.');
      log.write('target disk: none besides the boot media');
      return whatNow<never>(ctx, 'target-disk', 'There is no disk to restore onto. What now?');
    }
    const tooSmall = (d: Disk) => need.used !== undefined && d.sizeBytes < need.used;
    const pick = await ui.select('Restore onto which disk? EVERYTHING ON IT WILL BE ERASED.', candidates.map((d) => {
      const size = tooSmall(d) ? ' TOO SMALL' : d.sizeBytes < need.whole ? (need.used !== undefined ? ' smaller than the original: Manual restore' : ' smaller than the original disk') : '';
      return { name: `Disk ${d.number}: ${gb(d.sizeBytes)} ${d.bus} ${d.model} [${diskContents(d)}]${size}`, value: d.number };
    }));
    if (pick === BACK) return 'back';
    const disk = candidates.find((d) => d.number === pick)!;
    if (tooSmall(disk)) {
      ui.warn(`Disk ${disk.number} (${gb(disk.sizeBytes)}) is smaller than the data in the backup (${gb(need.used)}): the restore cannot fit.`);
      log.write(`target disk ${disk.number} refused: too small (${disk.sizeBytes} < ${need.used})`);
      const choice = await whatNow(ctx, 'target-disk', 'What now?', [
        { name: 'Choose another disk', value: 'other' as const, description: 'the list of disks again' },
      ]);
      return choice === 'other' ? { goto: 'target-disk' } : choice;
    }
    state.restoreMode = disk.sizeBytes >= need.whole || need.used === undefined ? 'Entire computer' : 'Manual restore';
    if (state.restoreMode === 'Manual restore') {
      ui.warn(`Disk ${disk.number} is smaller than the original disk (${gb(need.whole)}): use "Manual restore" in Veeam and shrink the data volume.`);
    }
    state.targetDisk = disk;
    state.planConfirmed = false;
    log.write(`target disk ${disk.number} chosen: ${disk.sizeBytes} ${disk.bus} ${disk.model}; mode ${state.restoreMode}`);
    return 'next';
  },
};
