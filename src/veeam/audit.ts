/**
 * The share audit: would the backups on the share meet the site's recovery point objective today?
 *
 * Per site server: newest restore point and its age against what the schedule allows at `now` (the RPO, or longer
 * outside a backup window), restore points against retention, chain health (missing or empty files, broken links,
 * corrupted or inconsistent points; encrypted backups noted), space used. Also: site servers with no backup on the
 * share, backups on the share for servers site.yaml does not list, and .vbm files that cannot be read.
 *
 * Exit code decision (auditExitCode): 3 when any site server is late, has an unhealthy chain or has no backup, or a
 * .vbm cannot be read; 0 otherwise. Warnings (retention, unknown servers, clocks) never change it.
 */
import { relative, sep } from 'node:path';
import { LifeboatError } from '../errors.js';
import type { Server, Site } from '../site/index.js';
import type { DeepAuditOptions, DeepAuditReport } from './deep-audit.js';
import { readChains, scanShare, type DiscoverOptions, type DiscoveredChain, type DiscoveryError } from './discover.js';
import { checkChainHealth, formatAge, type FindingCode, type HealthFinding, type HealthOptions, type Severity } from './health.js';
import { groupServers, type BackupChain, type BackupServer, type RestorePoint } from './model.js';
import { allowedAgeHours, backupSchedule } from './schedule.js';
import { shareStat } from './share-stat.js';
import { recordedBackupBytes } from './stats.js';

/** The audit found an RPO or chain problem: exit code 3 (for monitoring and scheduled tasks). */
export class AuditProblemsFound extends LifeboatError {
  readonly exitCode = 3 as const;
}

export type ServerStatus = 'ok' | 'late' | 'unhealthy' | 'missing';

/** What an audit finding is about: a chain's health finding, or one the audit adds about the server as a whole. */
export type AuditFindingCode = FindingCode | 'no-backup' | 'retention-differs' | 'retention-exceeded' | 'retention-short';

export interface AuditFinding {
  readonly code: AuditFindingCode;
  readonly severity: Severity;
  readonly message: string;
  readonly file?: string;
  /** The .vbm the finding is about, relative to the share. */
  readonly chain?: string;
}

export interface AuditPoint {
  /** UTC, ISO 8601. */
  readonly time?: string;
  /** The server's local time as Veeam recorded it. */
  readonly localTime?: string;
  readonly label: string;
  readonly type: string;
  /** Hours before `now`, two decimals. */
  readonly ageHours?: number;
}

export interface ChainAudit {
  /** The .vbm, relative to the share, with forward slashes. */
  readonly vbm: string;
  readonly job?: string;
  readonly points: number;
  readonly restorablePoints: number;
  readonly chainOk: boolean;
  readonly encrypted: boolean;
  readonly newest?: AuditPoint;
}

export interface ServerAudit {
  readonly name: string;
  readonly role: string;
  readonly fqdn?: string;
  readonly status: ServerStatus;
  readonly ok: boolean;
  readonly rpoMet: boolean;
  readonly chainOk: boolean;
  readonly matchedBy?: string;
  readonly schedule: string;
  readonly rpoHours: number;
  /** How old the newest restorable point may be at `now` under the schedule (RPO, or longer outside a window). */
  readonly allowedAgeHours: number;
  readonly newest?: AuditPoint;
  readonly newestRestorable?: AuditPoint;
  readonly points: {
    readonly total: number;
    readonly restorable: number;
    readonly fulls: number;
    readonly increments: number;
    readonly oldestRestorable?: AuditPoint;
    /** Days between the oldest restorable point and now. */
    readonly daysCovered?: number;
  };
  readonly retention: {
    readonly siteDays: number;
    /** What the Veeam job keeps (from the .vbm), when recorded. */
    readonly backupDays?: number;
    /** About how many points the schedule and retention keep. */
    readonly expectedPoints: number;
  };
  readonly encrypted: boolean;
  readonly space: {
    /** Bytes of the chain files found on the share. */
    readonly onShareBytes: number;
    /** Bytes the metadata records for them. */
    readonly recordedBytes: number;
  };
  readonly chains: readonly ChainAudit[];
  readonly findings: readonly AuditFinding[];
}

