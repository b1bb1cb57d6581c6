/**
 * The Veeam backup file reader on the two real backup files (test/fixtures/veeam, facts in SOURCE.md): listing,
 * byte-exact content, verification, single flipped bytes across every kind of page, truncations, foreign files,
 * other versions, encryption and hostile metadata (checksums made right so the structural checks are reached).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { InputError, JobError } from '../../src/errors.js';
import { decompressBlock } from '../../src/veeam/vbk/decompress.js';
import { lz4DecodeBlock } from '../../src/veeam/vbk/lz4.js';
import { describeDisk, ItemType, VbkDamageError, VbkFormatError, VbkReader, verifyBackup } from '../../src/veeam/vbk/index.js';
import { extractFile, listBackup } from '../../src/veeam/vbk/extract.js';
import { REAL_VBM_PATH, VBK_FIXTURES, vbkBytes, writeVbk } from '../helpers/veeam-fixtures.js';
import { banksOf, editPage, fixChecksums, PAGE } from '../helpers/vbk-craft.js';

type Which = 'v9' | 'v13';
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-vbk-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** sha256 of every internal file, read through the reader. */
async function contents(path: string): Promise<Map<string, string>> {
  const reader = await VbkReader.open(path);
  try {
    const out = new Map<string, string>();
    for (const e of await reader.files()) {
      const h = createHash('sha256');
      for await (const c of reader.content(e)) h.update(c);
      out.set(e.path, h.digest('hex'));
    }
    return out;
  } finally {
    await reader.close();
  }
}

/** The v13 disk's bytes, read through the reader. */
async function readRangeOf(path: string): Promise<Buffer> {
  const reader = await VbkReader.open(path);
  try {
    const entry = (await reader.files()).find((e) => e.item.name === VBK_FIXTURES.v13.disk.name)!;
    const parts: Buffer[] = [];
    for await (const c of reader.content(entry)) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  } finally {
    await reader.close();
  }
}

async function refusedOrDamaged(path: string): Promise<'refused' | 'damaged' | 'verified'> {
  try {
    const report = await verifyBackup(path);
    return report.ok ? 'verified' : 'damaged';
  } catch (e) {
    assert.ok(e instanceof InputError || e instanceof JobError, `unexpected error ${String((e as Error)?.stack ?? e)}`);
    assert.ok((e as Error).message.includes(path), `message names the file: ${(e as Error).message}`);
    return 'refused';
  }
}

