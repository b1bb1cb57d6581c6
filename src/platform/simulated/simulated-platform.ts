/**
 * The Simulated platform: plays a training scenario. At start it makes a media folder (site.json, a vault sealed
 * with the scenario's training secret, drivers, manifest) and a share from real Veeam metadata re-dated so the
 * newest point has the scenario's age, then answers the assistant as the scenario's machine would.
 */
import { cp, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { Secret } from '../../secrets/secret.js';
import { sealVault, serialiseVault } from '../../secrets/vault.js';
import { driverFolders, loadSite } from '../../site/index.js';
import { renderSiteJson } from '../../site/site-json.js';
import { MANIFEST_PATH, renderManifest, sha256Of } from '../../util/manifest.js';
import { parseVbm } from '../../veeam/vbm.js';
import { buildChain } from '../../veeam/model.js';
import { canCreateFilesIn } from '../write-probe.js';
import type {
  CommandResult, Disk, Firmware, MachineInfo, Nic, Platform, ShareResult, StaticIpv4, WindowsVolume,
} from '../platform.js';
import { type Scenario, loadScenario } from './scenario.js';

const GB = 1e9;
const VEEAM_TIME = /(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})/g;

/** Shifts every Veeam time stamp (MM/dd/yyyy HH:mm:ss, local and UTC alike) by `ms`. */
export function shiftVeeamTimes(text: string, ms: number): string {
  return text.replace(VEEAM_TIME, (_m, mo, d, y, h, mi, s) => {
    const t = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s) + ms);
    const p = (n: number) => String(n).padStart(2, '0');
    return `${p(t.getUTCMonth() + 1)}/${p(t.getUTCDate())}/${t.getUTCFullYear()} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())}`;
  });
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out;
}

export class SimulatedPlatform implements Platform {
  readonly kind = 'simulated' as const;
  private networkStartedAt?: number;
  private staticIp?: StaticIpv4;
  private connected = false;
  private loadedLateDriver = false;

  private constructor(
    readonly scenario: Scenario,
    readonly work: string,
    readonly mediaRoot: string,
    readonly scratchRoot: string,
    private readonly shareDir: string,
    private readonly restoredRoot: string,
    private readonly clock: () => Date,
  ) {}

