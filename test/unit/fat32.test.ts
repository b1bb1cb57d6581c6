import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { InputError } from '../../src/errors.js';
import { IoError } from '../../src/util/io-errors.js';
import {
  assignShortNames,
  basisName,
  encodeLfnEntries,
  formatShortName,
  isExactShortName,
  lfnChecksum,
  longNameProblem,
  shortNameBytes,
} from '../../src/usb/fat-names.js';
import {
  computeGeometry,
  isValidFat32,
  MIN_FAT32_CLUSTERS,
  MIN_VOLUME_BYTES,
  sectorsPerClusterFor,
} from '../../src/usb/fat-layout.js';
import { fatDateTime, MAX_FAT32_FILE_SIZE, planUsbImage, writeUsbImage, type UsbTreeEntry } from '../../src/usb/fat32.js';
import { BLOCK_SIZE } from '../../src/usb/block-map.js';
import { decodeMbr, encodeChs, encodeMbr } from '../../src/usb/mbr.js';
import { tempDirFor } from '../helpers/tools.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;

function shortOf(names: string[]): string[] {
  return assignShortNames(names, '/').map((a) => formatShortName(a.short));
}

function bytes(s: string): () => AsyncIterable<Uint8Array> {
  return async function* () {
    yield Buffer.from(s);
  };
}

describe('short names (8.3)', () => {
  it('keeps an upper-case 8.3 name as is, without LFN', () => {
    const [a] = assignShortNames(['README.TXT'], '/');
    assert.equal(formatShortName(a!.short), 'README.TXT');
    assert.equal(a!.lfn, false);
    assert.equal(isExactShortName('BOOTX64.EFI'), true);
    assert.equal(isExactShortName('bootx64.efi'), false);
  });

  it('gives lower-case names that fit 8.3 their upper-case short name plus an LFN (case preserved)', () => {
    const [a] = assignShortNames(['readme.txt'], '/');
    assert.equal(formatShortName(a!.short), 'README.TXT');
    assert.equal(a!.lfn, true);
    const [b] = assignShortNames(['Bcd'], '/');
    assert.equal(formatShortName(b!.short), 'BCD');
    assert.equal(b!.lfn, true);
  });

  it('numbers colliding long names FILENA~1, FILENA~2, ...', () => {
    assert.deepEqual(shortOf(['filename1.txt', 'filename2.txt', 'filename3.txt']), [
      'FILENA~1.TXT',
      'FILENA~2.TXT',
      'FILENA~3.TXT',
    ]);
  });

  it('shortens the base for two-digit and longer tails', () => {
    const names = Array.from({ length: 120 }, (_, i) => `longfilename ${i}.dat`);
    const shorts = shortOf(names);
    assert.equal(shorts[0], 'LONGFI~1.DAT');
    assert.equal(shorts[9], 'LONGF~10.DAT');
    assert.equal(shorts[99], 'LONG~100.DAT');
    assert.equal(new Set(shorts).size, names.length);
    for (const s of shorts) assert.ok(s.split('.')[0]!.length <= 8);
  });

  it('never takes a short name another child spells', () => {
    // FILENA~1.TXT is a real name in the directory: the generated names skip it whatever the order
    assert.deepEqual(shortOf(['filename long.txt', 'FILENA~1.TXT']), ['FILENA~2.TXT', 'FILENA~1.TXT']);
    assert.deepEqual(shortOf(['filena~1.txt', 'filename long.txt']), ['FILENA~1.TXT', 'FILENA~2.TXT']);
  });

  it('replaces characters a short name cannot hold and adds a tail', () => {
    assert.deepEqual(shortOf(['a+b.txt']), ['A_B~1.TXT']);
    assert.deepEqual(shortOf(['my file.txt']), ['MYFILE~1.TXT']);
    assert.deepEqual(shortOf(['[x];=,.cfg']), ['_X____~1.CFG']);
    assert.deepEqual(shortOf(['ファイル.txt']), ['____~1.TXT']);
    assert.deepEqual(shortOf(['Ünïcödé.txt']), ['_N_C_D~1.TXT']);
  });

  it('drops leading and inner periods and keeps the last extension', () => {
    assert.deepEqual(shortOf(['.bashrc']), ['BASHRC~1']);
    assert.deepEqual(shortOf(['archive.tar.gz']), ['ARCHIV~1.GZ']);
    assert.deepEqual(shortOf(['install.wimx']), ['INSTAL~1.WIM']);
    assert.equal(basisName('a.b.c').needsTail, true);
    assert.equal(basisName('ABCDEFGH.IJK').needsTail, false);
    assert.equal(basisName('ABCDEFGHI.JK').needsTail, true);
  });

  it('rejects names FAT cannot hold and names that differ only in case', () => {
    for (const bad of ['a:b', 'a*b', 'what?', 'a|b', 'a"b', 'a<b', 'a\\b', 'tab\there', 'dot.', 'space ', '.', '..', '', 'x'.repeat(256)]) {
      assert.ok(longNameProblem(bad), `expected a problem for ${JSON.stringify(bad)}`);
    }
    assert.equal(longNameProblem('x'.repeat(255)), undefined);
    assert.equal(longNameProblem(' leading space is fine'), undefined);
    assert.throws(() => assignShortNames(['a:b'], '/EFI'), (e: unknown) => e instanceof InputError && /\/EFI\/a:b/.test(e.message));
    assert.throws(
      () => assignShortNames(['Readme.txt', 'README.TXT'], '/docs'),
      (e: unknown) => e instanceof InputError && /differ only in case/.test(e.message),
    );
  });
});