for (const which of ['v9', 'v13'] as const) {
  const fx = VBK_FIXTURES[which];
  describe(`vbk reader: real ${which} backup file`, () => {
    let path: string;
    before(async () => {
      path = await writeVbk(dir, which);
      assert.equal(sha256(await readFile(path)), fx.sha256, 'fixture unpacked intact');
    });

    it('lists the tree SOURCE.md describes, with sizes and properties', async () => {
      const listing = await listBackup(path);
      assert.equal(listing.formatVersion, fx.version);
      assert.deepEqual(listing.items.map((i) => i.path), [fx.folder, ...fx.items.map((n) => `${fx.folder}/${n}`)]);
      assert.equal(listing.items[0]!.kind, 'folder');
      const disk = listing.items.find((i) => i.path.endsWith(`/${fx.disk.name}`))!;
      assert.equal(disk.kind, 'file');
      assert.equal(disk.size, fx.disk.size);
      assert.deepEqual(disk.properties.map((p) => ({ name: p.name, bytes: p.bytes })), fx.disk.properties);
    });

    it('reads every internal file byte-exact (the disk against its sha256 in SOURCE.md)', async () => {
      const c = await contents(path);
      assert.equal(c.get(`${fx.folder}/${fx.disk.name}`), fx.disk.sha256);
      const out = join(dir, `${which}-disk.raw`);
      const r = await extractFile(path, `${fx.folder}/${fx.disk.name}`, out);
      assert.equal(sha256(await readFile(out)), fx.disk.sha256);
      assert.equal(r.sha256, fx.disk.sha256);
      const summary = join(dir, `${which}-summary.xml`);
      await extractFile(path, 'summary.xml', summary);
      assert.match(await readFile(summary, 'utf8'), /^<OibSummary>/);
    });

    it('verifies every bank and block of the intact file', async () => {
      const report = await verifyBackup(path);
      assert.equal(report.ok, true, JSON.stringify(report.damage));
      assert.equal(report.blocksChecked, report.blocksTotal);
      assert.ok(report.blocksTotal > 0);
      assert.equal(report.banksChecked, banksOf(await readFile(path)).length);
    });

    it('single flipped bytes across every kind of page never give "verified" with wrong content', async () => {
      const baseline = await contents(path);
      const bytes = await readFile(path);
      const flipPath = join(dir, `${which}-flip.vbk`);
      await writeFile(flipPath, bytes);
      const reader = await VbkReader.open(path);
      const positions = new Map<string, number[]>();
      const add = (kind: string, ...at: number[]) => positions.set(kind, [...(positions.get(kind) ?? []), ...at.filter((x) => x >= 0 && x < bytes.length)]);
      add('file header', 0, 1, 4, 8, 12, 13, 14, 0x107, 0x10b, 0x10e, 0x10f, 0x200, PAGE - 1);
      for (const so of [0x1000, 0x81000]) add('slot', ...[0, 4, 8, 0x10, 0x18, 0x1c, 0x20, 0x24, 0x2c, 0x34, 0x5c, 0x74, 0x78, 0x7c, 0x80, 0x84, 0x88, 0x100, 0x8000].map((o) => so + o));
      for (const bk of banksOf(bytes)) {
        add('bank header page', ...[0, 1, 2, 4, 5, 0x404, 0xc04, PAGE - 1].map((o) => bk.offset + o));
        const pages = bytes.readUInt16LE(bk.offset);
        for (let p = 0; p < pages; p++) {
          const at = bk.offset + PAGE + p * PAGE;
          if (bytes[bk.offset + 4 + p] === 0) add('metadata page', at, at + 8, at + 0x20 + p, at + 0x9c, at + 0x800, at + PAGE - 1);
          else if (p === pages - 1) add('free page', at + 17);
        }
      }
      for (let id = 0; id < reader.store.slot.blockCount; id++) {
        const s = await reader.storedBlock(id, 'test');
        add('data block', s.offset, s.offset + 1, s.offset + 5, s.offset + 13, s.offset + (s.compressedSize >> 1), s.offset + s.compressedSize - 1);
        if (s.allocSize > s.compressedSize) add('block slack', s.offset + s.compressedSize);
      }
      await reader.close();
      const outcomes: Record<string, Record<string, number>> = {};
      const fh = await open(flipPath, 'r+');
      try {
        for (const [kind, list] of positions) {
          for (const at of list) {
            const orig = bytes[at]!;
            await fh.write(Buffer.from([orig ^ 0xa5]), 0, 1, at);
            const outcome = await refusedOrDamaged(flipPath);
            if (outcome === 'verified') {
              assert.deepEqual(await contents(flipPath), baseline, `byte ${at} (${kind}) flipped: verified, but the content differs`);
            }
            if (kind === 'data block') {
              assert.equal(outcome, 'damaged', `byte ${at} in a data block must be found`);
              const report = await verifyBackup(flipPath);
              assert.ok(report.damage[0]?.internalFile, `damage names an internal file: ${JSON.stringify(report.damage[0])}`);
            }
            if (kind === 'metadata page') assert.notEqual(outcome, 'verified', `byte ${at} in a used metadata page must be found`);
            await fh.write(Buffer.from([orig]), 0, 1, at);
            (outcomes[kind] ??= {})[outcome] = ((outcomes[kind] ??= {})[outcome] ?? 0) + 1;
          }
        }
      } finally {
        await fh.close();
      }
      for (const kind of ['file header', 'slot', 'bank header page', 'metadata page', 'data block']) assert.ok(outcomes[kind], `no position of kind ${kind}`);
      // Every checksummed structure finds its flips; only bytes nothing reads (header padding, block slack) pass.
      for (const kind of ['slot', 'bank header page', 'metadata page', 'free page', 'data block']) assert.equal(outcomes[kind]?.['verified'], undefined, `${kind}: ${JSON.stringify(outcomes[kind])}`);
      const total = [...positions.values()].reduce((n, l) => n + l.length, 0);
      process.stderr.write(`# ${which}: ${total} flipped bytes: ${JSON.stringify(outcomes)}\n`);
    });

    it('refuses truncated copies cleanly, naming the file', async () => {
      const bytes = await vbkBytes(which);
      const cut = join(dir, `${which}-cut.vbk`);
      const firstBank = banksOf(bytes)[0]!.offset;
      for (const size of [0, 1, 0x100, PAGE, 0x1000 + 0x70, 0x81000, firstBank + 100, Math.floor(bytes.length / 2), bytes.length - PAGE, bytes.length - 1]) {
        await writeFile(cut, bytes.subarray(0, size));
        assert.notEqual(await refusedOrDamaged(cut), 'verified', `cut at ${size}`);
      }
      await writeFile(cut, bytes);
      await truncate(cut, bytes.length - 1);
      await assert.rejects(VbkReader.open(cut), (e: unknown) => e instanceof VbkFormatError && /truncated/.test(e.message) && e.exitCode === 2);
    });
  });
}

