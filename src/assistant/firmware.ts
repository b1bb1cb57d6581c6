/** How to switch a machine to the firmware mode a backup needs, by what the machine is. */
import type { Firmware, Hypervisor } from '../platform/platform.js';

export const FIRMWARE_NAME: Record<Firmware, string> = { uefi: 'UEFI', bios: 'legacy BIOS' };

export function uefiHowTo(hypervisor: Hypervisor | undefined): string {
  switch (hypervisor) {
    case 'hyperv': return 'Hyper-V: create the VM as Generation 2 (Generation 1 cannot boot UEFI).';
    case 'esxi': return 'ESXi: VM Options > Boot Options > Firmware: EFI.';
    case 'kvm': return 'KVM/Proxmox: BIOS "OVMF (UEFI)" and an EFI disk (virt-install --boot uefi, qm set --bios ovmf).';
    case 'xen': return 'Xen: set firmware="uefi" in the VM configuration (xe vm-param-set HVM-boot-params:firmware=uefi).';
    default: return 'In the firmware setup (F2/Del at power-on) set boot mode to UEFI, then boot the USB stick\'s UEFI entry.';
  }
}

export function firmwareHowTo(need: Firmware, hypervisor: Hypervisor | undefined): string {
  return need === 'uefi' ? uefiHowTo(hypervisor) : 'Switch the machine (or VM) to legacy BIOS boot (CSM), or create the VM with BIOS firmware (Hyper-V: Generation 1).';
}