export interface UnknownBackup {
  readonly name: string;
  readonly fqdn?: string;
  readonly jobs: readonly string[];
  readonly chains: readonly string[];
  readonly newest?: AuditPoint;
  readonly points: number;
}

export interface AuditReport {
  readonly site: { readonly id: string; readonly name: string };
  readonly share: string;
  readonly now: string;
  readonly rpoHours: number;
  readonly retentionDays: number;
  readonly ok: boolean;
  readonly exitCode: 0 | 3;
  readonly summary: {
    readonly servers: number;
    readonly ok: number;
    readonly late: number;
    readonly unhealthy: number;
    readonly missing: number;
    readonly unknown: number;
    readonly unreadable: number;
  };
  readonly servers: readonly ServerAudit[];
  readonly unknown: readonly UnknownBackup[];
  readonly unreadable: readonly { readonly file: string; readonly message: string }[];
  /** One line per problem that sets the exit code. */
  readonly problems: readonly string[];
  /** Lines worth reading that do not set the exit code. */
  readonly warnings: readonly string[];
  /** With --deep: the full backup files read and checked block by block. */
  readonly deep?: DeepAuditReport;
}

export interface AuditOptions {
  readonly now: Date;
  /** A run that started less than this ago is not yet expected on the share. Default 30. */
  readonly graceMinutes?: number;
  readonly discover?: DiscoverOptions;
  /** Also read the chains' full backup files block by block (src/veeam/deep-audit.ts). */
  readonly deep?: DeepAuditOptions;
}

const HOUR = 3_600_000;
const round2 = (n: number): number => Math.round(n * 100) / 100;

function rel(root: string, p: string): string {
  return relative(root, p).split(sep).join('/');
}

function auditPoint(p: RestorePoint | undefined, now: Date): AuditPoint | undefined {
  if (!p) return undefined;
  return {
    time: p.time?.toISOString(),
    localTime: p.localTime,
    label: p.label,
    type: p.type,
    ageHours: p.time ? round2((now.getTime() - p.time.getTime()) / HOUR) : undefined,
  };
}

/**
 * What the audit keeps of a chain: the model with its point and storage lists emptied (newest point, identity and
 * settings stay), and its health summed up.
 */
interface ChainDigest {
  readonly chain: BackupChain;
  readonly chainOk: boolean;
  readonly findings: readonly HealthFinding[];
  readonly points: number;
  readonly restorablePoints: number;
  readonly restorableWithTime: number;
  readonly fulls: number;
  readonly increments: number;
  readonly newestRestorable?: RestorePoint;
  readonly oldestRestorable?: RestorePoint;
  readonly onShareBytes: number;
  readonly recordedBytes: number;
}

async function digestChain(read: DiscoveredChain, now: Date, stat: HealthOptions['stat']): Promise<ChainDigest> {
  const { chain } = read;
  // No RPO here: it depends on the server's schedule, so it is judged per server, over all its chains.
  const health = await checkChainHealth(read, { now, rpoHours: Number.POSITIVE_INFINITY, stat });
  // One pass over a year of points: the oldest and newest restorable point with a time (the first and the last of
  // the earliest and latest time, as a stable sort by time would put them), and the counts.
  let restorable = 0;
  let withTime = 0;
  let oldest: RestorePoint | undefined;
  let newest: RestorePoint | undefined;
  for (const { point, restorable: ok } of health.points) {
    if (!ok) continue;
    restorable++;
    const t = point.time?.getTime();
    if (t === undefined) continue;
    withTime++;
    if (!oldest || t < (oldest.time as Date).getTime()) oldest = point;
    if (!newest || t >= (newest.time as Date).getTime()) newest = point;
  }
  let fulls = 0;
  let increments = 0;
  for (const p of chain.points) {
    if (p.type === 'full') fulls++;
    else if (p.type === 'increment') increments++;
  }
  return {
    chain: { ...chain, points: [], storages: [] },
    chainOk: health.chainOk,
    findings: health.findings,
    points: chain.points.length,
    restorablePoints: restorable,
    restorableWithTime: withTime,
    fulls,
    increments,
    newestRestorable: newest,
    oldestRestorable: oldest,
    onShareBytes: health.files.reduce((a, f) => a + (f.size ?? 0), 0),
    recordedBytes: recordedBackupBytes(chain),
  };
}

