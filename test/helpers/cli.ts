/** Runs the built `lifeboat` command (make test builds it first) the way a user does. */
import { join } from 'node:path';
import { REPO_ROOT, type RunOptions, type RunResult, run } from './tools.js';

export const LIFEBOAT_BIN = join(REPO_ROOT, 'bin', 'lifeboat.js');

export function lifeboat(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(process.execPath, [LIFEBOAT_BIN, ...args], { timeoutMs: 300_000, ...opts });
}
