/**
 * The DISM backend (Windows only, elevated prompt). DISM cannot extract a single file, so both reading and adding
 * mount the image:
 *
 *   read: Dism /Mount-Image /ImageFile:"W" /Index:N /MountDir:"D" /ReadOnly, copy the file out,
 *         Dism /Unmount-Image /MountDir:"D" /Discard
 *   add:  Dism /Mount-Image /ImageFile:"W" /Index:N /MountDir:"D", copy the files in,
 *         Dism /Unmount-Image /MountDir:"D" /Commit   (on any failure: /Discard, always)
 *
 * The boot index is read from the WIM header directly (DISM does not print it). The command lines are produced by
 * pure functions ({@link dismAddPlan}, {@link dismReadPlan}) so they are unit-tested on any OS; arguments carry their
 * own quotes in DISM's documented form (`/ImageFile:"C:\My Dir\boot.wim"`) and are passed verbatim.
 */
import { copyFile, mkdir, mkdtemp, readFile, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, win32 } from 'node:path';
import { InputError, JobError } from '../errors.js';
import type { WimBackend, WimFileToAdd } from './backend.js';
import { MAX_READ_BYTES, type ToolCommand, describeFailure, runTool } from './exec.js';
import { checkImageIndex, effectiveBootIndex, readWimHeader } from './header.js';
import { imagePathSegments } from './image-path.js';

export interface DismCommand {
  file: string;
  /** Verbatim arguments (quotes included). */
  args: string[];
}

export type DismAction =
  | { kind: 'copy-in'; from: string; to: string }
  | { kind: 'read'; from: string };

/** What one backend operation does, in order: mount, actions, finish; `onFailure` after a mount that went wrong. */
export interface DismPlan {
  mount: DismCommand;
  actions: DismAction[];
  finish: DismCommand;
  onFailure: DismCommand;
}

const DEFAULT_DISM = 'dism.exe';

