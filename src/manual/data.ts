/**
 * The manual's view model: everything the templates print, computed from site.yaml (and the share's metadata when
 * read). Templates only place these values; they never compute or invent one. Every value is plain text: the
 * templates escape it.
 *
 * Schedules come from src/veeam/schedule.ts (the same data `lifeboat backup-setup` writes into each server's
 * scheduled task); restore times and NAS capacity from src/veeam/capacity.ts, computed as `lifeboat plan` computes
 * them: from the share's measurements when it was read (`--share`), else from site.yaml with the stated assumptions.
 */
import { basename } from 'node:path';
import type { Escalation, Contact, Hypervisor, Server, ServerRole, Site, Vendor, Weekday } from '../site/index.js';
import { WEEKDAYS } from '../site/index.js';
import {
  capacity,
  formatGb,
  formatDuration,
  restoreTimeEstimate,
  RESTORE_DEFAULTS,
  type RestoreTimeEstimate,
  type ServerCapacity,
} from '../veeam/capacity.js';
import { backupSchedule, describeDays, type BackupSchedule } from '../veeam/schedule.js';
import type { CatalogServer, ShareCatalog } from './catalog.js';
import { HYPERVISOR_NAMES, type VmPlan, type VmScript, keepFailedVmScript, vmPlan } from './commands.js';
import { auditCommands, type PlatformCommand } from './platform-commands.js';
import { vendorDriverText, vmRecipe, type VmRecipe } from './recipes.js';

/** The manual's chapters, in print order. `when` says whether the chapter is printed for this site. */
export const CHAPTERS = {
  contacts: 'Contacts and decisions',
  before: 'Before you start',
  physical: 'Restoring a physical server',
  vm: 'Restoring into a virtual machine',
  assistant: 'The restore assistant, screen by screen',
  veeam: 'Veeam Bare Metal Recovery, page by page',
  dc: 'Domain controllers: old restore points and USN rollback',
  after: 'After the restore',
  backup: 'The backup side',
  glossary: 'Glossary',
  sheets: 'Server sheets',
  log: 'Restore log',
  sealed: 'Sealed page: recovery code',
} as const;
export type ChapterId = keyof typeof CHAPTERS;

export interface ManualInput {
  readonly site: Site;
  /** The site.yaml the manual was made from (only its file name is printed). */
  readonly siteFile: string;
  readonly buildId?: string;
  readonly builtAt?: Date;
  /** Checksums of the built media files, printed on the cover. */
  readonly mediaChecksums?: readonly { readonly file: string; readonly sha256: string }[];
  /** The generated recovery code: printed only on the sealed page, and only when asked for. */
  readonly recoveryCode?: string;
  /** Backup metadata and measurements read from the share (`--share`). */
  readonly catalog?: ShareCatalog;
  /**
   * Where the commands printed for the backup side (audit) will be run: 'win32' prints the share as UNC path,
   * 'linux' as a mounted folder (with the mount command); anything else prints both. Default: both.
   */
  readonly platform?: string;
}

export interface Chapter {
  readonly id: ChapterId;
  readonly number: number;
  readonly title: string;
  /** Page where the chapter starts, when known (filled in by the PDF pass). */
  page?: number;
}

const ROLE_NAMES: Record<ServerRole, string> = {
  dc: 'Domain controller',
  sql: 'SQL Server',
  exchange: 'Exchange Server',
  file: 'File server',
  app: 'Application server',
};
/** Restore order: domain controllers first, then what others depend on. */
const ROLE_ORDER: readonly ServerRole[] = ['dc', 'sql', 'exchange', 'file', 'app'];

export interface BootFacts {
  readonly vendor: string;
  readonly key: string;
  readonly menu: string;
  readonly setupKey: string;
  readonly bmc: string;
  readonly note?: string;
}

