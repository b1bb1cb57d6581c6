/**
 * What to collect from a failed Windows volume before a restore overwrites it: SOURCES is the table (folder, which
 * files, how many at most), `planDiagnostics` reads it with one planner. A new kind of log is one row in the table.
 * Never throws for a missing file or folder: a volume without Windows gives an empty plan.
 */
import type { Dirent, Stats } from 'node:fs';
import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { baseName, cmp, describeError, errCode, fmtMiB, isWithin, kindOf, matchName } from './volume-fs.js';


export interface DiagnosticsItem {
  category: string;
  /** Relative to the volume root, forward slashes, with the case found on disk. */
  path: string;
  size: number;
}

export interface DiagnosticsPlan {
  items: DiagnosticsItem[];
  /** Sum of `items` sizes (the default collection: no memory dump, no hives). */
  totalBytes: number;
  /** Windows/MEMORY.DMP when present: collected only with `includeMemoryDump`; show its size before asking. */
  memoryDump?: { path: string; size: number };
  /** SYSTEM and SOFTWARE hives (and their .LOG1/.LOG2 transaction logs when present): only with `includeHives`. */
  hives: { path: string; size: number }[];
  /** Files found but left out (unreadable, not a regular file, symlink out of the volume, over a size cap). */
  skipped?: { path: string; reason: string }[];
  /** Human-readable remarks for the menu (e.g. that the Security log is included). */
  notes?: string[];
}

export interface DiagnosticsLimits {
  /** Event logs other than System/Application/Setup/Security larger than this are left out. Default 64 MiB. */
  evtxMaxFileBytes: number;
  /** Total for all event logs; the optional ones stop once it is reached. Default 256 MiB. */
  evtxTotalBytes: number;
  /** Newest CbsPersist_*.log files kept. Default 5. */
  cbsPersistMaxFiles: number;
  /** Total for CbsPersist_*.log files. Default 128 MiB. */
  cbsPersistTotalBytes: number;
}

export const DEFAULT_DIAGNOSTICS_LIMITS: Readonly<DiagnosticsLimits> = Object.freeze({
  evtxMaxFileBytes: 64 * 1024 * 1024,
  evtxTotalBytes: 256 * 1024 * 1024,
  cbsPersistMaxFiles: 5,
  cbsPersistTotalBytes: 128 * 1024 * 1024,
});
export const CATEGORY = {
  eventLogs: 'eventlogs',
  minidumps: 'minidumps',
  memoryDump: 'memorydump',
  srt: 'srt',
  setupapi: 'setupapi',
  cbs: 'cbs',
  panther: 'panther',
  hives: 'hives',
} as const;

/** Event log channels (file name prefixes, lower case) that matter when a machine does not boot. */
const BOOT_EVENT_LOG_PREFIXES = [
  'microsoft-windows-kernel-boot', 'microsoft-windows-kernel-power', 'microsoft-windows-kernel-pnp',
  'microsoft-windows-kernel-whea', 'microsoft-windows-whea', 'microsoft-windows-ntfs',
  'microsoft-windows-diagnostics-performance', 'microsoft-windows-driverframeworks', 'microsoft-windows-storage',
  'microsoft-windows-storagespaces', 'microsoft-windows-partition', 'microsoft-windows-disk', 'microsoft-windows-volume',
  'microsoft-windows-bitlocker', 'microsoft-windows-codeintegrity', 'microsoft-windows-tpm', 'microsoft-windows-servicing',
  'microsoft-windows-windowsupdateclient', 'microsoft-windows-setup', 'microsoft-windows-grouppolicy',
  'microsoft-windows-hyper-v', 'microsoft-windows-bits-client',
];
const CORE_EVENT_LOGS = ['system.evtx', 'application.evtx', 'setup.evtx', 'security.evtx'];

/** How a source picks its files in its folder. */
type Rule =
  /** These names (matched ignoring case), when present. */
  | { kind: 'named'; files: string[] }
  /** Every file whose lower-case name passes `test`. */
  | { kind: 'matching'; test: (lower: string) => boolean }
  /** The newest files passing `test`, at most `maxFiles` of them and `totalBytes` together. */
  | { kind: 'newest'; what: string; test: (lower: string) => boolean; maxFiles: (l: DiagnosticsLimits) => number; totalBytes: (l: DiagnosticsLimits) => number }
  /** Event logs: the core four always, then boot-related channels, then the rest, within the size caps. */
  | { kind: 'eventlogs' };

interface Source {
  category: string;
  /** Folder below the volume root, one component at a time (matched ignoring case). */
  dir: string[];
  rule: Rule;
  /** Where found files go: collected by default (items), or offered separately (memory dump, hives). */
  into?: 'items' | 'memoryDump' | 'hives';
}

