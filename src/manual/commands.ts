/**
 * The commands that create the new VM a server is restored into, one script per hypervisor, generated from the
 * server's data (name, firmware, CPUs, RAM, disk sizes) and the media file name. Nothing here is typed by hand into a
 * template: the manual prints these strings as they are.
 *
 * Choices that make a bare-metal restore boot on the first try:
 * - firmware matches the backup (UEFI: Hyper-V Generation 2, ESXi efi, OVMF on KVM/Proxmox, Xen uefi);
 * - disks and NICs use controllers Windows has drivers for in the box (SATA on KVM/Proxmox, LSI SAS on ESXi,
 *   e1000e NICs), so the restored system starts even before paravirtual drivers are added;
 * - the VM gets a new name (`<NAME>-restore`), so the failed VM can stay for analysis.
 */
import type { Hypervisor, Server } from '../site/index.js';

export interface VmScript {
  /** Tool the script is for, e.g. "Hyper-V PowerShell". */
  readonly tool: string;
  /** Where to run it. */
  readonly where: string;
  /** The script text: one command per line; long commands are continued with the shell's continuation mark. */
  readonly text: string;
  /** Values the technician may have to change (storage, network names), each named in the script's first lines. */
  readonly adjust: readonly string[];
}

export interface VmPlan {
  readonly hypervisor: Hypervisor;
  readonly vmName: string;
  readonly firmware: 'uefi' | 'bios';
  readonly cpus: number;
  readonly ramGb: number;
  /** Disk sizes in whole GB, system disk first. */
  readonly diskGb: readonly number[];
  readonly scripts: readonly VmScript[];
}

/** Hypervisor display names. */
export const HYPERVISOR_NAMES: Record<Hypervisor, string> = {
  esxi: 'VMware ESXi',
  hyperv: 'Microsoft Hyper-V',
  kvm: 'KVM (libvirt)',
  proxmox: 'Proxmox VE',
  xen: 'Xen (XenServer / XCP-ng)',
};

/** Default vCPU count when the site does not say. */
const DEFAULT_CPUS = 2;

/** The guest OS ids the tools want, from the site's OS text (Windows Server 2016 and later). */
function osYear(os: string | undefined): '2016' | '2019' | '2022' | '2025' {
  const m = /20(16|19|22|25)/.exec(os ?? '');
  return m ? (`20${m[1]}` as '2016' | '2019' | '2022' | '2025') : '2022';
}

const ESXI_GUEST: Record<string, string> = {
  '2016': 'windows9Server64Guest',
  '2019': 'windows2019srv_64Guest',
  '2022': 'windows2019srvNext_64Guest',
  '2025': 'windows2022srvNext_64Guest',
};
const VIRT_INSTALL_OS: Record<string, string> = { '2016': 'win2k16', '2019': 'win2k19', '2022': 'win2k22', '2025': 'win2k25' };
const PROXMOX_OS: Record<string, string> = { '2016': 'win10', '2019': 'win10', '2022': 'win11', '2025': 'win11' };
const XEN_TEMPLATE: Record<string, string> = {
  '2016': 'Windows Server 2016 (64-bit)',
  '2019': 'Windows Server 2019 (64-bit)',
  '2022': 'Windows Server 2022 (64-bit)',
  '2025': 'Windows Server 2025 (64-bit)',
};

/** Whole GB, rounded up (a restore target may be larger, never smaller). */
function wholeGb(n: number): number {
  return Math.max(1, Math.ceil(n));
}

/** Builds the VM plan and scripts for a server running on a hypervisor. `isoFile` is the media's file name. */
export function vmPlan(server: Server, hypervisor: Hypervisor, isoFile: string): VmPlan {
  const vmName = `${server.name}-restore`;
  const cpus = server.cpus ?? DEFAULT_CPUS;
  const ramGb = wholeGb(server.ramGb);
  const diskGb = server.disks.map((d) => wholeGb(d.sizeGb));
  const p = { server, vmName, cpus, ramGb, diskGb, isoFile, firmware: server.firmware, year: osYear(server.os) };
  const scripts: VmScript[] = [];
  switch (hypervisor) {
    case 'hyperv':
      scripts.push(hyperV(p));
      break;
    case 'esxi':
      scripts.push(govc(p), powerCli(p));
      break;
    case 'kvm':
      scripts.push(virtInstall(p));
      break;
    case 'proxmox':
      scripts.push(qm(p));
      break;
    case 'xen':
      scripts.push(xe(p));
      break;
  }
  return { hypervisor, vmName, firmware: server.firmware, cpus, ramGb, diskGb, scripts };
}

