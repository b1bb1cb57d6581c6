/**
 * The assistant's version. In assistant.exe it is fixed at bundle time: scripts/build-assistant.mjs passes
 * `define: { __LIFEBOAT_VERSION__: JSON.stringify(pkg.version) }` to esbuild, so the bundle carries a string literal and
 * reads no file at run time (a SEA has no package.json beside it). Run unbundled (tsx, tsc output) it falls back to the
 * nearest package.json named "lifeboat" above the entry script, then to "0.0.0-dev".
 * No `import.meta` here: the bundle is CommonJS, where esbuild turns `import.meta` into `{}`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

declare const __LIFEBOAT_VERSION__: string | undefined;

export const VERSION: string =
  typeof __LIFEBOAT_VERSION__ === 'string' ? __LIFEBOAT_VERSION__ : versionFromPackageJson();

/** The line `--version` prints, e.g. `lifeboat-assistant 0.1.0 (node v22.22.2)`. */
export function versionLine(): string {
  return `lifeboat-assistant ${VERSION} (node ${process.version})`;
}

function versionFromPackageJson(): string {
  const entry = process.argv[1];
  let dir = entry ? dirname(resolve(entry)) : process.cwd();
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'lifeboat' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no readable package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0-dev';
    dir = parent;
  }
}