/** What explains a failed boot, in the order it goes into the archive. */
export const SOURCES: readonly Source[] = [
  { category: CATEGORY.eventLogs, dir: ['Windows', 'System32', 'winevt', 'Logs'], rule: { kind: 'eventlogs' } },
  { category: CATEGORY.minidumps, dir: ['Windows', 'Minidump'], rule: { kind: 'matching', test: (n) => n.endsWith('.dmp') } },
  { category: CATEGORY.srt, dir: ['Windows', 'System32', 'LogFiles', 'Srt'], rule: { kind: 'named', files: ['SrtTrail.txt'] } },
  { category: CATEGORY.setupapi, dir: ['Windows', 'INF'], rule: { kind: 'named', files: ['setupapi.dev.log', 'setupapi.app.log', 'setupapi.offline.log'] } },
  { category: CATEGORY.cbs, dir: ['Windows', 'Logs', 'CBS'], rule: { kind: 'named', files: ['CBS.log'] } },
  {
    category: CATEGORY.cbs,
    dir: ['Windows', 'Logs', 'CBS'],
    rule: { kind: 'newest', what: 'CbsPersist', test: (n) => n.startsWith('cbspersist_') && n.endsWith('.log'), maxFiles: (l) => l.cbsPersistMaxFiles, totalBytes: (l) => l.cbsPersistTotalBytes },
  },
  { category: CATEGORY.panther, dir: ['Windows', 'Panther'], rule: { kind: 'named', files: ['setupact.log', 'setuperr.log'] } },
  { category: CATEGORY.memoryDump, dir: ['Windows'], rule: { kind: 'named', files: ['MEMORY.DMP'] }, into: 'memoryDump' },
  {
    category: CATEGORY.hives,
    dir: ['Windows', 'System32', 'config'],
    rule: { kind: 'named', files: ['SYSTEM', 'SYSTEM.LOG1', 'SYSTEM.LOG2', 'SOFTWARE', 'SOFTWARE.LOG1', 'SOFTWARE.LOG2'] },
    into: 'hives',
  },
];


interface Found {
  rel: string;
  abs: string;
  size: number;
  mtimeMs: number;
}

class Planner {
  readonly skipped: { path: string; reason: string }[] = [];
  readonly notes: string[] = [];
  private readonly seen = new Set<string>();

  constructor(
    readonly root: string,
    readonly rootReal: string,
  ) {}

  skip(rel: string, reason: string): void {
    if (this.skipped.some((s) => s.path === rel)) return;
    this.skipped.push({ path: rel, reason });
  }

  /** Resolves a directory below the root, one case-insensitive component at a time. */
  async dir(segments: string[]): Promise<{ abs: string; rel: string } | null> {
    let abs = this.root;
    const rel: string[] = [];
    for (const seg of segments) {
      const name = await matchName(abs, seg);
      if (name === null) return null;
      abs = path.join(abs, name);
      rel.push(name);
    }
    const relPath = rel.join('/');
    const check = await this.inside(abs);
    if (check !== null) {
      if (check !== 'missing') this.skip(relPath + '/', check);
      return null;
    }
    try {
      if (!(await stat(abs)).isDirectory()) return null;
    } catch {
      return null;
    }
    return { abs, rel: relPath };
  }

  /** Null when `abs` resolves inside the volume, else why not ('missing' for a path that does not exist). */
  async inside(abs: string): Promise<string | null> {
    let real: string;
    try {
      real = await realpath(abs);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        try {
          if ((await lstat(abs)).isSymbolicLink()) return 'dangling symlink';
        } catch {
          /* does not exist */
        }
        return 'missing';
      }
      return `cannot resolve: ${describeError(err)}`;
    }
    return isWithin(this.rootReal, real) ? null : `symlink leads outside the volume (${real})`;
  }

  /** A file directly inside `dir` (already resolved), matched ignoring case; checked and opened once. */
  async file(dir: { abs: string; rel: string }, entry: Dirent | string): Promise<Found | null> {
    const name = typeof entry === 'string' ? await matchName(dir.abs, entry) : entry.name;
    if (name === null) return null;
    const abs = path.join(dir.abs, name);
    const rel = dir.rel ? `${dir.rel}/${name}` : name;
    const key = rel.toLowerCase();
    if (this.seen.has(key)) return null;
    this.seen.add(key);
    const outside = await this.inside(abs);
    if (outside === 'missing') return null;
    if (outside !== null) {
      this.skip(rel, outside);
      return null;
    }
    let st: Stats;
    try {
      st = await stat(abs);
    } catch (err) {
      this.skip(rel, `unreadable: ${describeError(err)}`);
      return null;
    }
    if (!st.isFile()) {
      this.skip(rel, `not a regular file (${kindOf(st)})`);
      return null;
    }
    try {
      const fh = await open(abs, 'r');
      await fh.close();
    } catch (err) {
      this.skip(rel, `unreadable: ${describeError(err)}`);
      return null;
    }
    return { rel, abs, size: st.size, mtimeMs: st.mtimeMs };
  }

  /** Regular files (or symlinks to them) in `dir` whose lower-cased name satisfies `test`. */
  async list(dir: { abs: string; rel: string }, test: (lower: string) => boolean): Promise<Found[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir.abs, { withFileTypes: true });
    } catch (err) {
      this.skip(dir.rel + '/', `cannot list: ${describeError(err)}`);
      return [];
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const out: Found[] = [];
    for (const e of entries) {
      if (!test(e.name.toLowerCase())) continue;
      const f = await this.file(dir, e);
      if (f) out.push(f);
    }
    return out;
  }
}

