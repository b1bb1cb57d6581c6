/**
 * RPO feasibility (does a backup finish well within the interval between runs?) and the whole plan `lifeboat plan`
 * prints: capacity, restore time and feasibility per server, measured from the share when one is given.
 *
 * Measured backup duration = OIB creation (snapshot) to completion of the increments on the share. The increments
 * measured may cover a longer interval (e.g. daily) than the schedule will (every rpoHours); their duration is then
 * an upper bound for the shorter runs, which is the safe side.
 */
import type { Server, Site } from '../site/index.js';
import {
  capacity,
  CAPACITY_DEFAULTS,
  formatGb,
  restoreTimeEstimate,
  RESTORE_DEFAULTS,
  type CapacityPlan,
  type MeasuredServer,
  type RestoreTimeEstimate,
  type ServerCapacity,
} from './capacity.js';
import { discoverChains } from './discover.js';
import { groupServers, pointDetails } from './model.js';
import { backupSchedule, parseHhmm, type BackupSchedule } from './schedule.js';
import { computeChainStats } from './stats.js';

/** Snapshot, session start and finish of one incremental run when nothing is measured. */
export const SESSION_OVERHEAD_MINUTES = 2;
/** Share of the interval a run may take before the schedule is called tight. */
export const TIGHT_RATIO = 0.5;

export type FeasibilityVerdict = 'ok' | 'tight' | 'too-slow';

export interface Feasibility {
  readonly server: string;
  readonly intervalHours: number;
  readonly basis: 'measured' | 'estimated';
  /** Typical (median) duration of an incremental run, seconds. */
  readonly typicalSeconds: number;
  /** Longest incremental run, seconds (equals typical when estimated). */
  readonly maxSeconds: number;
  /** Duration of the newest full, seconds, when measured. */
  readonly fullSeconds?: number;
  /** maxSeconds / interval. */
  readonly ratio: number;
  readonly verdict: FeasibilityVerdict;
  readonly sentence: string;
  readonly assumptions: readonly string[];
}

function verdictOf(ratio: number): FeasibilityVerdict {
  if (ratio <= TIGHT_RATIO) return 'ok';
  if (ratio <= 1) return 'tight';
  return 'too-slow';
}

/** Hours in which the data changes: the window's length, or the whole day. */
function activeHours(schedule: BackupSchedule): number {
  if (!schedule.window) return 24;
  return Math.max(schedule.intervalHours, (parseHhmm(schedule.window.to) - parseHhmm(schedule.window.from)) / 60);
}

const minutes = (s: number): string => (s < 180 ? `${Math.round(s)} seconds` : `${Math.round(s / 60)} minutes`);

