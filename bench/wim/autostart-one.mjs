// One autostart (what `lifeboat build` does to boot.wim) in a fresh Node process, with the engine cold as in a
// build: prints {"ms":..., "cpuMs":...} for installAutostart alone.
// Usage: node autostart-one.mjs lifeboat|wimlib-imagex WIM [DIST]  (DIST: the compiled dist/ to load, default ours)
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
const [name, wim, distArg] = process.argv.slice(2);
const dist = distArg ?? join(import.meta.dirname, '..', '..', 'dist');
const load = (rel) => import(pathToFileURL(join(dist, rel)).href);
const { findWimBackend } = await load('wim/backend.js');
const { installAutostart } = await load('wim/autostart.js');
const { LAUNCH_CMD } = await load('wim/overlay.js');
const backend = await findWimBackend(name);
if (!backend) throw new Error(`${name}: not available`);
const c0 = process.cpuUsage();
const t0 = performance.now();
const r = await installAutostart(backend, wim, { launcherSource: LAUNCH_CMD });
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
process.stdout.write(`${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, index: r.index, veeam: r.veeam })}\n`);
