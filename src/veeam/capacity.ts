/**
 * NAS capacity and restore time, the figures `lifeboat plan` and the manual print.
 *
 * Capacity per server (the formula of the Backup 2.0 analysis):
 *
 *     increments = daily change x days kept x (1 - reduction)
 *     pad        = 10% of the increments
 *     total      = increments + pad + the full backup
 *
 * where "daily change" is the source data changed per day (before compression and deduplication) and "reduction" is
 * what compression and deduplication save on it. Inputs come from the VBM statistics when a share is given (measured
 * full size, data read per increment, bytes written), else from site.yaml disk sizes with the stated default
 * assumptions (CAPACITY_DEFAULTS). Every estimate lists its inputs, where each came from, and what was assumed.
 *
 * Restore time: data to restore (used volume sizes) / effective throughput (a share of the link speed) + a fixed
 * overhead (booting the media, network, the wizard, the first boot of the restored server).
 */
import type { Server, Site } from '../site/index.js';
import type { ChainStats } from './stats.js';

/** Decimal gigabyte: site.yaml disk sizes and the plan's figures (as disks are labelled). */
export const GB = 1e9;

/** What the plan assumes when it has no measurement. */
export const CAPACITY_DEFAULTS = {
  /** Share of each disk's size that holds data (used space). */
  usedFraction: 0.5,
  /** Source data changed per day, as a share of the used data. */
  dailyChangeFraction: 0.03,
  /** What compression and deduplication save (Veeam's default compression often halves typical server data). */
  reduction: 0.5,
  /** Safety margin on the increments. */
  padFraction: 0.1,
} as const;

/** What the restore time estimate assumes. */
export const RESTORE_DEFAULTS = {
  /** Share of the link speed a restore achieves (SMB, Veeam's decompression, the target disk). */
  efficiency: 0.7,
  /** Booting the media, network and share, the wizard, the restored server's first boot. */
  overheadMinutes: 20,
} as const;

export type InputSource = 'measured' | 'site.yaml' | 'assumed';

export interface CapacityInput {
  readonly value: number;
  readonly unit: 'bytes' | 'days' | 'fraction';
  readonly source: InputSource;
  /** How the value was obtained, for a person. */
  readonly note: string;
}

export interface CapacityInputs {
  /** Bytes of the full backup file (measured), or used data x (1 - reduction). */
  readonly fullBytes: CapacityInput;
  /** Source data changed per day, bytes, before reduction. */
  readonly dailyChangeBytes: CapacityInput;
  /** Days of restore points kept (site.yaml retentionDays). */
  readonly retentionDays: CapacityInput;
  /** 0..1: share of the changed data compression and deduplication save. */
  readonly reduction: CapacityInput;
  readonly padFraction: CapacityInput;
  /** Used data of the server's volumes, bytes (what a restore writes back). */
  readonly dataBytes: CapacityInput;
}

export interface CapacityFigures {
  readonly incrementsBytes: number;
  readonly padBytes: number;
  readonly fullBytes: number;
  readonly totalBytes: number;
}

export interface ServerCapacity extends CapacityFigures {
  readonly server: string;
  readonly basis: 'share' | 'site.yaml';
  readonly inputs: CapacityInputs;
  /** The formula with this server's numbers, e.g. `3.9 GB/day x 14 days x (1 - 0.56) = 24.9 GB; + 10% pad ...`. */
  readonly formula: string;
  /** Every assumption made for this server (empty when all inputs were measured). */
  readonly assumptions: readonly string[];
}

export interface CapacityPlan {
  readonly servers: readonly ServerCapacity[];
  readonly totalBytes: number;
  readonly incrementsBytes: number;
  readonly padBytes: number;
  readonly fullBytes: number;
  /** The formula in words. */
  readonly formula: string;
}

export const CAPACITY_FORMULA =
  'daily change x days kept x (1 - reduction), plus a 10% pad on that, plus the full backup';

/** The formula itself. `padFraction` defaults to 10%. */
export function capacityFigures(input: {
  fullBytes: number;
  dailyChangeBytes: number;
  retentionDays: number;
  reduction: number;
  padFraction?: number;
}): CapacityFigures {
  const pad = input.padFraction ?? CAPACITY_DEFAULTS.padFraction;
  const incrementsBytes = input.dailyChangeBytes * input.retentionDays * (1 - input.reduction);
  const padBytes = incrementsBytes * pad;
  return { incrementsBytes, padBytes, fullBytes: input.fullBytes, totalBytes: incrementsBytes + padBytes + input.fullBytes };
}

/** What was measured on the share for one server (from computeChainStats and the newest point's details). */
export interface MeasuredServer {
  readonly stats: ChainStats;
  /** Used bytes of the backed-up volumes of the newest point (pointDetails), when known. */
  readonly restoreBytes?: number;
}

