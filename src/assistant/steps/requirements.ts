/** Step 8: what the restore needs from this machine, read from the restore point's metadata. */
import type { Hypervisor } from '../../platform/platform.js';
import { BACK } from '../ui.js';
import { type Step, gb, ram } from '../context.js';

/** How to switch a machine to UEFI, by what it is. */
export function uefiHowTo(hypervisor: Hypervisor | undefined): string {
  switch (hypervisor) {
    case 'hyperv': return 'Hyper-V: create the VM as Generation 2 (Generation 1 cannot boot UEFI).';
    case 'esxi': return 'ESXi: VM Options > Boot Options > Firmware: EFI.';
    case 'kvm': return 'KVM/Proxmox: BIOS "OVMF (UEFI)" and an EFI disk (virt-install --boot uefi, qm set --bios ovmf).';
    case 'xen': return 'Xen: set firmware="uefi" in the VM configuration (xe vm-param-set HVM-boot-params:firmware=uefi).';
    default: return 'In the firmware setup (F2/Del at power-on) set boot mode to UEFI, then boot the USB stick\'s UEFI entry.';
  }
}

export const requirements: Step = {
  id: 'requirements',
  title: 'What this restore needs',
  async run({ ui, log, state }) {
    const d = state.details;
    const m = state.machine!;
    if (!d) {
      ui.warn('The restore point has no system description; Veeam Recovery will show the disks.');
      return 'next';
    }
    ui.say(`${state.server?.name}: ${d.osName ?? 'Windows'}${d.osVersion ? ` ${d.osVersion}` : ''}, ${ram(d.ramBytes)} memory`);
    const problems: string[] = [];
    if (d.firmware) {
      const need = d.firmware.toUpperCase();
      ui.say(`Firmware: the backup's system disk is ${d.firmware === 'uefi' ? 'GPT: needs UEFI' : 'MBR: needs legacy BIOS'}; this machine booted ${m.firmware.toUpperCase()}.`);
      if (d.firmware !== m.firmware) {
        problems.push(`firmware ${m.firmware.toUpperCase()} but the backup needs ${need}`);
        ui.warn(`This machine booted in ${m.firmware.toUpperCase()} mode, but the restored system needs ${need}: it would not start.`);
        ui.say(d.firmware === 'uefi' ? uefiHowTo(m.hypervisor) : 'Switch the machine (or VM) to legacy BIOS boot (CSM), or create the VM with BIOS firmware.');
        ui.say('Then boot this media again.');
      }
    }
    for (const disk of d.disks) {
      ui.say(`Backup disk ${disk.number ?? '?'}: ${gb(disk.capacity)} ${disk.partitionStyle}, used ${gb(disk.usedBytes)}; volumes ${disk.volumes.map((v) => `${v.letter ? `${v.letter}:` : v.label ?? 'EFI'} ${gb(v.used)} used`).join(', ')}`);
    }
    const needWhole = Math.max(0, ...d.disks.map((x) => x.capacity ?? 0));
    const needUsed = d.disks.reduce((a, x) => a + (x.usedBytes ?? 0), 0);
    ui.say(`Target disk: at least ${gb(needWhole)} for "Entire computer"; at least ${gb(needUsed)} (the used data) for "Manual restore" with shrunk volumes.`);
    if (d.ramBytes && m.ramBytes < d.ramBytes * 0.5) ui.warn(`This machine has ${ram(m.ramBytes)} memory; the server had ${ram(d.ramBytes)}.`);
    if (d.roles.ad) {
      ui.warn('This is a DOMAIN CONTROLLER: restore the NEWEST good point, restore it first, and follow the domain controller chapter of the manual afterwards (USN rollback, SYSVOL).');
      if (state.point && state.health?.newestRestorable && state.point.id !== state.health.newestRestorable.id) {
        ui.warn('You chose an older point than the newest good one: an old domain controller can damage the domain. Call before going on.');
      }
    }
    if (d.roles.sql) ui.say('SQL Server: after the restore check the databases (manual, SQL chapter).');
    if (d.roles.exchange) ui.say('Exchange: after the restore check the databases and mail flow (manual, Exchange chapter).');
    if (d.encrypted) ui.say(state.credentials?.veeamEncryptionPassword ? 'The backup is encrypted: its password is on the media (shown at hand-over).' : 'The backup is encrypted: Veeam will ask for its password (not on this media).');
    log.write(`requirements: firmware ${d.firmware} (machine ${m.firmware}), whole ${needWhole}, used ${needUsed}, dc=${d.roles.ad}`);
    if (problems.length) {
      const go = await ui.select('The restore would not boot on this machine as it is. What now?', [
        { name: 'Stop here: I will fix the firmware mode and boot again', value: 'stop' },
        { name: 'Go on anyway (the restored system will not start until the firmware is changed)', value: 'on' },
      ]);
      if (go === BACK) return 'back';
      if (go === 'stop') return 'quit';
    }
    return 'next';
  },
};
