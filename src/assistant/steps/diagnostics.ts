/** Step 12: save the failed system's logs and dumps to the share, before a restore overwrites them. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { collectDiagnostics, planDiagnostics } from '../diagnostics.js';
import { BACK } from '../ui.js';
import { type Step, gb } from '../context.js';
import { recordsRoot } from '../report.js';

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
    const letter = await ui.select('Which Windows volume?', volumes.map((v) => ({ name: `${v.letter}: ${v.label ?? ''} ${v.sizeBytes ? gb(v.sizeBytes) : ''}`, value: v.letter })));
    if (letter === BACK) return { goto: 'menu' };
    const volume = volumes.find((v) => v.letter === letter)!;
    const plan = await planDiagnostics(volume.root);
    ui.say(`${plan.items.length} files, ${gb(plan.totalBytes)}: event logs, crash dumps, setup and servicing logs.`);
    let includeMemoryDump = false;
    if (plan.memoryDump) {
      const yes = await ui.confirm(`Also the full memory dump MEMORY.DMP (${gb(plan.memoryDump.size)})? It takes long over the network.`, false);
      if (yes === BACK) return { goto: 'menu' };
      includeMemoryDump = yes;
    }
    let includeHives = false;
    if (plan.hives.length) {
      const yes = await ui.confirm('Also the registry hives SYSTEM and SOFTWARE (for driver and boot analysis)?', false);
      if (yes === BACK) return { goto: 'menu' };
      includeHives = yes;
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