export interface CapacityOptions {
  /** Measurements by site server name (case-insensitive); servers without one are estimated from site.yaml. */
  readonly measured?: ReadonlyMap<string, MeasuredServer>;
  readonly defaults?: Partial<typeof CAPACITY_DEFAULTS>;
}

/** `12.3 GB` (decimal, one decimal place; TB from 1000 GB). */
export function formatGb(bytes: number): string {
  if (bytes >= 1000 * GB) return `${(bytes / (1000 * GB)).toFixed(2)} TB`;
  return `${(bytes / GB).toFixed(1)} GB`;
}

const pct = (f: number): string => `${Math.round(f * 1000) / 10}%`;

/** Mean source data read per increment x increments per day: the measured daily change before reduction. */
function measuredDailyChange(stats: ChainStats): number | undefined {
  const data = stats.incrementSizes.map((i) => i.dataSize).filter((n): n is number => n !== undefined);
  if (data.length === 0 || stats.incrementsPerDay === undefined) return undefined;
  return (data.reduce((a, b) => a + b, 0) / data.length) * stats.incrementsPerDay;
}

/** Capacity of one server. */
export function serverCapacity(
  site: Pick<Site, 'retentionDays'>,
  server: Pick<Server, 'name' | 'disks'>,
  measured?: MeasuredServer,
  defaultsIn: Partial<typeof CAPACITY_DEFAULTS> = {},
): ServerCapacity {
  const d = { ...CAPACITY_DEFAULTS, ...defaultsIn };
  const assumptions: string[] = [];
  const diskBytes = server.disks.reduce((a, x) => a + x.sizeGb * GB, 0);
  const diskText = server.disks.map((x) => `${x.sizeGb} GB`).join(' + ');

  const s = measured?.stats;
  let dataBytes: CapacityInput;
  if (measured?.restoreBytes !== undefined) {
    dataBytes = { unit: 'bytes', value: measured.restoreBytes, source: 'measured', note: 'used size of the backed-up volumes in the newest restore point' };
  } else if (s?.restoreDataSize !== undefined) {
    dataBytes = { unit: 'bytes', value: s.restoreDataSize, source: 'measured', note: 'data size of the newest restore point (OIB ApproxSize)' };
  } else {
    dataBytes = { unit: 'bytes', value: diskBytes * d.usedFraction, source: 'assumed', note: `${pct(d.usedFraction)} of the disks (${diskText}) in use` };
    assumptions.push(`${pct(d.usedFraction)} of each disk holds data (site.yaml gives disk sizes, not used space)`);
  }

  let reduction: CapacityInput;
  if (s?.incrementReduction !== undefined) {
    reduction = { unit: 'fraction', value: s.incrementReduction, source: 'measured', note: '1 - bytes written / data read, over the increments on the share' };
  } else {
    reduction = { unit: 'fraction', value: d.reduction, source: 'assumed', note: 'typical for Veeam\'s default compression on server data' };
    assumptions.push(`compression and deduplication save ${pct(d.reduction)}`);
  }

  const measuredChange = s ? measuredDailyChange(s) : undefined;
  let dailyChangeBytes: CapacityInput;
  if (measuredChange !== undefined) {
    dailyChangeBytes = {
      unit: 'bytes',
      value: measuredChange,
      source: 'measured',
      note: `mean data read per increment x increments per day (${Math.round((s?.incrementsPerDay ?? 0) * 100) / 100})`,
    };
  } else {
    dailyChangeBytes = { unit: 'bytes', value: dataBytes.value * d.dailyChangeFraction, source: 'assumed', note: `${pct(d.dailyChangeFraction)} of the used data changes per day` };
    assumptions.push(`${pct(d.dailyChangeFraction)} of the used data changes per day`);
  }
  if (measuredChange !== undefined) {
    assumptions.push(
      'more frequent increments (every rpoHours) write about the same data per day as the measured ones; blocks changed again between runs are covered by the pad',
    );
  }

  let fullBytes: CapacityInput;
  if (s?.fullSize !== undefined) {
    fullBytes = { unit: 'bytes', value: s.fullSize, source: 'measured', note: 'size of the newest full backup file (.vbk)' };
  } else {
    fullBytes = {
      unit: 'bytes',
      value: dataBytes.value * (1 - reduction.value),
      source: reduction.source === 'measured' && dataBytes.source === 'measured' ? 'measured' : 'assumed',
      note: `used data x (1 - ${reduction.value.toFixed(2)})`,
    };
  }

  const retentionDays: CapacityInput = { unit: 'days', value: site.retentionDays, source: 'site.yaml', note: 'retentionDays' };
  const padFraction: CapacityInput = { unit: 'fraction', value: d.padFraction, source: 'assumed', note: 'safety margin on the increments' };
  const figures = capacityFigures({
    fullBytes: fullBytes.value,
    dailyChangeBytes: dailyChangeBytes.value,
    retentionDays: retentionDays.value,
    reduction: reduction.value,
    padFraction: padFraction.value,
  });
  const formula =
    `${formatGb(dailyChangeBytes.value)}/day x ${retentionDays.value} days x (1 - ${reduction.value.toFixed(2)}) = ${formatGb(figures.incrementsBytes)}; ` +
    `+ ${pct(padFraction.value)} pad ${formatGb(figures.padBytes)}; + full ${formatGb(figures.fullBytes)} = ${formatGb(figures.totalBytes)}`;
  return {
    server: server.name,
    basis: s ? 'share' : 'site.yaml',
    inputs: { fullBytes, dailyChangeBytes, retentionDays, reduction, padFraction, dataBytes },
    ...figures,
    formula,
    assumptions,
  };
}