describe('vbk reader: disks inside', () => {
  it('finds the GPT (and an MBR made from it), the NTFS volume, its size and label in the v13 disk; ext4 in the v9 one', async () => {
    const reader = await VbkReader.open(await writeVbk(dir, 'v13', 'disk13.vbk'));
    try {
      const entry = (await reader.files()).find((e) => e.item.name === VBK_FIXTURES.v13.disk.name)!;
      const d = await describeDisk(reader, entry);
      assert.equal(d.partitionTable, 'GPT');
      assert.equal(d.partitions.length, 1);
      const p = d.partitions[0]!;
      assert.equal(p.offset, 128 * 512);
      assert.equal(p.size, 6144 * 512);
      assert.equal(p.typeName, 'Microsoft basic data');
      assert.equal(p.volume?.fileSystem, 'NTFS');
      assert.equal(p.volume?.size, 6143 * 512);
      assert.equal(p.volume?.label, 'VerySmallDisk');
    } finally {
      await reader.close();
    }
    // The same disk with an MBR instead of the GPT: its first block stored uncompressed at the end of the file,
    // with a partition entry (type 0x07) for the same NTFS volume, digests and checksums made right.
    const base = await vbkBytes('v13');
    const first = (await readRangeOf(await writeVbk(dir, 'v13', 'mbr-src.vbk'))).subarray(0, 1 << 20);
    const block = Buffer.from(first);
    block.fill(0, 446, 510);
    block.fill(0, 512, 1024); // no GPT header
    block[446] = 0x80;
    block[446 + 4] = 0x07;
    block.writeUInt32LE(128, 446 + 8);
    block.writeUInt32LE(6144, 446 + 12);
    const md5 = createHash('md5').update(block).digest();
    const end = base.length;
    let mbr = Buffer.concat([base, block]);
    for (const so of [0x1000, 0x81000]) mbr.writeBigUInt64LE(BigInt(mbr.length), so + 0x10);
    mbr = editPage(mbr, 0, 8, (pg) => {
      const at = 1 * 60; // the disk's first block is stored block 1
      pg.writeBigUInt64LE(BigInt(end), at + 5);
      pg.writeUInt32LE(1 << 20, at + 0xd);
      md5.copy(pg, at + 0x12);
      pg[at + 0x22] = 0xff;
      pg.writeUInt32LE(1 << 20, at + 0x24);
    });
    mbr = editPage(mbr, 0, 16, (pg) => md5.copy(pg, 5));
    const mbrPath = join(dir, 'mbr.vbk');
    await writeFile(mbrPath, mbr);
    assert.equal((await verifyBackup(mbrPath)).ok, true);
    const listed = await listBackup(mbrPath);
    const disk = listed.items.find((i) => i.path.endsWith(VBK_FIXTURES.v13.disk.name))!.disk!;
    assert.equal(disk.partitionTable, 'MBR');
    assert.deepEqual(disk.partitions.map((x) => [x.index, x.offset, x.size, x.type, x.typeName, x.volume?.fileSystem, x.volume?.label]), [
      [1, 65536, 6144 * 512, '0x07', 'NTFS/exFAT', 'NTFS', 'VerySmallDisk'],
    ]);
    const v9 = await listBackup(await writeVbk(dir, 'v9', 'disk9.vbk'));
    assert.equal(v9.items.find((i) => i.path.endsWith('DEV__dev_nvme1n1'))?.disk?.volume?.fileSystem, 'ext2/3/4');
  });
});