/** One-time boot menu keys and management boards by vendor (current server generations). */
export const BOOT_FACTS: Record<Vendor, BootFacts> = {
  dell: { vendor: 'Dell', key: 'F11', menu: 'Boot Manager, then One-shot UEFI Boot (or One-shot BIOS Boot)', setupKey: 'F2', bmc: 'iDRAC (Virtual Console, Virtual Media)', note: 'F12 starts a network (PXE) boot: not what you want here.' },
  hpe: { vendor: 'HPE', key: 'F11', menu: 'One-Time Boot Menu', setupKey: 'F9 (System Utilities)', bmc: 'iLO (Remote Console, Virtual Media)' },
  lenovo: { vendor: 'Lenovo', key: 'F12', menu: 'Boot Manager / Select Boot Device', setupKey: 'F1', bmc: 'XClarity Controller (Remote Console, Media)' },
  fujitsu: { vendor: 'Fujitsu', key: 'F12', menu: 'Boot Menu', setupKey: 'F2', bmc: 'iRMC (AVR, Virtual Media)' },
  supermicro: { vendor: 'Supermicro', key: 'F11', menu: 'Boot menu (Please select boot device)', setupKey: 'Del', bmc: 'BMC web interface (iKVM, Virtual Media)' },
  other: { vendor: 'Other vendor', key: 'F11 or F12 (the start screen names it)', menu: 'boot menu / boot device selection', setupKey: 'F2 or Del', bmc: 'the server\'s management board, if it has one' },
};

export interface ServerView {
  readonly name: string;
  readonly anchor: string;
  readonly order: number;
  readonly fqdn: string;
  readonly role: ServerRole;
  readonly roleName: string;
  readonly isDc: boolean;
  readonly physical: boolean;
  readonly runsOnText: string;
  readonly hypervisor?: Hypervisor;
  readonly hypervisorName?: string;
  readonly firmware: 'uefi' | 'bios';
  readonly firmwareText: string;
  readonly partitionText: string;
  readonly cpusText: string;
  readonly ramText: string;
  readonly disks: readonly { readonly label: string; readonly size: string }[];
  readonly disksText: string;
  readonly os: string;
  readonly veeamJob: string;
  readonly boot?: BootFacts;
  readonly vm?: VmPlan;
  readonly keepFailed?: VmScript;
  /** How to bring this server back as a VM (every server has one; physical ones on the site's hypervisors). */
  readonly recipe: VmRecipe;
  /** Physical servers: whether the media carries the vendor's driver pack. */
  readonly vendorDrivers?: string;
  /** When to call the escalation number: twice the estimate. */
  readonly escalateAfter: string;
  /** Page of the server's sheet, when known (filled in by the PDF pass). */
  sheetPage?: number;
  readonly estimate: RestoreView;
  readonly backup?: {
    readonly newest: string;
    readonly os: string;
    readonly ram: string;
    readonly firmware: string;
    readonly disks: readonly string[];
    readonly encrypted: boolean;
    readonly points: string;
    readonly firmwareMismatch: boolean;
  };
  readonly schedule: ScheduleView;
}

/** A restore time estimate (src/veeam/capacity.ts `restoreTimeEstimate`) and the data it is based on. */
export interface RestoreView {
  /** `about 1 h 10 min`. */
  readonly time: string;
  /** The estimate's own sentence with its inputs. */
  readonly sentence: string;
  /** Data to restore, e.g. `144.4 GB`. */
  readonly data: string;
  readonly measured: boolean;
  /** Where the data size comes from, e.g. `assumed: 50% of the disks (960 GB) in use`. */
  readonly basis: string;
}

/** A server's backup schedule (src/veeam/schedule.ts `backupSchedule`) as the manual prints it. */
export interface ScheduleView {
  readonly summary: string;
  readonly sentences: readonly string[];
  /** Start times per group of weekdays with the same runs, e.g. `Monday to Friday`: `06:00, 09:00, ...`. */
  readonly runs: readonly { readonly days: string; readonly times: string }[];
  readonly runsPerWeek: string;
  readonly taskName: string;
  readonly commandLine: string;
  readonly timeLimit: string;
}

/** Servers sharing one schedule, printed once. */
export interface ScheduleGroup extends ScheduleView {
  readonly servers: string;
  readonly count: number;
}

export interface CapacityRow {
  readonly server: string;
  readonly basis: string;
  readonly full: string;
  readonly increments: string;
  readonly pad: string;
  readonly total: string;
  /** What the server's backup files take on the share now (read with --share). */
  readonly onShare?: string;
}