describe('long file names', () => {
  it('computes the checksum of an 11-byte short name (rotate right, add)', () => {
    const rotateAdd = (name: Uint8Array) => {
      let s = 0;
      for (const b of name) s = ((((s >> 1) | (s << 7)) & 0xff) + b) & 0xff;
      return s;
    };
    for (const n of ['README  TXT', 'FILENA~1TXT', 'BOOTX64 EFI', '           ', '~~~~~~~~~~~']) {
      const b = Buffer.from(n, 'latin1');
      assert.equal(lfnChecksum(b), rotateAdd(b), n);
    }
    // hand-checked value: all 11 bytes 0x00 except the last 0x01
    const one = Buffer.alloc(11);
    one[10] = 1;
    assert.equal(lfnChecksum(one), 1);
    assert.equal(lfnChecksum(Buffer.from('A          ', 'latin1')), 0x80); // worked by hand: 0x41, then 10 x (rotate, + 0x20)
    assert.throws(() => lfnChecksum(Buffer.alloc(10)), RangeError);
  });

  it('encodes one entry with a terminator and 0xFFFF padding', () => {
    const e = encodeLfnEntries('readme.txt', 0xab);
    assert.equal(e.length, 32);
    assert.equal(e[0], 0x41); // last (and first) part
    assert.equal(e[11], 0x0f);
    assert.equal(e[12], 0);
    assert.equal(e[13], 0xab);
    assert.equal(e.readUInt16LE(26), 0);
    assert.equal(e.readUInt16LE(1), 'r'.charCodeAt(0));
    assert.equal(e.readUInt16LE(9), 'm'.charCodeAt(0)); // 5th char, end of the first group
    assert.equal(e.readUInt16LE(14), 'e'.charCodeAt(0)); // 6th char, start of the second group
    assert.equal(e.readUInt16LE(22), 't'.charCodeAt(0)); // 10th unit: last character
    assert.equal(e.readUInt16LE(24), 0x0000); // 11th unit: terminator
    assert.equal(e.readUInt16LE(28), 0xffff); // padding
    assert.equal(e.readUInt16LE(30), 0xffff);
  });

  it('stores the last part first and leaves out the terminator when the name fills the entries', () => {
    const name = 'abcdefghijklmnopqrstuvwxyz'; // 26 units: exactly two entries
    const e = encodeLfnEntries(name, 1);
    assert.equal(e.length, 64);
    assert.equal(e[0], 0x42);
    assert.equal(e[32], 0x01);
    assert.equal(e.readUInt16LE(32 + 1), 'a'.charCodeAt(0));
    assert.equal(e.readUInt16LE(1), 'n'.charCodeAt(0));
    assert.equal(e.readUInt16LE(30), 'z'.charCodeAt(0));
  });

  it('writes UTF-16 code units (surrogate pairs included)', () => {
    const e = encodeLfnEntries('ü😀', 0);
    assert.equal(e.readUInt16LE(1), 0xfc);
    assert.equal(e.readUInt16LE(3), 0xd83d);
    assert.equal(e.readUInt16LE(5), 0xde00);
    assert.equal(e.readUInt16LE(7), 0);
  });

  it('pads the short name to 8 + 3 bytes', () => {
    assert.equal(shortNameBytes({ base: 'EFI', ext: '' }).toString('latin1'), 'EFI        ');
    assert.equal(shortNameBytes({ base: 'FILENA~1', ext: 'TX' }).toString('latin1'), 'FILENA~1TX ');
  });
});