describe('vbk reader: files that are not backups it can read', () => {
  it('refuses foreign files with exit code 2 and the file named', async () => {
    const cases: [string, Buffer | 'dir' | 'missing'][] = [
      ['empty.vbk', Buffer.alloc(0)],
      ['random.vbk', Buffer.from(Array.from({ length: 70_000 }, (_v, i) => (i * 7919 + 13) & 0xff))],
      ['gzipped.vbk', await readFile(VBK_FIXTURES.v13.gz)],
      ['chain.vbm', await readFile(REAL_VBM_PATH)],
      ['zeros.vbk', Buffer.alloc(0x90000)],
      ['a-folder', 'dir'],
      ['missing.vbk', 'missing'],
    ];
    for (const [name, content] of cases) {
      const p = join(dir, name);
      if (content === 'dir') execFileSync('mkdir', ['-p', p]);
      else if (content !== 'missing') await writeFile(p, content);
      await assert.rejects(VbkReader.open(p), (e: unknown) => e instanceof VbkFormatError && e.exitCode === 2 && e.message.includes(p), name);
    }
  });

  it('refuses other storage formats, saying which it reads and what to use instead', async () => {
    const b = Buffer.from(await vbkBytes('v13'));
    b.writeUInt32LE(12, 0);
    const p = join(dir, 'v12.vbk');
    await writeFile(p, b);
    await assert.rejects(VbkReader.open(p), (e: unknown) => e instanceof VbkFormatError && /format 12/.test(e.message) && /9 and 13/.test(e.message) && /Veeam/.test(e.hint ?? ''));
  });

  it('refuses an encrypted backup with what to use instead', async () => {
    const b = editPage(await vbkBytes('v13'), 0, -1, (p) => p.fill(0x11, 0xc04, 0xc14));
    const p = join(dir, 'enc.vbk');
    await writeFile(p, b);
    await assert.rejects(VbkReader.open(p), (e: unknown) => e instanceof VbkFormatError && /encrypted/.test(e.message) && /password/.test(e.hint ?? ''));
  });

  it('ends hostile metadata (checksums right, structure wrong) in exit 2, quickly', async () => {
    const base = await vbkBytes('v13');
    const edits: [string, Buffer][] = [
      // Root folder record (page 4 of bank 0): a child count far beyond what the file can hold.
      ['huge child count', editPage(base, 0, 4, (p) => p.writeBigInt64LE(1n << 40n, 0x9c))],
      // The folder's children point back at the root: a loop.
      ['directory loop', editPage(base, 0, 4, (p) => p.writeInt32LE(0, 0x94))],
      // A page reference into a bank that does not exist.
      ['bank out of range', editPage(base, 0, 0, (p) => p.writeInt32LE(99, 0x14))],
      // A page table whose next pointer is itself, for a vector that needs many pages.
      ['page table loop', editPage(editPage(base, 0, 4, (p) => p.writeBigInt64LE(5000n, 0x9c)), 0, 3, (p) => { p.writeInt32LE(3, 0); p.writeInt32LE(0, 4); })],
      // The disk's size no longer matches its blocks.
      ['size mismatch', editPage(base, 0, 6, (p) => p.writeBigInt64LE(BigInt(0x314200 + 512), 0xc0 + 0xa8))],
      // A block's data-store id beyond the store.
      ['block id out of range', editPage(base, 0, 16, (p) => p.writeBigUInt64LE(1000n, 0x15))],
    ];
    for (const [name, bytes] of edits) {
      const p = join(dir, `hostile-${name.replace(/ /g, '-')}.vbk`);
      await writeFile(p, bytes);
      const started = Date.now();
      await assert.rejects(verifyBackup(p), (e: unknown) => e instanceof VbkFormatError && e.exitCode === 2 && e.message.includes(p), name);
      assert.ok(Date.now() - started < 10_000, `${name} ends promptly`);
    }
  });

  it('reads a file whose blocks were recompressed with zlib and zstd, and finds damage in them', async () => {
    const base = await vbkBytes('v13');
    const reader = await VbkReader.open(await writeVbk(dir, 'v13', 'recompress-src.vbk'));
    const stored = [];
    for (let id = 0; id < reader.store.slot.blockCount; id++) stored.push(await reader.storedBlock(id, 'test'));
    await reader.close();
    const zstd = (data: Buffer) => execFileSync('zstd', ['-3', '-c', '-q'], { input: data });
    for (const [code, compress] of [[3, (d: Buffer) => deflateSync(d, { level: 9 })], [8, zstd]] as const) {
      const b = Buffer.from(base);
      let changed = 0;
      // The v13 data store is page 8 of bank 0: 60-byte records from the start of the page.
      const recompressed = editPage(b, 0, 8, (page) => {
        for (const [id, s] of stored.entries()) {
          const data = decompressBlock(s.compression, base.subarray(s.offset, s.offset + s.compressedSize), s.size);
          const packed = compress(data);
          if (packed.length > s.allocSize) continue;
          packed.copy(b, s.offset);
          page[id * 60 + 0x22] = code;
          page.writeUInt32LE(packed.length, id * 60 + 0x24);
          changed++;
        }
      });
      // editPage copied `b` before our data writes landed in it: carry them over, then fix the checksums again.
      for (const s of stored) b.copy(recompressed, s.offset, s.offset, s.offset + s.allocSize);
      fixChecksums(recompressed);
      assert.ok(changed >= 6, `${changed} blocks recompressed`);
      const p = join(dir, `recompressed-${code}.vbk`);
      await writeFile(p, recompressed);
      assert.equal((await verifyBackup(p)).ok, true);
      assert.equal((await contents(p)).get(`${VBK_FIXTURES.v13.folder}/${VBK_FIXTURES.v13.disk.name}`), VBK_FIXTURES.v13.disk.sha256);
      const disk = stored[1]!;
      recompressed[disk.offset + 40] ^= 0xff;
      await writeFile(p, recompressed);
      const report = await verifyBackup(p);
      assert.equal(report.ok, false);
      assert.equal(report.damage[0]?.internalFile?.endsWith(VBK_FIXTURES.v13.disk.name), true);
    }
  });
});