  /** Prepares the scenario's media and share in a temporary folder. */
  static async start(dir: string, opts: { now?: () => Date; work?: string | undefined } = {}): Promise<SimulatedPlatform> {
    const { scenario, dir: base } = await loadScenario(dir);
    const clock = opts.now ?? (() => new Date());
    const work = opts.work ?? (await mkdtemp(join(tmpdir(), 'lifeboat-sim-')));
    await mkdir(work, { recursive: true });
    const media = join(work, 'media');
    const share = join(work, 'share');
    const scratch = join(work, 'x');
    const restored = join(work, 'restored-W');
    for (const d of [media, share, scratch]) await mkdir(d, { recursive: true });

    const siteFile = join(base, scenario.site);
    const site = await loadSite(siteFile);
    const lifeboat = join(media, 'lifeboat');
    await mkdir(lifeboat, { recursive: true });
    for (const { kind, dir: driverDir } of driverFolders(site, siteFile)) await cp(driverDir, join(lifeboat, 'drivers', kind), { recursive: true });
    const siteJson = renderSiteJson({
      buildId: `${site.site.id}-training`, builtAt: clock().toISOString(), lifeboatVersion: 'training', site,
      veeamLaunch: [{ path: 'X:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe' }], autostart: true, unlock: 'passphrase',
    });
    await writeFile(join(lifeboat, 'site.json'), siteJson);
    const vault = await sealVault({ share: { user: site.share.user, domain: site.share.domain, password: new Secret(scenario.training.sharePassword) } }, new Secret(scenario.training.unlock), site.site.id);
    await writeFile(join(lifeboat, 'vault.json'), serialiseVault(vault));
    const entries = [];
    const manifest = join(media, ...MANIFEST_PATH.split('/'));
    // A kept work folder (--keep, a second boot of the same training machine) already holds last time's manifest.
    for (const file of (await listFiles(lifeboat)).filter((f) => f !== manifest)) {
      entries.push({ path: relative(media, file).split(/[\\/]/).join('/'), sha256: await sha256Of([await readFile(file)]) });
    }
    await writeFile(manifest, renderManifest(entries));

    for (const vbmRel of scenario.share.vbm) {
      const text = await readFile(join(base, vbmRel), 'utf8');
      const chain = buildChain(parseVbm(text, vbmRel));
      const newest = chain.newest?.time?.getTime() ?? clock().getTime();
      const shifted = shiftVeeamTimes(text, clock().getTime() - scenario.share.newestAgeHours * 3_600_000 - newest);
      const folder = join(share, (chain.jobName ?? 'backup').replace(/[^\w .-]/g, '_'));
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, basename(vbmRel)), shifted);
      for (const s of chain.storages) {
        if (!s.fileName || scenario.share.missingFiles.some((m) => s.fileName!.includes(m))) continue;
        const empty = scenario.share.emptyFiles.some((m) => s.fileName!.includes(m));
        await writeFile(join(folder, s.fileName), empty ? '' : Buffer.alloc(4096, 0x56));
      }
    }
    return new SimulatedPlatform(scenario, work, media, scratch, share, restored, clock);
  }

  async dispose(): Promise<void> {
    await rm(this.work, { recursive: true, force: true });
  }

  now(): Date {
    return this.clock();
  }

  async machine(): Promise<MachineInfo> {
    const m = this.scenario.machine;
    const text = `${m.manufacturer} ${m.model} ${m.biosVendor ?? ''}`.toLowerCase();
    const hypervisor = /vmware/.test(text) ? 'esxi' : /microsoft corporation virtual/.test(text) ? 'hyperv' : /qemu|kvm|proxmox/.test(text) ? 'kvm' : /xen/.test(text) ? 'xen' : undefined;
    return { firmware: m.firmware as Firmware, manufacturer: m.manufacturer, model: m.model, biosVendor: m.biosVendor, hypervisor, ramBytes: m.ramGb * 2 ** 30, cpus: m.cpus };
  }

  async disks(): Promise<Disk[]> {
    const late = this.loadedLateDriver ? this.scenario.lateDisks?.disks ?? [] : [];
    return [...this.scenario.disks, ...late].map((d) => ({
      number: d.number, sizeBytes: d.sizeGb * GB, bus: d.bus, model: d.model, partitionStyle: d.partitionStyle, holdsBootMedia: d.holdsBootMedia,
      volumes: d.volumes.map((v) => ({ letter: v.letter, label: v.label, sizeBytes: v.sizeGb === undefined ? undefined : v.sizeGb * GB, fs: v.fs })),
    }));
  }

  async nics(): Promise<Nic[]> {
    const elapsed = this.networkStartedAt === undefined ? -1 : (this.clock().getTime() - this.networkStartedAt) / 1000;
    return this.scenario.nics.map((n) => {
      const isStatic = this.staticIp?.nic === n.name;
      const leased = n.connected && n.dhcpAfterSeconds !== undefined && elapsed >= n.dhcpAfterSeconds;
      return {
        name: n.name, description: n.description, connected: n.connected, dhcp: !isStatic,
        ipv4: isStatic ? [this.staticIp!.address] : leased ? [n.address] : [],
        gateway: isStatic ? this.staticIp!.gateway : leased ? '192.168.80.1' : undefined,
      };
    });
  }

  async loadDriver(inf: string): Promise<CommandResult> {
    const failing = this.scenario.failingDrivers.some((f) => inf.toLowerCase().endsWith(f.toLowerCase()));
    const late = this.scenario.lateDisks?.driver.toLowerCase();
    if (!failing && late && basename(inf).toLowerCase() === late) this.loadedLateDriver = true;
    return failing
      ? { ok: false, code: 1, output: `DrvLoad: Unable to load ${inf} (Error 0x80070002)` }
      : { ok: true, code: 0, output: `DrvLoad: Successfully loaded ${inf}.` };
  }

  async initNetwork(): Promise<CommandResult> {
    this.networkStartedAt ??= this.clock().getTime();
    return { ok: true, code: 0, output: '' };
  }

  async setStaticIpv4(config: StaticIpv4): Promise<CommandResult> {
    this.staticIp = config;
    return { ok: true, code: 0, output: 'Ok.' };
  }

  async tcpReachable(host: string): Promise<boolean> {
    const s = this.scenario.share;
    const answers = s.reachable || (s.reachableByIp !== undefined && host === s.reachableByIp);
    return answers && (await this.nics()).some((n) => n.ipv4.length > 0);
  }

  async connectShare(unc: string, _user: string, password: Secret): Promise<ShareResult> {
    const s = this.scenario.share;
    if (!(await this.tcpReachable(unc.replace(/^\\\\/, '').split('\\')[0]!))) return { ok: false, code: 53, message: 'System error 53 has occurred. The network path was not found.' };
    if (s.netUseError) return { ok: false, code: s.netUseError, message: `System error ${s.netUseError} has occurred.` };
    if (password.reveal() !== (s.acceptPassword ?? this.scenario.training.sharePassword)) {
      return { ok: false, code: 1326, message: 'System error 1326 has occurred. The user name or password is incorrect.' };
    }
    this.connected = true;
    return { ok: true, root: this.shareDir };
  }

  async disconnectShare(): Promise<void> {
    this.connected = false;
  }

  async run(program: string, args: readonly string[]): Promise<CommandResult> {
    // Training: Veeam's program is not here; the restore it would do is simulated by a restored volume.
    await mkdir(join(this.restoredRoot, 'Windows', 'System32', 'config'), { recursive: true });
    await mkdir(join(this.restoredRoot, 'Windows', 'System32', 'winevt', 'Logs'), { recursive: true });
    await writeFile(join(this.restoredRoot, 'Windows', 'System32', 'config', 'SYSTEM'), Buffer.alloc(8192, 1));
    await writeFile(join(this.restoredRoot, 'Windows', 'System32', 'winevt', 'Logs', 'System.evtx'), Buffer.alloc(65536, 2));
    return { ok: this.scenario.veeamExitCode === 0, code: this.scenario.veeamExitCode, output: `[simulated] ${program} ${args.join(' ')}` };
  }

  async windowsVolumes(): Promise<WindowsVolume[]> {
    const has = await stat(join(this.restoredRoot, 'Windows', 'System32', 'config', 'SYSTEM')).then(() => true, () => false);
    return has ? [{ letter: 'W', root: this.restoredRoot, label: 'Windows', hasWindows: true }] : [];
  }

  async injectDrivers(windowsRoot: string, driverDir: string): Promise<CommandResult> {
    return { ok: true, code: 0, output: `[simulated] dism /Image:${windowsRoot} /Add-Driver /Driver:${driverDir} /Recurse\nThe operation completed successfully.` };
  }

  async repairBoot(windowsRoot: string, firmware: Firmware): Promise<CommandResult> {
    return { ok: true, code: 0, output: `[simulated] bcdboot ${windowsRoot}\\Windows /f ${firmware.toUpperCase()}\nBoot files successfully created.` };
  }

  async commandPrompt(): Promise<CommandResult> {
    return { ok: true, code: 0, output: '[training] a command prompt would open here; typing exit comes back' };
  }

  async canWrite(dir: string): Promise<boolean> {
    if (this.scenario.share.readOnly && dir === this.shareDir) return false;
    if (this.scenario.media === 'iso' && dir === this.mediaRoot) return false;
    if (dir.startsWith(join(this.work, 'volumes'))) await mkdir(dir, { recursive: true });
    return canCreateFilesIn(dir);
  }

  /** Training: a lettered volume is a folder volumes/<letter> beside the media. */
  volumeRoot(letter: string): string {
    return join(this.work, 'volumes', letter.toUpperCase());
  }

  async powerOff(): Promise<CommandResult> {
    return { ok: true, code: 0, output: '[training] the machine would switch off now' };
  }

  get shareConnected(): boolean {
    return this.connected;
  }
}