interface Params {
  server: Server;
  vmName: string;
  cpus: number;
  ramGb: number;
  diskGb: readonly number[];
  isoFile: string;
  firmware: 'uefi' | 'bios';
  year: string;
}

function hyperV(p: Params): VmScript {
  const uefi = p.firmware === 'uefi';
  const [first, ...rest] = p.diskGb;
  const lines = [
    `$Name   = '${p.vmName}'`,
    `$Folder = 'D:\\Hyper-V'          # folder for the new VM: change to this host's VM storage`,
    `$Switch = 'LAN'                 # virtual switch: Get-VMSwitch lists them`,
    `$Iso    = 'D:\\ISO\\${p.isoFile}'   # where you copied the recovery ISO`,
    `New-VM -Name $Name${uefi ? ' -Generation 2' : ''} -MemoryStartupBytes ${p.ramGb}GB -Path $Folder \``,
    `  -NewVHDPath "$Folder\\$Name\\disk0.vhdx" -NewVHDSizeBytes ${first}GB -SwitchName $Switch`,
    `Set-VMProcessor -VMName $Name -Count ${p.cpus}`,
    `Set-VMMemory -VMName $Name -DynamicMemoryEnabled $false`,
  ];
  rest.forEach((gb, i) => {
    lines.push(`New-VHD -Path "$Folder\\$Name\\disk${i + 1}.vhdx" -SizeBytes ${gb}GB -Dynamic`);
    lines.push(`Add-VMHardDiskDrive -VMName $Name -ControllerType SCSI -Path "$Folder\\$Name\\disk${i + 1}.vhdx"`);
  });
  if (uefi) {
    lines.push('Add-VMDvdDrive -VMName $Name -Path $Iso');
    lines.push('Set-VMFirmware -VMName $Name -FirstBootDevice (Get-VMDvdDrive -VMName $Name)');
  } else {
    lines.push('Set-VMDvdDrive -VMName $Name -ControllerNumber 1 -ControllerLocation 0 -Path $Iso');
    lines.push("Set-VMBios -VMName $Name -StartupOrder @('CD', 'IDE', 'LegacyNetworkAdapter', 'Floppy')");
  }
  lines.push('Start-VM -Name $Name; vmconnect.exe localhost $Name');
  return {
    tool: 'Hyper-V PowerShell',
    where: 'an elevated PowerShell on the Hyper-V host',
    text: lines.join('\n'),
    adjust: ['$Folder (VM storage)', '$Switch (virtual switch)', '$Iso (path of the ISO on the host)'],
  };
}

function govc(p: Params): VmScript {
  const [first, ...rest] = p.diskGb;
  const lines = [
    `export GOVC_URL='https://esxi-host' GOVC_USERNAME='root' GOVC_INSECURE=1   # then: export GOVC_PASSWORD=...`,
    `NAME='${p.vmName}'; DS='datastore1'; NET='VM Network'   # datastore and port group: govc ls /*/datastore /*/network`,
    `govc datastore.upload -ds "$DS" '${p.isoFile}' 'iso/${p.isoFile}'`,
    `govc vm.create -ds "$DS" -c ${p.cpus} -m ${p.ramGb * 1024} -g ${ESXI_GUEST[p.year]} \\`,
    `  -firmware ${p.firmware === 'uefi' ? 'efi' : 'bios'} -disk ${first}GB -disk.controller scsi \\`,
    `  -net "$NET" -net.adapter e1000e -iso 'iso/${p.isoFile}' -iso-datastore "$DS" -on=false "$NAME"`,
  ];
  rest.forEach((gb, i) => lines.push(`govc vm.disk.create -vm "$NAME" -ds "$DS" -name "$NAME/disk${i + 1}" -size ${gb}GB`));
  lines.push('govc device.boot -vm "$NAME" -order cdrom,disk');
  lines.push('govc vm.power -on "$NAME"');
  return {
    tool: 'govc (ESXi)',
    where: 'any Linux, macOS or Windows shell with govc that reaches the ESXi host or vCenter',
    text: lines.join('\n'),
    adjust: ['GOVC_URL (host)', 'DS (datastore)', 'NET (port group)'],
  };
}

