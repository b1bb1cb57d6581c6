/**
 * What `--out` holds before a build replaces it: nothing, an empty folder, an earlier build (a link to a set, or
 * a plain folder from an older Lifeboat), or something else, which a build must not replace.
 */
import { lstat, mkdir, readFile, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';

export type OutDirState =
  | { kind: 'none' }
  | { kind: 'empty' }
  /** A link to one of our sets. */
  | { kind: 'managed'; target: string }
  /** A plain folder holding exactly an earlier build's outputs. */
  | { kind: 'legacy' }
  | { kind: 'foreign'; problem: string }
  /** `--out` is a link elsewhere: the state of where it points. */
  | { kind: 'resolved'; path: string; state: OutDirState };

/** Leftovers of builds by Lifeboat versions that staged inside the output folder. */
const OLD_STAGING = '.lifeboat-staging-';

export async function classifyOutDir(outDir: string, followed = false): Promise<OutDirState> {
  let st;
  try {
    st = await lstat(outDir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'none' };
    if (code === 'ENOTDIR') throw new InputError(`--out "${outDir}": a part of that path is a file, not a folder`, 'Give a folder path.');
    throw new InputError(`--out "${outDir}" cannot be read (${code ?? e})`, 'Give a folder you can write to.');
  }
  if (st.isSymbolicLink()) {
    const target = await readlink(outDir);
    if (isSetLink(outDir, target)) return { kind: 'managed', target };
    if (followed) return { kind: 'foreign', problem: 'it is a link to a link' };
    const real = await realpath(outDir).catch(() => undefined);
    if (!real) throw new InputError(`--out "${outDir}" is a link to "${target}", which does not exist`, 'Create the folder it points to, remove the link, or give another folder.');
    return { kind: 'resolved', path: real, state: await classifyOutDir(real, true) };
  }
  if (!st.isDirectory()) {
    throw new InputError(`--out "${outDir}" is ${st.isFile() ? 'a file' : 'not a folder'}`, 'Give a folder for the build (it is created if missing), not the name of a file.');
  }
  const names = (await readdir(outDir)).filter((n) => !n.startsWith(OLD_STAGING));
  if (names.length === 0) return { kind: 'empty' };
  const outputs = await earlierBuildOutputs(outDir);
  const other = outputs ? names.filter((n) => !outputs.has(n)) : names;
  if (other.length === 0) return { kind: 'legacy' };
  const shown = other.slice(0, 3).map((n) => `"${n}"`).join(', ') + (other.length > 3 ? ` and ${other.length - 3} more` : '');
  return { kind: 'foreign', problem: `it holds files that are not from a Lifeboat build (${shown}), and a build replaces the whole folder` };
}

/** True when `target` (what the link `outDir` holds) is a set in `outDir`'s store. */
export function isSetLink(outDir: string, target: string): boolean {
  const abs = resolve(dirname(outDir), target.replace(/^\\\\\?\\/, ''));
  return dirname(abs) === join(dirname(outDir), `.${basename(outDir)}.lifeboat`) && basename(abs).startsWith('set-');
}

/** The names an earlier build wrote into `dir`, from its build report; undefined when there is no readable report. */
async function earlierBuildOutputs(dir: string): Promise<Set<string> | undefined> {
  try {
    const path = join(dir, 'build-report.json');
    if ((await stat(path)).size > 1 << 20) return undefined;
    const report = JSON.parse(await readFile(path, 'utf8')) as { format?: string; outputs?: { file?: unknown }[] };
    if (report.format !== 'lifeboat-build-report' || !Array.isArray(report.outputs)) return undefined;
    const names = new Set(['build-report.json', 'SHA256SUMS']);
    for (const o of report.outputs) if (typeof o.file === 'string' && basename(o.file) === o.file) names.add(o.file);
    return names;
  } catch {
    return undefined;
  }
}


/**
 * `mkdir -p` that gives up: Node's recursive mkdir spins forever on some virtual file systems (a path under /proc),
 * so each missing folder is made on its own, at most 64 of them.
 */
export async function makeFolders(path: string): Promise<void> {
  const missing: string[] = [];
  let cur = resolve(path);
  for (;;) {
    const st = await stat(cur).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e)));
    if (st) {
      if (!st.isDirectory()) throw Object.assign(new Error(`${cur} is not a folder`), { code: 'ENOTDIR' });
      break;
    }
    missing.push(cur);
    if (missing.length > 64 || dirname(cur) === cur) throw Object.assign(new Error(`${path}: too many missing folders`), { code: 'ENOENT' });
    cur = dirname(cur);
  }
  for (const dir of missing.reverse()) {
    await mkdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? undefined : Promise.reject(e)));
  }
}
