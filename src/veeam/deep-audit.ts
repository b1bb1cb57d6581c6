/**
 * `lifeboat audit --deep`: beyond the metadata, the chain's full backup files (.vbk) read and checked block by block
 * (src/veeam/vbk), so that a backup whose blocks rotted on the NAS is found before a restore needs it.
 *
 * A full read of a large share takes hours over 1 GbE, so a run may read a subset of the stored blocks: a random
 * fraction, or slice n of m (run slice 1/7 on Monday, 2/7 on Tuesday, ... and a week covers everything). Metadata
 * (slots and banks) is always checked whole. The report says how much was read.
 *
 * Increments (.vib) are checked from the chain metadata only: no real increment file has been available to prove a
 * block-level reader on, and the report says so rather than pretend.
 */
import { relative, sep } from 'node:path';
import { InputError, LifeboatError } from '../errors.js';
import { type DiscoveredChain, readChains, type ShareScan } from './discover.js';
import { describeSubset, type Subset, VbkDamageError, verifyBackup, type VerifyReport } from './vbk/index.js';

export interface DeepAuditOptions {
  readonly subset: Subset;
  /** Bytes of backup files read so far, of all the files this run checks. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Time stamps in the report (the audit's --now is about the backups' age, not this). */
  readonly clock?: () => Date;
}

export type DeepStatus = 'verified' | 'damaged' | 'missing' | 'not-checked';

export interface DeepFileCheck {
  readonly server: string;
  /** The chain's .vbm and the full backup file, relative to the share. */
  readonly chain: string;
  readonly file: string;
  readonly status: DeepStatus;
  /** When the check finished (ISO 8601). */
  readonly checkedAt: string;
  readonly blocksChecked: number;
  readonly blocksTotal: number;
  readonly storedBytesRead: number;
  readonly storedBytesTotal: number;
  readonly dataBytesChecked: number;
  /** Damaged: the first damaged item (block with internal file and offset, or metadata bank). */
  readonly damage?: { readonly what: string; readonly internalFile?: string; readonly internalOffset?: number; readonly reason: string };
  readonly damageCount?: number;
  /** Missing / not checked: why. */
  readonly message?: string;
}

export interface DeepAuditReport {
  readonly subset: string;
  readonly ok: boolean;
  readonly files: readonly DeepFileCheck[];
  readonly increments: { readonly count: number; readonly checked: 'metadata-only'; readonly note: string };
  readonly storedBytesRead: number;
  readonly storedBytesTotal: number;
  /** storedBytesRead / storedBytesTotal, 0..1. */
  readonly fractionRead: number;
  readonly problems: readonly string[];
  readonly lines: readonly string[];
}

export interface DeepTarget {
  readonly server: string;
  /** The chain's .vbm relative to the share, as the audit report names it. */
  readonly vbm: string;
}

const rel = (root: string, p: string): string => relative(root, p).split(sep).join('/');
const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;

/** `--read-data-subset`: "n/m" (slice n of m) or "p%" (a random fraction); undefined means everything. */
export function parseSubset(text: string | undefined): Subset {
  if (text === undefined || text === '' || text === 'all') return { kind: 'all' };
  const slice = /^(\d+)\/(\d+)$/.exec(text);
  if (slice) {
    const n = Number(slice[1]);
    const m = Number(slice[2]);
    if (m >= 1 && m <= 10_000 && n >= 1 && n <= m) return m === 1 ? { kind: 'all' } : { kind: 'slice', n, m };
  }
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) {
    const p = Number(pct[1]);
    if (p > 0 && p <= 100) return p === 100 ? { kind: 'all' } : { kind: 'fraction', fraction: p / 100, seed: Math.floor(Math.random() * 0x7fffffff) };
  }
  throw new InputError(
    `--read-data-subset "${text}" is not n/m or a percentage`,
    'Give a slice such as 3/7 (the third of seven parts: run 1/7 to 7/7 on seven nights to read everything) or a share such as 10%.',
  );
}

