/**
 * `backup verify`: every metadata slot and bank (both copies) against its CRC-32C, then every stored block read,
 * decompressed and checked against its MD5, file by file so that damage is named by internal file and offset.
 * A block shared by several files (deduplicated) is read once. Optionally only a subset of the stored blocks is read
 * (a fraction, or slice n of m), for audits that spread a full read over several runs.
 */
import { createHash } from 'node:crypto';
import { VbkDamageError, type DamageLocation } from './errors.js';
import { BLOCK_IN_BLOB, FibBlockType, STORED_BLOCK_SIZE, parseStoredBlock } from './layout.js';
import { decompressBlock } from './decompress.js';
import { VbkReader } from './reader.js';

export type Subset = { readonly kind: 'all' } | { readonly kind: 'fraction'; readonly fraction: number; readonly seed?: number } | { readonly kind: 'slice'; readonly n: number; readonly m: number };

export interface VerifyOptions {
  readonly subset?: Subset;
  /** Bytes of the backup file read so far and the file's size. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Damage records kept (the first is the one named); default 20. */
  readonly maxDamage?: number;
}

export interface VerifyReport {
  readonly file: string;
  readonly fileBytes: number;
  readonly formatVersion: number;
  readonly snapshotVersion: number;
  readonly ok: boolean;
  readonly slots: { readonly index: number; readonly valid: boolean; readonly problem?: string }[];
  readonly banksChecked: number;
  readonly internalFiles: number;
  /** Stored blocks in the file, and how many of them this run read and checked. */
  readonly blocksTotal: number;
  readonly blocksChecked: number;
  readonly sparseBlocks: number;
  /** Stored (compressed) bytes of all blocks, and of those read. */
  readonly storedBytesTotal: number;
  readonly storedBytesRead: number;
  /** Bytes of file content the checked blocks hold. */
  readonly dataBytesChecked: number;
  readonly subset: string;
  readonly damage: DamageLocation[];
  readonly damageCount: number;
}

