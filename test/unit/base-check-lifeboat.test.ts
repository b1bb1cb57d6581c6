/**
 * `lifeboat build --base` on media Lifeboat made before: the build warns (the new build would carry the earlier
 * build's boot image and files along); Veeam's own media gets no such warning. The ISOs are real ones, written by
 * `lifeboat iso create` and read with the ISO reader the build uses.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkBase, lifeboatMediaWarning } from '../../src/media/base-check.js';
import { IsoImage } from '../../src/iso/index.js';
import { lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir } from '../helpers/tools.js';

async function iso(dir: string, name: string, files: string[]): Promise<string> {
  const tree = join(dir, `${name}-tree`);
  for (const f of files) {
    await mkdir(join(tree, f, '..'), { recursive: true });
    await writeFile(join(tree, f), `${f}\n`);
  }
  const out = join(dir, `${name}.iso`);
  const r = await lifeboat(['iso', 'create', '--dir', tree, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

describe('build --base: earlier Lifeboat media', () => {
  let dir: string;
  before(async () => {
    dir = await mkTempDir('base-check');
  });
  after(() => removeTempDir(dir));

  test('a base with \\lifeboat\\ gets a warning naming it; Veeam media does not', async () => {
    const pe = ['bootmgr', 'boot/bcd', 'efi/boot/bootx64.efi', 'sources/boot.wim'];
    const built = await IsoImage.open(await iso(dir, 'built', [...pe, 'lifeboat/site.json', 'lifeboat/assistant.exe']));
    const veeam = await IsoImage.open(await iso(dir, 'veeam', pe));
    try {
      const warning = lifeboatMediaWarning(built);
      assert.match(warning ?? '', /built\.iso" is already Lifeboat media .*use Veeam's own recovery ISO as --base/);
      assert.ok((await checkBase(built, { force: true })).warnings.includes(warning!), 'the build reports it among its warnings');
      assert.equal(lifeboatMediaWarning(veeam), undefined);
      assert.ok(!(await checkBase(veeam, { force: true })).warnings.some((w) => /Lifeboat media/.test(w)));
    } finally {
      await built.close?.();
      await veeam.close?.();
    }
  });
});
