/** From the menu: save the failed system's logs and dumps (to the share, else the USB stick), before a restore overwrites them. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { collectDiagnostics, planDiagnostics } from '../diagnostics.js';
import { BACK } from '../ui.js';
import { type Step, gb } from '../context.js';
import { recordsRoot } from '../report.js';
import { askForm } from '../form.js';

export const diagnostics: Step = {
  id: 'diagnostics',
  title: 'Diagnostics from a failed system',
  async run(ctx) {
    const { ui, log, platform, media, state, stamp } = ctx;
    const volumes = (await platform.windowsVolumes()).filter((v) => v.hasWindows);
    if (volumes.length === 0) {
      ui.warn('No Windows installation was found on this machine\'s disks (none to collect from).');
      return { goto: 'menu' };
    }
    let letter: string;
    let volume;
    let plan;
    let includeMemoryDump = false;
    let includeHives = false;
    for (;;) {
      const picked = await ui.select('Which Windows volume?', volumes.map((v) => ({ name: `${v.letter}: ${v.label ?? ''} ${v.sizeBytes ? gb(v.sizeBytes) : ''}`, value: v.letter })));
      if (picked === BACK) return { goto: 'menu' };
      letter = picked;
      volume = volumes.find((v) => v.letter === picked)!;
      plan = await planDiagnostics(volume.root);
      ui.say(`${plan.items.length} files, ${gb(plan.totalBytes)}: event logs, crash dumps, setup and servicing logs.`);
      const yesNo = async (message: string) => {
        const r = await ui.confirm(message, false);
        return r === BACK ? BACK : r ? 'yes' : 'no';
      };
      // Esc on a question goes back to the one before it; on the first, back to the choice of volume.
      const answers = await askForm([
        ...(plan.memoryDump ? [{ key: 'memory' as const, ask: () => yesNo(`Also the full memory dump MEMORY.DMP (${gb(plan!.memoryDump!.size)})? It takes long over the network.`) }] : []),
        ...(plan.hives.length ? [{ key: 'hives' as const, ask: () => yesNo('Also the registry hives SYSTEM and SOFTWARE (for driver and boot analysis)?') }] : []),
      ]);
      if (answers === BACK) continue;
      includeMemoryDump = answers.memory === 'yes';
      includeHives = answers.hives === 'yes';
      break;
    }
    const server = media.site.servers.length === 1 ? media.site.servers[0]!.name : 'failed-system';
    const lasting = await recordsRoot(ctx);
    const dir = join(lasting?.path ?? platform.scratchRoot, 'lifeboat-logs', server, stamp.replace(/[:.]/g, '-'));
    const dest = join(dir, `diagnostics-${letter}.tar.gz`);
    await mkdir(dir, { recursive: true });
    let last = 0;
    const result = await collectDiagnostics(volume.root, plan, dest, {
      includeMemoryDump, includeHives, serverName: server, now: platform.now(),
      onProgress: (done, total) => {
        const pct = total ? Math.floor((done / total) * 100) : 100;
        if (pct >= last + 10 || done === total) {
          last = pct;
          ui.say(`  ${pct}% (${gb(done)} of ${gb(total)})`);
        }
      },
    });
    state.diagnostics = result.file;
    log.write(`diagnostics from ${letter}: ${result.files} files, ${result.bytes} bytes -> ${result.file}; skipped ${result.skipped.length}`);
    ui.ok(`Saved ${result.files} files to ${result.file}`);
    for (const s of result.skipped.slice(0, 5)) ui.warn(`skipped ${s.path}: ${s.reason}`);
    return { goto: 'menu' };
  },
};