export interface ManualModel {
  readonly title: string;
  readonly siteName: string;
  readonly siteId: string;
  readonly siteFile: string;
  readonly buildId: string;
  readonly builtAt: string;
  readonly isoFile: string;
  readonly usbFile: string;
  readonly checksums: readonly { readonly file: string; readonly sha256: string }[];
  readonly contacts: readonly Contact[];
  readonly firstContact?: Contact;
  readonly escalation: readonly Escalation[];
  readonly share: { readonly path: string; readonly account: string; readonly user: string; readonly domain: string };
  readonly nas: { readonly host: string; readonly link: string };
  readonly rpoHours: number;
  readonly retentionDays: number;
  readonly servers: readonly ServerView[];
  readonly physicalServers: readonly ServerView[];
  readonly vmGroups: readonly { readonly hypervisor: Hypervisor; readonly name: string; readonly servers: readonly ServerView[] }[];
  /** Physical servers with their VM recipes (chapter "Restoring into a virtual machine"). */
  readonly physicalAsVm: readonly ServerView[];
  /** Names of the hypervisors the site uses, e.g. "Microsoft Hyper-V and Proxmox VE"; empty when none. */
  readonly siteHypervisorsText: string;
  readonly roles: { readonly dc: boolean; readonly sql: boolean; readonly exchange: boolean; readonly file: boolean; readonly app: boolean };
  readonly dcNames: string;
  readonly orderText: string;
  readonly linkText: string;
  /** More than one server: totals are printed. */
  readonly multiServer: boolean;
  readonly restore: {
    /** The whole site, one server after another. */
    readonly total: string;
    readonly totalSentence: string;
    /** What every estimate assumes (throughput, fixed time per server). */
    readonly assumptions: readonly string[];
    /** True when some data sizes were measured on the share. */
    readonly anyMeasured: boolean;
    /** True when some data sizes were assumed from site.yaml. */
    readonly anyAssumed: boolean;
    /** Escalate when the whole site is not back after this long (twice the total estimate). */
    readonly escalateAfter: string;
  };
  readonly schedules: readonly ScheduleGroup[];
  readonly capacity: {
    readonly rows: readonly CapacityRow[];
    readonly total: CapacityRow;
    readonly showOnShare: boolean;
    readonly formula: string;
    readonly formulas: readonly { readonly server: string; readonly text: string }[];
    readonly assumptions: readonly string[];
  };
  readonly catalog?: { readonly root: string; readAt: string; readonly missing: string; readonly problems: readonly string[] };
  readonly sealed?: { readonly code: string; readonly groups: readonly string[] };
  /** Print only the sealed sheet (its own file) and its blank back. */
  sealedOnly?: boolean;
  /** The server sheets start below the glossary instead of on a new page (set by the PDF pass). */
  sheetsFlow?: boolean;
  /** A blank page before the sealed sheet, so that it is an odd (front) page (set by the PDF pass). */
  sealedPadBefore?: boolean;
  /** This copy was made for a build with a recovery code but leaves the code out (the copy to share). */
  readonly sealedElsewhere?: { readonly file: string };
  readonly chapters: Chapter[];
  readonly chapter: Partial<Record<ChapterId, Chapter>>;
  /** The audit command for each platform it may run on (see ManualInput.platform). */
  readonly auditCommands: readonly PlatformCommand[];
  readonly manualCommand: string;
  readonly buildCommand: string;
  readonly flashCommand: string;
  readonly generatedWith: string;
}

const gbText = (gb: number) => (gb >= 1000 ? `${(gb / 1000).toFixed(gb % 1000 === 0 ? 0 : 1)} TB` : `${Math.round(gb * 10) / 10} GB`);
const bytesText = (b: number) => gbText(b / 1e9);

