#!/usr/bin/env node
// Builds the portable release: dist/release/lifeboat-win-x64.exe and dist/release/lifeboat-linux-x64, Node 22 single
// executable applications (SEA) of the whole CLI, and dist/release/SHA256SUMS. Plain Node ESM so it runs before tsc.
//   1. build/assistant.exe is brought up to date (scripts/build-assistant.mjs; it carries it as an asset);
//   2. esbuild bundles src/cli/main.ts -> build/release/lifeboat.cjs (CJS, node22, minified, version fixed);
//   3. the files the CLI ships with become SEA assets, listed in the asset resources.json that src/resources.ts reads:
//      templates/, manuals/, winpe-overlay/, examples/site.yaml and drivers/ (for `demo`), the training scenarios, and
//      build/assistant.exe gzip-compressed;
//   4. one SEA blob (made by the Linux node of the target's exact version, in a private work folder under
//      build/release) is injected into a copy of each pinned runtime (scripts/lib/sea.mjs: node.exe unsigned first
//      with osslsigncode, then postject).
// Outputs are written beside their final name and renamed into place; SHA256SUMS last. Progress goes to stderr;
// exit 1 on failure. Incremental: steps 1-3 take seconds; when the bundle, the assets, the tools and this script are
// those of build/release/stamp.json and both executables still have the hashes recorded there, step 4 (minutes of
// postject) is skipped. `--force` rebuilds.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  BuildError, NODE_VERSION, ROOT, bundle, ensureRuntimes, hashFile, injectSea, listFiles, makeSeaBlob, mb, readJson, rel,
  seconds, sha256, timed, toolVersions, writeAtomic,
} from './lib/sea.mjs';

/**
 * JSON files bundled libraries `require()` by a computed path at run time, by file name. playwright-core reads its
 * package.json (version) and browsers.json next to its own folder when loaded; a SEA's require() loads only
 * built-in modules, so these are served from the bundle instead.
 */
const RUNTIME_JSON = {
  'package.json': 'node_modules/playwright-core/package.json',
  'browsers.json': 'node_modules/playwright-core/browsers.json',
};

/**
 * First statements of the bundle: the console title (an empty one aborts Node 22 on Windows, nodejs/node#58695),
 * then a require() that answers RUNTIME_JSON's names by an absolute path and leaves everything else to the SEA's.
 */
async function banner() {
  const files = {};
  for (const [name, path] of Object.entries(RUNTIME_JSON)) files[name] = JSON.parse(await readFile(join(ROOT, path), 'utf8'));
  return (
    "process.title='Lifeboat';" +
    `var require=(function(r,f){return function(id){var b=/^(?:[A-Za-z]:)?[\\\\/]/.test(id)&&id.split(/[\\\\/]/).pop();` +
    `if(b&&Object.prototype.hasOwnProperty.call(f,b))return f[b];return r(id)}})(require,${JSON.stringify(files)});`
  );
}
const ENTRY = 'src/cli/main.ts';
/** The one module that may mention import.meta (it does not use it inside the exe). */
const IMPORT_META_ALLOWED = ['src/resources.ts'];
/** Shipped files, relative to the repository; folders are taken whole. */
const RESOURCES = ['templates', 'manuals', 'winpe-overlay', 'examples/site.yaml', 'examples/drivers', 'examples/scenarios', 'build/assistant.exe'];
/** Resources stored gzip-compressed (node.exe inside compresses 87 MB -> 33 MB; the rest is a few kB). */
const GZIP = new Set(['build/assistant.exe']);

const WORK = join(ROOT, 'build', 'release');
const OUT_DIR = join(ROOT, 'dist', 'release');
const OUT = {
  win: join(OUT_DIR, 'lifeboat-win-x64.exe'),
  linux: join(OUT_DIR, 'lifeboat-linux-x64'),
  sums: join(OUT_DIR, 'SHA256SUMS'),
  stamp: join(WORK, 'stamp.json'),
};

const log = (msg) => process.stderr.write(`build-release: ${msg}\n`);

/** Every shipped file: repository path, host path, asset name and index entry (read and hashed, nothing written). */
async function collectResources() {
  const list = [];
  for (const r of RESOURCES) {
    const abs = join(ROOT, r);
    const info = await stat(abs).catch(() => undefined);
    if (!info) throw new BuildError(`${r} is missing`);
    for (const file of info.isDirectory() ? (await listFiles(abs)).sort() : [abs]) {
      const name = rel(file);
      const bytes = await readFile(file);
      list.push({ name, file, entry: { asset: `r${list.length}`, size: bytes.length, sha256: sha256(bytes), gzip: GZIP.has(name) } });
    }
  }
  const index = Object.fromEntries(list.map((r) => [r.name, r.entry]));
  return { list, indexText: `${JSON.stringify(index, null, 2)}\n` };
}