/** The server's offset from UTC (local - UTC, minutes, to the quarter hour) from a point's two times. */
function utcOffsetMinutes(p: RestorePoint | undefined): number {
  if (!p?.local || !p.time) return 0;
  const l = p.local;
  const local = Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second);
  return Math.round((local - p.time.getTime()) / 900_000) * 15;
}

function auditServer(
  site: Site,
  server: Server,
  backup: BackupServer | undefined,
  digested: ReadonlyMap<string, ChainDigest>,
  root: string,
  options: AuditOptions,
): ServerAudit {
  const now = options.now;
  const schedule = backupSchedule(site, server);
  const runsPerDay = schedule.runsPerWeek / 7;
  const expectedPoints = Math.round(runsPerDay * site.retentionDays) + 1;
  const base = {
    name: server.name,
    role: server.role,
    fqdn: server.fqdn,
    schedule: schedule.summary,
    rpoHours: site.rpoHours,
  };
  if (!backup || backup.chains.length === 0) {
    return {
      ...base,
      status: 'missing',
      ok: false,
      rpoMet: false,
      chainOk: false,
      allowedAgeHours: site.rpoHours,
      points: { total: 0, restorable: 0, fulls: 0, increments: 0 },
      retention: { siteDays: site.retentionDays, expectedPoints },
      encrypted: false,
      space: { onShareBytes: 0, recordedBytes: 0 },
      chains: [],
      findings: [
        {
          code: 'no-backup',
          severity: 'error',
          message: `no backup of ${server.name} on the share (looked for job "${server.veeamJob}"${server.fqdn ? `, ${server.fqdn}` : ''} and the name ${server.name})`,
        },
      ],
    };
  }

  const offset = utcOffsetMinutes(backup.newest?.point);
  const allowed = allowedAgeHours(schedule, now, offset, options.graceMinutes ?? 30);
  const findings: AuditFinding[] = [];
  const chains: ChainAudit[] = [];
  const digests: ChainDigest[] = [];
  let onShare = 0;
  let recorded = 0;
  let encrypted = false;
  let backupDays: number | undefined;
  for (const chain of backup.chains) {
    const digest = digested.get(chain.vbmPath);
    if (!digest) continue;
    digests.push(digest);
    const vbm = rel(root, chain.vbmPath);
    for (const f of digest.findings) {
      if (f.code === 'encrypted') {
        encrypted = true;
        continue;
      }
      findings.push({ code: f.code, severity: f.severity, message: f.message, file: f.file, chain: vbm });
    }
    onShare += digest.onShareBytes;
    recorded += digest.recordedBytes;
    backupDays ??= chain.retentionDays;
    chains.push({
      vbm,
      job: chain.jobName,
      points: digest.points,
      restorablePoints: digest.restorablePoints,
      chainOk: digest.chainOk,
      encrypted: chain.encrypted,
      newest: auditPoint(chain.newest, now),
    });
  }

  const byTime = (a: RestorePoint | undefined, b: RestorePoint | undefined): number => (a?.time?.getTime() ?? 0) - (b?.time?.getTime() ?? 0);
  const newestRestorable = digests.map((d) => d.newestRestorable).filter((p) => p !== undefined).sort(byTime).at(-1);
  const oldestRestorable = digests.map((d) => d.oldestRestorable).filter((p) => p !== undefined).sort(byTime)[0];
  const total = (key: 'points' | 'restorableWithTime' | 'fulls' | 'increments'): number => digests.reduce((a, d) => a + d[key], 0);
  const newest = backup.newest?.point;
  const chainOk = digests.every((d) => d.chainOk);
  const ageHours = newestRestorable?.time ? (now.getTime() - newestRestorable.time.getTime()) / HOUR : undefined;
  const rpoMet = ageHours !== undefined && ageHours <= allowed;
  if (newestRestorable && !rpoMet && ageHours !== undefined) {
    const which = newestRestorable === newest ? 'newest restore point' : 'newest restorable point';
    findings.push({
      code: 'rpo-exceeded',
      severity: 'error',
      message:
        `the ${which} (${newestRestorable.label}) is ${formatAge(ageHours)} old; with ${schedule.summary} it should be at most ` +
        `${formatAge(allowed)} old (RPO ${formatAge(site.rpoHours)}): check the scheduled task and the Veeam job on ${server.name}`,
    });
  }
  if (encrypted) {
    findings.push({ code: 'encrypted', severity: 'info', message: 'the backup is encrypted: restoring it needs the backup encryption password' });
  }
  const daysCovered = oldestRestorable?.time ? round2((now.getTime() - oldestRestorable.time.getTime()) / (24 * HOUR)) : undefined;
  if (backupDays !== undefined && backupDays !== site.retentionDays) {
    findings.push({
      code: 'retention-differs',
      severity: 'warning',
      message: `the Veeam job keeps ${backupDays} days of restore points, site.yaml says retentionDays ${site.retentionDays}`,
    });
  }
  const keep = backupDays ?? site.retentionDays;
  if (daysCovered !== undefined && daysCovered > keep + 2) {
    findings.push({
      code: 'retention-exceeded',
      severity: 'warning',
      message: `restore points go back ${Math.floor(daysCovered)} days, more than the ${keep} days kept: old points are not being merged, the share fills up`,
    });
  } else if (daysCovered !== undefined && daysCovered < keep - 1) {
    findings.push({
      code: 'retention-short',
      severity: 'info',
      message: `restore points go back ${Math.floor(daysCovered)} of the ${keep} days kept (a new chain or job fills up over time)`,
    });
  }

  const status: ServerStatus = !chainOk ? 'unhealthy' : !rpoMet ? 'late' : 'ok';
  return {
    ...base,
    status,
    ok: status === 'ok',
    rpoMet,
    chainOk,
    matchedBy: backup.site?.matchedBy,
    allowedAgeHours: round2(allowed),
    newest: auditPoint(newest, now),
    newestRestorable: auditPoint(newestRestorable, now),
    points: {
      total: total('points'),
      restorable: total('restorableWithTime'),
      fulls: total('fulls'),
      increments: total('increments'),
      oldestRestorable: auditPoint(oldestRestorable, now),
      daysCovered,
    },
    retention: { siteDays: site.retentionDays, backupDays, expectedPoints },
    encrypted,
    space: { onShareBytes: onShare, recordedBytes: recorded },
    chains,
    findings,
  };
}

