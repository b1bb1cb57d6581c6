/**
 * The machine the restore assistant runs on, behind one small interface: `WinPePlatform` runs the real Windows PE
 * tools (cmd.exe tools only: diskpart, reg, drvload, wpeutil, ipconfig, netsh, net, dism, bcdboot), and
 * `SimulatedPlatform` plays a scenario folder so technicians can train and tests can drive every path.
 * The assistant reaches Windows only through this interface.
 */
import type { Secret } from '../secrets/secret.js';

export type Firmware = 'uefi' | 'bios';
export type Hypervisor = 'esxi' | 'hyperv' | 'kvm' | 'xen' | 'virtualbox';

export interface MachineInfo {
  /** How this machine booted the media (PEFirmwareType: 1 BIOS, 2 UEFI). */
  firmware: Firmware;
  /** From HKLM\HARDWARE\DESCRIPTION\System\BIOS: SystemManufacturer, SystemProductName, BIOSVendor. */
  manufacturer: string;
  model: string;
  biosVendor?: string;
  /** Detected from the BIOS strings; undefined on physical hardware. */
  hypervisor?: Hypervisor;
  ramBytes: number;
  cpus?: number;
}

export interface Disk {
  /** diskpart's disk number: what the technician types to confirm. */
  number: number;
  sizeBytes: number;
  /** Bus type as diskpart's `detail disk` says: SATA, SAS, NVMe, USB, SCSI, RAID, Virtual... */
  bus: string;
  model: string;
  partitionStyle?: 'GPT' | 'MBR' | 'RAW';
  /** True for the disk the recovery media booted from: never offered as a restore target. */
  holdsBootMedia: boolean;
  /** Volume letters and labels on it, for the technician to recognise it. */
  volumes: { letter?: string; label?: string; sizeBytes?: number; fs?: string }[];
}

export interface Nic {
  name: string;
  description?: string;
  mac?: string;
  connected: boolean;
  dhcp: boolean;
  ipv4: string[];
  gateway?: string;
  dns?: string[];
}

export interface StaticIpv4 {
  nic: string;
  address: string;
  mask: string;
  gateway?: string;
  dns?: string;
}

/** A Windows error of `net use`, with the code so the assistant can say what it means. */
export type ShareResult = { ok: true; root: string } | { ok: false; code: number; message: string };

export interface CommandResult {
  ok: boolean;
  /** Exit code of the tool. */
  code: number;
  /** What the tool printed (secrets already removed). */
  output: string;
}

export interface WindowsVolume {
  letter: string;
  /** Path Node reads the volume through (`W:\\` in Windows PE). */
  root: string;
  label?: string;
  sizeBytes?: number;
  /** True when the volume holds \Windows\System32\config\SYSTEM (a Windows installation). */
  hasWindows: boolean;
}

export interface Platform {
  readonly kind: 'winpe' | 'simulated';
  /** Root of the recovery media (the folder holding \lifeboat\). */
  readonly mediaRoot: string;
  /** Where the session log and reports go before the share is reachable (X:\ in Windows PE). */
  readonly scratchRoot: string;
  now(): Date;
  machine(): Promise<MachineInfo>;
  disks(): Promise<Disk[]>;
  nics(): Promise<Nic[]>;
  /** Loads an INF driver package into the running Windows PE (drvload). */
  loadDriver(inf: string): Promise<CommandResult>;
  /** Starts networking (wpeutil InitializeNetwork); DHCP then runs by itself. */
  initNetwork(): Promise<CommandResult>;
  setStaticIpv4(config: StaticIpv4): Promise<CommandResult>;
  /** Whether host:port accepts a TCP connection within the timeout (the NAS on 445). */
  tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean>;
  /** `net use` the share with the credentials; on success `root` is a path Node can read the share through. */
  connectShare(unc: string, user: string, password: Secret): Promise<ShareResult>;
  disconnectShare(unc: string): Promise<void>;
  /** Runs a program and waits for it (Veeam's UI at hand-over). */
  run(program: string, args: readonly string[]): Promise<CommandResult>;
  /** Volumes of restored Windows installations (for driver injection, boot repair and diagnostics). */
  windowsVolumes(): Promise<WindowsVolume[]>;
  /** dism /Image:<root> /Add-Driver /Driver:<dir> /Recurse */
  injectDrivers(windowsRoot: string, driverDir: string): Promise<CommandResult>;
  /** bcdboot <root>\Windows with the firmware's boot files. */
  repairBoot(windowsRoot: string, firmware: Firmware): Promise<CommandResult>;
  /** A command prompt in this console for the technician (diskpart, drvload...); returns when they type exit. */
  commandPrompt(): Promise<CommandResult>;
  /** Whether files can be created in `dir` (a restore account's share is read-only by design; an ISO is too). */
  canWrite(dir: string): Promise<boolean>;
  /** The path Node writes a lettered volume through (`E:\\` in Windows PE). */
  volumeRoot(letter: string): string;
  /** Switches the machine off (wpeutil shutdown), e.g. to change the firmware mode. */
  powerOff(): Promise<CommandResult>;
}
