/**
 * The fields of a .vbm's Point, Storage and OIB records that the chain model is built from (model.ts buildChain), as
 * columns: one array per field, one row per record, in file order. A year of hourly points is 26,280 records; read
 * for the audit (vbm.ts, detail `chain`) they go straight from the scan into these columns, with no object per
 * record and no string or Date per time, flag or number. A full read fills them from its records.
 *
 * Absent values: undefined in the string columns, NaN in the number columns (times are milliseconds since 1970 of
 * the wall-clock reading taken as UTC), -1/0/1 for an absent/false/true flag.
 */
import type { LocalDateTime, VbmOib, VbmPoint, VbmStorage } from './vbm.js';

const ms = (d: Date | undefined): number => (d ? d.getTime() : Number.NaN);
const num = (n: number | undefined): number => (n === undefined ? Number.NaN : n);
export const flag = (b: boolean | undefined): number => (b === undefined ? -1 : b ? 1 : 0);

export class ChainColumns {
  readonly pointId: string[] = [];
  readonly pointLinkId: (string | undefined)[] = [];
  readonly pointNum: number[] = [];
  readonly pointTime: number[] = [];
  /** Point@Type: 0 full, 1 increment. */
  readonly pointType: number[] = [];

  readonly storageId: string[] = [];
  readonly storageFileName: (string | undefined)[] = [];
  readonly storageFilePath: (string | undefined)[] = [];
  readonly storageLinkId: (string | undefined)[] = [];
  readonly storageTime: number[] = [];
  /** Storage@CreationTime: the point's local time. */
  readonly storageLocal: (LocalDateTime | undefined)[] = [];
  /** Storage@Stats. */
  readonly storageBackupSize: number[] = [];
  readonly storageDataSize: number[] = [];
  readonly storageDedupRatio: number[] = [];
  readonly storageCompressRatio: number[] = [];

  readonly oibId: string[] = [];
  readonly oibPointId: (string | undefined)[] = [];
  readonly oibStorageId: (string | undefined)[] = [];
  /** IsCorrupted or IsRecheckCorrupted is True. */
  readonly oibCorrupted: boolean[] = [];
  readonly oibConsistent: number[] = [];
  readonly oibTime: number[] = [];
  readonly oibCompletionTime: number[] = [];
  /** OIB@CreationTime as text: parsed only for a point whose storage has no local time. */
  readonly oibLocalText: (string | undefined)[] = [];
  readonly oibApproxSize: number[] = [];
  readonly oibHasAd: boolean[] = [];
  readonly oibHasSql: boolean[] = [];
  readonly oibHasExchange: boolean[] = [];
  readonly oibFqdn: (string | undefined)[] = [];

  addPoint(p: VbmPoint): void {
    this.pointId.push(p.id);
    this.pointLinkId.push(p.linkId);
    this.pointNum.push(num(p.num));
    this.pointTime.push(ms(p.creationTimeUtc));
    this.pointType.push(num(p.type));
  }

  addStorage(s: VbmStorage): void {
    this.storageId.push(s.id);
    this.storageFileName.push(s.fileName);
    this.storageFilePath.push(s.filePath);
    this.storageLinkId.push(s.linkId);
    this.storageTime.push(ms(s.creationTimeUtc));
    this.storageLocal.push(s.creationTime);
    this.storageBackupSize.push(num(s.stats?.backupSize));
    this.storageDataSize.push(num(s.stats?.dataSize));
    this.storageDedupRatio.push(num(s.stats?.dedupRatio));
    this.storageCompressRatio.push(num(s.stats?.compressRatio));
  }

  addOib(o: VbmOib): void {
    this.oibId.push(o.id);
    this.oibPointId.push(o.pointId);
    this.oibStorageId.push(o.storageId);
    this.oibCorrupted.push(o.isCorrupted === true || o.isRecheckCorrupted === true);
    this.oibConsistent.push(flag(o.isConsistent));
    this.oibTime.push(ms(o.creationTimeUtc));
    this.oibCompletionTime.push(ms(o.completionTimeUtc));
    this.oibLocalText.push(o.creationTime?.text);
    this.oibApproxSize.push(num(o.approxSize));
    this.oibHasAd.push(o.hasAd === true);
    this.oibHasSql.push(o.hasSql === true);
    this.oibHasExchange.push(o.hasExchange === true);
    this.oibFqdn.push(o.fqdn);
  }
}