describe('FAT32 geometry', () => {
  it("follows Microsoft's cluster-size table", () => {
    assert.equal(sectorsPerClusterFor(66_600), 0);
    assert.equal(sectorsPerClusterFor(66_601), 1);
    assert.equal(sectorsPerClusterFor(532_480), 1);
    assert.equal(sectorsPerClusterFor(532_481), 8);
    assert.equal(sectorsPerClusterFor((8 * GIB) / 512), 8);
    assert.equal(sectorsPerClusterFor((8 * GIB) / 512 + 1), 16);
    assert.equal(sectorsPerClusterFor((16 * GIB) / 512 + 1), 32);
    assert.equal(sectorsPerClusterFor((32 * GIB) / 512 + 1), 64);
  });

  it('gives a valid FAT32 volume from the minimum size up, with a minimal FAT and an aligned data region', () => {
    for (const bytes of [MIN_VOLUME_BYTES, 64 * MIB, 260 * MIB, 261 * MIB, GIB, 8 * GIB, 8 * GIB + MIB, 32 * GIB, 100 * GIB]) {
      const g = computeGeometry(bytes / 512);
      assert.ok(isValidFat32(g), `${bytes}: ${JSON.stringify(g)}`);
      assert.ok(g.clusterCount >= MIN_FAT32_CLUSTERS);
      assert.equal(g.fatSectors % 8, 0);
      assert.equal((g.dataStartSector * 512) % 4096, 0);
      // the FAT holds every cluster, and one 4 KiB step smaller would not
      assert.ok((g.clusterCount + 2) * 4 <= g.fatSectors * 512);
      const smallerClusters = Math.floor((g.totalSectors - 32 - 2 * (g.fatSectors - 8)) / g.sectorsPerCluster);
      assert.ok((smallerClusters + 2) * 4 > (g.fatSectors - 8) * 512);
      // everything fits in the volume
      assert.ok(g.dataStartSector + g.clusterCount * g.sectorsPerCluster <= g.totalSectors);
    }
    assert.equal(computeGeometry(MIN_VOLUME_BYTES / 512).bytesPerCluster, 512);
    assert.equal(computeGeometry(GIB / 512).bytesPerCluster, 4096);
  });

  it('refuses a volume too small for FAT32', () => {
    assert.throws(() => computeGeometry(32 * 2048), InputError);
  });
});

