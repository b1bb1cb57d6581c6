/** Paths inside a WIM image: always absolute, `/`-separated, no `.`/`..`, no control characters. */
import { InputError } from '../errors.js';

/** `Windows\System32\winpeshl.ini` -> `/Windows/System32/winpeshl.ini`. Throws InputError for unusable paths. */
export function toImagePath(path: string): string {
  if (/[\0-\x1f"<>|*?]/.test(path)) {
    throw new InputError(`image path ${JSON.stringify(path)}: contains characters a Windows path cannot hold`);
  }
  const parts = path.replace(/\\/g, '/').split('/').filter((p) => p !== '');
  if (parts.length === 0) throw new InputError(`image path ${JSON.stringify(path)}: names the image root, not a file`);
  for (const p of parts) {
    if (p === '.' || p === '..' || p.includes(':')) {
      throw new InputError(`image path ${JSON.stringify(path)}: "${p}" is not allowed in a path inside the image`);
    }
  }
  return `/${parts.join('/')}`;
}

/** The segments of an image path, for joining to a mount directory. */
export function imagePathSegments(path: string): string[] {
  return toImagePath(path).split('/').slice(1);
}
