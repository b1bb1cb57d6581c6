/**
 * All outputs of a build are written into a hidden staging folder inside the output folder and moved to their final
 * names only when every one of them is complete: a build that fails or is interrupted leaves nothing at the final
 * paths. SIGINT/SIGTERM remove the staging folder; after a SIGKILL the next build removes it.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeError } from '../util/atomic-file.js';

const PREFIX = '.lifeboat-staging-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Staging {
  private readonly names: string[] = [];
  private readonly onSignal = (signal: NodeJS.Signals) => {
    rmSync(this.dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };

  private constructor(readonly outDir: string, readonly dir: string) {}

  static async open(outDir: string): Promise<Staging> {
    try {
      await mkdir(outDir, { recursive: true });
      for (const name of await readdir(outDir)) {
        const pid = Number(name.slice(PREFIX.length));
        if (name.startsWith(PREFIX) && !alive(pid)) await rm(join(outDir, name), { recursive: true, force: true });
      }
      const dir = join(outDir, `${PREFIX}${process.pid}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir);
      const staging = new Staging(outDir, dir);
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, staging.onSignal);
      return staging;
    } catch (e) {
      throw writeError(outDir, e);
    }
  }

  /** Path of an output being staged; it moves to `outDir/name` on commit. */
  path(name: string): string {
    if (!this.names.includes(name)) this.names.push(name);
    return join(this.dir, name);
  }

  /** A scratch path that is not an output (removed with the staging folder). */
  scratch(name: string): string {
    return join(this.dir, `work-${name}`);
  }

  async writeText(name: string, text: string): Promise<string> {
    const path = this.path(name);
    await writeFile(path, text).catch((e) => {
      throw writeError(join(this.outDir, name), e);
    });
    return path;
  }

  /** Moves every staged output into place; then removes the staging folder. */
  async commit(): Promise<string[]> {
    const finals: string[] = [];
    for (const name of this.names) {
      const final = join(this.outDir, name);
      await rename(join(this.dir, name), final);
      finals.push(final);
    }
    await this.dispose();
    return finals;
  }

  async dispose(): Promise<void> {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeListener(s, this.onSignal);
    await rm(this.dir, { recursive: true, force: true });
  }
}