describe('MBR', () => {
  it('encodes one active FAT32 LBA partition at 2048 and decodes it back', () => {
    const boot = Buffer.alloc(440, 0x90);
    const mbr = encodeMbr({ bootCode: boot, diskSignature: 0x12345678, partition: { active: true, type: 0x0c, startLba: 2048, sectorCount: 100_000 } });
    assert.equal(mbr.length, 512);
    assert.equal(mbr[510], 0x55);
    assert.equal(mbr[511], 0xaa);
    assert.equal(mbr.readUInt32LE(440), 0x12345678);
    assert.equal(mbr[446], 0x80);
    assert.equal(mbr[450], 0x0c);
    assert.deepEqual([...mbr.subarray(447, 450)], [32, 33, 0]); // CHS of LBA 2048: C 0, H 32, S 33
    const d = decodeMbr(mbr);
    assert.equal(d.diskSignature, 0x12345678);
    assert.equal(d.hasBootCode, true);
    assert.deepEqual(d.partitions, [{ index: 0, active: true, type: 0x0c, startLba: 2048, sectorCount: 100_000 }]);
  });

  it('stores the LBA-only CHS maximum beyond cylinder 1023', () => {
    assert.deepEqual(encodeChs(0), [0, 1, 0]);
    assert.deepEqual(encodeChs(255 * 63 * 1023), [0, 1 | ((1023 >> 2) & 0xc0), 1023 & 0xff]);
    assert.deepEqual(encodeChs(255 * 63 * 1024), [0xfe, 0xff, 0xff]);
  });

  it('refuses boot code longer than 440 bytes and reads a missing signature as an InputError', () => {
    assert.throws(
      () => encodeMbr({ bootCode: Buffer.alloc(512), diskSignature: 1, partition: { active: true, type: 0x0c, startLba: 2048, sectorCount: 10 } }),
      InputError,
    );
    assert.throws(() => decodeMbr(Buffer.alloc(512)), InputError);
  });
});

