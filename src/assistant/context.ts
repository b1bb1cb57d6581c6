/** What the steps share: the machine, the screen, the log, the media, and what has been found and chosen so far. */
import type { Platform, Disk, MachineInfo } from '../platform/platform.js';
import type { Server, Site } from '../site/schema.js';
import type { SiteJson } from '../site/site-json.js';
import type { VaultPayload } from '../secrets/vault.js';
import type { DiscoveredChain } from '../veeam/discover.js';
import type { BackupServer, PointDetails, RestorePoint } from '../veeam/model.js';
import type { ChainHealth } from '../veeam/health.js';
import type { SessionLog } from './session-log.js';
import type { Ui } from './ui.js';

export interface Media {
  root: string;
  /** The build's own data from site.json: build id and date, unlock kind, what Veeam's media launched. */
  build: Omit<SiteJson, 'site'>;
  /** The site this media was built for, as validated at build time. */
  site: Site;
  siteId: string;
  siteName: string;
  vaultText: string;
}

/** Work that will be lost by restoring an older point, acknowledged by the technician. */
export interface DataLoss {
  hours: number;
  /** The restored point's time: work since then is lost. */
  since: string;
  reason: 'older than the RPO' | 'backup chain damaged' | 'older point chosen';
  acknowledged: boolean;
  call: string;
  domainController: boolean;
}

export interface AssistantState {
  mediaOk?: boolean;
  machine?: MachineInfo;
  disks?: Disk[];
  drivers?: { inf: string; ok: boolean; message: string }[];
  /** What the machine check found before any secret was typed. */
  machineCheck?: { firmwareOk: boolean; diskOk: boolean; wentOnAnyway?: string[] };
  networkUp?: boolean;
  nasReachable?: boolean;
  /** The NAS address typed by the technician when its name did not answer. */
  nasAddress?: string;
  /** Unlock attempts so far (kept across Esc, so going back does not reset the count). */
  unlockAttempts?: number;
  /** Every unlock attempt of the session, for the log. */
  unlockTotal?: number;
  credentials?: VaultPayload;
  /** True when the technician typed the current share password after the stored one failed. */
  passwordTyped?: boolean;
  shareRoot?: string;
  /** Why the share is not connected (the technician connects it in Veeam by hand). */
  shareProblem?: string;
  chains?: DiscoveredChain[];
  server?: BackupServer;
  /** The server from site.yaml (known even when the share could not be read). */
  siteServer?: Server;
  chain?: DiscoveredChain;
  health?: ChainHealth;
  point?: RestorePoint;
  details?: PointDetails;
  dataLoss?: DataLoss;
  targetDisk?: Disk;
  restoreMode?: 'Entire computer' | 'Manual restore';
  /** The plan screen was shown and confirmed by typing the disk number. */
  planConfirmed?: boolean;
  veeamExitCode?: number;
  veeamStarted?: boolean;
  afterRestore?: string[];
  diagnostics?: string;
  /** Where records go: chosen once (share, else the USB stick, else a disk the technician picks, else X:). */
  recordsRoot?: { path: string; what: string };
  reportFolder?: string;
  /** What the session ends with, said on the last line (e.g. switch the firmware, do not start Veeam). */
  endNote?: string;
  /** Switch the machine off once the records are saved (to change the firmware mode). */
  powerOffAtEnd?: boolean;
}

export interface Context {
  platform: Platform;
  ui: Ui;
  log: SessionLog;
  media: Media;
  state: AssistantState;
  /** When the session started, for file names. */
  stamp: string;
  /** True when the current step was reached by going back (Esc) rather than forward. */
  revisit: boolean;
}

/** Every step, in order; `goto` takes only these (a typo does not compile). */
export type StepId =
  | 'start' | 'machine' | 'drivers' | 'checks' | 'network' | 'unlock' | 'share' | 'menu' | 'backups' | 'restore-point'
  | 'requirements' | 'target-disk' | 'plan' | 'handover' | 'after-restore' | 'diagnostics' | 'repair';

/** How a step ended: go on, go back a step, jump to a named step, stop early (quit) or finish (done). */
export type Outcome = 'next' | 'back' | 'quit' | 'done' | { goto: StepId };

export interface Step {
  id: StepId;
  title: string;
  run(ctx: Context): Promise<Outcome>;
}

export const GB = 1e9;

/** Memory sizes in GiB, as Windows shows them. */
export function ram(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${Math.round(bytes / 2 ** 30)} GB`;
}

/** Disk and data sizes: GB, or MB below 1 GB (an EFI partition's 30 MB is not "0.0 GB"). */
export function gb(bytes: number | undefined): string {
  if (bytes === undefined) return '?';
  if (bytes < GB) return `${Math.round(bytes / 1e6)} MB`;
  return `${(bytes / GB).toFixed(bytes < 10 * GB ? 1 : 0)} GB`;
}

/** "8 days", "5 hours", "40 minutes": how much work a point's age means. */
export function duration(hours: number): string {
  if (hours >= 48) return `${Math.floor(hours / 24)} days`;
  if (hours >= 2) return `${Math.floor(hours)} hours`;
  return `${Math.max(1, Math.round(hours * 60))} minutes`;
}

/** Whom to call, from site.yaml: the first contact, with the phone number. */
export function firstContact(site: Site): string {
  const c = site.contacts[0];
  return c ? `${c.name} (${c.phone})` : 'your IT contact';
}

/** The zone a restore point's label is in: "server time (UTC+2)" from its local and UTC times, else "UTC". */
export function pointZone(p: RestorePoint): string {
  if (p.local && p.time) {
    const asUtc = Date.UTC(p.local.year, p.local.month - 1, p.local.day, p.local.hour, p.local.minute, p.local.second);
    const minutes = Math.round((asUtc - p.time.getTime()) / 900_000) * 15;
    if (Math.abs(minutes) <= 14 * 60) {
      const h = Math.floor(Math.abs(minutes) / 60);
      const m = Math.abs(minutes) % 60;
      return `server time (UTC${minutes === 0 ? '' : `${minutes < 0 ? '-' : '+'}${h}${m ? `:${String(m).padStart(2, '0')}` : ''}`})`;
    }
  }
  return 'UTC';
}

/** A restore point's time with its zone: "19 Jul 2025 00:04 server time (UTC+2)". */
export function pointTime(p: RestorePoint): string {
  return p.label.endsWith('UTC') ? p.label : `${p.label} ${pointZone(p)}`;
}
