/**
 * The real machine inside Windows PE, reached only through the console tools PE always has (diskpart, reg, drvload,
 * wpeutil, ipconfig, netsh, net, dism, bcdboot), each run directly as its .exe through execa: no cmd.exe, no
 * PowerShell, no WMI. Every tool's output goes through a parser in this folder that fails clearly on anything it does
 * not recognise (another display language) instead of guessing.
 *
 * Command execution is a `CommandRunner` given to the constructor, so tests drive this class with captured outputs
 * and check the exact command lines. Secrets (the share password) are passed to the runner in argv and removed from
 * everything that comes back or is logged.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

import { InputError, JobError } from '../../errors.js';
import { redact } from '../../secrets/redact.js';
import { canCreateFilesIn } from '../write-probe.js';
import type { Secret } from '../../secrets/secret.js';
import type {
  CommandResult,
  Disk,
  Firmware,
  MachineInfo,
  Nic,
  Platform,
  ShareResult,
  StaticIpv4,
  WindowsVolume,
} from '../platform.js';
import { hypervisorFrom } from './hypervisor.js';
import {
  parseDiskpartDetailScript,
  parseDiskpartListDisk,
  parseDiskpartListVolume,
  type DiskpartDiskDetail,
  type DiskpartVolumeRow,
} from './parse-diskpart.js';
import { parseDrvload } from './parse-drvload.js';
import { WinPeParseError } from './parse-error.js';
import { ipv4Gateway, parseIpconfigAll } from './parse-ipconfig.js';
import { parseNetUse } from './parse-net-use.js';
import { parseRegQuery, regDword, regString } from './parse-reg.js';

export interface RunRequest {
  /** The program, e.g. `diskpart.exe` (found on PATH: X:\Windows\System32 in PE). */
  file: string;
  /** Arguments, each passed as one argv element (never through a shell). */
  args: readonly string[];
  /** Kill the tool after this long; 0 waits for ever. */
  timeoutMs: number;
  /** Inherit the console instead of capturing output (programs with their own UI). */
  interactive?: boolean;
}

export interface RunResponse {
  /** Undefined when the program did not start or was killed. */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Why the program could not be started (not found, access denied). */
  spawnError?: string;
}

export type CommandRunner = (request: RunRequest) => Promise<RunResponse>;

