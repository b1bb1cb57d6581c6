/** What the steps share: the machine, the screen, the log, the media, and what has been found and chosen so far. */
import type { Platform, Disk, MachineInfo } from '../platform/platform.js';
import type { SiteJson } from '../site/site-json.js';
import type { VaultPayload } from '../secrets/vault.js';
import type { DiscoveredChain } from '../veeam/discover.js';
import type { BackupServer, PointDetails, RestorePoint } from '../veeam/model.js';
import type { ChainHealth } from '../veeam/health.js';
import type { SessionLog } from './session-log.js';
import type { Ui } from './ui.js';

export interface Media {
  root: string;
  site: SiteJson;
  vaultText: string;
}

export interface AssistantState {
  mediaOk?: boolean;
  machine?: MachineInfo;
  disks?: Disk[];
  drivers?: { inf: string; ok: boolean; message: string }[];
  networkUp?: boolean;
  nasReachable?: boolean;
  credentials?: VaultPayload;
  shareRoot?: string;
  chains?: DiscoveredChain[];
  server?: BackupServer;
  chain?: DiscoveredChain;
  health?: ChainHealth;
  point?: RestorePoint;
  details?: PointDetails;
  targetDisk?: Disk;
  restoreMode?: 'Entire computer' | 'Manual restore';
  veeamExitCode?: number;
  afterRestore?: string[];
  diagnostics?: string;
  reportFolder?: string;
}

export interface Context {
  platform: Platform;
  ui: Ui;
  log: SessionLog;
  media: Media;
  state: AssistantState;
  /** When the session started, for file names. */
  stamp: string;
}

/** How a step ended: go on, go back a step, jump to a named step, stop early (quit) or finish (done). */
export type Outcome = 'next' | 'back' | 'quit' | 'done' | { goto: string };

export interface Step {
  id: string;
  title: string;
  run(ctx: Context): Promise<Outcome>;
}

export const GB = 1e9;

/** Memory sizes in GiB, as Windows shows them. */
export function ram(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${Math.round(bytes / 2 ** 30)} GB`;
}

export function gb(bytes: number | undefined): string {
  return bytes === undefined ? '?' : `${(bytes / GB).toFixed(bytes < 10 * GB ? 1 : 0)} GB`;
}
