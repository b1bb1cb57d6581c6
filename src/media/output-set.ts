/**
 * The outputs of one build, committed as a set. `--out DIR` is a link to a set folder kept in a hidden sibling
 * store (`.DIR.lifeboat/`); a build writes its whole set into a new folder there and switches the link to it with
 * one rename, so after any interruption (Ctrl-C, SIGTERM, SIGKILL, power loss) DIR shows exactly one whole build:
 * the previous one, until the switch, or the new one. A lock in the store makes a second build into the same DIR
 * refuse. SIGINT/SIGTERM/SIGHUP remove the unfinished set; after a SIGKILL the next build clears it.
 *
 * Where no link can be made (a Windows drive formatted exFAT or FAT32 takes no junction, Wine makes none), DIR stays
 * a plain folder and the switch is two renames: the previous set into the store, the new one onto DIR. A kill
 * between them leaves DIR missing for a moment with both sets whole in the store; the next build puts the newest
 * back.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, unlinkSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import { writeError } from '../util/atomic-file.js';
import { processAlive } from '../util/process-alive.js';
import { classifyOutDir, isSetLink, makeFolders, type OutDirState } from './out-dir.js';
import { stopHook } from './stop-hook.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Phase = 'building' | 'switching' | 'switched';

/** The hidden store beside `outDir` that holds its sets. */
export function storeFor(outDir: string): string {
  return join(dirname(outDir), `.${basename(outDir)}.lifeboat`);
}