/** Audits the share at `root` against the site. Throws InputError when the share cannot be opened. */
export async function auditShare(site: Site, root: string, options: AuditOptions): Promise<AuditReport> {
  const now = options.now;
  const scan = await scanShare(root, options.discover);
  // Each chain is reduced to its digest as soon as it is read: a year of hourly points is ~25 MB of model per
  // server, and holding every server's at once is what made an audit of five servers take ~1 GB.
  const digested = new Map<string, ChainDigest>();
  const errors: DiscoveryError[] = [];
  const stat = await shareStat(root);
  for await (const read of readChains(scan, options.discover, 'chain')) {
    if ('chain' in read) digested.set(read.chain.vbmPath, await digestChain(read, now, stat));
    else errors.push(read);
  }
  const catalog = groupServers(
    [...digested.values()].map((d) => d.chain),
    site.servers.map((s) => ({ name: s.name, fqdn: s.fqdn, veeamJob: s.veeamJob })),
  );
  const bySiteName = new Map<string, BackupServer>();
  for (const b of catalog.servers) if (b.site) bySiteName.set(b.site.server.name, b);

  const servers: ServerAudit[] = [];
  for (const srv of site.servers) servers.push(auditServer(site, srv, bySiteName.get(srv.name), digested, root, options));

  const unknown: UnknownBackup[] = catalog.unknown.map((b) => ({
    name: b.name,
    fqdn: b.fqdn,
    jobs: [...new Set(b.chains.map((c) => c.jobName).filter((j): j is string => !!j))],
    chains: b.chains.map((c) => rel(root, c.vbmPath)),
    newest: auditPoint(b.newest?.point, now),
    points: b.chains.reduce((a, c) => a + (digested.get(c.vbmPath)?.points ?? 0), 0),
  }));
  const unreadable = errors.map((e) => ({ file: rel(root, e.file), message: e.message }));

  const deep = options.deep
    ? await (await import('./deep-audit.js')).deepAudit(servers.flatMap((s) => s.chains.map((c) => ({ server: s.name, vbm: c.vbm }))), scan, root, options.deep)
    : undefined;

  const problems: string[] = [];
  const warnings: string[] = [];
  for (const s of servers) {
    for (const f of s.findings) {
      const line = `${s.name}: ${f.message}${f.chain && s.chains.length > 1 ? ` (${f.chain})` : ''}`;
      if (f.severity === 'error') problems.push(line);
      else if (f.severity === 'warning') warnings.push(line);
    }
  }
  for (const u of unreadable) problems.push(`cannot read ${u.file}: ${u.message}`);
  for (const u of unknown) {
    warnings.push(
      `backups of ${u.name}${u.fqdn ? ` (${u.fqdn})` : ''} are on the share but site.yaml does not list that server (job ${u.jobs.map((j) => `"${j}"`).join(', ') || 'unknown'}); add it, or fix the veeamJob of the server it belongs to`,
    );
  }
  if (deep) problems.push(...deep.problems);
  if (scan.truncated) warnings.push('the share is larger than the audit searches; some backups may not have been seen');

  const count = (st: ServerStatus): number => servers.filter((s) => s.status === st).length;
  const ok = servers.every((s) => s.ok) && unreadable.length === 0 && (deep?.ok ?? true);
  return {
    site: { id: site.site.id, name: site.site.name },
    share: root,
    now: now.toISOString(),
    rpoHours: site.rpoHours,
    retentionDays: site.retentionDays,
    ok,
    exitCode: ok ? 0 : 3,
    summary: {
      servers: servers.length,
      ok: count('ok'),
      late: count('late'),
      unhealthy: count('unhealthy'),
      missing: count('missing'),
      unknown: unknown.length,
      unreadable: unreadable.length,
    },
    servers,
    unknown,
    unreadable,
    problems,
    warnings,
    ...(deep ? { deep } : {}),
  };
}

