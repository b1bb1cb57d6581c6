/** Step 9: the disk to restore onto: never the media's own disk; warn when too small; confirm by typing its number. */
import { BACK } from '../ui.js';
import { type Step, gb } from '../context.js';

export const targetDisk: Step = {
  id: 'target-disk',
  title: 'Target disk',
  async run({ ui, log, platform, state }) {
    const disks = await platform.disks();
    state.disks = disks;
    const candidates = disks.filter((d) => !d.holdsBootMedia);
    const needWhole = Math.max(0, ...(state.details?.disks ?? []).map((x) => x.capacity ?? 0));
    const needUsed = (state.details?.disks ?? []).reduce((a, x) => a + (x.usedBytes ?? 0), 0);
    if (candidates.length === 0) {
      ui.warn('The only disk this machine shows is the recovery media itself: there is no disk to restore onto.');
      ui.say('Check that the new disk is connected and seen by the firmware (RAID volumes must be created first), or load its storage driver, then look again.');
      log.write('target disk: none besides the boot media');
      const choice = await ui.select('What now?', [{ name: 'Look again', value: 'again' }, { name: 'Quit', value: 'quit' }]);
      if (choice === BACK) return { goto: 'backups' };
      return choice === 'again' ? { goto: 'target-disk' } : 'quit';
    }
    const pick = await ui.select('Restore onto which disk? EVERYTHING ON IT WILL BE ERASED.', candidates.map((d) => {
      const vols = d.volumes.map((v) => `${v.letter ? `${v.letter}:` : ''}${v.label ? ` ${v.label}` : ''}`.trim()).filter(Boolean).join(', ');
      const size = d.sizeBytes < needUsed ? ' TOO SMALL' : d.sizeBytes < needWhole ? ' smaller than the original: Manual restore' : '';
      return { name: `Disk ${d.number}: ${gb(d.sizeBytes)} ${d.bus} ${d.model}${vols ? ` [${vols}]` : ' [empty]'}${size}`, value: d.number };
    }));
    // Back to the choice of server and restore point: the step before (requirements) asks nothing when all is well,
    // so plain 'back' would land on this same list again.
    if (pick === BACK) return { goto: 'backups' };
    const disk = candidates.find((d) => d.number === pick)!;
    if (disk.sizeBytes < needUsed) {
      ui.warn(`Disk ${disk.number} (${gb(disk.sizeBytes)}) is smaller than the data in the backup (${gb(needUsed)}): the restore cannot fit.`);
      return { goto: 'target-disk' };
    }
    state.restoreMode = disk.sizeBytes >= needWhole ? 'Entire computer' : 'Manual restore';
    if (state.restoreMode === 'Manual restore') {
      ui.warn(`Disk ${disk.number} is smaller than the original disk (${gb(needWhole)}): use "Manual restore" in Veeam and shrink the data volume.`);
    }
    if (disk.volumes.length) ui.warn(`Disk ${disk.number} holds data (${disk.volumes.map((v) => v.label ?? v.letter).join(', ')}). It will be erased.`);
    const typed = await ui.input(`Type the disk number ${disk.number} to confirm that disk ${disk.number} may be erased`, {
      validate: (t) => (t.trim() === String(disk.number) ? true : `Type ${disk.number} to confirm, or press Esc to choose again`),
    });
    if (typed === BACK) return { goto: 'target-disk' };
    state.targetDisk = disk;
    log.write(`target disk ${disk.number}: ${disk.sizeBytes} ${disk.bus} ${disk.model}; mode ${state.restoreMode}; confirmed by typing ${typed.trim()}`);
    ui.ok(`Disk ${disk.number} chosen. Nothing has been erased yet: Veeam does that after its summary page.`);
    return 'next';
  },
};
