/**
 * Looks at a printed page as pixels (poppler's pdftoppm, 150 dpi grey): finds the horizontal rules of tables and
 * boxes and checks that each one that starts in a corner also ends in one. A rule whose right end has no vertical
 * line is a box clipped by the page edge (its right border was cut off).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './tools.js';

const DPI = 150;
const DARK = 170;

interface Grey {
  readonly width: number;
  readonly height: number;
  readonly px: Buffer;
}

async function renderGrey(pdf: string, page: number): Promise<Grey> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-raster-'));
  let data: Buffer;
  try {
    const r = await run('pdftoppm', ['-gray', '-r', String(DPI), '-f', String(page), '-l', String(page), '-singlefile', pdf, join(dir, 'p')], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    data = await readFile(join(dir, 'p.pgm'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  // P5 header: "P5\n<w> <h>\n<max>\n"
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(data.subarray(0, 64).toString('latin1'));
  assert.ok(header, 'a PGM image');
  return { width: Number(header[1]), height: Number(header[2]), px: data.subarray(header[0].length) };
}

/** Rows (in px) of horizontal rules on `page` whose right end is open: a clipped right border. */
export async function clippedRules(pdf: string, page: number): Promise<number[]> {
  const img = await renderGrey(pdf, page);
  const dark = (x: number, y: number) => x >= 0 && y >= 0 && x < img.width && y < img.height && img.px[y * img.width + x]! < DARK;
  const minRun = Math.round(img.width * 0.25);
  const open: number[] = [];
  for (let y = 0; y < img.height; y++) {
    let x = 0;
    while (x < img.width) {
      if (!dark(x, y)) {
        x++;
        continue;
      }
      const start = x;
      while (x < img.width && dark(x, y)) x++;
      const end = x - 1;
      if (end - start < minRun) continue;
      // A corner: dark pixels just above or below the rule's first or last pixels. A rule with a corner at its left
      // end belongs to a box; without one at its right end, the box's right side is missing (a heading's rule has
      // no corner at either end).
      const corner = (x0: number, step: number) => {
        for (let dx = 0; dx <= 3; dx++) for (const dy of [2, 3, 4, -2, -3, -4]) if (dark(x0 + step * dx, y + dy)) return true;
        return false;
      };
      if (corner(start, 1) && !corner(end, -1)) open.push(y);
    }
  }
  return open;
}
