/**
 * A larger Veeam backup file for the `backup verify` benchmark, grown from the real v13 fixture: its disk gets N
 * blocks of 1 MiB, each a separately stored copy of one of the fixture's three real full-size LZ4 blocks (real
 * Veeam compression, real NTFS data), with block tables and data-store records in a new metadata bank and every
 * checksum made right (test/helpers/vbk-craft.ts). Slot 1 is cleared (one slot, as format 9 files have).
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixChecksums, PAGE } from '../../test/helpers/vbk-craft.js';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/veeam/veeam-v13.vbk.gz', import.meta.url));
const MIB = 1024 * 1024;
const FIBS_PER_PAGE = Math.floor(PAGE / 46);
const STORED_PER_PAGE = Math.floor(PAGE / 60);
const TABLE_BLOCKS = 0x440;

export function makeBenchVbk(blocks: number): Buffer {
  const base = gunzipSync(readFileSync(FIXTURE));
  const slot = 0x1000;
  const bank0 = Number(base.readBigUInt64LE(slot + 0x7c + 4));
  const page0 = (p: number) => bank0 + PAGE + p * PAGE;
  // The three full-size disk blocks of the fixture: data-store records 1, 2, 3 on page 8 of bank 0.
  const sources = [1, 2, 3].map((id) => {
    const at = page0(8) + id * 60;
    const offset = Number(base.readBigUInt64LE(at + 5));
    const size = base.readUInt32LE(at + 0x24);
    return { record: base.subarray(at, at + 60), data: base.subarray(offset, offset + size) };
  });
  const tables = Math.ceil(blocks / TABLE_BLOCKS);
  const fibPages = (n: number) => Math.ceil(n / FIBS_PER_PAGE);
  const storedIds = 8 + blocks;
  const extraStorePages = Math.max(0, Math.ceil(storedIds / STORED_PER_PAGE) - 1);
  let pages = extraStorePages;
  const tableLayout: { index: number; data: number; n: number }[] = [];
  for (let t = 0; t < tables; t++) {
    const n = Math.min(TABLE_BLOCKS, blocks - t * TABLE_BLOCKS);
    tableLayout.push({ index: pages, data: pages + 1, n });
    pages += 1 + fibPages(n);
  }
  if (pages > 1024) throw new Error(`${blocks} blocks need ${pages} metadata pages, one bank holds 1024`);
  if (extraStorePages > 500) throw new Error('too many data-store pages for one page table');

  const bankAt = Math.ceil(base.length / PAGE) * PAGE;
  const bankSize = (pages + 2) * PAGE;
  let dataAt = bankAt + bankSize;
  const layout = Array.from({ length: blocks }, (_v, i) => {
    const src = sources[i % 3]!;
    const alloc = Math.ceil(src.data.length / 512) * 512;
    const at = dataAt;
    dataAt += alloc;
    return { src, at, alloc };
  });
  const out = Buffer.alloc(dataAt);
  base.copy(out);
  const bank = out.subarray(bankAt, bankAt + bankSize);
  bank.writeUInt16LE(pages, 0);
  bank.fill(1, 4 + pages, 4 + 1024);
  const bankPage = (p: number) => bank.subarray(PAGE + p * PAGE, 2 * PAGE + p * PAGE);

  // Data-store records: ids 8.. continue on page 8 of bank 0, then pages 0..extraStorePages-1 of bank 2.
  const storeIndex = out.subarray(page0(1), page0(1) + PAGE);
  for (let p = 0; p < extraStorePages; p++) {
    storeIndex.writeInt32LE(p, 24 + p * 8);
    storeIndex.writeInt32LE(2, 28 + p * 8);
  }
  for (const [i, b] of layout.entries()) {
    b.src.data.copy(out, b.at);
    const id = 8 + i;
    const page = id < STORED_PER_PAGE ? out.subarray(page0(8), page0(8) + PAGE) : bankPage(Math.floor(id / STORED_PER_PAGE) - 1);
    const at = (id % STORED_PER_PAGE) * 60;
    b.src.record.copy(page, at);
    page.writeBigUInt64LE(BigInt(b.at), at + 5);
    page.writeUInt32LE(b.alloc, at + 0xd);
  }
  // Block tables of the disk (page 14 of bank 0) and their block descriptors (bank 2).
  const tablePage = out.subarray(page0(14), page0(14) + PAGE);
  tablePage.fill(0);
  for (const [t, tl] of tableLayout.entries()) {
    tablePage.writeInt32LE(tl.index, t * 24);
    tablePage.writeInt32LE(2, t * 24 + 4);
    tablePage.writeBigInt64LE(BigInt(MIB), t * 24 + 8);
    tablePage.writeBigInt64LE(BigInt(tl.n), t * 24 + 16);
    const index = bankPage(tl.index);
    index.fill(0xff);
    index.writeInt32LE(tl.index, 8);
    index.writeInt32LE(2, 12);
    for (let k = 0; k < fibPages(tl.n); k++) {
      index.writeInt32LE(tl.data + k, 16 + k * 8);
      index.writeInt32LE(2, 20 + k * 8);
    }
    for (let j = 0; j < tl.n; j++) {
      const i = t * TABLE_BLOCKS + j;
      const fib = bankPage(tl.data + Math.floor(j / FIBS_PER_PAGE));
      const at = (j % FIBS_PER_PAGE) * 46;
      const record = layout[i]!.src.record;
      fib.writeUInt32LE(MIB, at);
      fib[at + 4] = 0;
      record.copy(fib, at + 5, 0x12, 0x22); // MD5 of the block's data
      fib.writeBigUInt64LE(BigInt(8 + i), at + 0x15);
    }
  }
  // The disk's directory record (page 6 of bank 0, second record): block count and size.
  const dir = out.subarray(page0(6) + 0xc0, page0(6) + 0x180);
  dir.writeBigInt64LE(BigInt(blocks), 0xa0);
  dir.writeBigInt64LE(BigInt(blocks * MIB), 0xa8);
  // Slot 0: file end, block count, the new bank; slot 1 cleared.
  out.writeBigUInt64LE(BigInt(out.length), slot + 0x10);
  out.writeUInt32LE(3, slot + 0x18);
  out.writeBigInt64LE(BigInt(storedIds), slot + 0x34);
  out.writeUInt32LE(3, slot + 0x78);
  const entry = slot + 0x7c + 2 * 16;
  out.writeBigUInt64LE(BigInt(bankAt), entry + 4);
  out.writeUInt32LE(bankSize, entry + 12);
  out.fill(0, 0x81000, 0x81000 + 0x80000);
  fixChecksums(out);
  return out;
}
