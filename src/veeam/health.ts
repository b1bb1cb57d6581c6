/**
 * Chain health: can each restore point actually be restored from what is on the share, and is the newest one recent
 * enough for the site's recovery point objective? A point is restorable when every file of its chain (its own file
 * and, following Storage@LinkId, every earlier one back to the full) is present and non-empty, every link resolves,
 * the chain starts with a full, no point it depends on is flagged corrupted or inconsistent by Veeam, and it is not
 * dated in the future.
 *
 * Findings are structured (code, severity, ids) and carry a plain-language message for the technician.
 */
import { stat as fsStat } from 'node:fs/promises';
import type { DiscoveredChain, StorageLocation } from './discover.js';
import type { ChainStorage, RestorePoint } from './model.js';
import { formatUtcTime } from './vbm.js';

export type Severity = 'error' | 'warning' | 'info';

export type FindingCode =
  | 'missing-file'
  | 'empty-file'
  | 'unreadable-file'
  | 'unnamed-storage'
  | 'no-storage'
  | 'broken-link'
  | 'link-loop'
  | 'no-full'
  | 'corrupted'
  | 'inconsistent'
  | 'no-points'
  | 'no-restorable-point'
  | 'rpo-exceeded'
  | 'time-unknown'
  | 'in-future'
  | 'encrypted';

export interface HealthFinding {
  readonly code: FindingCode;
  readonly severity: Severity;
  /** One sentence for a person. */
  readonly message: string;
  readonly pointId?: string;
  readonly storageId?: string;
  readonly file?: string;
}

export interface PointHealth {
  readonly point: RestorePoint;
  /** No error in this point or in anything it depends on. */
  readonly restorable: boolean;
  /** Errors and warnings of this point and of the points and files it depends on. */
  readonly findings: readonly HealthFinding[];
}

export interface FileCheck {
  readonly storageId: string;
  readonly fileName?: string;
  readonly path?: string;
  /** Bytes on the share (stat); undefined when missing. */
  readonly size?: number;
  /** Bytes recorded in the metadata (Stats BackupSize). */
  readonly expectedSize?: number;
}

export interface ChainHealth {
  /** No error findings in the chain itself (files, links, flags). RPO is separate: see rpoMet. */
  readonly chainOk: boolean;
  /** chainOk and rpoMet. */
  readonly ok: boolean;
  readonly rpoHours: number;
  /** Newest restorable point within the RPO; false when too old or none restorable. */
  readonly rpoMet: boolean;
  readonly newest?: RestorePoint;
  readonly newestRestorable?: RestorePoint;
  /** Age of the newest point at `now`, hours. */
  readonly newestAgeHours?: number;
  /** Age of the newest restorable point at `now`, hours. */
  readonly restorableAgeHours?: number;
  /** Oldest first, as in the chain. */
  readonly points: readonly PointHealth[];
  /** Every finding once, in chain order (oldest first), RPO findings last. */
  readonly findings: readonly HealthFinding[];
  readonly files: readonly FileCheck[];
}

export interface StatResult {
  readonly size: number;
  isFile(): boolean;
}

export interface HealthOptions {
  readonly now: Date;
  readonly rpoHours: number;
  /** File stat, replaceable for tests and for the assistant's platform layer; it may answer synchronously. */
  readonly stat?: (path: string) => Promise<StatResult> | StatResult;
  /** Tolerance for points stamped in the future (clock skew), minutes. Default 10. */
  readonly futureToleranceMinutes?: number;
}

const HOUR = 3_600_000;

/**
 * The findings of the many points and files that have none (nearly all of a year of hourly points): one shared empty
 * list instead of one per point and file.
 */
const NONE: readonly HealthFinding[] = Object.freeze([]);

/**
 * Files checked at once: enough to overlap a network share's round trips, few enough that a year of hourly points is
 * not 8,760 pending stats at once (that cost ~50 MB and most of the time of a chain's check).
 */
const STATS_IN_FLIGHT = 32;

/** `5 hours`, `1 hour`, `30 minutes`, `3 days` (days from 48 hours on). */
export function formatAge(hours: number): string {
  if (hours < 1) {
    const m = Math.max(0, Math.round(hours * 60));
    return `${m} minute${m === 1 ? '' : 's'}`;
  }
  if (hours < 48) {
    const h = Math.round(hours * 10) / 10;
    return `${h} hour${h === 1 ? '' : 's'}`;
  }
  const d = Math.round((hours / 24) * 10) / 10;
  return `${d} days`;
}