/** Verifies the full backup files of the given chains. */
export async function deepAudit(
  targets: readonly DeepTarget[],
  scan: ShareScan,
  root: string,
  options: DeepAuditOptions,
): Promise<DeepAuditReport> {
  const clock = options.clock ?? (() => new Date());
  // The audit keeps only a digest of each chain; read again just the chains of the servers checked here.
  const wanted = new Set(targets.map((t) => t.vbm));
  const byRel = new Map<string, DiscoveredChain>();
  for await (const read of readChains({ ...scan, vbmFiles: scan.vbmFiles.filter((f) => wanted.has(rel(root, f))) })) {
    if ('chain' in read) byRel.set(rel(root, read.chain.vbmPath), read);
  }
  const jobs: { server: string; chain: string; path?: string; name: string }[] = [];
  let increments = 0;
  for (const t of targets) {
    const found = byRel.get(t.vbm);
    if (!found) continue;
    const fullIds = new Set(found.chain.points.filter((p) => p.type === 'full').map((p) => p.storageId));
    for (const s of found.chain.storages) {
      const loc = found.locations.get(s.id);
      const name = loc?.fileName ?? s.fileName ?? s.id;
      const isFull = fullIds.has(s.id) || /\.vbk$/i.test(name);
      if (!isFull) {
        increments++;
        continue;
      }
      jobs.push({ server: t.server, chain: t.vbm, path: loc?.path, name });
    }
  }

  const files: DeepFileCheck[] = [];
  let readSoFar = 0;
  const { stat } = await import('node:fs/promises');
  const sizes = await Promise.all(jobs.map(async (j) => (j.path ? ((await stat(j.path).catch(() => undefined))?.size ?? 0) : 0)));
  const grand = sizes.reduce((a, b) => a + b, 0);
  for (const [i, job] of jobs.entries()) {
    const base = { server: job.server, chain: job.chain, file: job.path ? rel(root, job.path) : job.name };
    const empty = { blocksChecked: 0, blocksTotal: 0, storedBytesRead: 0, storedBytesTotal: 0, dataBytesChecked: 0 };
    if (!job.path) {
      files.push({ ...base, ...empty, status: 'missing', checkedAt: clock().toISOString(), message: 'the full backup file is not on the share' });
      continue;
    }
    const before = readSoFar;
    let report: VerifyReport;
    try {
      report = await verifyBackup(job.path, {
        subset: options.subset,
        onProgress: (done) => options.onProgress?.(before + done, grand),
      });
    } catch (e) {
      if (!(e instanceof LifeboatError)) throw e;
      // Not a Veeam file, truncated headers, a damaged bank with no intact copy: damage as far as the audit goes.
      // Encrypted backups and formats the reader does not know are noted, not counted as damage.
      const notChecked = /encrypted|storage format \d+;/.test(e.message);
      files.push({
        ...base, ...empty,
        status: notChecked ? 'not-checked' : 'damaged',
        checkedAt: clock().toISOString(),
        message: e.message.replace(`${job.path}: `, ''),
        ...(e instanceof VbkDamageError ? { damage: { what: e.damage.what, reason: e.damage.reason } } : {}),
      });
      readSoFar += sizes[i] ?? 0;
      continue;
    }
    readSoFar += sizes[i] ?? 0;
    const first = report.damage[0];
    files.push({
      ...base,
      status: report.ok ? 'verified' : 'damaged',
      checkedAt: clock().toISOString(),
      blocksChecked: report.blocksChecked,
      blocksTotal: report.blocksTotal,
      storedBytesRead: report.storedBytesRead,
      storedBytesTotal: report.storedBytesTotal,
      dataBytesChecked: report.dataBytesChecked,
      ...(first ? {
        damage: {
          what: first.what, reason: first.reason,
          ...(first.internalFile !== undefined ? { internalFile: first.internalFile, internalOffset: first.internalOffset } : {}),
        },
        damageCount: report.damageCount,
      } : {}),
    });
  }

  const storedBytesRead = files.reduce((a, f) => a + f.storedBytesRead, 0);
  const storedBytesTotal = files.reduce((a, f) => a + f.storedBytesTotal, 0);
  const subset = describeSubset(options.subset);
  const problems: string[] = [];
  const lines: string[] = [];
  for (const f of files) {
    if (f.status === 'verified') {
      lines.push(`${f.server}: ${f.file} verified ${f.checkedAt}, ${f.blocksChecked} of ${f.blocksTotal} blocks, ${gb(f.dataBytesChecked)} of data (${gb(f.storedBytesRead)} read)`);
    } else if (f.status === 'damaged') {
      const text = f.damage ? `${f.damage.what}: ${f.damage.reason}` : (f.message ?? 'damaged');
      lines.push(`${f.server}: ${f.file} DAMAGED: ${text}`);
      problems.push(`${f.server}: the full backup ${f.file} is damaged: ${text}; run an active full backup and keep this file for analysis`);
    } else if (f.status === 'missing') {
      lines.push(`${f.server}: ${f.file} missing`);
    } else {
      lines.push(`${f.server}: ${f.file} not checked: ${f.message}`);
    }
  }
  const note =
    'increments (.vib) are checked from metadata only: their presence, size and links in the chain; Lifeboat reads full backups (.vbk) block by block';
  if (increments > 0) lines.push(`${increments} increment file(s): ${note}`);
  const fractionRead = storedBytesTotal > 0 ? storedBytesRead / storedBytesTotal : files.length ? 1 : 0;
  lines.push(`read ${gb(storedBytesRead)} of ${gb(storedBytesTotal)} stored in full backups (${(fractionRead * 100).toFixed(1)}%, ${subset}); metadata checked whole`);
  return {
    subset,
    ok: problems.length === 0,
    files,
    increments: { count: increments, checked: 'metadata-only', note },
    storedBytesRead,
    storedBytesTotal,
    fractionRead,
    problems,
    lines,
  };
}