export class OutputSet {
  private readonly names: string[] = [];
  /** Outputs already on their way to disk (see syncSoon). */
  private readonly syncing: Promise<void>[] = [];
  private phase: Phase = 'building';
  private deferred: NodeJS.Signals | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    if (this.phase === 'switching') {
      this.deferred = signal; // the switch is two system calls at most; finish it, then stop
      return;
    }
    this.cleanupSync();
    process.kill(process.pid, signal);
  };

  /** Whether this file system takes the link DIR is made of (see the module comment). */
  private links = true;

  private constructor(
    readonly outDir: string,
    readonly store: string,
    /** The folder the new set is written into. */
    public dir: string,
    private readonly createdStore: boolean,
  ) {}

  /**
   * Checks `outDir` (missing, an empty folder, an earlier build, or a link made by an earlier build), takes the
   * lock and makes the new set's folder. InputError for anything else, naming the path and what to do.
   */
  static async open(outDir: string): Promise<OutputSet> {
    let state = await classifyOutDir(outDir);
    if (state.kind === 'resolved') {
      outDir = state.path;
      state = state.state;
    }
    if (state.kind === 'foreign' || state.kind === 'resolved') throw outDirError(outDir, state.kind === 'foreign' ? state.problem : 'it is a link to a link');
    const store = storeFor(outDir);
    let createdStore = false;
    try {
      await makeFolders(dirname(outDir));
      createdStore = await mkdir(store).then(() => true, (e: NodeJS.ErrnoException) => {
        if (e.code === 'EEXIST') return false;
        throw e;
      });
    } catch (e) {
      throw outDirError(outDir, e);
    }
    const lock = join(store, 'lock');
    await takeLock(lock, outDir);
    const dir = join(store, `partial-${process.pid}-${randomBytes(3).toString('hex')}`);
    const set = new OutputSet(outDir, store, dir, createdStore);
    for (const s of SIGNALS) process.on(s, set.onSignal);
    try {
      set.links = await linksWork(store);
      await set.clearLeftovers(state);
      await mkdir(dir);
    } catch (e) {
      await set.dispose();
      throw outDirError(outDir, e);
    }
    return set;
  }

  /** Path of an output in the new set. */
  path(name: string): string {
    if (!this.names.includes(name)) this.names.push(name);
    return join(this.dir, name);
  }

  /** A scratch path that is not an output (removed before the switch). */
  scratch(name: string): string {
    return join(this.dir, `.work-${name}`);
  }

  /**
   * Starts making a finished output durable now, in the background, so its writeback overlaps the rest of the build
   * instead of all of it waiting for the commit. The commit waits for it (and reports its failure).
   */
  syncSoon(name: string): void {
    const done = fsyncPath(this.path(name));
    done.catch(() => undefined); // reported by commit
    this.syncing.push(done);
  }

  async writeText(name: string, text: string): Promise<string> {
    const path = this.path(name);
    await writeFile(path, text).catch((e) => {
      throw writeError(join(this.outDir, name), e);
    });
    return path;
  }

  /** Makes the new set durable, switches `outDir` to it in one rename and removes the previous set. */
  async commit(buildId: string): Promise<string[]> {
    for (const name of await readdir(this.dir)) {
      if (!this.names.includes(name)) await rm(join(this.dir, name), { recursive: true, force: true });
    }
    // An early sync's failure is reported here: a later fsync of the same file may no longer see it.
    await Promise.all(this.syncing);
    for (const name of this.names) await fsyncPath(join(this.dir, name));
    await fsyncPath(this.dir);
    const setName = `set-${buildId.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    const setDir = join(this.store, setName);
    await rename(this.dir, setDir);
    this.dir = setDir;
    await stopHook('commit:before-switch');
    const state = await classifyOutDir(this.outDir);
    const expected = this.links ? state.kind === 'none' || state.kind === 'managed' : state.kind === 'none' || state.kind === 'legacy';
    if (!expected) throw outDirError(this.outDir, state.kind === 'foreign' ? state.problem : 'it changed during the build');
    const link = this.links ? await this.linkTo(setName) : undefined;
    await this.critical(async () => {
      await stopHook('commit:switching');
      if (link) await switchLink(link, this.outDir);
      else {
        if (state.kind === 'legacy') await rename(this.outDir, join(this.store, `set-previous-${Date.now()}`));
        await rename(setDir, this.outDir);
        this.dir = this.outDir;
      }
      this.phase = 'switched';
    });
    await fsyncPath(dirname(this.outDir)).catch(() => undefined);
    await stopHook('commit:switched');
    this.cleanupSync();
    return this.names.map((n) => join(this.outDir, n));
  }

  /** A new link (in the store) to one of the store's sets, to be renamed onto `outDir`. */
  private async linkTo(setName: string): Promise<string> {
    const link = join(this.store, `link-${process.pid}`);
    await rm(link, { force: true });
    // A relative link keeps the pair movable; Windows gets a junction (no privilege needed), which must be absolute.
    if (process.platform === 'win32') await symlink(join(this.store, setName), link, 'junction');
    else await symlink(join(basename(this.store), setName), link);
    return link;
  }

  /** Runs a switch of `outDir` with SIGINT/SIGTERM/SIGHUP held back until it is done. */
  private async critical(fn: () => Promise<void>): Promise<void> {
    const before = this.phase;
    this.phase = 'switching';
    try {
      await fn();
    } finally {
      if (this.phase === 'switching') this.phase = before;
      const signal = this.deferred;
      this.deferred = undefined;
      if (signal) this.onSignal(signal);
    }
  }

  /** Drops the unfinished set (the folder keeps the previous build) and releases the lock. */
  async dispose(): Promise<void> {
    this.cleanupSync();
  }

  /** Removes what this build leaves in the store: the unfinished or replaced sets, the lock, an empty store. */
  private cleanupSync(): void {
    for (const s of SIGNALS) process.removeListener(s, this.onSignal);
    const current = this.currentSet();
    try {
      for (const name of readdirSafe(this.store)) {
        if (name === 'lock' || name === current) continue;
        if (this.phase !== 'switched' && name.startsWith('set-') && join(this.store, name) !== this.dir) continue;
        rmSync(join(this.store, name), { recursive: true, force: true });
      }
      releaseLock(join(this.store, 'lock'));
      if (this.createdStore && readdirSafe(this.store).length === 0) rmdirSync(this.store);
    } catch {
      // best effort: the next build clears what is left
    }
  }

  /** The set `outDir` links to now, if it is one of ours. */
  private currentSet(): string | undefined {
    try {
      const target = readlinkSyncSafe(this.outDir);
      return target && isSetLink(this.outDir, target) ? basename(target) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Under the lock, before the build: an earlier build in a plain folder (older Lifeboat) or an empty folder
   * becomes a link, so the commit is always one rename; sets nobody links to are from interrupted builds; a link
   * lost to a kill in the middle of that conversion is restored to the newest set.
   */
  private async clearLeftovers(state: OutDirState): Promise<void> {
    if (state.kind === 'empty') await rmdir(this.outDir);
    if (!this.links) {
      // Plain-folder mode: an earlier build in DIR stays until the commit; a DIR lost to a kill mid-switch gets the
      // newest whole set back; everything else in the store is left over from interrupted builds.
      const sets = (await readdir(this.store)).filter((n) => n.startsWith('set-'));
      if (state.kind === 'none' && sets.length > 0) {
        const dated = await Promise.all(sets.map(async (n) => ({ n, t: (await stat(join(this.store, n))).mtimeMs })));
        dated.sort((a, b) => b.t - a.t);
        await this.critical(() => rename(join(this.store, dated[0]!.n), this.outDir));
      }
      for (const name of await readdir(this.store)) if (name !== 'lock') await rm(join(this.store, name), { recursive: true, force: true });
      return;
    }
    if (state.kind === 'legacy') {
      const earlier = `set-earlier-${Date.now()}`;
      const link = await this.linkTo(earlier);
      await this.critical(async () => {
        await rename(this.outDir, join(this.store, earlier));
        await stopHook('open:converting');
        await switchLink(link, this.outDir);
      });
    }
    const names = await readdir(this.store);
    const sets = names.filter((n) => n.startsWith('set-'));
    if (state.kind === 'none' && sets.length > 0) {
      const dated = await Promise.all(sets.map(async (n) => ({ n, t: (await stat(join(this.store, n))).mtimeMs })));
      dated.sort((a, b) => b.t - a.t);
      const link = await this.linkTo(dated[0]!.n);
      await this.critical(() => switchLink(link, this.outDir));
    }
    const current = this.currentSet();
    for (const name of await readdir(this.store)) {
      if (name === 'lock' || name === current) continue;
      await rm(join(this.store, name), { recursive: true, force: true });
    }
  }
}

/** Whether a directory link (a junction on Windows) can be made in `store`: not on exFAT/FAT32, nor under Wine. */
async function linksWork(store: string): Promise<boolean> {
  const probe = join(store, `probe-${process.pid}`);
  try {
    await symlink(process.platform === 'win32' ? store : '.', probe, 'junction');
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTSUP' || code === 'EPERM' || code === 'EINVAL' || code === 'ENOSYS' || code === 'EISDIR') return false;
    throw e;
  } finally {
    await unlink(probe).catch(() => undefined);
  }
}

async function switchLink(link: string, outDir: string): Promise<void> {
  try {
    await rename(link, outDir);
  } catch (e) {
    // Windows does not rename over an existing directory link: the one place where the switch is two steps.
    if (process.platform !== 'win32') throw e;
    await unlink(outDir).catch(() => undefined);
    await rename(link, outDir);
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync().catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EINVAL' && e.code !== 'EISDIR' && e.code !== 'EPERM') throw e;
    });
  } finally {
    await fh.close();
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function readlinkSyncSafe(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

async function takeLock(lock: string, outDir: string): Promise<void> {
  const mine: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, JSON.stringify(mine), { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw outDirError(outDir, e);
    }
    let other: Partial<LockInfo> = {};
    try {
      other = JSON.parse(readFileSync(lock, 'utf8')) as Partial<LockInfo>;
    } catch {
      // a lock being written right now, or damaged: treated as held unless its owner is known to be gone
    }
    const stale = other.host === mine.host && typeof other.pid === 'number' && !processAlive(other.pid);
    if (!stale || attempt > 0) {
      throw new InputError(
        `another build is writing into "${outDir}"${other.pid ? ` (process ${other.pid}${other.host && other.host !== mine.host ? ` on ${other.host}` : ''}, started ${other.started})` : ''}`,
        `Wait for it to finish, or build into another folder. If no build is running, remove ${lock}.`,
      );
    }
    await unlink(lock).catch(() => undefined);
  }
}

function releaseLock(lock: string): void {
  try {
    const info = JSON.parse(readFileSync(lock, 'utf8')) as LockInfo;
    if (info.pid === process.pid) unlinkSync(lock);
  } catch {
    // not ours, or already gone
  }
}

function outDirError(outDir: string, e: unknown): Error {
  if (typeof e === 'string') return new InputError(`--out "${outDir}" cannot take the build: ${e}`, 'Give a folder of its own for the build (Lifeboat replaces its whole content with each build).');
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EBUSY') return new InputError(`--out "${outDir}" is a mount point, which cannot be switched to a new build in one step`, 'Give a folder inside it, e.g. --out <mount point>/lifeboat.');
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new InputError(`--out "${outDir}": cannot make a folder in "${dirname(outDir)}" (${code}); it is not an ordinary folder`, 'Give a folder on an ordinary writable file system.');
  }
  if ( code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code === 'ENOSPC' || code === 'EDQUOT') return writeError(outDir, e);
  if (code === 'EEXIST' || code === 'EINVAL') return new InputError(`cannot make the build folder beside "${outDir}" (${code})`, 'Give a folder on an ordinary writable file system.');
  return e instanceof Error ? e : new Error(String(e));
}