function dateText(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function anchorOf(name: string): string {
  return `server-${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
}

function restoreView(cap: ServerCapacity, est: RestoreTimeEstimate): RestoreView {
  const data = cap.inputs.dataBytes;
  const measured = data.source === 'measured';
  return {
    time: est.text,
    sentence: est.sentence,
    data: formatGb(data.value),
    measured,
    basis: measured ? `measured on the share: ${data.note}` : `assumed: ${data.note}`,
  };
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function hoursText(h: number): string {
  return `${h} hour${h === 1 ? '' : 's'}`;
}

function scheduleView(s: BackupSchedule): ScheduleView {
  // Weekdays with the same start times, in week order (first appearance), each group printed once.
  const groups: { days: Weekday[]; times: readonly string[] }[] = [];
  for (const d of WEEKDAYS) {
    const times = s.runsByDay[d];
    const same = groups.find((g) => g.times.join() === times.join());
    if (same) same.days.push(d);
    else groups.push({ days: [d], times });
  }
  return {
    summary: s.summary,
    sentences: s.sentences,
    runs: groups.map((g) => ({ days: capitalised(describeDays(g.days)), times: g.times.length ? g.times.join(', ') : 'no run' })),
    runsPerWeek: String(s.runsPerWeek),
    taskName: s.taskName,
    commandLine: s.command.commandLine,
    timeLimit: hoursText(s.executionTimeLimitHours),
  };
}

function serverView(site: Site, server: Server, order: number, isoFile: string, cap: ServerCapacity, backup?: CatalogServer): ServerView {
  const physical = server.runsOn.kind === 'physical';
  const hypervisor = server.runsOn.kind === 'vm' ? server.runsOn.hypervisor : undefined;
  const runsOnText = server.runsOn.kind === 'physical'
    ? `Physical: ${BOOT_FACTS[server.runsOn.vendor].vendor}${server.runsOn.model ? ` ${server.runsOn.model}` : ''}`
    : `Virtual machine on ${HYPERVISOR_NAMES[server.runsOn.kind === 'vm' ? server.runsOn.hypervisor : 'kvm']}`;
  const est = restoreTimeEstimate(cap.inputs.dataBytes.value, site.nas.linkSpeedGbps);
  const firmwareText = server.firmware === 'uefi' ? 'UEFI' : 'Legacy BIOS';
  return {
    name: server.name,
    anchor: anchorOf(server.name),
    order,
    fqdn: server.fqdn ?? '-',
    role: server.role,
    roleName: ROLE_NAMES[server.role],
    isDc: server.role === 'dc',
    physical,
    runsOnText,
    hypervisor,
    hypervisorName: hypervisor ? HYPERVISOR_NAMES[hypervisor] : undefined,
    firmware: server.firmware,
    firmwareText,
    partitionText: server.firmware === 'uefi' ? 'GPT' : 'MBR',
    cpusText: server.cpus !== undefined ? String(server.cpus) : 'not recorded (2 assumed for a VM)',
    ramText: `${server.ramGb} GB`,
    disks: server.disks.map((d, i) => ({ label: `Disk ${i}${d.name ? ` (${d.name})` : ''}`, size: gbText(d.sizeGb) })),
    disksText: server.disks.map((d, i) => `disk ${i}${d.name ? ` ${d.name}` : ''} ${gbText(d.sizeGb)}`).join(', '),
    os: server.os ?? 'not recorded',
    veeamJob: server.veeamJob,
    boot: server.runsOn.kind === 'physical' ? BOOT_FACTS[server.runsOn.vendor] : undefined,
    vm: hypervisor ? vmPlan(server, hypervisor, isoFile) : undefined,
    keepFailed: hypervisor ? keepFailedVmScript(server.name, hypervisor) : undefined,
    recipe: vmRecipe(site, server, isoFile),
    vendorDrivers: vendorDriverText(site, server),
    escalateAfter: formatDuration(2 * est.totalSeconds).replace('about ', ''),
    estimate: restoreView(cap, est),
    backup: backup
      ? {
          newest: backup.newestLabel ? `${backup.newestLabel}${backup.newestType ? ` (${backup.newestType})` : ''}` : 'no restore point',
          os: backup.osName ?? 'not recorded',
          ram: backup.ramBytes !== undefined ? `${Math.round(backup.ramBytes / 2 ** 30)} GB` : 'not recorded',
          firmware: backup.firmware ? (backup.firmware === 'uefi' ? 'UEFI (GPT)' : 'Legacy BIOS (MBR)') : 'not recorded',
          disks: backup.disks.map((d) => `Disk ${d.number ?? '?'}: ${d.capacityBytes !== undefined ? bytesText(d.capacityBytes) : 'size not recorded'} ${d.partitionStyle}, ${d.usedBytes !== undefined ? bytesText(d.usedBytes) : 'unknown'} used`),
          encrypted: backup.encrypted,
          points: String(backup.pointCount),
          firmwareMismatch: backup.firmware !== undefined && backup.firmware !== server.firmware,
        }
      : undefined,
    schedule: scheduleView(backupSchedule(site, server)),
  };
}

/** Builds the view model. Pure: the same input gives the same model. */
export interface ModelOptions {
  /** Print the sealed page with the recovery code (only when `input.recoveryCode` is set). */
  readonly sealedPage: boolean;
  /**
   * The copy to share: the build has a recovery code, but this copy keeps only a note where the sealed page is,
   * naming the file that holds it. Chapters and pages are the same as in the copy with the code.
   */
  readonly sealedElsewhere?: string;
}

export function buildManualModel(input: ManualInput, opts: ModelOptions): ManualModel {
  const { site } = input;
  const isoFile = `${site.site.id}.iso`;
  const usbFile = `${site.site.id}-usb.img`;
  const sorted = [...site.servers].sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
  const catalogByName = new Map((input.catalog?.servers ?? []).map((s) => [s.name.toUpperCase(), s]));
  // Capacity and data to restore per server: measured on the share when it was read, else from site.yaml.
  const cap = capacity(site, { measured: input.catalog?.measurement.measured });
  const capOf = (s: Server) => cap.servers[site.servers.indexOf(s)] as ServerCapacity;
  const servers = sorted.map((s, i) => serverView(site, s, i + 1, isoFile, capOf(s), catalogByName.get(s.name.toUpperCase())));
  const physicalServers = servers.filter((s) => s.physical);
  const vmGroups = (['hyperv', 'esxi', 'kvm', 'proxmox', 'xen'] as const)
    .map((h) => ({ hypervisor: h, name: HYPERVISOR_NAMES[h], servers: servers.filter((s) => s.hypervisor === h) }))
    .filter((g) => g.servers.length > 0);
  const roles = {
    dc: servers.some((s) => s.role === 'dc'),
    sql: servers.some((s) => s.role === 'sql'),
    exchange: servers.some((s) => s.role === 'exchange'),
    file: servers.some((s) => s.role === 'file'),
    app: servers.some((s) => s.role === 'app'),
  };
  const sealed = opts.sealedPage && input.recoveryCode && !opts.sealedElsewhere ? input.recoveryCode : undefined;
  const ids: ChapterId[] = ['contacts', 'before'];
  if (physicalServers.length) ids.push('physical');
  // Every server has a VM recipe: a physical one may have to come back as a VM when its hardware is broken.
  ids.push('vm', 'assistant', 'veeam');
  if (roles.dc) ids.push('dc');
  // The restore log (a form to copy) and the sealed sheet (to cut off) come last, each on pages of their own.
  ids.push('after', 'backup', 'glossary', 'sheets', 'log');
  if (sealed || (opts.sealedElsewhere && input.recoveryCode)) ids.push('sealed');
  const chapters: Chapter[] = ids.map((id, i) => ({ id, number: i + 1, title: CHAPTERS[id] }));
  // The whole site one server after another, as `lifeboat plan` computes it: all data, one fixed part per server.
  const allBytes = cap.servers.reduce((a, c) => a + c.inputs.dataBytes.value, 0);
  const restoreAll = restoreTimeEstimate(allBytes, site.nas.linkSpeedGbps, { overheadMinutes: RESTORE_DEFAULTS.overheadMinutes * site.servers.length });
  const perServerAssumptions = restoreTimeEstimate(0, site.nas.linkSpeedGbps).assumptions;
  const hypervisorNames = [...new Set(vmGroups.map((g) => g.name))];
  const siteFile = basename(input.siteFile);
  const account = site.share.domain ? `${site.share.domain}\\${site.share.user}` : site.share.user;
  return {
    title: `Restore manual: ${site.site.name}`,
    siteName: site.site.name,
    siteId: site.site.id,
    siteFile,
    buildId: input.buildId ?? 'manual only (no media build)',
    builtAt: dateText(input.builtAt ?? new Date()),
    isoFile,
    usbFile,
    checksums: input.mediaChecksums ?? [],
    contacts: site.contacts,
    firstContact: site.contacts[0],
    escalation: site.escalation,
    share: { path: site.share.path, account, user: site.share.user, domain: site.share.domain ?? '(none)' },
    nas: { host: site.nas.host ?? site.share.path.slice(2).split('\\')[0] ?? '-', link: `${site.nas.linkSpeedGbps} Gbit/s` },
    rpoHours: site.rpoHours,
    retentionDays: site.retentionDays,
    servers,
    physicalServers,
    vmGroups,
    physicalAsVm: physicalServers,
    siteHypervisorsText: hypervisorNames.length <= 1 ? (hypervisorNames[0] ?? '') : `${hypervisorNames.slice(0, -1).join(', ')} and ${hypervisorNames.at(-1)}`,
    roles,
    dcNames: servers.filter((s) => s.isDc).map((s) => s.name).join(', '),
    orderText: servers.map((s) => s.name).join(' → '),
    linkText: `${site.nas.linkSpeedGbps} Gbit/s`,
    multiServer: servers.length > 1,
    restore: {
      total: restoreAll.text,
      totalSentence: restoreAll.sentence,
      assumptions: perServerAssumptions,
      anyMeasured: servers.some((s) => s.estimate.measured),
      anyAssumed: servers.some((s) => !s.estimate.measured),
      escalateAfter: formatDuration(2 * restoreAll.totalSeconds).replace('about ', ''),
    },
    schedules: scheduleGroups(servers),
    capacity: capacityView(site, cap, servers, input.catalog),
    catalog: input.catalog
      ? {
          root: input.catalog.root,
          readAt: dateText(input.catalog.readAt),
          missing: input.catalog.missing.join(', '),
          problems: input.catalog.problems,
        }
      : undefined,
    sealed: sealed ? { code: sealed, groups: sealed.split(/[\s-]+/).filter(Boolean) } : undefined,
    sealedElsewhere: !sealed && opts.sealedElsewhere && input.recoveryCode ? { file: opts.sealedElsewhere } : undefined,
    chapters,
    chapter: Object.fromEntries(chapters.map((c) => [c.id, c])),
    auditCommands: auditCommands(site, siteFile, input.platform, input.catalog?.root),
    manualCommand: `lifeboat manual --site ${siteFile} --out manual`,
    buildCommand: `lifeboat build --site ${siteFile} --base VeeamRecoveryMedia.iso --out dist --generate-code`,
    flashCommand: `lifeboat flash dist/${usbFile} /dev/sdX`,
    generatedWith: 'Lifeboat',
  };
}

/** Servers with the same schedule share one entry (in restore order). */
function scheduleGroups(servers: readonly ServerView[]): ScheduleGroup[] {
  const groups: { names: string[]; view: ScheduleView }[] = [];
  for (const s of servers) {
    const key = JSON.stringify(s.schedule);
    const same = groups.find((g) => JSON.stringify(g.view) === key);
    if (same) same.names.push(s.name);
    else groups.push({ names: [s.name], view: s.schedule });
  }
  return groups.map((g) => ({ ...g.view, servers: g.names.join(', '), count: g.names.length }));
}

function capacityView(
  site: Site,
  cap: ReturnType<typeof capacity>,
  servers: readonly ServerView[],
  catalog: ShareCatalog | undefined,
): ManualModel['capacity'] {
  const onShare = (name: string): string | undefined => {
    if (!catalog) return undefined;
    const bytes = catalog.servers.find((c) => c.name.toUpperCase() === name.toUpperCase())?.backupBytes;
    return bytes !== undefined ? formatGb(bytes) : 'no backup files';
  };
  const byName = new Map(cap.servers.map((c) => [c.server, c]));
  const ordered = servers.map((s) => byName.get(s.name) as ServerCapacity);
  const rows = ordered.map((c) => ({
    server: c.server,
    basis: c.basis === 'share' ? 'measured on the share' : 'estimated from site.yaml',
    full: formatGb(c.fullBytes),
    increments: formatGb(c.incrementsBytes),
    pad: formatGb(c.padBytes),
    total: formatGb(c.totalBytes),
    onShare: onShare(c.server),
  }));
  const shareTotal = catalog?.servers.reduce((a, c) => a + (c.backupBytes ?? 0), 0);
  // The same assumption for several servers is printed once, naming the servers unless it holds for all of them.
  const assumed = new Map<string, string[]>();
  for (const c of ordered) for (const a of c.assumptions) assumed.set(a, [...(assumed.get(a) ?? []), c.server]);
  const assumptions = [...assumed].map(([text, names]) =>
    site.servers.length === 1 ? `${capitalised(text)}.` : names.length === site.servers.length ? `${capitalised(text)} (all servers).` : `${capitalised(text)} (${names.join(', ')}).`,
  );
  return {
    rows,
    total: {
      server: 'NAS total',
      basis: '',
      full: formatGb(cap.fullBytes),
      increments: formatGb(cap.incrementsBytes),
      pad: formatGb(cap.padBytes),
      total: formatGb(cap.totalBytes),
      onShare: shareTotal !== undefined ? formatGb(shareTotal) : undefined,
    },
    showOnShare: catalog !== undefined,
    formula: cap.formula,
    formulas: ordered.map((c) => ({ server: c.server, text: c.formula })),
    assumptions,
  };
}
