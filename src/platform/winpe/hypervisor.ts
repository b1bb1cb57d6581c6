/**
 * Which hypervisor a machine runs on, from the SMBIOS strings Windows copies into
 * HKLM\HARDWARE\DESCRIPTION\System\BIOS (SystemManufacturer, SystemProductName, BIOSVendor). No WMI needed.
 * Physical machines (and anything not recognised) give undefined: better to load no hypervisor drivers than wrong ones.
 */
import type { Hypervisor } from '../platform.js';

/** Tested in order: the first rule whose pattern matches "manufacturer | model | biosVendor" wins. */
const RULES: readonly [RegExp, Hypervisor][] = [
  [/\bvmware\b/i, 'esxi'],
  // Hyper-V: "Microsoft Corporation" + "Virtual Machine" (a Surface is Microsoft Corporation too, so both are needed).
  [/microsoft corporation\s*\|\s*virtual machine\b/i, 'hyperv'],
  [/\binnotek\b|\bvirtualbox\b/i, 'virtualbox'],
  [/\bxen\b|\bhvm domu\b/i, 'xen'],
  // KVM: QEMU's machine names ("Standard PC (i440FX + PIIX, 1996)", "Standard PC (Q35 + ICH9, 2009)"), Red Hat/oVirt,
  // Proxmox, Nutanix AHV, OpenStack Nova, and SeaBIOS/EDK II firmware together with a QEMU string.
  [/\bqemu\b|\bkvm\b|\bproxmox\b|\bstandard pc \((?:i440fx|q35)\b|\bnutanix\b|\bopenstack\b|\bred hat\b.*\|.*\b(?:kvm|rhev|enterprise linux|openstack)/i, 'kvm'],
];

export function hypervisorFrom(manufacturer: string, model: string, biosVendor?: string): Hypervisor | undefined {
  const text = `${manufacturer.trim()} | ${model.trim()} | ${(biosVendor ?? '').trim()}`;
  for (const [pattern, hypervisor] of RULES) if (pattern.test(text)) return hypervisor;
  return undefined;
}