/** Whether stored block `id` of `count` is in this run's subset. */
export function inSubset(subset: Subset, id: number, count: number): boolean {
  if (subset.kind === 'all') return true;
  if (subset.kind === 'slice') return Math.floor((id * subset.m) / Math.max(count, 1)) === subset.n - 1;
  // A cheap integer hash of (id, seed): a different, evenly spread set of blocks each run.
  let h = (id ^ (subset.seed ?? 0)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 0x100000000 < subset.fraction;
}

export function describeSubset(subset: Subset): string {
  if (subset.kind === 'all') return 'all blocks';
  if (subset.kind === 'slice') return `slice ${subset.n} of ${subset.m} of the blocks`;
  return `a random ${(subset.fraction * 100).toFixed(1)}% of the blocks`;
}

export async function verifyBackup(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const reader = await VbkReader.open(path);
  try {
    return await run(reader, options);
  } finally {
    await reader.close();
  }
}

async function run(reader: VbkReader, options: VerifyOptions): Promise<VerifyReport> {
  const store = reader.store;
  const subset = options.subset ?? { kind: 'all' };
  const maxDamage = options.maxDamage ?? 20;
  const damage: DamageLocation[] = [];
  let damageCount = 0;
  const noted = new Set<string>();
  const note = (d: DamageLocation) => {
    if (noted.has(d.what)) return;
    noted.add(d.what);
    damageCount++;
    if (damage.length < maxDamage) damage.push(d);
  };
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(Math.min(done, store.fileSize), store.fileSize);
  };

  // Slots: an empty second slot is normal (format 9 writes one); a slot with a wrong checksum is damage.
  const slots = store.slots.map((s) => ({ index: s.index, valid: s.slot !== undefined, ...(s.problem ? { problem: s.problem } : {}) }));
  for (const s of store.slots) {
    if (!s.slot && s.problem !== 'empty') note({ file: store.path, what: `metadata slot ${s.index} (offset ${s.offset})`, fileOffset: s.offset, reason: s.problem ?? '' });
  }
  let banksChecked = 0;
  for (const s of store.slots) {
    if (!s.slot) continue;
    for (const [i, info] of s.slot.banks.entries()) {
      banksChecked++;
      progress(info.size);
      if (s.slot === store.slot) {
        // The active slot's banks go through the cache (checked once, reused below); a copy repaired from the
        // mirror is noted after the loop.
        await store.bank(i).catch((e: unknown) => {
          if (!(e instanceof VbkDamageError)) throw e;
          note(e.damage);
        });
        continue;
      }
      const { problem } = await store.readBank(info);
      if (problem) note({ file: store.path, what: `metadata bank ${i} of slot ${s.index} (offset ${info.offset})`, fileOffset: info.offset, reason: problem });
    }
  }
  for (const d of store.repaired) note(d);

  const blocksTotal = store.slot.blockCount;
  const seen = new Uint8Array(blocksTotal);
  let blocksChecked = 0;
  let sparseBlocks = 0;
  let storedBytesRead = 0;
  let dataBytesChecked = 0;
  let internalFiles = 0;
  try {
    for (const entry of await reader.files()) {
      internalFiles++;
      for await (const ref of reader.blocks(entry)) {
        if (!ref.fib) {
          sparseBlocks += ref.count;
          continue;
        }
        if (ref.fib.type === FibBlockType.Sparse) {
          // Check the recorded digest is that of zeros: cheap, and a damaged record is found.
          try {
            await reader.readBlock(entry, ref);
          } catch (e) {
            if (!(e instanceof VbkDamageError)) throw e;
            note(e.damage);
          }
          sparseBlocks++;
          continue;
        }
        const id = ref.fib.id;
        if (id < blocksTotal && seen[id]) continue;
        if (!inSubset(subset, id, blocksTotal)) continue;
        if (id < blocksTotal) seen[id] = 1;
        try {
          const block = await reader.readBlock(entry, ref);
          storedBytesRead += block.storedBytes;
          progress(block.storedBytes);
          dataBytesChecked += block.size;
          blocksChecked++;
        } catch (e) {
          if (!(e instanceof VbkDamageError)) throw e;
          blocksChecked++;
          note(e.damage);
        }
      }
    }
    // Stored blocks no file refers to (left by retention or merges) are still data Veeam may need: check them too,
    // against the digest the store keeps.
    for (let id = 0; id < blocksTotal; id++) {
      if (seen[id] || !inSubset(subset, id, blocksTotal)) continue;
      const stored = await reader.storedBlock(id, `stored block ${id}`);
      if (stored.location !== BLOCK_IN_BLOB || stored.compressedSize > stored.allocSize) continue;
      const where = { file: store.path, what: `stored block ${id} (not used by any file)`, fileOffset: stored.offset };
      const raw = await store.readExact(stored.offset, stored.compressedSize);
      blocksChecked++;
      if (!raw) {
        note({ ...where, reason: 'it lies beyond the end of the file' });
        continue;
      }
      storedBytesRead += raw.length;
      progress(raw.length);
      try {
        const data = decompressBlock(stored.compression, raw, stored.size);
        const md5 = createHash('md5').update(data).digest();
        if (!md5.equals(stored.digest)) note({ ...where, reason: `MD5 ${md5.toString('hex')} where Veeam recorded ${stored.digest.toString('hex')}` });
        dataBytesChecked += data.length;
      } catch (e) {
        note({ ...where, reason: (e as Error).message });
      }
    }
  } catch (e) {
    // Metadata of the active slot that cannot be read (no intact copy) ends the check here.
    if (!(e instanceof VbkDamageError)) throw e;
    note(e.damage);
  }
  let storedBytesTotal = 0;
  for (let id = 0; id < blocksTotal; id++) {
    const stored = await reader.storedBlock(id, `stored block ${id}`).catch(() => undefined);
    if (stored && stored.location === BLOCK_IN_BLOB) storedBytesTotal += stored.compressedSize;
  }
  options.onProgress?.(store.fileSize, store.fileSize);
  return {
    file: store.path,
    fileBytes: store.fileSize,
    formatVersion: store.header.version,
    snapshotVersion: Number(store.slot.snapshotVersion),
    ok: damageCount === 0,
    slots,
    banksChecked,
    internalFiles,
    blocksTotal,
    blocksChecked,
    sparseBlocks,
    storedBytesTotal,
    storedBytesRead,
    dataBytesChecked,
    subset: describeSubset(subset),
    damage,
    damageCount,
  };
}

export { STORED_BLOCK_SIZE, parseStoredBlock };