function pointPhrase(p: RestorePoint | undefined, s: ChainStorage): string {
  if (p) return `restore point of ${p.label}`;
  return s.localTime ? `backup file written ${s.localTime}` : 'a backup file of this chain';
}

/** Checks one chain. `located` is a chain from discoverChains (storages resolved to files on the share). */
export async function checkChainHealth(
  located: Pick<DiscoveredChain, 'chain' | 'locations'>,
  options: HealthOptions,
): Promise<ChainHealth> {
  const { chain, locations } = located;
  const statFn = options.stat ?? fsStat;
  const findings: HealthFinding[] = [];
  const pointsById = new Map<string, RestorePoint>();
  for (const p of chain.points) pointsById.set(p.id, p);
  const storagesById = new Map<string, ChainStorage>();
  for (const s of chain.storages) storagesById.set(s.id, s);
  const ownerOf = (s: ChainStorage): RestorePoint | undefined => {
    for (const id of s.pointIds) {
      const p = pointsById.get(id);
      if (p) return p;
    }
    return undefined;
  };

  // 1. Files: each storage once.
  const storageFindings = new Map<string, readonly HealthFinding[]>();
  const files: FileCheck[] = [];
  /** Whether `files` is in the order of chain.storages so far (then it needs no sort). */
  let inOrder = true;
  /** Judges one file from its stat (`st`) or the error the stat threw (`failed`); neither when not looked at. */
  const judgeFile = (index: number, s: ChainStorage, loc: StorageLocation | undefined, st: StatResult | undefined, failed: unknown): void => {
    const own: HealthFinding[] = [];
    const owner = ownerOf(s);
    let size: number | undefined;
    // pointPhrase is called only for a finding: most files have none, and a year-long chain has 8,760.
    if (!s.fileName) {
      own.push({ code: 'unnamed-storage', severity: 'error', storageId: s.id, pointId: owner?.id, message: `the metadata names no file for the ${pointPhrase(owner, s)}` });
    } else if (!loc?.path) {
      own.push({ code: 'missing-file', severity: 'error', storageId: s.id, pointId: owner?.id, file: s.fileName, message: `missing file "${s.fileName}" for ${pointPhrase(owner, s)}` });
    } else if (st) {
      if (!st.isFile()) {
        own.push({ code: 'unreadable-file', severity: 'error', storageId: s.id, pointId: owner?.id, file: s.fileName, message: `"${s.fileName}" for ${pointPhrase(owner, s)} is not a regular file` });
      } else {
        size = st.size;
        if (st.size === 0) {
          own.push({ code: 'empty-file', severity: 'error', storageId: s.id, pointId: owner?.id, file: s.fileName, message: `empty file "${s.fileName}" (0 bytes) for ${pointPhrase(owner, s)}` });
        }
      }
    } else {
      const code = (failed as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        own.push({ code: 'missing-file', severity: 'error', storageId: s.id, pointId: owner?.id, file: s.fileName, message: `missing file "${s.fileName}" for ${pointPhrase(owner, s)}` });
      } else {
        own.push({ code: 'unreadable-file', severity: 'error', storageId: s.id, pointId: owner?.id, file: s.fileName, message: `cannot read "${s.fileName}" for ${pointPhrase(owner, s)} (${code ?? String(failed)})` });
      }
    }
    if (s.linkId && !storagesById.has(s.linkId)) {
      own.push({
        code: 'broken-link',
        severity: 'error',
        storageId: s.id,
        pointId: owner?.id,
        file: s.fileName,
        message: `broken chain: ${pointPhrase(owner, s)} builds on a backup file the metadata no longer lists (link ${s.linkId.slice(0, 8)})`,
      });
    }
    storageFindings.set(s.id, own.length ? own : NONE);
    inOrder &&= index === files.length;
    files.push({ storageId: s.id, fileName: s.fileName, path: loc?.path, size, expectedSize: s.size });
  };
  let next = 0;
  const checkFiles = async (): Promise<void> => {
    while (next < chain.storages.length) {
      const index = next++;
      const s = chain.storages[index] as ChainStorage;
      const loc = locations.get(s.id);
      let st: StatResult | undefined;
      let failed: unknown;
      if (s.fileName && loc?.path) {
        try {
          const answer = statFn(loc.path);
          // A synchronous stat (a local disk, see share-stat.ts) makes no promise per file.
          st = answer instanceof Promise ? await answer : (answer as StatResult);
        } catch (err) {
          failed = err;
        }
      }
      judgeFile(index, s, loc, st, failed);
    }
  };
  await Promise.all(Array.from({ length: Math.min(STATS_IN_FLIGHT, chain.storages.length) }, checkFiles));
  // Judged in order (a stat that answers at once) and every id once: the sort below would keep the order as it is.
  if (!inOrder || storagesById.size !== chain.storages.length) {
    const storageOrder = new Map(chain.storages.map((s, i) => [s.id, i]));
    files.sort((a, b) => (storageOrder.get(a.storageId) ?? 0) - (storageOrder.get(b.storageId) ?? 0));
  }

  // 2. Point flags and point links.
  const pointFindings = new Map<string, readonly HealthFinding[]>();
  for (const p of chain.points) {
    const own: HealthFinding[] = [];
    if (p.isCorrupted) own.push({ code: 'corrupted', severity: 'error', pointId: p.id, file: p.storageFile, message: `restore point of ${p.label} is marked corrupted by Veeam` });
    if (p.isConsistent === false) own.push({ code: 'inconsistent', severity: 'error', pointId: p.id, file: p.storageFile, message: `restore point of ${p.label} is marked inconsistent (incomplete) by Veeam` });
    if (!p.storageId) own.push({ code: 'no-storage', severity: 'error', pointId: p.id, message: `restore point of ${p.label} has no backup file in the metadata` });
    else if (!storagesById.has(p.storageId)) {
      own.push({ code: 'missing-file', severity: 'error', pointId: p.id, storageId: p.storageId, message: `restore point of ${p.label} refers to a backup file the metadata does not list` });
    }
    if (p.type !== 'full' && p.linkId && !pointsById.has(p.linkId)) {
      own.push({ code: 'broken-link', severity: 'error', pointId: p.id, file: p.storageFile, message: `broken chain: restore point of ${p.label} builds on a restore point the metadata no longer lists (link ${p.linkId.slice(0, 8)})` });
    }
    pointFindings.set(p.id, own.length ? own : NONE);
  }

  // 3. Walk each storage back to its full (memoised), collecting what every file depends on.
  const inherited = new Map<string, readonly HealthFinding[]>();
  const resolving = new Set<string>();
  const chainOf = (startId: string): readonly HealthFinding[] => {
    const stack: string[] = [];
    let id: string | undefined = startId;
    let base: readonly HealthFinding[] = NONE;
    while (id !== undefined) {
      const known = inherited.get(id);
      if (known) {
        base = known;
        break;
      }
      const s = storagesById.get(id);
      if (!s) break; // dangling link: reported on the storage that links here
      if (resolving.has(id)) {
        base = [{ code: 'link-loop', severity: 'error', storageId: id, file: s.fileName, message: `broken chain: the links of "${s.fileName ?? id}" go round in a loop and never reach a full backup` }];
        break;
      }
      resolving.add(id);
      stack.push(id);
      if (!s.linkId) {
        const isFull = s.pointIds.some((pid) => pointsById.get(pid)?.type === 'full') || /\.vbk$/i.test(s.fileName ?? '');
        if (!isFull) {
          base = [{ code: 'no-full', severity: 'error', storageId: s.id, file: s.fileName, message: `broken chain: it starts with "${s.fileName ?? s.id}", which is not a full backup` }];
        }
        break;
      }
      id = s.linkId;
    }
    for (let i = stack.length - 1; i >= 0; i--) {
      const sid = stack[i] as string;
      const s = storagesById.get(sid);
      let own = storageFindings.get(sid) ?? NONE;
      for (const pid of s?.pointIds ?? []) {
        const found = pointFindings.get(pid) ?? NONE;
        if (found.length) own = own.concat(found);
      }
      const all = own.length ? base.concat(own) : base;
      inherited.set(sid, all);
      resolving.delete(sid);
      base = all;
    }
    return inherited.get(startId) ?? base;
  };

  const seen = new Set<HealthFinding>();
  const addOnce = (f: HealthFinding): void => {
    if (!seen.has(f)) {
      seen.add(f);
      findings.push(f);
    }
  };
  // A point stamped later than now (beyond clock skew) cannot be trusted: it is a finding of its own and never counts
  // as restorable, so one bogus date cannot make a late server look current. Points that build on it are not
  // affected: their data does not depend on its date.
  const now = options.now.getTime();
  const toleranceMs = (options.futureToleranceMinutes ?? 10) * 60_000;
  const futureFinding = (p: RestorePoint): HealthFinding | undefined =>
    p.time && p.time.getTime() - now > toleranceMs
      ? {
          code: 'in-future',
          severity: 'error',
          pointId: p.id,
          file: p.storageFile,
          message: `restore point of ${p.label} is recorded as taken ${formatUtcTime(p.time)}, ${formatAge((p.time.getTime() - now) / HOUR)} in the future: the metadata or a clock is wrong, so it is not counted as a restore point; check the clocks of the server and of this computer`,
        }
      : undefined;
  const points: PointHealth[] = chain.points.map((p) => {
    let list: readonly HealthFinding[];
    if (p.storageId && storagesById.has(p.storageId)) {
      list = chainOf(p.storageId);
      // Point flags are attached through the storage; add those of a point that shares no storage bookkeeping.
      const own = pointFindings.get(p.id) ?? NONE;
      const missing = own.length ? own.filter((f) => !list.includes(f)) : NONE;
      if (missing.length) list = list.concat(missing);
    } else {
      list = pointFindings.get(p.id) ?? NONE;
    }
    const future = futureFinding(p);
    if (future) list = list.concat(future);
    for (const f of list) addOnce(f);
    return { point: p, restorable: !list.some((f) => f.severity === 'error'), findings: list };
  });
  // Storage problems of files no point uses are still worth saying.
  for (const s of chain.storages) for (const f of storageFindings.get(s.id) ?? NONE) addOnce(f);
  if (findings.length > 1) {
    const order = new Map(chain.points.map((p, i) => [p.id, i]));
    findings.sort((a, b) => (order.get(a.pointId ?? '') ?? -1) - (order.get(b.pointId ?? '') ?? -1));
  }

  // 4. Recency against the RPO.
  const newest = chain.newest;
  let newestRestorable: RestorePoint | undefined;
  for (let i = points.length - 1; i >= 0 && !newestRestorable; i--) {
    const ph = points[i] as PointHealth;
    if (ph.restorable && ph.point.time) newestRestorable = ph.point;
  }
  const age = (p: RestorePoint | undefined): number | undefined => (p?.time ? (now - p.time.getTime()) / HOUR : undefined);
  const newestAgeHours = age(newest);
  const restorableAgeHours = age(newestRestorable);
  const rpo = options.rpoHours;
  const tail: HealthFinding[] = [];
  if (chain.points.length === 0) {
    tail.push({ code: 'no-points', severity: 'error', message: 'the metadata lists no restore points' });
  } else if (!newest?.time) {
    tail.push({ code: 'time-unknown', severity: 'error', pointId: newest?.id, message: 'the time of the newest restore point is not recorded' });
  } else if (!newestRestorable) {
    tail.push({ code: 'no-restorable-point', severity: 'error', message: 'no restore point of this backup can be restored from the files on the share' });
  } else {
    if (restorableAgeHours !== undefined && restorableAgeHours > rpo) {
      const which = newestRestorable === newest ? 'newest restore point' : 'newest restorable point';
      tail.push({
        code: 'rpo-exceeded',
        severity: 'error',
        pointId: newestRestorable.id,
        message: `the ${which} (${newestRestorable.label}) is ${formatAge(restorableAgeHours)} old, more than the RPO of ${formatAge(rpo)}`,
      });
    }
  }
  if (chain.encrypted) {
    tail.push({ code: 'encrypted', severity: 'info', message: 'the backup is encrypted: restoring it needs the backup encryption password' });
  }
  const chainOk = !findings.some((f) => f.severity === 'error') && !tail.some((f) => f.severity === 'error' && f.code !== 'rpo-exceeded');
  findings.push(...tail);
  const rpoMet = restorableAgeHours !== undefined && restorableAgeHours <= rpo && newestRestorable !== undefined;
  return {
    chainOk,
    ok: chainOk && rpoMet,
    rpoHours: rpo,
    rpoMet,
    newest,
    newestRestorable,
    newestAgeHours,
    restorableAgeHours,
    points,
    findings,
    files,
  };
}