/** A Windows path for a DISM argument: backslashes, no trailing backslash (it would escape the closing quote). */
export function dismPath(p: string): string {
  if (p.includes('"') || /[\0-\x1f]/.test(p)) throw new InputError(`path ${JSON.stringify(p)}: not usable in a DISM command line`);
  const w = win32.normalize(p.replace(/\//g, '\\'));
  return w.length > 3 ? w.replace(/\\+$/, '') : w;
}

export function dismMountCommand(wim: string, index: number, mountDir: string, readOnly: boolean, dism = DEFAULT_DISM): DismCommand {
  if (!Number.isSafeInteger(index) || index < 1) throw new InputError(`WIM image index ${index}: must be 1 or more`);
  const args = ['/Mount-Image', `/ImageFile:"${dismPath(wim)}"`, `/Index:${index}`, `/MountDir:"${dismPath(mountDir)}"`];
  if (readOnly) args.push('/ReadOnly');
  return { file: dism, args };
}

export function dismUnmountCommand(mountDir: string, mode: 'commit' | 'discard', dism = DEFAULT_DISM): DismCommand {
  return { file: dism, args: ['/Unmount-Image', `/MountDir:"${dismPath(mountDir)}"`, mode === 'commit' ? '/Commit' : '/Discard'] };
}

/** Where an image path lies under the mount directory. */
export function mountedPath(mountDir: string, imagePath: string): string {
  return win32.join(dismPath(mountDir), ...imagePathSegments(imagePath));
}

export function dismReadPlan(wim: string, index: number, mountDir: string, path: string, dism = DEFAULT_DISM): DismPlan {
  return {
    mount: dismMountCommand(wim, index, mountDir, true, dism),
    actions: [{ kind: 'read', from: mountedPath(mountDir, path) }],
    finish: dismUnmountCommand(mountDir, 'discard', dism),
    onFailure: dismUnmountCommand(mountDir, 'discard', dism),
  };
}

export function dismAddPlan(wim: string, index: number, mountDir: string, files: readonly WimFileToAdd[], dism = DEFAULT_DISM): DismPlan {
  return {
    mount: dismMountCommand(wim, index, mountDir, false, dism),
    actions: files.map((f) => ({ kind: 'copy-in' as const, from: win32.normalize(f.source), to: mountedPath(mountDir, f.target) })),
    finish: dismUnmountCommand(mountDir, 'commit', dism),
    onFailure: dismUnmountCommand(mountDir, 'discard', dism),
  };
}

/** The plan as the command lines and copies a person would type (for logs, docs and tests). */
export function dismPlanLines(plan: DismPlan): string[] {
  const line = (c: DismCommand) => [c.file, ...c.args].join(' ');
  return [
    line(plan.mount),
    ...plan.actions.map((a) => (a.kind === 'read' ? `read "${a.from}"` : `copy "${a.from}" "${a.to}"`)),
    line(plan.finish),
  ];
}

export interface DismOptions {
  /** Program to run. Default `dism.exe` (on PATH in every Windows since 8). */
  command?: string;
  /** Timeout for each DISM call. Default 20 min (mounting a large image is slow). */
  timeoutMs?: number;
  maxReadBytes?: number;
}

export class DismBackend implements WimBackend {
  readonly name = 'dism' as const;
  private readonly command: string;
  private readonly timeoutMs: number;
  private readonly maxReadBytes: number;
  private availability?: Promise<boolean>;

  constructor(opts: DismOptions = {}) {
    this.command = opts.command ?? DEFAULT_DISM;
    this.timeoutMs = opts.timeoutMs ?? 20 * 60_000;
    this.maxReadBytes = opts.maxReadBytes ?? MAX_READ_BYTES;
  }

  private tool(c: DismCommand): ToolCommand {
    return { file: c.file, args: c.args, timeoutMs: this.timeoutMs, verbatim: true };
  }

  private async run(c: DismCommand): Promise<void> {
    const cmd = this.tool(c);
    const r = await runTool(cmd);
    if (r.exitCode !== 0) {
      // DISM writes its errors on stdout
      const out = `${r.stderr}\n${r.stdout.toString('utf8')}`;
      throw new JobError(describeFailure(cmd, { ...r, stderr: out }));
    }
  }

  /** Windows, and DISM answers (it needs an elevated prompt: exit 740 otherwise). */
  available(): Promise<boolean> {
    this.availability ??=
      process.platform !== 'win32'
        ? Promise.resolve(false)
        : runTool({ file: this.command, args: ['/English', '/Get-MountedWimInfo'], timeoutMs: 60_000, verbatim: true }).then(
            (r) => r.exitCode === 0,
          );
    return this.availability;
  }

  async bootIndex(wim: string): Promise<number> {
    return effectiveBootIndex(await readWimHeader(wim), wim);
  }

  /** Runs a plan: mount, actions, finish; after a successful mount any failure unmounts with /Discard. */
  private async execute(plan: DismPlan, mountDir: string, onRead?: (b: Buffer | undefined) => void): Promise<void> {
    await this.run(plan.mount);
    try {
      for (const a of plan.actions) {
        if (a.kind === 'copy-in') {
          await mkdir(win32.dirname(a.to), { recursive: true });
          await copyFile(a.from, a.to);
        } else {
          onRead?.(await this.readMounted(a.from));
        }
      }
      await this.run(plan.finish);
    } catch (err) {
      await this.run(plan.onFailure).catch((e: unknown) => {
        throw new JobError(
          `${err instanceof Error ? err.message : String(err)}\nand the image could not be unmounted from ${mountDir}: ${String(e)}`,
          'Run "Dism /Cleanup-Mountpoints" in an elevated prompt.',
          { cause: err },
        );
      });
      throw err;
    }
  }

  private async readMounted(file: string): Promise<Buffer | undefined> {
    const st = await stat(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
      throw err;
    });
    if (!st) return undefined;
    if (!st.isFile()) throw new InputError(`${file}: not a regular file in the image`);
    if (st.size > this.maxReadBytes) throw new InputError(`${file}: larger than ${this.maxReadBytes} bytes; refusing to read it`);
    return readFile(file);
  }

  private async withMountDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-dism-'));
    try {
      return await fn(dir);
    } finally {
      // never recursive: if the unmount failed the directory still shows the image's files
      await rmdir(dir).catch(() => undefined);
    }
  }

  async readFile(wim: string, index: number, path: string): Promise<Buffer | undefined> {
    checkImageIndex(await readWimHeader(wim), index, wim);
    return this.withMountDir(async (dir) => {
      let out: Buffer | undefined;
      await this.execute(dismReadPlan(wim, index, dir, path, this.command), dir, (b) => (out = b));
      return out;
    });
  }

  async addFiles(wim: string, index: number, files: WimFileToAdd[]): Promise<void> {
    if (files.length === 0) return;
    checkImageIndex(await readWimHeader(wim), index, wim);
    await this.withMountDir((dir) => this.execute(dismAddPlan(wim, index, dir, files, this.command), dir));
  }
}
