/**
 * `iso remaster` on a base whose names differ only in case (Rock Ridge allows "README" beside "readme"): the image
 * it writes matches names case-insensitively, so it refuses naming both instead of dropping one silently, and
 * writes once one of them is removed by its exact spelling, keeping the other with its own bytes.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IsoImage } from '../../src/iso/index.js';
import { lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir, runChecked } from '../helpers/tools.js';

describe('remastering a base with names that differ only in case', () => {
  let dir: string;
  let base: string;

  before(async () => {
    dir = await mkTempDir('iso-case');
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'docs'), { recursive: true });
    await writeFile(join(tree, 'docs', 'README'), 'upper\n');
    await writeFile(join(tree, 'docs', 'readme'), 'lower\n');
    await writeFile(join(tree, 'other.txt'), 'other\n');
    base = join(dir, 'base.iso');
    await runChecked('xorriso', ['-as', 'mkisofs', '-R', '-V', 'CASE', '-o', base, tree]);
  });
  after(() => removeTempDir(dir));

  test('refused with exit 2, both names in the message, nothing written', async () => {
    const out = join(dir, 'out.iso');
    const r = await lifeboat(['iso', 'remaster', '--base', base, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /"\/docs\/README" and "\/docs\/readme"/);
    assert.match(r.stderr, /differ only in case/);
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('out') || n.startsWith('.out')), []);
  });

  for (const [removed, kept, text] of [['/docs/readme', 'README', 'upper\n'], ['/docs/README', 'readme', 'lower\n']] as const) {
    test(`--remove ${removed} resolves it and keeps the other, byte for byte`, async () => {
      const out = join(dir, `kept-${kept}.iso`);
      const r = await lifeboat(['iso', 'remaster', '--base', base, '--remove', removed, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      const image = await IsoImage.open(out);
      try {
        const docs = image.find('/docs')!;
        assert.deepEqual(docs.children.map((c) => c.name.toLowerCase()), ['readme']);
        const chunks: Buffer[] = [];
        for await (const b of image.stream(docs.children[0]!.extents)) chunks.push(Buffer.from(b));
        assert.equal(Buffer.concat(chunks).toString(), text);
        assert.ok(image.find('/other.txt'));
      } finally {
        await image.close();
      }
    });
  }
});