/**
 * Finds what can be collected on the Windows volume at `volumeRoot`. Never throws for a missing file or directory:
 * a volume without Windows gives an empty plan.
 */
/** The event logs of `dir`, ranked (core, boot-related, the rest) and kept within the caps. */
async function eventLogs(p: Planner, dir: { abs: string; rel: string }, lim: DiagnosticsLimits): Promise<Found[]> {
  const all = await p.list(dir, (n) => n.endsWith('.evtx'));
  const rank = (f: Found): number => {
    const n = baseName(f.rel).toLowerCase();
    const core = CORE_EVENT_LOGS.indexOf(n);
    if (core >= 0) return core;
    return BOOT_EVENT_LOG_PREFIXES.some((pre) => n.startsWith(pre)) ? 10 : 20;
  };
  all.sort((a, b) => rank(a) - rank(b) || b.mtimeMs - a.mtimeMs || cmp(a.rel, b.rel));
  const kept: Found[] = [];
  let total = 0;
  let capped = 0;
  for (const f of all) {
    const core = rank(f) < CORE_EVENT_LOGS.length;
    if (!core && f.size > lim.evtxMaxFileBytes) {
      p.skip(f.rel, `event log larger than ${fmtMiB(lim.evtxMaxFileBytes)} (${fmtMiB(f.size)})`);
      continue;
    }
    if (!core && total + f.size > lim.evtxTotalBytes) {
      p.skip(f.rel, `event log total cap of ${fmtMiB(lim.evtxTotalBytes)} reached`);
      capped++;
      continue;
    }
    total += f.size;
    kept.push(f);
    if (baseName(f.rel).toLowerCase() === 'security.evtx') p.notes.push('The Security event log is included: it records logons and account names.');
  }
  if (capped > 0) p.notes.push(`${capped} event log(s) left out: total cap of ${fmtMiB(lim.evtxTotalBytes)}.`);
  return kept;
}

/** The files one source finds in its folder. */
async function pick(p: Planner, source: Source, dir: { abs: string; rel: string }, lim: DiagnosticsLimits): Promise<Found[]> {
  const rule = source.rule;
  switch (rule.kind) {
    case 'eventlogs':
      return eventLogs(p, dir, lim);
    case 'matching':
      return p.list(dir, rule.test);
    case 'named': {
      const out: Found[] = [];
      for (const name of rule.files) {
        const f = await p.file(dir, name);
        if (f) out.push(f);
      }
      return out;
    }
    case 'newest': {
      const found = await p.list(dir, rule.test);
      found.sort((a, b) => b.mtimeMs - a.mtimeMs || cmp(b.rel, a.rel));
      const out: Found[] = [];
      let total = 0;
      for (const f of found) {
        if (out.length >= rule.maxFiles(lim)) p.skip(f.rel, `only the newest ${rule.maxFiles(lim)} ${rule.what} logs are collected`);
        else if (total + f.size > rule.totalBytes(lim)) p.skip(f.rel, `${rule.what} total cap of ${fmtMiB(rule.totalBytes(lim))} reached`);
        else {
          total += f.size;
          out.push(f);
        }
      }
      return out;
    }
  }
}

/** Finds what can be collected on the Windows volume at `volumeRoot`, by SOURCES. */
export async function planDiagnostics(volumeRoot: string, limits: Partial<DiagnosticsLimits> = {}): Promise<DiagnosticsPlan> {
  const lim: DiagnosticsLimits = { ...DEFAULT_DIAGNOSTICS_LIMITS, ...limits };
  const root = path.resolve(volumeRoot);
  const p = new Planner(root, await realpath(root));
  const items: DiagnosticsItem[] = [];
  const hives: DiagnosticsPlan['hives'] = [];
  let memoryDump: DiagnosticsPlan['memoryDump'];
  for (const source of SOURCES) {
    const dir = await p.dir(source.dir);
    if (!dir) continue;
    for (const f of await pick(p, source, dir, lim)) {
      if (source.into === 'memoryDump') memoryDump = { path: f.rel, size: f.size };
      else if (source.into === 'hives') hives.push({ path: f.rel, size: f.size });
      else items.push({ category: source.category, path: f.rel, size: f.size });
    }
  }
  const plan: DiagnosticsPlan = { items, totalBytes: items.reduce((s, i) => s + i.size, 0), hives, skipped: p.skipped, notes: p.notes };
  if (memoryDump) plan.memoryDump = memoryDump;
  return plan;
}
