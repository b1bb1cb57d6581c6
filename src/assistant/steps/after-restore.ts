/**
 * After Veeam: drivers for the new (virtual) hardware into the restored Windows, then the records. Boot
 * repair (bcdboot) is not offered here: before the first restart nobody knows it is needed, and rewriting boot files
 * that work can only do harm. It is in the menu ("Repair a restored Windows") for the next boot of this media.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { WindowsVolume } from '../../platform/platform.js';
import { BACK, type Back } from '../ui.js';
import type { Context, Outcome, Step } from '../context.js';
import { saveRecords } from '../report.js';
import { driverKinds } from './drivers.js';

/** The restored Windows volume: the only one, or the one the technician picks; undefined when there is none. */
async function restoredVolume(ctx: Context): Promise<WindowsVolume | undefined | Back> {
  const volumes = (await ctx.platform.windowsVolumes()).filter((v) => v.hasWindows);
  if (volumes.length <= 1) return volumes[0];
  const pick = await ctx.ui.select('Which volume holds the restored Windows?', volumes.map((v) => ({ name: `${v.letter}: ${v.label ?? ''}`, value: v.letter })));
  return pick === BACK ? BACK : volumes.find((v) => v.letter === pick);
}

/** Offers the drivers of this machine's hardware for the restored Windows; false on Esc. */
async function offerDrivers(ctx: Context, target: { letter: string; root: string }): Promise<boolean> {
  const { ui, log, platform, media, state } = ctx;
  const m = state.machine!;
  const onMedia = async (k: string) => (await stat(join(media.root, 'lifeboat', 'drivers', k)).catch(() => undefined))?.isDirectory() === true;
  const kinds: string[] = [];
  for (const k of driverKinds(m.hypervisor, m.manufacturer)) if (k !== 'custom' && (await onMedia(k))) kinds.push(k);
  if (kinds.length === 0) return true;
  const inject = await ui.confirm(`Add the ${kinds.join(' and ')} drivers to the restored Windows on ${target.letter}:? (needed after a restore onto other hardware or into a VM, else it stops with INACCESSIBLE_BOOT_DEVICE)`, !!m.hypervisor);
  if (inject === BACK) return false;
  if (!inject) return true;
  for (const kind of kinds) {
    const r = await platform.injectDrivers(target.root, join(media.root, 'lifeboat', 'drivers', kind));
    log.write(`dism add-driver ${kind} -> ${target.letter}: ${r.ok ? 'ok' : `failed ${r.code}`}\n${r.output}`);
    (r.ok ? ui.ok : ui.warn).call(ui, `${kind} drivers ${r.ok ? 'added' : `not added (code ${r.code})`}`);
    (state.afterRestore ??= []).push(`drivers ${kind}: ${r.ok ? 'added' : 'failed'}`);
  }
  return true;
}

export const afterRestore: Step = {
  id: 'after-restore',
  title: 'After the restore',
  async run(ctx) {
    const { ui, state } = ctx;
    state.afterRestore = [];
    let target = state.machine ? await restoredVolume(ctx) : undefined;
    while (target === BACK) {
      ui.say('The restore has run: there is no step before this one to go back to.');
      target = await restoredVolume(ctx);
    }
    if (target) {
      // Esc: Veeam has run, so there is no step to go back to; the question is asked again.
      while (!(await offerDrivers(ctx, target))) ui.say('The restore has run: there is no step before this one to go back to.');
    } else ui.say('No restored Windows volume found (the restore may not have run): nothing to fix up.');
    const folders = await saveRecords(ctx, state.veeamExitCode === 0 ? 'restore finished' : `Veeam ended with code ${state.veeamExitCode ?? '-'}`);
    for (const f of folders) ui.ok(`Session log and restore report saved in ${f}`);
    ui.say('Remove the recovery media and restart. Then follow the manual\'s "After the restore" checklist for this server.');
    ui.say('If the restored server does not start: boot this media again and choose "Repair a restored Windows" in the menu (boot files, drivers).');
    return 'done';
  },
};

/** From the menu, on a later boot of the media: drivers and boot files for a restored Windows that does not start. */
export const repair: Step = {
  id: 'repair',
  title: 'Repair a restored Windows',
  async run(ctx): Promise<Outcome> {
    const { ui, log, platform, state } = ctx;
    const target = await restoredVolume(ctx);
    if (target === BACK) return { goto: 'menu' };
    if (!target) {
      ui.warn('No Windows installation was found on this machine\'s disks: there is nothing to repair.');
      return { goto: 'menu' };
    }
    if (!(await offerDrivers(ctx, target))) return { goto: 'menu' };
    const boot = await ui.confirm(`Rewrite the boot files of ${target.letter}: (bcdboot)? For a restored system that stops before Windows starts ("no boot device", a BCD error).`, false);
    if (boot === BACK) return { goto: 'menu' };
    if (boot) {
      const r = await platform.repairBoot(target.root, state.machine!.firmware);
      log.write(`bcdboot ${target.letter}: ${r.ok ? 'ok' : `failed ${r.code}`}\n${r.output}`);
      (r.ok ? ui.ok : ui.warn).call(ui, `Boot files ${r.ok ? 'rewritten' : `not rewritten (code ${r.code})`}`);
      (state.afterRestore ??= []).push(`boot repair: ${r.ok ? 'done' : 'failed'}`);
    }
    return { goto: 'menu' };
  },
};