/** Writes the asset files and their index into `dir`; returns the SEA `assets` map. */
async function writeAssets(dir, { list, indexText }) {
  const assets = {};
  for (const r of list) {
    const bytes = await readFile(r.file);
    if (sha256(bytes) !== r.entry.sha256) throw new BuildError(`${r.name} changed during the build`);
    const assetFile = join(dir, r.entry.asset);
    await writeFile(assetFile, r.entry.gzip ? gzipSync(bytes, { level: 9 }) : bytes);
    assets[r.entry.asset] = assetFile;
  }
  const indexFile = join(dir, 'resources.json');
  await writeFile(indexFile, indexText);
  assets['resources.json'] = indexFile;
  return assets;
}

/** True when the executables and SHA256SUMS are those the stamp records for `key`. */
async function upToDate(key) {
  const stamp = await readJson(OUT.stamp);
  if (!stamp || stamp.key !== key) return false;
  for (const [file, digest] of [[OUT.win, stamp.win], [OUT.linux, stamp.linux]]) {
    if (!existsSync(file) || (await hashFile(file)) !== digest) return false;
  }
  return (await readFile(OUT.sums, 'utf8').catch(() => '')) === stamp.sums;
}

async function main() {
  const t0 = performance.now();
  const timings = {};
  const version = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version;
  log(`building lifeboat ${version} for win-x64 and linux-x64 with node ${NODE_VERSION}`);
  await mkdir(WORK, { recursive: true });
  await mkdir(OUT_DIR, { recursive: true });

  // 1. The assistant (incremental: quick when up to date).
  const a = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-assistant.mjs')], { stdio: 'inherit' });
  if (a.status !== 0) throw new BuildError('scripts/build-assistant.mjs failed');

  // 2. Bundle (kept as build/release/lifeboat.cjs for reading; the blob is made from a private copy).
  const outfile = join(WORK, 'lifeboat.cjs');
  const define = { __LIFEBOAT_VERSION__: JSON.stringify(version) };
  const text = await banner();
  const { result: b, ms } = await timed('esbuild', () => bundle({ entry: ENTRY, outfile, banner: text, define, importMetaAllowed: IMPORT_META_ALLOWED }, log), timings);
  await writeAtomic(outfile, b.text);
  log(`bundle ${rel(outfile)} ${mb(b.text.length)} from ${b.inputs.length} files in ${seconds(ms)}`);

  // 3. Assets: hashed first, written only when a build is due; 4. blob and executables.
  const resources = await collectResources();
  const key = sha256(JSON.stringify({
    tools: await toolVersions(),
    script: sha256(await readFile(fileURLToPath(import.meta.url))),
    bundle: sha256(b.text),
    assets: sha256(resources.indexText),
  }));
  if (!process.argv.includes('--force') && !process.argv.includes('--linux-only') && (await upToDate(key))) {
    log(`dist/release is up to date (${seconds(performance.now() - t0)})`);
    return;
  }
  // A private work folder: two builds at once (test files run in parallel) never share half-written files.
  const work = await mkdtemp(join(WORK, 'work-'));
  try {
    await buildExecutables({ work, bundleText: b.text, resources, key, version, timings, t0 });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function buildExecutables({ work, bundleText, resources, key, version, timings, t0 }) {
  await writeFile(join(work, 'lifeboat.cjs'), bundleText);
  const assets = await writeAssets(work, resources);
  log(`${resources.list.length} shipped files as SEA assets`);
  const runtimes = await ensureRuntimes(timings, log);
  const blob = await makeSeaBlob({ nodeLinux: runtimes.linux, workDir: work, main: 'lifeboat.cjs', blob: 'lifeboat.blob', assets }, timings, log);
  await rm(OUT.sums, { force: true });
  // --linux-only: a quicker build for trying the bundle (no SHA256SUMS then).
  if (process.argv.includes('--linux-only')) {
    const linux = await injectSea({ runtime: runtimes.linux, blob, out: OUT.linux, windows: false }, timings, log);
    log(`${rel(OUT.linux)} ${mb(linux.size)} (--linux-only, total ${seconds(performance.now() - t0)})`);
    return;
  }
  const win = await injectSea({ runtime: runtimes.win, blob, out: OUT.win, windows: true }, timings, log);
  const linux = await injectSea({ runtime: runtimes.linux, blob, out: OUT.linux, windows: false }, timings, log);
  const sums = `${win.sha256}  lifeboat-win-x64.exe\n${linux.sha256}  lifeboat-linux-x64\n`;
  await writeAtomic(OUT.sums, sums);
  await writeAtomic(OUT.stamp, `${JSON.stringify({ key, version, node: NODE_VERSION, win: win.sha256, linux: linux.sha256, sums, timings }, null, 2)}\n`);
  log(`${rel(OUT.win)} ${mb(win.size)}, ${rel(OUT.linux)} ${mb(linux.size)}, SHA256SUMS (total ${seconds(performance.now() - t0)})`);
}

main().catch((err) => {
  log(err instanceof BuildError ? err.message : (err?.stack ?? String(err)));
  process.exitCode = 1;
});
