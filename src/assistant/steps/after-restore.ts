/** Step 11: after Veeam: drivers for the new (virtual) hardware into the restored Windows, boot repair, records. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BACK } from '../ui.js';
import type { Step } from '../context.js';
import { saveRecords } from '../report.js';
import { driverKinds } from './drivers.js';

export const afterRestore: Step = {
  id: 'after-restore',
  title: 'After the restore',
  async run(ctx) {
    const { ui, log, platform, media, state } = ctx;
    state.afterRestore = [];
    const volumes = (await platform.windowsVolumes()).filter((v) => v.hasWindows);
    const m = state.machine;
    if (volumes.length > 0 && m) {
      const target = volumes.length === 1 ? volumes[0]! : await (async () => {
        const pick = await ui.select('Which volume holds the restored Windows?', volumes.map((v) => ({ name: `${v.letter}: ${v.label ?? ''}`, value: v.letter })));
        return pick === BACK ? undefined : volumes.find((v) => v.letter === pick);
      })();
      if (target) {
        const onMedia = async (k: string) => (await stat(join(media.root, 'lifeboat', 'drivers', k)).catch(() => undefined))?.isDirectory() === true;
        const kinds: string[] = [];
        for (const k of driverKinds(m.hypervisor, m.manufacturer)) if (k !== 'custom' && (await onMedia(k))) kinds.push(k);
        if (kinds.length > 0) {
          const inject = await ui.confirm(`Add the ${kinds.join(' and ')} drivers to the restored Windows on ${target.letter}:? (needed after a restore onto other hardware or into a VM, else it stops with INACCESSIBLE_BOOT_DEVICE)`, !!m.hypervisor);
          if (inject === true) {
            for (const kind of kinds) {
              const r = await platform.injectDrivers(target.root, join(media.root, 'lifeboat', 'drivers', kind));
              log.write(`dism add-driver ${kind} -> ${target.letter}: ${r.ok ? 'ok' : `failed ${r.code}`}\n${r.output}`);
              (r.ok ? ui.ok : ui.warn).call(ui, `${kind} drivers ${r.ok ? 'added' : `not added (code ${r.code})`}`);
              state.afterRestore.push(`drivers ${kind}: ${r.ok ? 'added' : 'failed'}`);
            }
          }
        }
        const repair = await ui.confirm('Rewrite the boot files (bcdboot)? Only needed when the restored system does not start.', false);
        if (repair === true) {
          const r = await platform.repairBoot(target.root, m.firmware);
          log.write(`bcdboot ${target.letter}: ${r.ok ? 'ok' : `failed ${r.code}`}\n${r.output}`);
          (r.ok ? ui.ok : ui.warn).call(ui, `Boot files ${r.ok ? 'rewritten' : `not rewritten (code ${r.code})`}`);
          state.afterRestore.push(`boot repair: ${r.ok ? 'done' : 'failed'}`);
        }
      }
    } else {
      ui.say('No restored Windows volume found (the restore may not have run): nothing to fix up.');
    }
    const folders = await saveRecords(ctx, state.veeamExitCode === 0 ? 'restore finished' : `Veeam ended with code ${state.veeamExitCode ?? '-'}`);
    for (const f of folders) ui.ok(`Session log and restore report saved in ${f}`);
    ui.say('Remove the recovery media and restart. Then follow the manual\'s "after the restore" checklist for this server.');
    return 'done';
  },
};