function powerCli(p: Params): VmScript {
  const lines = [
    `Connect-VIServer esxi-host                  # or your vCenter`,
    `$Name = '${p.vmName}'; $Ds = 'datastore1'; $Net = 'VM Network'`,
    `$vm = New-VM -Name $Name -VMHost (Get-VMHost | Select-Object -First 1) -Datastore $Ds \``,
    `  -NumCpu ${p.cpus} -MemoryGB ${p.ramGb} -DiskGB ${p.diskGb.join(',')} -DiskStorageFormat Thin \``,
    `  -GuestId ${ESXI_GUEST[p.year]} -NetworkName $Net`,
    `$spec = New-Object VMware.Vim.VirtualMachineConfigSpec; $spec.Firmware = '${p.firmware === 'uefi' ? 'efi' : 'bios'}'`,
    '$vm.ExtensionData.ReconfigVM($spec)',
    `New-CDDrive -VM $vm -IsoPath "[$Ds] iso/${p.isoFile}" -StartConnected | Out-Null`,
    'Start-VM -VM $vm',
  ];
  return {
    tool: 'VMware PowerCLI (ESXi)',
    where: 'PowerShell with VMware PowerCLI installed; upload the ISO to the datastore folder iso/ first',
    text: lines.join('\n'),
    adjust: ['$Ds (datastore)', '$Net (port group)'],
  };
}

function virtInstall(p: Params): VmScript {
  const lines = [
    `virt-install --name '${p.vmName}' --memory ${p.ramGb * 1024} --vcpus ${p.cpus} \\`,
    `  --os-variant ${VIRT_INSTALL_OS[p.year]} --machine q35${p.firmware === 'uefi' ? ' --boot uefi' : ''} \\`,
    ...p.diskGb.map((gb) => `  --disk size=${gb},bus=sata,format=qcow2 \\`),
    `  --cdrom '/var/lib/libvirt/images/${p.isoFile}' \\`,
    `  --network network=default,model=e1000e --graphics vnc --noautoconsole`,
    `virt-viewer '${p.vmName}' &`,
  ];
  return {
    tool: 'virt-install (KVM / libvirt)',
    where: 'a root shell on the KVM host; copy the ISO to /var/lib/libvirt/images first',
    text: lines.join('\n'),
    adjust: ['--network (bridge or libvirt network)', 'the ISO path'],
  };
}

function qm(p: Params): VmScript {
  const uefi = p.firmware === 'uefi';
  const lines = [
    `VMID=$(pvesh get /cluster/nextid); STORE=local-lvm   # storage for the disks: pvesm status lists them`,
    `qm create $VMID --name '${p.vmName}' --ostype ${PROXMOX_OS[p.year]} --machine q35 \\`,
    `  --cores ${p.cpus} --memory ${p.ramGb * 1024} --balloon 0 \\`,
    ...(uefi ? ['  --bios ovmf --efidisk0 $STORE:1,efitype=4m,pre-enrolled-keys=0 \\'] : ['  --bios seabios \\']),
    ...p.diskGb.map((gb, i) => `  --sata${i} $STORE:${gb} \\`),
    `  --ide2 local:iso/${p.isoFile},media=cdrom --net0 e1000,bridge=vmbr0 \\`,
    `  --boot 'order=ide2;sata0'`,
    'qm start $VMID',
  ];
  return {
    tool: 'Proxmox qm',
    where: 'a root shell on the Proxmox node; upload the ISO to the "local" storage (ISO images) first',
    text: lines.join('\n'),
    adjust: ['STORE (disk storage)', 'bridge=vmbr0 (network bridge)'],
  };
}

function xe(p: Params): VmScript {
  const [first, ...rest] = p.diskGb;
  const lines = [
    `SR=$(xe pool-list params=default-SR --minimal)   # storage repository for the disks`,
    `VM=$(xe vm-install template='${XEN_TEMPLATE[p.year]}' new-name-label='${p.vmName}' sr-uuid=$SR)`,
    `xe vm-param-set uuid=$VM HVM-boot-params:firmware=${p.firmware === 'uefi' ? 'uefi' : 'bios'} HVM-boot-params:order=dc`,
    `xe vm-param-set uuid=$VM VCPUs-max=${p.cpus}; xe vm-param-set uuid=$VM VCPUs-at-startup=${p.cpus}`,
    `xe vm-memory-limits-set uuid=$VM static-min=${p.ramGb}GiB dynamic-min=${p.ramGb}GiB \\`,
    `  dynamic-max=${p.ramGb}GiB static-max=${p.ramGb}GiB`,
    `VDI=$(xe vbd-list vm-uuid=$VM type=Disk params=vdi-uuid --minimal); xe vdi-resize uuid=$VDI disk-size=${first}GiB`,
  ];
  rest.forEach((gb, i) => {
    lines.push(`D${i + 1}=$(xe vdi-create sr-uuid=$SR name-label='${p.vmName}-disk${i + 1}' type=user virtual-size=${gb}GiB)`);
    lines.push(`xe vbd-create vm-uuid=$VM vdi-uuid=$D${i + 1} device=${i + 1} mode=RW type=Disk`);
  });
  lines.push(`xe vm-cd-add uuid=$VM cd-name='${p.isoFile}' device=3`);
  lines.push(`xe vif-create vm-uuid=$VM network-uuid=$(xe network-list bridge=xenbr0 --minimal) device=0`);
  lines.push('xe vm-start uuid=$VM');
  return {
    tool: 'xe (XenServer / XCP-ng)',
    where: 'the pool master\'s console; the ISO must be in an ISO library (SR of type iso)',
    text: lines.join('\n'),
    adjust: ['SR (storage repository)', 'bridge=xenbr0 (network)'],
  };
}

