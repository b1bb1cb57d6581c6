/** What this machine is: firmware mode, maker and model or hypervisor, memory, disks and network cards. */
import { type Step, gb, ram } from '../context.js';

export const machine: Step = {
  id: 'machine',
  title: 'This machine',
  async run({ ui, log, platform, state }) {
    const m = await platform.machine();
    const disks = await platform.disks();
    const nics = await platform.nics();
    state.machine = m;
    state.disks = disks;
    ui.say(`Booted in ${m.firmware === 'uefi' ? 'UEFI' : 'legacy BIOS'} mode`);
    ui.say(`${m.manufacturer} ${m.model}${m.hypervisor ? ` (a ${m.hypervisor} virtual machine)` : ''}, ${ram(m.ramBytes)} memory${m.cpus ? `, ${m.cpus} CPUs` : ''}`);
    ui.say(`Disks: ${disks.length === 0 ? 'none seen (a storage driver may be missing: see the next step)' : ''}`);
    for (const d of disks) ui.say(`  Disk ${d.number}: ${gb(d.sizeBytes)} ${d.bus} ${d.model}${d.holdsBootMedia ? '  <- the recovery media' : ''}`);
    ui.say(`Network cards: ${nics.length === 0 ? 'none seen (a network driver may be missing)' : nics.map((n) => `${n.name}${n.connected ? '' : ' (cable unplugged)'}`).join(', ')}`);
    log.write(`machine: ${m.firmware} ${m.manufacturer} ${m.model} hypervisor=${m.hypervisor ?? 'none'} ram=${m.ramBytes}`);
    for (const d of disks) log.write(`disk ${d.number}: ${d.sizeBytes} ${d.bus} ${d.model}${d.holdsBootMedia ? ' (boot media)' : ''}`);
    return 'next';
  },
};