/** The runner used in Windows PE: execa, argv only, no shell, output captured as text. */
export const execaRunner: CommandRunner = async (request) => {
  const common = {
    reject: false,
    windowsHide: true,
    ...(request.timeoutMs > 0 ? { timeout: request.timeoutMs } : {}),
  } as const;
  if (request.interactive) {
    const result = await execa(request.file, [...request.args], { ...common, stdio: 'inherit' });
    return {
      exitCode: result.exitCode,
      stdout: '',
      stderr: '',
      timedOut: result.timedOut,
      ...(result.exitCode === undefined && !result.timedOut ? { spawnError: result.shortMessage } : {}),
    };
  }
  const result = await execa(request.file, [...request.args], {
    ...common,
    stdin: 'ignore',
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    exitCode: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    timedOut: result.timedOut,
    ...(result.exitCode === undefined && !result.timedOut ? { spawnError: result.shortMessage } : {}),
  };
};

/** One command as the session log should see it: secrets already replaced by `***`. */
export interface CommandLogEntry {
  command: string;
  exitCode: number | undefined;
  timedOut: boolean;
  durationMs: number;
  output: string;
  /** The diskpart script, when the command was diskpart. */
  script?: string;
}

export interface WinPePlatformOptions {
  /** Root of the recovery media (the folder holding \lifeboat\), e.g. `D:\`. */
  mediaRoot: string;
  /** Default `X:\`. */
  scratchRoot?: string;
  runner?: CommandRunner;
  /** Receives every command run, redacted. */
  log?: (entry: CommandLogEntry) => void;
  now?: () => Date;
  /** Whether a path exists (drive roots, the SYSTEM hive). Default: fs.stat. */
  pathExists?: (path: string) => Promise<boolean>;
  /** Where diskpart scripts are written. Default: os.tmpdir() (X:\Windows\TEMP in PE). */
  tempDir?: string;
  /** Default os.totalmem(). */
  totalMemory?: () => number;
  /** Default os.cpus().length. */
  cpuCount?: () => number;
  /** Default: a node:net connection attempt. */
  tcpProbe?: (host: string, port: number, timeoutMs: number) => Promise<boolean>;
}

/** Time limits per tool, generous for slow storage controllers and first-time driver loads. */
export const TIMEOUTS = {
  reg: 15_000,
  wpeutilBootInfo: 30_000,
  wpeutilNetwork: 180_000,
  diskpart: 180_000,
  ipconfig: 30_000,
  drvload: 180_000,
  netsh: 60_000,
  netUse: 90_000,
  dism: 60 * 60_000,
  bcdboot: 300_000,
} as const;

const KEY_CONTROL = 'HKLM\\System\\CurrentControlSet\\Control';
const KEY_BIOS = 'HKLM\\HARDWARE\\DESCRIPTION\\System\\BIOS';
/** net use tries drive letters from Z: downwards, the usual place for network drives. */
const SHARE_LETTERS = 'ZYWVUTSRQPONMLKJIHGFE'.split('');
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

async function statExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** How a command line reads in a log: arguments with spaces quoted (display only, never executed). */
function displayCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((part) => (/[\s"]/.test(part) || part === '' ? `"${part.replace(/"/g, '\\"')}"` : part)).join(' ');
}

/** "W:", "w:\" or "W:\Windows" -> "W:\". */
function driveRoot(path: string): string {
  const match = /^([A-Za-z]):/.exec(path.trim());
  if (!match) throw new InputError(`not a drive path: "${path}"`, 'Give a drive such as W:\\.');
  return `${match[1]!.toUpperCase()}:\\`;
}

export class WinPePlatform implements Platform {
  readonly kind = 'winpe' as const;
  readonly mediaRoot: string;
  readonly scratchRoot: string;
  readonly #runner: CommandRunner;
  readonly #log: (entry: CommandLogEntry) => void;
  readonly #now: () => Date;
  readonly #pathExists: (path: string) => Promise<boolean>;
  readonly #tempDir: string;
  readonly #totalMemory: () => number;
  readonly #cpuCount: () => number;
  readonly #tcpProbe: (host: string, port: number, timeoutMs: number) => Promise<boolean>;
  /** diskpart refuses to run twice at once: its runs are queued. */
  #diskpartQueue: Promise<unknown> = Promise.resolve();
  /** Drive letters this session mapped, by UNC path (lower case). */
  readonly #shares = new Map<string, string>();

  constructor(options: WinPePlatformOptions) {
    this.mediaRoot = options.mediaRoot;
    this.scratchRoot = options.scratchRoot ?? 'X:\\';
    this.#runner = options.runner ?? execaRunner;
    this.#log = options.log ?? (() => {});
    this.#now = options.now ?? (() => new Date());
    this.#pathExists = options.pathExists ?? statExists;
    this.#tempDir = options.tempDir ?? tmpdir();
    this.#totalMemory = options.totalMemory ?? totalmem;
    this.#cpuCount = options.cpuCount ?? (() => cpus().length);
    this.#tcpProbe = options.tcpProbe ?? tcpConnect;
  }

  now(): Date {
    return this.#now();
  }

  /**
   * Runs one tool and returns its exit code and output with every secret removed. A tool that does not start or
   * times out gives code -1 and says so in the output.
   */
  async #exec(
    file: string,
    args: readonly string[],
    timeoutMs: number,
    extra: { secrets?: readonly Secret[]; interactive?: boolean; script?: string } = {},
  ): Promise<CommandResult> {
    const secrets = extra.secrets ?? [];
    const started = Date.now();
    const response = await this.#runner({ file, args, timeoutMs, ...(extra.interactive ? { interactive: true } : {}) });
    let output = response.stdout;
    if (response.stderr.trim() !== '') output += (output === '' || output.endsWith('\n') ? '' : '\n') + response.stderr;
    if (response.spawnError !== undefined) output += `${output === '' ? '' : '\n'}${file} could not be started: ${response.spawnError}`;
    if (response.timedOut) output += `${output === '' ? '' : '\n'}${file} was stopped after ${Math.round(timeoutMs / 1000)} s without finishing.`;
    output = redact(output, secrets);
    const code = response.exitCode ?? -1;
    const entry: CommandLogEntry = {
      // Arguments are redacted one by one first, so the quoting of the display form says nothing about a secret.
      command: redact(displayCommand(file, args.map((arg) => redact(arg, secrets))), secrets),
      exitCode: response.exitCode,
      timedOut: response.timedOut,
      durationMs: Date.now() - started,
      output,
    };
    if (extra.script !== undefined) entry.script = extra.script;
    this.#log(entry);
    return { ok: code === 0 && !response.timedOut, code, output };
  }

  /** Runs a diskpart script (`diskpart /s file`) from a fresh temporary folder, queued behind any other diskpart run. */
  async diskpart(lines: readonly string[]): Promise<CommandResult> {
    const run = async (): Promise<CommandResult> => {
      const script = lines.map((line) => `${line}\r\n`).join('');
      const folder = await mkdtemp(join(this.#tempDir, 'lifeboat-diskpart-'));
      const file = join(folder, 'script.txt');
      try {
        await writeFile(file, script, 'utf8');
        return await this.#exec('diskpart.exe', ['/s', file], TIMEOUTS.diskpart, { script });
      } finally {
        await rm(folder, { recursive: true, force: true });
      }
    };
    const result = this.#diskpartQueue.then(run, run);
    this.#diskpartQueue = result.catch(() => undefined);
    return result;
  }

  async #regQuery(key: string, value?: string) {
    const args = ['query', key, ...(value === undefined ? [] : ['/v', value])];
    const result = await this.#exec('reg.exe', args, TIMEOUTS.reg);
    if (result.code === -1) throw new JobError(`reg query ${key} failed: ${result.output}`);
    return parseRegQuery(result.output);
  }

  /** PEFirmwareType after `wpeutil UpdateBootInfo`: 1 BIOS, 2 UEFI. */
  async firmware(): Promise<Firmware> {
    await this.#exec('wpeutil.exe', ['UpdateBootInfo'], TIMEOUTS.wpeutilBootInfo);
    const control = await this.#regQuery(KEY_CONTROL, 'PEFirmwareType');
    const type = regDword(control, 'PEFirmwareType');
    if (type === 1) return 'bios';
    if (type === 2) return 'uefi';
    throw new JobError(
      `Windows PE did not say how this machine started (PEFirmwareType is ${type === undefined ? 'missing' : type})`,
      'Restart from the recovery media; if this keeps happening, check in the firmware setup whether the machine boots in UEFI or legacy BIOS mode.',
    );
  }

  async machine(): Promise<MachineInfo> {
    const firmware = await this.firmware();
    const bios = await this.#regQuery(KEY_BIOS);
    const manufacturer = regString(bios, 'SystemManufacturer') ?? 'Unknown';
    const model = regString(bios, 'SystemProductName') ?? 'Unknown';
    const biosVendor = regString(bios, 'BIOSVendor');
    const info: MachineInfo = {
      firmware,
      manufacturer,
      model,
      // Installed RAM as Windows PE sees it (os.totalmem: usable physical memory, a little under the installed
      // amount). Without WMI the exact installed size would need the raw SMBIOS tables or the resource map in
      // HKLM\HARDWARE\RESOURCEMAP, which is not worth parsing for a "enough RAM?" check.
      ramBytes: this.#totalMemory(),
      cpus: this.#cpuCount(),
    };
    if (biosVendor !== undefined) info.biosVendor = biosVendor;
    const hypervisor = hypervisorFrom(manufacturer, model, biosVendor);
    if (hypervisor !== undefined) info.hypervisor = hypervisor;
    return info;
  }

  /** The drive letter of the media root ("D" for D:\), if it has one. */
  #mediaLetter(): string | undefined {
    return /^([A-Za-z]):/.exec(this.mediaRoot)?.[1]?.toUpperCase();
  }

  /**
   * Disks from `list disk`, then one script of `select disk N` + `detail disk` for all of them. Card readers
   * without a card ("No Media", 0 B) are left out. A disk holds the boot media when one of its volumes has the
   * media root's letter, or when diskpart calls it the "Boot Disk" (the disk of the running system).
   */
  async disks(): Promise<Disk[]> {
    const list = await this.diskpart(['list disk']);
    if (!list.ok) throw new JobError(`diskpart could not list the disks (exit code ${list.code})`, 'The session log holds what diskpart said.');
    const rows = parseDiskpartListDisk(list.output).filter((row) => !(row.status === 'No Media' && row.sizeBytes === 0));
    if (rows.length === 0) return [];
    const detailScript = rows.flatMap((row) => [`select disk ${row.number}`, 'detail disk']);
    const details = await this.diskpart(detailScript);
    const byNumber = parseDiskpartDetailScript(details.output);
    const mediaLetter = this.#mediaLetter();
    return rows.map((row): Disk => {
      const detail: DiskpartDiskDetail | undefined = byNumber.get(row.number);
      const volumes = (detail?.volumes ?? []).map((volume) => {
        const entry: Disk['volumes'][number] = {};
        if (volume.letter !== undefined) entry.letter = volume.letter;
        if (volume.label !== undefined) entry.label = volume.label;
        entry.sizeBytes = volume.sizeBytes;
        if (volume.fs !== undefined) entry.fs = volume.fs;
        return entry;
      });
      const holdsMedia =
        (mediaLetter !== undefined && volumes.some((volume) => volume.letter === mediaLetter)) || detail?.bootDisk === true;
      let partitionStyle: Disk['partitionStyle'] = row.gpt ? 'GPT' : 'MBR';
      // A blank disk: no GPT, MBR signature 0 and nothing on it.
      if (!row.gpt && detail?.diskId === '00000000' && volumes.length === 0) partitionStyle = 'RAW';
      return {
        number: row.number,
        sizeBytes: row.sizeBytes,
        bus: detail?.bus ?? 'Unknown',
        model: detail?.model ?? 'Unknown disk',
        partitionStyle,
        holdsBootMedia: holdsMedia,
        volumes,
      };
    });
  }

  /** Every adapter of `ipconfig /all` except tunnels; APIPA (169.254.x.x) addresses do not count as addresses. */
  async nics(): Promise<Nic[]> {
    const result = await this.#exec('ipconfig.exe', ['/all'], TIMEOUTS.ipconfig);
    if (result.code === -1) throw new JobError(`ipconfig failed: ${result.output}`);
    const parsed = parseIpconfigAll(result.output);
    return parsed.adapters
      .filter((adapter) => adapter.kind !== 'Tunnel')
      .map((adapter): Nic => {
        const nic: Nic = {
          name: adapter.name,
          connected: adapter.connected,
          dhcp: adapter.dhcp ?? false,
          ipv4: adapter.ipv4.filter((ip) => !ip.startsWith('169.254.')),
        };
        if (adapter.description !== undefined) nic.description = adapter.description;
        if (adapter.mac !== undefined) nic.mac = adapter.mac;
        const gateway = ipv4Gateway(adapter);
        if (gateway !== undefined) nic.gateway = gateway;
        // fec0:0:0:ffff::1..3 are Windows' placeholders when no DNS server is known.
        const dns = adapter.dnsServers.filter((server) => !/^fec0:0:0:ffff::[123](%\d+)?$/i.test(server));
        if (dns.length > 0) nic.dns = dns;
        return nic;
      });
  }

  /** drvload: ok only when the tool exits 0 and reports no failure. */
  async loadDriver(inf: string): Promise<CommandResult> {
    const result = await this.#exec('drvload.exe', [inf], TIMEOUTS.drvload);
    if (result.code === -1) return result;
    try {
      const parsed = parseDrvload(result.output);
      return { ...result, ok: result.code === 0 && parsed.failed.length === 0 && parsed.loaded.length > 0 };
    } catch (error) {
      if (!(error instanceof WinPeParseError)) throw error;
      return result;
    }
  }

  async initNetwork(): Promise<CommandResult> {
    return this.#exec('wpeutil.exe', ['InitializeNetwork'], TIMEOUTS.wpeutilNetwork);
  }

  /**
   * `netsh interface ipv4 set address name=<nic> static <address> <mask> [<gateway>]`, then, with a DNS server,
   * `netsh interface ipv4 set dnsservers name=<nic> static <dns> primary validate=no` (validation would wait for the
   * server and fail on a NAS-only network). The addresses are checked first: nothing else reaches netsh's argv.
   */
  async setStaticIpv4(config: StaticIpv4): Promise<CommandResult> {
    for (const [field, value] of [
      ['address', config.address],
      ['mask', config.mask],
      ['gateway', config.gateway],
      ['dns', config.dns],
    ] as const) {
      if (value !== undefined && !IPV4.test(value)) throw new InputError(`${field} is not an IPv4 address: "${value}"`, 'Type four numbers from 0 to 255 separated by dots, such as 192.168.1.20.');
    }
    if (config.nic.trim() === '' || /["\r\n]/.test(config.nic)) throw new InputError(`not a network connection name: "${config.nic}"`);
    const name = `name=${config.nic}`;
    const address = await this.#exec(
      'netsh.exe',
      ['interface', 'ipv4', 'set', 'address', name, 'static', config.address, config.mask, ...(config.gateway ? [config.gateway] : [])],
      TIMEOUTS.netsh,
    );
    if (!address.ok || config.dns === undefined) return address;
    const dns = await this.#exec(
      'netsh.exe',
      ['interface', 'ipv4', 'set', 'dnsservers', name, 'static', config.dns, 'primary', 'validate=no'],
      TIMEOUTS.netsh,
    );
    return { ok: dns.ok, code: dns.code, output: [address.output.trim(), dns.output.trim()].filter(Boolean).join('\n') };
  }

  tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
    return this.#tcpProbe(host, port, timeoutMs);
  }

  /** Letters no volume, mapped drive or the media uses, Z: first. */
  async #freeShareLetters(): Promise<string[]> {
    const used = new Set<string>();
    const media = this.#mediaLetter();
    if (media) used.add(media);
    const scratch = /^([A-Za-z]):/.exec(this.scratchRoot)?.[1];
    if (scratch) used.add(scratch.toUpperCase());
    for (const letter of this.#shares.values()) used.add(letter);
    const free: string[] = [];
    for (const letter of SHARE_LETTERS) {
      if (used.has(letter)) continue;
      if (await this.#pathExists(`${letter}:\\`)) continue;
      free.push(letter);
    }
    return free;
  }

  /**
   * `net use L: <unc> /user:<user> /persistent:no <password>` on a free letter. The password is the last argv
   * element: it is visible in the process list to anyone on this machine while net.exe runs, which in Windows PE is
   * only the technician's own session. It never reaches a log: command lines and output are redacted.
   * A password starting with "/" would be read as a switch, and "*" makes net.exe prompt: both are refused.
   */
  async connectShare(unc: string, user: string, password: Secret): Promise<ShareResult> {
    if (!/^\\\\[^\\/\s]+\\[^\\/]+/.test(unc)) throw new InputError(`not a share path: "${unc}"`, 'Give the share as \\\\server\\share.');
    const plain = password.reveal();
    if (plain.startsWith('/') || plain === '*') {
      return {
        ok: false,
        code: -1,
        message: 'This password starts with "/" (or is "*"), which net use cannot take on its command line; connect the share by hand with `net use * \\\\server\\share /user:...` and type the password when asked.',
      };
    }
    const letters = await this.#freeShareLetters();
    let last: ShareResult = { ok: false, code: -1, message: 'No free drive letter is left for the share.' };
    // Retry on the next letter when this one turns out to be taken (85: the local device name is already in use).
    for (const letter of letters.slice(0, 3)) {
      const args = ['use', `${letter}:`, unc, `/user:${user}`, '/persistent:no', plain];
      const result = await this.#exec('net.exe', args, TIMEOUTS.netUse, { secrets: [password] });
      if (result.code === 0) {
        this.#shares.set(unc.toLowerCase(), letter);
        return { ok: true, root: `${letter}:\\` };
      }
      try {
        const parsed = parseNetUse(result.output);
        last = parsed.ok
          ? { ok: false, code: result.code, message: `net use ended with exit code ${result.code}` }
          : { ok: false, code: parsed.code, message: parsed.message };
      } catch (error) {
        if (!(error instanceof WinPeParseError)) throw error;
        last = { ok: false, code: -1, message: `net use failed (exit code ${result.code}): ${WinPeParseError.excerptOf(result.output, 3)}` };
      }
      if (!(last.ok === false && last.code === 85)) return last;
    }
    return last;
  }

  /** `net use L: /delete /y` for a share this session mapped, otherwise `net use <unc> /delete /y`. */
  async disconnectShare(unc: string): Promise<void> {
    const letter = this.#shares.get(unc.toLowerCase());
    await this.#exec('net.exe', ['use', letter ? `${letter}:` : unc, '/delete', '/y'], TIMEOUTS.netUse);
    this.#shares.delete(unc.toLowerCase());
  }

  /** Runs a program with the console (Veeam's UI) and waits for it, however long it takes. */
  async run(program: string, args: readonly string[]): Promise<CommandResult> {
    return this.#exec(program, args, 0, { interactive: true });
  }

  /**
   * Lettered volumes from diskpart's `list volume` (CD/DVD drives and Windows PE's own drive left out), each checked
   * for \Windows\System32\config\SYSTEM. Letters diskpart does not list but that hold a Windows are added too.
   */
  async windowsVolumes(): Promise<WindowsVolume[]> {
    const own = /^([A-Za-z]):/.exec(this.scratchRoot)?.[1]?.toUpperCase() ?? 'X';
    let rows: DiskpartVolumeRow[] = [];
    const list = await this.diskpart(['list volume']);
    if (list.ok) rows = parseDiskpartListVolume(list.output);
    const byLetter = new Map<string, DiskpartVolumeRow>();
    for (const row of rows) if (row.letter !== undefined && row.type !== 'DVD-ROM' && row.type !== 'CD-ROM') byLetter.set(row.letter, row);
    const volumes: WindowsVolume[] = [];
    for (const letter of 'CDEFGHIJKLMNOPQRSTUVWXYZ'.split('')) {
      if (letter === own) continue;
      const row = byLetter.get(letter);
      const hasWindows = await this.#pathExists(`${letter}:\\Windows\\System32\\config\\SYSTEM`);
      if (!row && !hasWindows) continue;
      const volume: WindowsVolume = { letter, root: `${letter}:\\`, hasWindows };
      if (row?.label !== undefined) volume.label = row.label;
      if (row) volume.sizeBytes = row.sizeBytes;
      volumes.push(volume);
    }
    return volumes;
  }

  /** dism /Image:W:\ /Add-Driver /Driver:<dir> /Recurse */
  async injectDrivers(windowsRoot: string, driverDir: string): Promise<CommandResult> {
    return this.#exec('dism.exe', [`/Image:${driveRoot(windowsRoot)}`, '/Add-Driver', `/Driver:${driverDir}`, '/Recurse'], TIMEOUTS.dism);
  }

  /**
   * bcdboot W:\Windows /f UEFI|BIOS: boot files for the firmware this machine started with, written to the system
   * partition the firmware reports (no /s: bcdboot finds the ESP or the active partition itself).
   */
  async repairBoot(windowsRoot: string, firmware: Firmware): Promise<CommandResult> {
    return this.#exec('bcdboot.exe', [`${driveRoot(windowsRoot)}Windows`, '/f', firmware === 'uefi' ? 'UEFI' : 'BIOS'], TIMEOUTS.bcdboot);
  }

  /** cmd.exe in this console; the technician types exit to come back. */
  async commandPrompt(): Promise<CommandResult> {
    return this.#exec('cmd.exe', ['/k', 'echo Lifeboat: type exit to come back to the assistant.'], 0, { interactive: true });
  }

  /** Creates and removes a probe file: the only reliable test on a share (ACLs live on the NAS). */
  async canWrite(dir: string): Promise<boolean> {
    return canCreateFilesIn(dir);
  }

  volumeRoot(letter: string): string {
    return `${letter.toUpperCase()}:\\`;
  }

  async powerOff(): Promise<CommandResult> {
    return this.#exec('wpeutil.exe', ['shutdown'], TIMEOUTS.netUse);
  }
}