/** Capacity per server and in total. */
export function capacity(site: Pick<Site, 'retentionDays' | 'servers'>, options: CapacityOptions = {}): CapacityPlan {
  const byName = new Map([...(options.measured ?? new Map<string, MeasuredServer>())].map(([k, v]) => [k.toLowerCase(), v]));
  const servers = site.servers.map((srv) => serverCapacity(site, srv, byName.get(srv.name.toLowerCase()), options.defaults));
  const add = (f: (s: ServerCapacity) => number): number => servers.reduce((a, s) => a + f(s), 0);
  return {
    servers,
    totalBytes: add((s) => s.totalBytes),
    incrementsBytes: add((s) => s.incrementsBytes),
    padBytes: add((s) => s.padBytes),
    fullBytes: add((s) => s.fullBytes),
    formula: CAPACITY_FORMULA,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Restore time

export interface RestoreTimeOptions {
  /** Share of the link speed achieved, 0..1. Default 0.7. */
  readonly efficiency?: number;
  /** Fixed minutes on top of the transfer. Default 20. */
  readonly overheadMinutes?: number;
}

export interface RestoreTimeEstimate {
  readonly bytes: number;
  readonly linkGbps: number;
  readonly efficiency: number;
  /** Bytes per second the restore is assumed to reach. */
  readonly throughputBytesPerSecond: number;
  readonly transferSeconds: number;
  readonly overheadSeconds: number;
  readonly totalSeconds: number;
  /** `about 50 minutes`, `about 2 h 10 min`. */
  readonly text: string;
  /** One sentence with the inputs, for the manual. */
  readonly sentence: string;
  readonly assumptions: readonly string[];
}

/** `about 50 minutes`, `about 2 h 10 min` (rounded up to 5 minutes: an estimate should not promise too much). */
export function formatDuration(seconds: number): string {
  const minutes = Math.max(5, Math.ceil(seconds / 300) * 5);
  if (minutes < 60) return `about ${minutes} minutes`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `about ${h} h` : `about ${h} h ${m} min`;
}

/** Data / effective throughput (efficiency x link speed) + fixed overhead. */
export function restoreTimeEstimate(bytes: number, linkGbps: number, options: RestoreTimeOptions = {}): RestoreTimeEstimate {
  const efficiency = options.efficiency ?? RESTORE_DEFAULTS.efficiency;
  const overheadMinutes = options.overheadMinutes ?? RESTORE_DEFAULTS.overheadMinutes;
  if (!(linkGbps > 0) || !(efficiency > 0) || !(bytes >= 0)) throw new RangeError('restoreTimeEstimate: bytes >= 0, linkGbps > 0, efficiency > 0');
  const throughput = (linkGbps * 1e9 * efficiency) / 8;
  const transferSeconds = bytes / throughput;
  const overheadSeconds = overheadMinutes * 60;
  const totalSeconds = transferSeconds + overheadSeconds;
  const text = formatDuration(totalSeconds);
  const assumptions = [
    `the restore reaches ${Math.round(efficiency * 100)}% of the ${linkGbps} Gbit/s link (${Math.round(throughput / 1e6)} MB/s)`,
    `${overheadMinutes} minutes for booting the media, the network, the wizard and the first boot of the restored server`,
  ];
  if (linkGbps >= 10) assumptions.push('at 10 Gbit/s and more the NAS disks, not the network, may set the pace');
  return {
    bytes,
    linkGbps,
    efficiency,
    throughputBytesPerSecond: throughput,
    transferSeconds,
    overheadSeconds,
    totalSeconds,
    text,
    sentence:
      `Restoring ${formatGb(bytes)} over ${linkGbps} Gbit/s takes ${text}: ` +
      `${formatDuration(transferSeconds).replace('about ', '')} of copying at ${Math.round(throughput / 1e6)} MB/s ` +
      `(${Math.round(efficiency * 100)}% of the link) plus ${overheadMinutes} minutes to start and finish.`,
    assumptions,
  };
}
