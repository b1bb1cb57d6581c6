/**
 * Every server's way into a new virtual machine (chapter "Restoring into a virtual machine"), and the drivers the
 * assistant can inject on the way: a VM server gets the commands for its own hypervisor; a physical server gets the
 * commands for each hypervisor the site already uses (its hardware may be what broke), or, when the site has none,
 * a generic block with the settings any hypervisor needs.
 */
import type { DriverKind, Hypervisor, Server, Site } from '../site/index.js';
import { HYPERVISOR_DRIVER_KIND, HYPERVISORS } from '../site/index.js';
import { HYPERVISOR_NAMES, type VmPlan, vmPlan } from './commands.js';

/** The settings of a new VM on any hypervisor, for a site that runs none. */
export interface GenericVm {
  readonly vmName: string;
  readonly rows: readonly { readonly setting: string; readonly value: string }[];
}

/** What the manual prints to bring one server back as a VM. */
export interface VmRecipe {
  /** The server's own hypervisor (VM servers) or the site's hypervisors (physical servers). */
  readonly plans: readonly { readonly hypervisor: Hypervisor; readonly name: string; readonly vm: VmPlan }[];
  /** Only when no hypervisor is known: the settings to use on whichever host is at hand. */
  readonly generic?: GenericVm;
  /** The driver folders on the media the assistant injects for this target, as sentences. */
  readonly drivers: readonly string[];
}

const DEFAULT_CPUS = 2;

/** Hypervisors the site's VM servers run on, in a fixed order. */
export function siteHypervisors(site: Site): Hypervisor[] {
  return HYPERVISORS.filter((h) => site.servers.some((s) => s.runsOn.kind === 'vm' && s.runsOn.hypervisor === h));
}

/** The drivers the assistant can inject into the restored system on `hypervisor`, from what the media carries. */
export function vmDriverText(site: Site, hypervisor: Hypervisor): string {
  const kind = HYPERVISOR_DRIVER_KIND[hypervisor];
  return site.drivers[kind]
    ? `${HYPERVISOR_NAMES[hypervisor]}: the assistant injects the ${kind} drivers from \\lifeboat\\drivers\\${kind}\\ (site.yaml drivers.${kind}).`
    : `${HYPERVISOR_NAMES[hypervisor]}: no ${kind} drivers are on the media (site.yaml has no drivers.${kind}); the devices above work with the drivers built into Windows.`;
}

/** For a VM on a hypervisor not known yet: which paravirtual driver folders the media carries. */
function anyHypervisorDriverText(site: Site): string {
  const kinds = [...new Set(HYPERVISORS.map((h) => HYPERVISOR_DRIVER_KIND[h]))];
  const carried = kinds.filter((k) => site.drivers[k]);
  if (carried.length === 0) {
    return `no paravirtual drivers are on the media (site.yaml has none of drivers.${kinds.join(', drivers.')}): the devices above work with the drivers built into Windows.`;
  }
  return `the assistant injects the drivers for the host's type from \\lifeboat\\drivers\\ (${carried.join(', ')} are on the media); other hosts: the devices above work with the drivers built into Windows.`;
}

/** Vendor drivers for a physical server: whether the media carries its vendor's pack. */
export function vendorDriverText(site: Site, server: Server): string | undefined {
  if (server.runsOn.kind !== 'physical') return undefined;
  const vendor = server.runsOn.vendor;
  if (vendor === 'other') {
    return site.drivers.custom
      ? 'The assistant loads the drivers from \\lifeboat\\drivers\\custom\\ (site.yaml drivers.custom) for the RAID controller and network card.'
      : 'No vendor drivers are on the media: if the disks or network card are missing, load the vendor\'s driver from a USB stick in the assistant\'s Drivers screen.';
  }
  const kind = vendor as DriverKind;
  return site.drivers[kind]
    ? `The assistant loads the ${vendor} driver pack from \\lifeboat\\drivers\\${kind}\\ (site.yaml drivers.${kind}) for the RAID controller and network card.`
    : `No ${vendor} driver pack is on the media (site.yaml has no drivers.${kind}): Windows PE may not see a newer RAID controller. Add the pack and rebuild the media.`;
}

/** The recipe for `server`. `isoFile` is the media's ISO name. */
export function vmRecipe(site: Site, server: Server, isoFile: string): VmRecipe {
  const targets: Hypervisor[] = server.runsOn.kind === 'vm' ? [server.runsOn.hypervisor] : siteHypervisors(site);
  const plans = targets.map((h) => ({ hypervisor: h, name: HYPERVISOR_NAMES[h], vm: vmPlan(server, h, isoFile) }));
  if (plans.length > 0) return { plans, drivers: targets.map((h) => vmDriverText(site, h)) };
  return { plans, generic: genericVm(server), drivers: [anyHypervisorDriverText(site)] };
}

function genericVm(server: Server): GenericVm {
  const uefi = server.firmware === 'uefi';
  const disks = server.disks.map((d, i) => `disk ${i}${d.name ? ` (${d.name})` : ''}: at least ${Math.ceil(d.sizeGb)} GB`).join(', ');
  return {
    vmName: `${server.name}-restore`,
    rows: [
      {
        setting: 'Firmware',
        value: uefi
          ? 'UEFI: Hyper-V Generation 2, ESXi "EFI", OVMF on KVM/Proxmox, "uefi" on Xen. Secure Boot may stay on.'
          : 'Legacy BIOS: Hyper-V Generation 1, ESXi "BIOS", SeaBIOS on KVM/Proxmox, "bios" on Xen.',
      },
      { setting: 'CPUs', value: `${server.cpus ?? DEFAULT_CPUS} vCPU${server.cpus === undefined ? ' (not recorded: 2 assumed)' : ''}` },
      { setting: 'Memory', value: `${Math.ceil(server.ramGb)} GB, fixed (not dynamic memory or ballooning)` },
      { setting: 'Disks', value: disks },
      {
        setting: 'Disk controller',
        value: 'one Windows has drivers for built in: SATA/AHCI (KVM, Proxmox, Xen), LSI Logic SAS (ESXi), SCSI (Hyper-V Generation 2) or IDE (Hyper-V Generation 1). Not virtio or PVSCSI until their drivers are installed.',
      },
      { setting: 'Network card', value: 'Intel e1000e (KVM, Proxmox, ESXi), or the standard network adapter on Hyper-V; connected to the network the server used' },
      { setting: 'CD/DVD', value: 'the recovery ISO, first in the boot order' },
    ],
  };
}