describe('image layout and writing', () => {
  it('converts dates to FAT fields', () => {
    const t = fatDateTime(new Date(Date.UTC(2024, 4, 17, 13, 45, 31, 250)));
    assert.equal(t.date, ((2024 - 1980) << 9) | (5 << 5) | 17);
    assert.equal(t.time, (13 << 11) | (45 << 5) | 15);
    assert.equal(t.tenths, 125);
    assert.equal(fatDateTime(new Date(0)).date, (0 << 9) | (1 << 5) | 1);
  });

  it('rejects a file of 4 GiB or more, naming it', () => {
    const entries: UsbTreeEntry[] = [
      { path: '/ok.bin', size: MAX_FAT32_FILE_SIZE, source: bytes('') },
      { path: '/sources/install.wim', size: MAX_FAT32_FILE_SIZE + 1, source: bytes('') },
    ];
    assert.throws(
      () => planUsbImage(entries),
      (e: unknown) => e instanceof InputError && e.message.includes('/sources/install.wim') && e.hint !== undefined,
    );
  });

  it('sizes the partition as data + margin, rounded to MiB, at least 33 MiB', () => {
    const tiny = planUsbImage([{ path: '/a', size: 1, source: bytes('a') }], { marginBytes: 0, marginPercent: 0 });
    assert.equal(tiny.partition.size, MIN_VOLUME_BYTES);
    assert.equal(tiny.partition.startLba, 2048);
    assert.equal(tiny.imageSize, MIB + MIN_VOLUME_BYTES);

    const big = planUsbImage([{ path: '/big.bin', size: 700 * MIB, source: bytes('') }]);
    assert.equal(big.partition.size % MIB, 0);
    assert.equal(big.geometry.bytesPerCluster, 4096);
    const free = big.freeClusters * big.geometry.bytesPerCluster;
    assert.ok(free >= 70 * MIB, `free ${free}`); // 10% > 64 MiB here
    assert.ok(free < 70 * MIB + 2 * MIB + 4096, `free ${free}`); // and not much more

    const margin = planUsbImage([{ path: '/big.bin', size: 100 * MIB, source: bytes('') }], { marginBytes: 200 * MIB });
    assert.ok(margin.freeClusters * margin.geometry.bytesPerCluster >= 200 * MIB);
  });

  it('honours a fixed partition size and refuses one that is too small', () => {
    const p = planUsbImage([{ path: '/a', size: 10, source: bytes('') }], { partitionBytes: 300 * MIB });
    assert.equal(p.partition.size, 300 * MIB);
    assert.equal(p.geometry.bytesPerCluster, 4096);
    assert.throws(() => planUsbImage([{ path: '/a', size: 40 * MIB, source: bytes('') }], { partitionBytes: 34 * MIB }), InputError);
  });

  it('rejects bad paths, duplicates, file/directory clashes and bad labels', () => {
    const f = (path: string) => ({ path, size: 0, source: bytes('') });
    assert.throws(() => planUsbImage([f('relative.txt')]), InputError);
    assert.throws(() => planUsbImage([f('/a//b')]), InputError);
    assert.throws(() => planUsbImage([f('/a/../b')]), InputError);
    assert.throws(() => planUsbImage([f('/a'), f('/a')]), InputError);
    assert.throws(() => planUsbImage([f('/a'), f('/a/b')]), InputError);
    assert.throws(() => planUsbImage([f('/x/a'), f('/X/b')]), /differ only in case/);
    assert.throws(() => planUsbImage([f('/a')], { label: 'MUCH TOO LONG LABEL' }), InputError);
    assert.throws(() => planUsbImage([f('/a')], { label: 'bad:label' }), InputError);
    assert.equal(planUsbImage([f('/a')], { label: 'Restore' }).label, 'RESTORE');
  });

  it('reports a source that yields fewer or more bytes than listed, naming the file', async (t) => {
    const dir = await tempDirFor(t, 'fat32-unit');
    await assert.rejects(
      writeUsbImage([{ path: '/short.bin', size: 10, source: bytes('abc') }], join(dir, 'a.img'), { seed: 's' }),
      (e: unknown) => e instanceof IoError && e.problem === 'source-changed' && e.message.includes('/short.bin'),
    );
    await assert.rejects(
      writeUsbImage([{ path: '/long.bin', size: 1, source: bytes('abc') }], join(dir, 'b.img'), { seed: 's' }),
      (e: unknown) => e instanceof IoError && e.problem === 'source-changed' && e.message.includes('/long.bin'),
    );
    await assert.rejects(
      writeUsbImage(
        [
          {
            path: '/broken.bin',
            size: 1,
            source: async function* () {
              yield Buffer.alloc(0);
              throw new Error('EIO: i/o error');
            },
          },
        ],
        join(dir, 'c.img'),
        { seed: 's' },
      ),
      (e: unknown) => e instanceof IoError && !e.fixableByUser && e.message.includes('/broken.bin') && e.message.includes('EIO'),
    );
  });

  it('is deterministic: same tree and seed, same bytes; another seed changes serial and disk signature', async (t) => {
    const dir = await tempDirFor(t, 'fat32-unit');
    const entries: UsbTreeEntry[] = [
      { path: '/EFI/BOOT/BOOTX64.EFI', size: 5, source: bytes('hello') },
      { path: '/readme.txt', size: 3, source: bytes('abc') },
    ];
    const hashOf = async (p: string) => createHash('sha256').update(await (await import('node:fs/promises')).readFile(p)).digest('hex');
    const a = await writeUsbImage(entries, join(dir, 'a.img'), { seed: 'site-1', hashImage: true });
    const b = await writeUsbImage([...entries].reverse(), join(dir, 'b.img'), { seed: 'site-1' });
    const c = await writeUsbImage(entries, join(dir, 'c.img'), { seed: 'site-2' });
    assert.equal(await hashOf(join(dir, 'a.img')), await hashOf(join(dir, 'b.img')));
    assert.equal(a.imageSha256, await hashOf(join(dir, 'a.img')));
    assert.deepEqual(a.blockMap, b.blockMap);
    assert.notEqual(a.volumeSerial, c.volumeSerial);
    assert.notEqual(a.diskSignature, c.diskSignature);
  });

  it('writes through a caller-supplied FileHandle and reports progress up to the total', async (t) => {
    const dir = await tempDirFor(t, 'fat32-unit');
    const fh = await open(join(dir, 'h.img'), 'w+');
    const seen: [number, number][] = [];
    try {
      const nineMiB = async function* () {
        for (let i = 0; i < 9; i++) yield Buffer.alloc(MIB, i + 1);
      };
      const r = await writeUsbImage([{ path: '/x.bin', size: 9 * MIB, source: nineMiB }], fh, {
        seed: 'h',
        onProgress: (w, tot) => seen.push([w, tot]),
      });
      assert.equal((await fh.stat()).size, r.imageSize);
      assert.ok(seen.length >= 2);
      const last = seen[seen.length - 1]!;
      assert.equal(last[0], last[1]);
      assert.equal(last[1], r.payloadBytes);
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] >= seen[i - 1]![0]);
    } finally {
      await fh.close();
    }
  });
});
