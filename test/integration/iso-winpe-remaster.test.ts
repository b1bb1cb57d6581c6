/**
 * Remastering Windows PE media (the layout oscdimg writes and Veeam's recovery ISO has): the EFI image is not a
 * file of the tree and the BIOS image carries no boot-info-table. xorriso's `-boot_image any replay` drops the EFI
 * entry here; ours must keep both entries and both images byte-for-byte, and every base file unchanged.
 */
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { IsoImage, allFiles } from '../../src/iso/index.js';
import { lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir, run, runChecked, sha256, sha256File } from '../helpers/tools.js';
import {
  type StandInWinPe, buildStandInWinPeIsoWithXorriso, buildStandInWinPeTree, xorrisoElTorito,
} from '../helpers/winpe-fixture.js';

async function bootImages(iso: string, dir: string): Promise<Buffer[]> {
  await runChecked('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract_boot_images', `${dir}/`]);
  const names = (await readdir(dir)).filter((n) => /_img\d+_/.test(n)).sort(); // not the catalog: its LBAs differ
  return Promise.all(names.map((n) => readFile(join(dir, n))));
}

async function fileHashes(iso: string): Promise<Map<string, string>> {
  const image = await IsoImage.open(iso);
  try {
    const out = new Map<string, string>();
    for (const f of allFiles(image.root)) {
      const chunks: Buffer[] = [];
      for await (const c of image.stream(f.extents)) chunks.push(c);
      out.set(f.path.toLowerCase(), sha256(Buffer.concat(chunks)));
    }
    return out;
  } finally {
    await image.close();
  }
}

for (const efiLoadSize of [1, 0]) {
  describe(`remastering stand-in Windows PE media (EFI sector count ${efiLoadSize})`, () => {
    let dir: string;
    let pe: StandInWinPe;
    let base: string;
    let out: string;

    before(async () => {
      dir = await mkTempDir('winpe-remaster');
      pe = await buildStandInWinPeTree(join(dir, 'tree'));
      base = join(dir, 'base.iso');
      await buildStandInWinPeIsoWithXorriso(base, pe.root, pe.efisys, { efiLoadSize, joliet: false });
      await writeFile(join(dir, 'site.json'), '{"site":"test"}\n');
      out = join(dir, 'out.iso');
      const r = await lifeboat(['iso', 'remaster', '--base', base, '--add', `${join(dir, 'site.json')}=/lifeboat/site.json`, '--out', out]);
      assert.equal(r.code, 0, r.stderr);
    });
    after(() => removeTempDir(dir));

    test('the base really has an EFI image outside the tree', async () => {
      const image = await IsoImage.open(base);
      try {
        const efi = image.bootImages.find((b) => b.platform === 'UEFI')!;
        assert.equal(efi.file, undefined);
        assert.equal(efi.sectorCount, efiLoadSize);
        assert.equal(efi.sizeBasis, 'fat');
        assert.equal(efi.size, (await readFile(pe.efisys)).length);
      } finally {
        await image.close();
      }
    });

    test('El Torito entries are identical per xorriso apart from LBAs', async () => {
      const before = (await xorrisoElTorito(base)).entries;
      const after = (await xorrisoElTorito(out)).entries;
      assert.equal(after.length, 2);
      const strip = (e: (typeof before)[number]) => ({ ...e, lba: 0, path: undefined, options: [] });
      assert.deepEqual(after.map(strip), before.map(strip));
      assert.equal(after[0]!.loadSize, 8);
      assert.equal(after[0]!.loadSegment, 0x7c0);
    });

    test('boot images extracted by xorriso are byte-identical, and etfsboot got no boot-info-table', async () => {
      const a = await bootImages(base, join(dir, 'boot-base'));
      const b = await bootImages(out, join(dir, 'boot-out'));
      assert.equal(b.length, 2);
      assert.deepEqual(b.map(sha256), a.map(sha256));
      assert.equal(sha256(b[0]!.subarray(0, 4096)), await sha256File(pe.etfsboot));
    });

    test('every base file is byte-identical and the added file is there', async () => {
      const a = await fileHashes(base);
      const b = await fileHashes(out);
      for (const [path, hash] of a) assert.equal(b.get(path), hash, path);
      assert.equal(b.get('/lifeboat/site.json'), sha256('{"site":"test"}\n'));
      assert.equal(b.size, a.size + 1);
    });

    test("xorriso's own replay loses the EFI entry (why we write our own)", async () => {
      const r = await run('xorriso', ['-indev', base, '-outdev', join(dir, 'xorriso.iso'), '-boot_image', 'any', 'replay',
        '-map', join(dir, 'site.json'), '/lifeboat/site.json', '-commit']);
      assert.match(r.stderr, /Cannot enable EL Torito boot image #2/i);
      const entries = (await xorrisoElTorito(join(dir, 'xorriso.iso'))).entries;
      assert.equal(entries.length, 1);
    });

    test('--remove takes a file out; a missing path is exit 2 and leaves nothing', async () => {
      const removed = join(dir, 'removed.iso');
      const r = await lifeboat(['iso', 'remaster', '--base', base, '--remove', '/boot/boot.sdi', '--out', removed, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).removed, 1);
      const image = await IsoImage.open(removed);
      try {
        assert.equal(image.find('/boot/boot.sdi'), undefined);
        assert.equal(image.bootImages.length, 2);
      } finally {
        await image.close();
      }
      const bad = await lifeboat(['iso', 'remaster', '--base', base, '--remove', '/no/such/file', '--out', join(dir, 'bad.iso')]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /cannot remove "\/no\/such\/file": .* has no such file or folder/);
      assert.deepEqual((await readdir(dir)).filter((n) => n.includes('bad.iso')), []);
    });
  });
}
