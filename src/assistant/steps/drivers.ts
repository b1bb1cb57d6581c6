/** Load the storage and network drivers this machine needs from \lifeboat\drivers (drvload). */
import { join } from 'node:path';
import type { Hypervisor } from '../../platform/platform.js';
import type { Step } from '../context.js';
import { infFiles } from '../what-now.js';

const HYPERVISOR_KIND: Record<Hypervisor, string | undefined> = { kvm: 'virtio', esxi: 'vmware', xen: 'xen', hyperv: 'hyperv', virtualbox: undefined };
const VENDORS = ['dell', 'hpe', 'lenovo', 'fujitsu', 'supermicro'];

/** Which driver folders apply: the hypervisor's, the hardware vendor's, and custom ones. */
export function driverKinds(hypervisor: Hypervisor | undefined, manufacturer: string): string[] {
  const kinds: string[] = [];
  const h = hypervisor && HYPERVISOR_KIND[hypervisor];
  if (h) kinds.push(h);
  const maker = manufacturer.toLowerCase();
  for (const v of VENDORS) if (maker.includes(v === 'hpe' ? 'hp' : v)) kinds.push(v);
  kinds.push('custom');
  return kinds;
}

export const drivers: Step = {
  id: 'drivers',
  title: 'Drivers',
  async run({ ui, log, platform, media, state }) {
    const m = state.machine!;
    const kinds = driverKinds(m.hypervisor, m.manufacturer);
    const results: { inf: string; ok: boolean; message: string }[] = [];
    for (const kind of kinds) {
      for (const inf of await infFiles(join(media.root, 'lifeboat', 'drivers', kind))) {
        const r = await platform.loadDriver(inf);
        results.push({ inf, ok: r.ok, message: r.output.trim() });
        log.write(`drvload ${inf}: ${r.ok ? 'ok' : `failed (${r.code}) ${r.output.trim()}`}`);
      }
    }
    state.drivers = results;
    if (results.length === 0) {
      ui.say(`No extra drivers needed for this machine (looked for: ${kinds.join(', ')}).`);
      return 'next';
    }
    const failed = results.filter((r) => !r.ok);
    ui.ok(`Loaded ${results.length - failed.length} of ${results.length} driver packages (${kinds.filter((k) => k !== 'custom').join(', ') || 'custom'}).`);
    for (const f of failed) ui.warn(`Could not load ${f.inf.split(/[\\/]/).pop()}: ${f.message}`);
    if (failed.length) ui.say('Disks or network cards may be missing: the next screen offers to load a driver from a folder.');
    state.disks = await platform.disks();
    return 'next';
  },
};