/** 0 when every site server meets its RPO with a healthy chain and every .vbm could be read, else 3. */
export function auditExitCode(report: Pick<AuditReport, 'servers' | 'unreadable' | 'deep'>): 0 | 3 {
  return report.servers.every((s) => s.ok) && report.unreadable.length === 0 && (report.deep?.ok ?? true) ? 0 : 3;
}

/** The error the CLI throws for exit code 3, naming what is wrong. */
export function auditError(report: AuditReport): AuditProblemsFound {
  const bad = report.servers.filter((s) => !s.ok).map((s) => `${s.name} ${s.status}`);
  if (report.unreadable.length) bad.push(`${report.unreadable.length} unreadable .vbm`);
  if (report.deep && !report.deep.ok) bad.push(`${report.deep.problems.length} damaged full backup file(s)`);
  return new AuditProblemsFound(
    `the audit found problems: ${bad.join(', ')}`,
    'Fix the backups listed above; run the audit again to confirm (exit code 0 when all is well).',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Presentation: a table for the terminal and an HTML report

function gb(bytes: number): string {
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

function ageText(p: AuditPoint | undefined): string {
  return p?.ageHours === undefined ? '-' : formatAge(p.ageHours);
}

/** Table lines (no colour). `paint` may colour a status word. */
export function formatAuditTable(report: AuditReport, paint: (status: ServerStatus, text: string) => string = (_s, t) => t): string[] {
  const rows: { cells: string[]; status?: ServerStatus }[] = [
    { cells: ['SERVER', 'STATUS', 'NEWEST RESTORABLE', 'AGE', 'ALLOWED', 'POINTS', 'KEPT', 'SPACE'] },
  ];
  for (const s of report.servers) {
    rows.push({
      status: s.status,
      cells: [
        s.name,
        s.status.toUpperCase() === 'OK' ? 'ok' : s.status.toUpperCase(),
        s.newestRestorable?.label ?? '-',
        ageText(s.newestRestorable),
        formatAge(s.allowedAgeHours),
        s.status === 'missing' ? '-' : `${s.points.restorable}/${s.points.total}`,
        s.points.daysCovered === undefined ? '-' : `${Math.floor(s.points.daysCovered)}/${s.retention.backupDays ?? s.retention.siteDays} d`,
        s.status === 'missing' ? '-' : gb(s.space.onShareBytes),
      ],
    });
  }
  const widths = rows[0]!.cells.map((_c, i) => Math.max(...rows.map((r) => (r.cells[i] ?? '').length)));
  const lines = rows.map((r) =>
    r.cells
      .map((c, i) => {
        const padded = c.padEnd(widths[i] ?? 0);
        return i === 1 && r.status ? paint(r.status, padded) : padded;
      })
      .join('  ')
      .trimEnd(),
  );
  for (const u of report.unknown) lines.push(`(not in site.yaml) ${u.name}: ${u.points} points, newest ${u.newest?.label ?? '-'} (${ageText(u.newest)} old)`);
  return lines;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A self-contained HTML page of the report (no scripts, no external resources). */
export function renderAuditHtml(report: AuditReport): string {
  const e = escapeHtml;
  const statusClass = (s: ServerStatus): string => (s === 'ok' ? 'ok' : 'bad');
  const serverRows = report.servers
    .map(
      (s) => `<tr class="${statusClass(s.status)}"><td>${e(s.name)}</td><td>${e(s.status)}</td><td>${e(s.newestRestorable?.label ?? '-')}</td>` +
        `<td>${e(ageText(s.newestRestorable))}</td><td>${e(formatAge(s.allowedAgeHours))}</td>` +
        `<td>${s.points.restorable}/${s.points.total}</td><td>${s.points.daysCovered === undefined ? '-' : Math.floor(s.points.daysCovered)} / ${s.retention.backupDays ?? s.retention.siteDays} days</td>` +
        `<td>${e(gb(s.space.onShareBytes))}</td><td>${s.encrypted ? 'yes' : 'no'}</td></tr>`,
    )
    .join('\n');
  const details = report.servers
    .map((s) => {
      const items = s.findings.map((f) => `<li class="${e(f.severity)}"><b>${e(f.severity)}</b> ${e(f.message)}${f.file ? ` <code>${e(f.file)}</code>` : ''}</li>`);
      return `<h3>${e(s.name)} <small>(${e(s.role)}${s.fqdn ? `, ${e(s.fqdn)}` : ''}; schedule: ${e(s.schedule)})</small></h3>\n` +
        (items.length ? `<ul>${items.join('')}</ul>` : '<p>No findings.</p>');
    })
    .join('\n');
  const unknown = report.unknown.length
    ? `<h2>Backups of servers not in site.yaml</h2><ul>${report.unknown
        .map((u) => `<li>${e(u.name)}${u.fqdn ? ` (${e(u.fqdn)})` : ''}: ${u.points} points, newest ${e(u.newest?.label ?? '-')}; ${u.chains.map((c) => `<code>${e(c)}</code>`).join(', ')}</li>`)
        .join('')}</ul>`
    : '';
  const unreadable = report.unreadable.length
    ? `<h2>Unreadable metadata</h2><ul>${report.unreadable.map((u) => `<li><code>${e(u.file)}</code>: ${e(u.message)}</li>`).join('')}</ul>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Backup audit: ${e(report.site.name)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:left}
tr.ok td:nth-child(2){color:#186a18;font-weight:bold}tr.bad td:nth-child(2){color:#b00;font-weight:bold}
li.error b{color:#b00}li.warning b{color:#a60}li.info b{color:#456}
.verdict{font-size:1.3em;font-weight:bold}.verdict.ok{color:#186a18}.verdict.bad{color:#b00}
</style>
</head>
<body>
<h1>Backup audit: ${e(report.site.name)}</h1>
<p>Share <code>${e(report.share)}</code>, checked ${e(report.now)}; RPO ${report.rpoHours} hours, ${report.retentionDays} days kept.</p>
<p class="verdict ${report.ok ? 'ok' : 'bad'}">${report.ok ? 'All servers meet their RPO with healthy backup chains.' : `Problems found: ${report.problems.length}.`}</p>
<table>
<tr><th>Server</th><th>Status</th><th>Newest restorable</th><th>Age</th><th>Allowed</th><th>Restorable/points</th><th>Days covered / kept</th><th>Space</th><th>Encrypted</th></tr>
${serverRows}
</table>
<h2>Findings</h2>
${details}
${unknown}
${unreadable}
${report.deep ? `<h2>Block-level check of full backups</h2>\n<ul>${report.deep.lines.map((l) => `<li>${e(l)}</li>`).join('')}</ul>` : ''}
</body>
</html>
`;
}