/**
 * Keeping the failed VM for analysis: power off, rename with the date, disconnect its network, snapshot. Never
 * delete it. `name` is the VM's name on the hypervisor (the site's server name; the host may use another).
 */
export function keepFailedVmScript(name: string, hypervisor: Hypervisor): VmScript {
  switch (hypervisor) {
    case 'hyperv':
      return {
        tool: 'Hyper-V PowerShell',
        where: 'an elevated PowerShell on the Hyper-V host',
        text: [
          `$Old = '${name}'; $New = "$Old-failed-$(Get-Date -Format yyyyMMdd)"`,
          'Stop-VM -Name $Old -TurnOff -Force',
          'Rename-VM -Name $Old -NewName $New',
          'Get-VMNetworkAdapter -VMName $New | Disconnect-VMNetworkAdapter',
          "Checkpoint-VM -Name $New -SnapshotName 'as found before the restore'",
        ].join('\n'),
        adjust: ['$Old if the VM has another name on the host (Get-VM lists them)'],
      };
    case 'esxi':
      return {
        tool: 'govc (ESXi)',
        where: 'a shell with govc set up as for creating the VM',
        text: [
          `OLD='${name}'; NEW="$OLD-failed-$(date +%Y%m%d)"`,
          'govc vm.power -off -force "$OLD"',
          'govc object.rename "/*/vm/$OLD" "$NEW"   # or in the ESXi web client: Rename',
          'govc device.disconnect -vm "$NEW" ethernet-0',
          "govc snapshot.create -vm \"$NEW\" 'as found before the restore'",
        ].join('\n'),
        adjust: ['OLD if the VM has another name on the host (govc ls /*/vm lists them)'],
      };
    case 'kvm':
      return {
        tool: 'virsh (KVM / libvirt)',
        where: 'a root shell on the KVM host',
        text: [
          `OLD='${name}'; NEW="$OLD-failed-$(date +%Y%m%d)"`,
          'virsh destroy "$OLD"',
          'virsh domrename "$OLD" "$NEW"',
          'for nic in $(virsh domiflist "$NEW" | awk \'NR>2 && $1 != "" {print $5}\'); do virsh domif-setlink "$NEW" "$nic" down --config; done',
          "virsh snapshot-create-as \"$NEW\" before-restore 'as found before the restore'",
        ].join('\n'),
        adjust: ['OLD if the VM has another name on the host (virsh list --all lists them)'],
      };
    case 'proxmox':
      return {
        tool: 'Proxmox qm',
        where: 'a root shell on the Proxmox node',
        text: [
          `OLD=$(qm list | awk '$2 == "${name}" {print $1}')   # the VM id of ${name}`,
          'qm stop $OLD',
          `qm set $OLD --name "${name}-failed-$(date +%Y%m%d)" --net0 "$(qm config $OLD | awk -F': ' '/^net0:/ {print $2}'),link_down=1"`,
          'qm snapshot $OLD before_restore --description "as found before the restore"',
        ].join('\n'),
        adjust: ['the VM id if qm list shows the VM under another name'],
      };
    case 'xen':
      return {
        tool: 'xe (XenServer / XCP-ng)',
        where: 'the pool master\'s console',
        text: [
          `OLD=$(xe vm-list name-label='${name}' --minimal)`,
          'xe vm-shutdown uuid=$OLD force=true',
          `xe vm-param-set uuid=$OLD name-label="${name}-failed-$(date +%Y%m%d)"`,
          "xe vm-snapshot uuid=$OLD new-name-label='as found before the restore'   # keeps the network settings",
          'for v in $(xe vif-list vm-uuid=$OLD --minimal | tr , " "); do xe vif-destroy uuid=$v; done',
        ].join('\n'),
        adjust: ['name-label if the VM has another name (xe vm-list lists them)'],
      };
  }
}
