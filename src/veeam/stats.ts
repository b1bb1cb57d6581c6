/**
 * Measured figures for capacity planning, from Storage@Stats and the OIB times of one chain: full size, increment
 * sizes (daily change), data read vs. bytes written (compression + deduplication), backup durations. Every figure is
 * undefined when the metadata does not carry what it needs; nothing is guessed here (guesses belong to the planner).
 *
 * Note from the real fixture: the full's Stats DataSize (1,919,695,740,189) is about the whole disk capacity, not the
 * used data, so the full's reduction is measured against OIB@ApproxSize (used data of the backed-up volumes) instead.
 */
import type { BackupChain, RestorePoint } from './model.js';

export interface IncrementSize {
  readonly pointId: string;
  readonly time?: Date;
  readonly label: string;
  /** Bytes of the .vib file. */
  readonly size?: number;
  /** Bytes read from the source in that session. */
  readonly dataSize?: number;
}

export interface PointDuration {
  readonly pointId: string;
  readonly label: string;
  readonly ms: number;
}

export interface ChainStats {
  readonly points: number;
  readonly fulls: number;
  readonly increments: number;
  /** Bytes of the newest full backup file. */
  readonly fullSize?: number;
  /** Bytes the newest full's session read (Stats DataSize). */
  readonly fullDataSize?: number;
  /** Bytes of data a restore of the newest point writes back (OIB@ApproxSize). */
  readonly restoreDataSize?: number;
  /** 1 - fullSize / used data of the full point (OIB@ApproxSize): what compression and dedup save on a full. */
  readonly fullReduction?: number;
  readonly incrementSizes: readonly IncrementSize[];
  readonly meanIncrementSize?: number;
  readonly medianIncrementSize?: number;
  readonly maxIncrementSize?: number;
  /** Bytes of increments written per day over the span the increments cover. */
  readonly dailyChange?: number;
  /** Days between the full and the newest increment. */
  readonly spanDays?: number;
  /** Increments per day over that span. */
  readonly incrementsPerDay?: number;
  /** 1 - (sum of increment file bytes) / (sum of increment data read). */
  readonly incrementReduction?: number;
  /** Median of Veeam's own percentages over the increments (backup = data x dedup% x compress%). */
  readonly dedupPercent?: number;
  readonly compressPercent?: number;
  /** Sum of the sizes of every backup file with stats. */
  readonly totalBackupSize: number;
  /** Backup files without usable stats. */
  readonly storagesWithoutStats: number;
  /** OIB creation to completion per point, oldest first. */
  readonly durations: readonly PointDuration[];
  readonly medianDurationMs?: number;
  readonly maxDurationMs?: number;
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** Bytes of the chain's backup files as the metadata records them (storages without Stats count nothing). */
export function recordedBackupBytes(chain: Pick<BackupChain, 'storages'>): number {
  let bytes = 0;
  for (const s of chain.storages) bytes += s.size ?? 0;
  return bytes;
}

export function computeChainStats(chain: BackupChain): ChainStats {
  const points = chain.points;
  const fulls = points.filter((p) => p.type === 'full');
  const incs = points.filter((p) => p.type === 'increment');
  const newestFull: RestorePoint | undefined = fulls[fulls.length - 1];
  const storageById = new Map(chain.storages.map((s) => [s.id, s]));

  const incrementSizes: IncrementSize[] = incs.map((p) => ({ pointId: p.id, time: p.time, label: p.label, size: p.size, dataSize: p.dataSize }));
  const sizes = incrementSizes.map((i) => i.size).filter((n): n is number => n !== undefined);
  const meanIncrementSize = sizes.length ? sum(sizes) / sizes.length : undefined;

  let spanDays: number | undefined;
  let incrementsPerDay: number | undefined;
  const lastInc = incs[incs.length - 1];
  const start = newestFull?.time ?? incs[0]?.time;
  if (lastInc?.time && start && lastInc.time.getTime() > start.getTime()) {
    spanDays = (lastInc.time.getTime() - start.getTime()) / 86_400_000;
    const counted = incs.filter((p) => p.time && p.time.getTime() > start.getTime()).length;
    incrementsPerDay = counted / spanDays;
  }
  const dailyChange = meanIncrementSize !== undefined && incrementsPerDay !== undefined ? meanIncrementSize * incrementsPerDay : undefined;

  const paired = incs.filter((p) => p.size !== undefined && p.dataSize !== undefined && p.dataSize > 0);
  const incData = sum(paired.map((p) => p.dataSize as number));
  const incrementReduction = paired.length && incData > 0 ? 1 - sum(paired.map((p) => p.size as number)) / incData : undefined;

  const incStorages = incs.map((p) => (p.storageId ? storageById.get(p.storageId) : undefined)).filter((s) => s !== undefined);
  const dedupPercent = median(incStorages.map((s) => s.dedupRatio).filter((n): n is number => n !== undefined));
  const compressPercent = median(incStorages.map((s) => s.compressRatio).filter((n): n is number => n !== undefined));

  const fullReduction =
    newestFull?.size !== undefined && newestFull.approxSize !== undefined && newestFull.approxSize > 0
      ? 1 - newestFull.size / newestFull.approxSize
      : undefined;

  const durations: PointDuration[] = points
    .filter((p) => p.durationMs !== undefined)
    .map((p) => ({ pointId: p.id, label: p.label, ms: p.durationMs as number }));
  const ms = durations.map((d) => d.ms);

  const withStats = chain.storages.filter((s) => s.size !== undefined);
  const newest = chain.newest;
  return {
    points: points.length,
    fulls: fulls.length,
    increments: incs.length,
    fullSize: newestFull?.size,
    fullDataSize: newestFull?.dataSize,
    restoreDataSize: newest?.approxSize,
    fullReduction,
    incrementSizes,
    meanIncrementSize,
    medianIncrementSize: median(sizes),
    maxIncrementSize: sizes.length ? sizes.reduce((a, b) => Math.max(a, b), 0) : undefined,
    dailyChange,
    spanDays,
    incrementsPerDay,
    incrementReduction,
    dedupPercent,
    compressPercent,
    totalBackupSize: recordedBackupBytes(chain),
    storagesWithoutStats: chain.storages.length - withStats.length,
    durations,
    medianDurationMs: median(ms),
    maxDurationMs: ms.length ? ms.reduce((a, b) => Math.max(a, b), 0) : undefined,
  };
}
