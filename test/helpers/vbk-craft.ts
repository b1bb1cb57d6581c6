/**
 * Edits of real Veeam backup files for tests: a metadata bank changed and its checksums made right again (in the
 * bank table of every valid slot, then the slot's own checksum), so that the reader's structural checks are reached
 * rather than its CRC checks. Written from the layout facts in test/fixtures/veeam/SOURCE.md, independent of src/.
 */
const T = new Uint32Array(256).map((_v, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});

export function crc32cRef(b: Uint8Array): number {
  let crc = 0xffffffff;
  for (const x of b) crc = T[(crc ^ x) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

export const PAGE = 0x1000;
export const SLOT_OFFSETS = [0x1000, 0x81000] as const;

export interface CraftBank {
  readonly slot: number;
  readonly index: number;
  readonly offset: number;
  readonly size: number;
}

/** Banks of every slot that holds a snapshot. */
export function banksOf(b: Buffer): CraftBank[] {
  const out: CraftBank[] = [];
  for (const [slot, so] of SLOT_OFFSETS.entries()) {
    if (b.readUInt32LE(so + 4) !== 1) continue;
    const n = b.readUInt32LE(so + 0x78);
    for (let i = 0; i < n; i++) {
      const at = so + 0x7c + i * 16;
      out.push({ slot, index: i, offset: Number(b.readBigUInt64LE(at + 4)), size: b.readUInt32LE(at + 12) });
    }
  }
  return out;
}

/** Offset of page `page` of bank `bank` in a given slot. */
export function pageOffset(b: Buffer, slot: number, bank: number, page: number): number {
  const bk = banksOf(b).find((x) => x.slot === slot && x.index === bank);
  if (!bk) throw new Error(`no bank ${bank} in slot ${slot}`);
  return bk.offset + PAGE + page * PAGE;
}

/** Recomputes every bank checksum in every valid slot, then each slot's checksum. */
export function fixChecksums(b: Buffer): void {
  for (const so of SLOT_OFFSETS) {
    if (b.readUInt32LE(so + 4) !== 1) continue;
    const n = b.readUInt32LE(so + 0x78);
    for (let i = 0; i < n; i++) {
      const at = so + 0x7c + i * 16;
      const off = Number(b.readBigUInt64LE(at + 4));
      const size = b.readUInt32LE(at + 12);
      b.writeUInt32LE(crc32cRef(b.subarray(off, off + size)), at);
    }
    const len = 0x7c + b.readUInt32LE(so + 0x74) * 16;
    b.writeUInt32LE(crc32cRef(b.subarray(so + 4, so + len)), so);
  }
}

/** Applies `edit` to the same page of bank `bank` in every valid slot's copy, then fixes the checksums. */
export function editPage(b: Buffer, bank: number, page: number, edit: (p: Buffer) => void): Buffer {
  const out = Buffer.from(b);
  for (const bk of banksOf(out)) {
    if (bk.index !== bank) continue;
    const at = bk.offset + PAGE + page * PAGE;
    edit(out.subarray(at, at + PAGE));
  }
  fixChecksums(out);
  return out;
}