describe('vbk reader: the mirror slot', () => {
  it('reads through a damaged bank of the newest slot from the mirror copy, and verify still reports the damage', async () => {
    const b = Buffer.from(await vbkBytes('v13'));
    const bank0 = banksOf(b).find((x) => x.slot === 0 && x.index === 0)!;
    b[bank0.offset + PAGE + 6 * PAGE + 0x10] ^= 0xff; // slot 0's copy of the page holding the file records
    const p = join(dir, 'mirror.vbk');
    await writeFile(p, b);
    const report = await verifyBackup(p);
    assert.equal(report.ok, false);
    assert.match(report.damage[0]!.what, /metadata bank 0 \(slot 0/);
    assert.equal(report.blocksChecked, report.blocksTotal, 'the blocks were still all checked, through the mirror');
    assert.equal((await contents(p)).get(`${VBK_FIXTURES.v13.folder}/${VBK_FIXTURES.v13.disk.name}`), VBK_FIXTURES.v13.disk.sha256);
  });
});

describe('vbk reader: tables with nothing stored', () => {
  it('reads a table without stored blocks as zeros, and a file claiming petabytes of them ends quickly in exit 2', async () => {
    // The v13 disk's only block table (page 14 of bank 0): no descriptors, 0 blocks, 1 MiB blocks.
    const sparse = editPage(await vbkBytes('v13'), 0, 14, (p) => {
      p.writeInt32LE(-1, 0);
      p.writeInt32LE(-1, 4);
      p.writeBigInt64LE(0x100000n, 8);
      p.writeBigInt64LE(0n, 16);
    });
    const p = join(dir, 'sparse.vbk');
    await writeFile(p, sparse);
    const report = await verifyBackup(p);
    assert.equal(report.ok, true);
    assert.equal(report.sparseBlocks, 4);
    const out = join(dir, 'sparse.raw');
    await extractFile(p, VBK_FIXTURES.v13.disk.name, out);
    const bytes = await readFile(out);
    assert.equal(bytes.length, VBK_FIXTURES.v13.disk.size);
    assert.ok(bytes.every((b) => b === 0));
    // Now the disk claims 2^50 bytes in 2^30 blocks: the tables run out long before, in a clear error.
    const huge = editPage(sparse, 0, 6, (pg) => {
      pg.writeBigInt64LE(1n << 30n, 0xc0 + 0xa0);
      pg.writeBigInt64LE(1n << 50n, 0xc0 + 0xa8);
    });
    await writeFile(p, huge);
    const started = Date.now();
    await assert.rejects(verifyBackup(p), (e: unknown) => e instanceof VbkFormatError && /add up|impossible|more pages|ends after/.test(e.message));
    assert.ok(Date.now() - started < 10_000);
  });
});

describe('vbk reader: decoders', () => {
  it('LZ4 blocks: decodes overlapping matches, refuses bad offsets and overruns', () => {
    // "abc" then a match of offset 3, length 9 (token 0x35: 3 literals, match length 5+4), then 1 literal.
    const block = Buffer.from([0x35, 0x61, 0x62, 0x63, 0x03, 0x00, 0x10, 0x21]);
    assert.equal(lz4DecodeBlock(block, 13).toString(), 'abcabcabcabc!');
    assert.throws(() => lz4DecodeBlock(Buffer.from([0x15, 0x61, 0x05, 0x00]), 20), /offset/);
    assert.throws(() => lz4DecodeBlock(block, 12), /past the output/);
    assert.throws(() => lz4DecodeBlock(Buffer.from([0xf0, 0xff, 0xff]), 1000), /ends/);
  });

  it('refuses RLE and unknown codes by name, and a zlib bomb at the block size', () => {
    assert.throws(() => decompressBlock(2, Buffer.alloc(10), 10), /RLE is not supported/);
    assert.throws(() => decompressBlock(0x42, Buffer.alloc(10), 10), /code 66 is not supported/);
    assert.throws(() => decompressBlock(3, deflateSync(Buffer.alloc(1 << 22)), 1 << 20), /zlib/);
  });

  it('names the damaged block and keeps nothing at --out when extract meets damage', async () => {
    const b = Buffer.from(await vbkBytes('v9'));
    const reader = await VbkReader.open(await writeVbk(dir, 'v9', 'dmg-src.vbk'));
    const s = await reader.storedBlock(1, 'test');
    await reader.close();
    b[s.offset + 100] ^= 0x01;
    const p = join(dir, 'dmg.vbk');
    await writeFile(p, b);
    const out = join(dir, 'dmg.raw');
    await assert.rejects(extractFile(p, 'DEV__dev_nvme1n1', out), (e: unknown) => e instanceof VbkDamageError && e.exitCode === 1 && /block 3 of .*DEV__dev_nvme1n1.*offset 3145728/.test(e.message));
    await assert.rejects(readFile(out), /ENOENT/);
    assert.equal(ItemType.InternalFile, 3);
  });
});
