/** `lifeboat demo`: shows the ISO engine on a generated image (until the build pipeline lands, see issue 3). */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { IsoImage, newDir, remaster, writeIso } from '../iso/index.js';
import { formatBytes, say } from './output.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .option('--out <dir>', 'folder for the demo outputs', 'dist/demo')
    .description('run the pipeline on the bundled example: creates a test ISO, remasters it and inspects both')
    .action(async (opts: { out: string }) => {
      const out = resolve(opts.out);
      await mkdir(out, { recursive: true });
      const date = new Date('2026-01-01T00:00:00Z');
      const root = newDir('', date);
      const file = (name: string, text: string) => ({ type: 'file' as const, name, mtime: date, source: { kind: 'bytes' as const, data: Buffer.from(text), size: Buffer.byteLength(text) } });
      const sources = newDir('sources', date);
      sources.children.set('readme.txt', file('readme.txt', 'stand-in media\n'));
      root.children.set('sources', sources);
      const base = join(out, 'base.iso');
      await writeIso(base, root, { volumeId: 'DEMO_BASE', date });
      const extra = join(out, 'site.json');
      await writeFile(extra, JSON.stringify({ site: 'demo', note: 'added by lifeboat iso remaster' }, null, 2));
      const result = await remaster({ base, out: join(out, 'demo.iso'), add: [{ source: extra, isoPath: '/lifeboat/site.json' }], date });
      const image = await IsoImage.open(result.path);
      try {
        say(`base ${base}; remastered ${result.path} (${formatBytes(result.bytes)})`);
        for (const e of image.root.children) say(`  /${e.name}${e.isDir ? '/' : ''}`);
        say(`  /lifeboat/site.json: ${image.find('/lifeboat/site.json')?.size} bytes`);
      } finally {
        await image.close();
      }
    });
}
