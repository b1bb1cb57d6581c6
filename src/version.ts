/**
 * Lifeboat's version: fixed at bundle time in the release exe (scripts/build-release.mjs defines
 * __LIFEBOAT_VERSION__), else read from the repository's package.json.
 */
import { readFileSync } from 'node:fs';
import { resourcePath } from './resources.js';

declare const __LIFEBOAT_VERSION__: string | undefined;

export const VERSION: string =
  typeof __LIFEBOAT_VERSION__ === 'string'
    ? __LIFEBOAT_VERSION__
    : (JSON.parse(readFileSync(resourcePath('package.json'), 'utf8')) as { version: string }).version;
