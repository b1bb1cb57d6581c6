/**
 * FAT consistency checks of the reader (what `verify` runs on a USB image or stick) and a bounded fuzz of FAT
 * metadata: random byte changes in the boot sector, both FATs and the directories of a small image never hang and
 * never crash; each ends as a clear InputError, a list of problems, or a clean volume (a change in a field that
 * does not matter, such as a time stamp).
 */
import assert from 'node:assert/strict';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InputError } from '../../src/errors.js';
import { FatImage, walkFat } from '../../src/usb/fat32-reader.js';
import { type UsbTreeEntry, writeUsbImage } from '../../src/usb/fat32.js';
import { mkTempDir, pseudoRandomBytes, removeTempDir } from '../helpers/tools.js';

const INPUTS = 1000;

function fileEntry(path: string, data: Buffer): UsbTreeEntry {
  return { path, size: data.length, source: async function* () { yield data; } };
}

/** A small deterministic PRNG (xorshift32), so a failing input can be replayed from its seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('FAT consistency and a bounded fuzz of FAT metadata', () => {
  let dir: string;
  let img: string;
  let layout: { part: number; bps: number; fat1: number; fatSize: number; fatCount: number; dataStart: number; cluster: number };
  const files = new Map<string, Buffer>();

  before(async () => {
    dir = await mkTempDir('fat-consistency');
    img = join(dir, 'small.img');
    for (let i = 0; i < 12; i++) files.set(`/dir${i % 3}/file${i}.bin`, pseudoRandomBytes(`f${i}`, 300 + i * 997));
    files.set('/EFI/BOOT/BOOTX64.EFI', pseudoRandomBytes('efi', 20_000));
    await writeUsbImage([...files].map(([p, d]) => fileEntry(p, d)), img, { seed: 'fuzz', label: 'FUZZ' });
    const fat = await FatImage.open(img);
    const fh = await open(img, 'r');
    const bs = Buffer.alloc(512);
    await fh.read(bs, 0, 512, fat.partitionOffset);
    await fh.close();
    const bps = bs.readUInt16LE(11);
    const fat1 = fat.partitionOffset + bs.readUInt16LE(14) * bps;
    const fatSize = bs.readUInt32LE(36) * bps;
    layout = { part: fat.partitionOffset, bps, fat1, fatSize, fatCount: bs[16]!, dataStart: fat1 + bs[16]! * fatSize, cluster: fat.clusterBytes };
    await fat.close();
  });
  after(() => removeTempDir(dir));

  it('a freshly written image is consistent', async () => {
    const fat = await FatImage.open(img);
    try {
      assert.deepEqual(await fat.consistencyProblems(), []);
    } finally {
      await fat.close();
    }
  });

  it('fuzz: 1000 inputs of 1 to 8 changed metadata bytes end in a message, a problem list or a clean volume', { timeout: 600_000 }, async () => {
    const fh = await open(img, 'r+');
    const outcomes = { refused: 0, problems: 0, contentDiffers: 0, clean: 0 };
    // The used part of each FAT and the first clusters of the data area (the directories are written first).
    const fatUsed = 4 * 2048;
    const regions = [
      { start: layout.part, length: 512 },
      ...Array.from({ length: layout.fatCount }, (_, k) => ({ start: layout.fat1 + k * layout.fatSize, length: fatUsed })),
      { start: layout.dataStart, length: layout.cluster * 8 },
    ];
    try {
      for (let seed = 1; seed <= INPUTS; seed++) {
        const rnd = prng(seed * 2654435761);
        const saved: { at: number; b: number }[] = [];
        const n = 1 + Math.floor(rnd() * 8);
        for (let i = 0; i < n; i++) {
          const r = regions[Math.floor(rnd() * regions.length)]!;
          const at = r.start + Math.floor(rnd() * r.length);
          const old = Buffer.alloc(1);
          await fh.read(old, 0, 1, at);
          saved.push({ at, b: old[0]! });
          const mode = rnd();
          const value = mode < 0.4 ? old[0]! ^ (1 << Math.floor(rnd() * 8)) : mode < 0.7 ? Math.floor(rnd() * 256) : mode < 0.85 ? 0 : 0xff;
          await fh.write(Buffer.from([value]), 0, 1, at);
        }
        try {
          const fat = await FatImage.open(img);
          try {
            const problems = await fat.consistencyProblems();
            if (problems.length > 0) outcomes.problems++;
            else {
              let differs = false;
              for (const e of walkFat(fat.root)) {
                if (e.isDir) continue;
                const want = files.get(e.path);
                const chunks: Buffer[] = [];
                for await (const c of fat.stream(e)) chunks.push(c);
                if (!want || !Buffer.concat(chunks).equals(want)) differs = true;
              }
              if (differs) outcomes.contentDiffers++;
              else outcomes.clean++;
            }
          } finally {
            await fat.close();
          }
        } catch (e) {
          assert.ok(e instanceof InputError, `seed ${seed}: ${(e as Error).stack}`);
          assert.match((e as Error).message, /small\.img/, `seed ${seed}: the message names the image`);
          outcomes.refused++;
        } finally {
          for (const s of saved.reverse()) await fh.write(Buffer.from([s.b]), 0, 1, s.at);
        }
      }
    } finally {
      await fh.close();
    }
    process.stderr.write(`# FAT fuzz, ${INPUTS} inputs: ${JSON.stringify(outcomes)}\n`);
    assert.equal(outcomes.refused + outcomes.problems + outcomes.contentDiffers + outcomes.clean, INPUTS);
    assert.ok(outcomes.refused + outcomes.problems > INPUTS / 2, 'most damage is found by the reader and the consistency check');
    const fat = await FatImage.open(img);
    assert.deepEqual(await fat.consistencyProblems(), [], 'the image is whole again');
    await fat.close();
  });
});