/** Backup duration against the schedule interval for one server. */
export function feasibility(
  schedule: BackupSchedule,
  cap: Pick<ServerCapacity, 'inputs'>,
  linkGbps: number,
  measured?: MeasuredServer,
): Feasibility {
  const interval = schedule.intervalHours * 3600;
  const assumptions: string[] = [];
  const stats = measured?.stats;
  const incIds = new Set(stats?.incrementSizes.map((i) => i.pointId) ?? []);
  const incDurations = (stats?.durations ?? []).filter((d) => incIds.has(d.pointId)).map((d) => d.ms / 1000);
  let basis: Feasibility['basis'];
  let typical: number;
  let max: number;
  let fullSeconds: number | undefined;
  if (incDurations.length > 0) {
    basis = 'measured';
    const sorted = [...incDurations].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    typical = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
    max = sorted[sorted.length - 1] as number;
    const full = (stats?.durations ?? []).filter((d) => !incIds.has(d.pointId));
    fullSeconds = full.length ? (full[full.length - 1] as { ms: number }).ms / 1000 : undefined;
    const measuredInterval = stats?.incrementsPerDay ? 24 / stats.incrementsPerDay : undefined;
    if (measuredInterval !== undefined && measuredInterval > schedule.intervalHours * 1.5) {
      assumptions.push(
        `the increments on the share were about ${Math.round(measuredInterval)} hours apart; runs every ${schedule.intervalHours} hours carry less change each, so these durations are an upper bound`,
      );
    }
  } else {
    basis = 'estimated';
    const perRun = cap.inputs.dailyChangeBytes.value * Math.min(1, schedule.intervalHours / activeHours(schedule));
    const throughput = (linkGbps * 1e9 * RESTORE_DEFAULTS.efficiency) / 8;
    typical = SESSION_OVERHEAD_MINUTES * 60 + perRun / throughput;
    max = typical;
    assumptions.push(
      `a run reads the data changed since the last one (${formatGb(perRun)}: the daily change spread over ${activeHours(schedule)} active hours) at ${Math.round(RESTORE_DEFAULTS.efficiency * 100)}% of the ${linkGbps} Gbit/s link, plus ${SESSION_OVERHEAD_MINUTES} minutes for the snapshot and the session`,
    );
  }
  const ratio = max / interval;
  const verdict = verdictOf(ratio);
  const what = basis === 'measured' ? `The longest measured incremental backup took ${minutes(max)}` : `An incremental backup should take about ${minutes(max)}`;
  const tail =
    verdict === 'ok'
      ? `well within the ${schedule.intervalHours}-hour interval (${(ratio * 100).toFixed(1)}%).`
      : verdict === 'tight'
        ? `more than half of the ${schedule.intervalHours}-hour interval: runs may collide (a collision is skipped, Veeam exit code 5), so the RPO is at risk.`
        : `longer than the ${schedule.intervalHours}-hour interval: the RPO cannot be met with this schedule; raise rpoHours or speed up the backup.`;
  return {
    server: schedule.server,
    intervalHours: schedule.intervalHours,
    basis,
    typicalSeconds: typical,
    maxSeconds: max,
    fullSeconds,
    ratio,
    verdict,
    sentence: `${what}, ${tail}`,
    assumptions,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring a share and the whole plan

export interface ShareMeasurement {
  readonly root: string;
  /** By site server name. */
  readonly measured: ReadonlyMap<string, MeasuredServer>;
  /** Site servers with no backup on the share (estimated from site.yaml). */
  readonly missing: readonly string[];
  /** Backups on the share for servers site.yaml does not list. */
  readonly unknown: readonly string[];
  /** .vbm files that could not be read. */
  readonly unreadable: readonly string[];
}

/** Reads the share's chains and computes the statistics of each site server's newest chain. */
export async function measureShare(root: string, site: Pick<Site, 'servers'>): Promise<ShareMeasurement> {
  const discovery = await discoverChains(root);
  const catalog = groupServers(
    discovery.chains.map((c) => c.chain),
    site.servers.map((s) => ({ name: s.name, fqdn: s.fqdn, veeamJob: s.veeamJob })),
  );
  const measured = new Map<string, MeasuredServer>();
  for (const srv of catalog.servers) {
    if (!srv.site || !srv.newest) continue;
    const chain = srv.newest.chain;
    const stats = computeChainStats(chain);
    let restoreBytes: number | undefined;
    try {
      const details = pointDetails(srv.newest.point);
      const used = details?.disks.map((d) => d.usedBytes).filter((n): n is number => n !== undefined) ?? [];
      restoreBytes = used.length ? used.reduce((a, b) => a + b, 0) : details?.dataBytes;
    } catch {
      restoreBytes = undefined; // damaged AuxData: fall back to the point's data size
    }
    measured.set(srv.site.server.name, { stats, restoreBytes });
  }
  return {
    root,
    measured,
    missing: catalog.missing.map((s) => s.name),
    unknown: catalog.unknown.map((s) => s.name),
    unreadable: discovery.errors.map((e) => e.file),
  };
}

export interface ServerPlan {
  readonly server: string;
  readonly basis: 'share' | 'site.yaml';
  readonly schedule: { readonly summary: string; readonly runsPerWeek: number; readonly sentences: readonly string[] };
  readonly capacity: ServerCapacity;
  readonly restore: RestoreTimeEstimate & { readonly dataSource: 'measured' | 'assumed' };
  readonly feasibility: Feasibility;
}

export interface Plan {
  readonly site: { readonly id: string; readonly name: string };
  readonly rpoHours: number;
  readonly retentionDays: number;
  readonly linkGbps: number;
  readonly share?: Omit<ShareMeasurement, 'measured'>;
  readonly servers: readonly ServerPlan[];
  readonly capacity: Omit<CapacityPlan, 'servers'>;
  /** The whole site restored one server after another. */
  readonly restoreAll: RestoreTimeEstimate;
  readonly defaults: { readonly capacity: typeof CAPACITY_DEFAULTS; readonly restore: typeof RESTORE_DEFAULTS };
  /** True when no server's schedule is too slow. */
  readonly feasible: boolean;
}

/** Capacity, restore time and feasibility for every server of the site; measured when `share` is given. */
export async function planSite(site: Site, options: { share?: string } = {}): Promise<Plan> {
  const measurement = options.share ? await measureShare(options.share, site) : undefined;
  const measured = measurement?.measured ?? new Map<string, MeasuredServer>();
  const cap = capacity(site, { measured });
  const link = site.nas.linkSpeedGbps;
  const servers: ServerPlan[] = site.servers.map((srv: Server, i) => {
    const schedule = backupSchedule(site, srv);
    const c = cap.servers[i] as ServerCapacity;
    const m = measured.get(srv.name);
    const restore = restoreTimeEstimate(c.inputs.dataBytes.value, link);
    return {
      server: srv.name,
      basis: c.basis,
      schedule: { summary: schedule.summary, runsPerWeek: schedule.runsPerWeek, sentences: schedule.sentences },
      capacity: c,
      restore: { ...restore, dataSource: c.inputs.dataBytes.source === 'measured' ? 'measured' : 'assumed' },
      feasibility: feasibility(schedule, c, link, m),
    };
  });
  const allBytes = servers.reduce((a, s) => a + s.restore.bytes, 0);
  // One overhead per server: each is booted, restored and started on its own.
  const restoreAll = restoreTimeEstimate(allBytes, link, { overheadMinutes: RESTORE_DEFAULTS.overheadMinutes * servers.length });
  const { servers: _s, ...capTotals } = cap;
  void _s;
  let share: Plan['share'];
  if (measurement) {
    const { measured: _m, ...rest } = measurement;
    void _m;
    share = rest;
  }
  return {
    site: { id: site.site.id, name: site.site.name },
    rpoHours: site.rpoHours,
    retentionDays: site.retentionDays,
    linkGbps: link,
    share,
    servers,
    capacity: capTotals,
    restoreAll,
    defaults: { capacity: CAPACITY_DEFAULTS, restore: RESTORE_DEFAULTS },
    feasible: servers.every((s) => s.feasibility.verdict !== 'too-slow'),
  };
}
