/**
 * Veeam backup chain metadata (.vbm, MetaSchemaVersion 2) as typed raw records. One record type per element kind
 * (Backup, Host, Storage, Point, Object, OIB), each read tolerantly: a missing or malformed value becomes undefined
 * (never NaN), unknown attributes are ignored. Storage@Stats and the PartialPath attributes are decoded here (small);
 * OIB@AuxData and OIB@GuestInfo are kept as text and decoded on demand (large, one per point): see model.ts.
 *
 * How the records connect (from the real fixture):
 *   OIB.PointId -> Point.Id, OIB.StorageId -> Storage.Id, OIB.ObjectId -> Object.Id;
 *   Storage.LinkId -> the previous Storage.Id (absent on the full .vbk);
 *   Point.LinkId -> the previous Point.Id (all-zero GUID on the full); OIB.LinkId -> the previous OIB.Id.
 */
import { InputError } from '../errors.js';
import { ChainColumns, flag } from './chain-columns.js';
import { UNREAD, boolAt, integerAt, isValidTime, partialPathFileAt, statsAt, timeAt } from './vbm-bytes.js';
import { TagAttributes } from './xml-scan.js';
import { DEFAULT_XML_LIMITS, attr, parseXmlFragment, parseXmlFragmentShallow, readXmlBytes, scanOrRefuse, type ReadBuffer, type XmlLimits } from './xml.js';

/** A wall-clock time without a zone, as Veeam writes local times. Kept as parts and as the original text. */
export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** The text as written in the file, `MM/dd/yyyy HH:mm:ss`. */
  readonly text: string;
}

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';


/** Parses Veeam's `MM/dd/yyyy HH:mm:ss` into parts; undefined when absent or invalid. */
export function parseVeeamLocalTime(text: string | undefined): LocalDateTime | undefined {
  if (text === undefined) return undefined;
  // Read digit by digit (several times per restore point, 26,000 per year-long chain): M/d/yyyy H:mm:ss, where
  // month, day and hour have one or two digits. Surrounding whitespace is allowed. No closure over a cursor: one per
  // call was most of the memory the audit allocated.
  const t = text.trim();
  const month = timeField(t, 0, 1, 2, 0x2f);
  const day = timeField(t, fieldEnd, 1, 2, 0x2f);
  const year = timeField(t, fieldEnd, 4, 4, 0x20);
  const hour = timeField(t, fieldEnd, 1, 2, 0x3a);
  const minute = timeField(t, fieldEnd, 2, 2, 0x3a);
  const second = timeField(t, fieldEnd, 2, 2, -1);
  if (!isValidTime(year, month, day, hour, minute, second)) return undefined;
  return { year, month, day, hour, minute, second, text: t };
}

/** Where the next field of the time timeField read last starts (after its separator). */
let fieldEnd = 0;

/**
 * The number of `min` to `max` digits at `at` in `t`, which must be followed by the character `sep` (or, when `sep`
 * is -1, end the text); NaN otherwise. Sets {@link fieldEnd}.
 */
function timeField(t: string, at: number, min: number, max: number, sep: number): number {
  let n = 0;
  let k = at;
  while (k < t.length && k - at < max) {
    const c = t.charCodeAt(k);
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    k++;
  }
  const ok = k - at >= min && (sep >= 0 ? t.charCodeAt(k++) === sep : k === t.length);
  fieldEnd = k;
  return ok ? n : Number.NaN;
}

/** Parses a UTC time in Veeam's `MM/dd/yyyy HH:mm:ss` into a Date; undefined when absent or invalid. */
export function parseVeeamUtcTime(text: string | undefined): Date | undefined {
  const t = parseVeeamLocalTime(text);
  if (!t) return undefined;
  return new Date(Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

// The two below are kept per restore point (label, localTime): joined rather than built by a template, which V8 keeps
// as a tree of its pieces (~0.5 KB per time instead of ~40 bytes).

/** `18 Jul 2025 00:04`: how the manual and messages show a point's time. */
export function formatLocalTime(t: LocalDateTime): string {
  return [t.day, ' ', MONTHS[t.month - 1] ?? '?', ' ', t.year, ' ', p2(t.hour), ':', p2(t.minute)].join('');
}

/** `2025-07-18 00:04:56`: sortable, unambiguous local time text. */
export function isoLocalTime(t: LocalDateTime): string {
  return [t.year, '-', p2(t.month), '-', p2(t.day), ' ', p2(t.hour), ':', p2(t.minute), ':', p2(t.second)].join('');
}

/** `18 Jul 2025 22:04 UTC`. */
export function formatUtcTime(d: Date): string {
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()] ?? '?'} ${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())} UTC`;
}

/** Non-negative integer byte count; undefined when absent, malformed or beyond exact double range. */
export function parseSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = text.trim();
  if (!/^\d{1,16}$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Integer, possibly written as `261.0000000000` (Point@Num); undefined otherwise. */
export function parseInteger(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(-?\d{1,15})(?:\.0*)?\s*$/.exec(text);
  if (!m || m[1] === undefined) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `True`/`False` (any case); undefined otherwise. */
export function parseBool(text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  // As Veeam writes them (several per restore point), without the copies trimming and lower-casing make.
  if (text === 'True') return true;
  if (text === 'False') return false;
  const s = text.trim().toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  return undefined;
}

/** A GUID reference; undefined when absent, empty or all-zero. */
export function parseRef(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const s = text.trim().toLowerCase();
  if (s === '' || s === ZERO_GUID) return undefined;
  return s;
}

function str(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const s = text.trim();
  return s === '' ? undefined : s;
}

export interface VbmOwner {
  readonly id?: string;
  readonly name?: string;
}

export interface VbmRetention {
  /** CRetentionSettings@RetentionType: 1 = days in the fixture (RetainDaysToKeep used), 0 = restore points (unverified). */
  readonly type?: number;
  readonly daysToKeep?: number;
  readonly cycles?: number;
}

export interface VbmBackup {
  readonly id?: string;
  readonly jobId?: string;
  readonly jobName?: string;
  readonly policyName?: string;
  /** UNC folder the agent wrote to. */
  readonly dirPath?: string;
  /** Folder path elements below the repository root (from Backup@PartialPath). */
  readonly partialPath?: readonly string[];
  readonly metaFileName?: string;
  /** 0 = not encrypted, 2 = encrypted (others unverified). */
  readonly encryptionState?: number;
  readonly creationTime?: LocalDateTime;
  readonly creationTimeUtc?: Date;
  readonly metaUpdateTime?: LocalDateTime;
}

export interface VbmHost {
  readonly id: string;
  readonly name?: string;
  readonly type?: number;
}

export interface VbmStorageStats {
  /** Bytes of the backup file (after compression and deduplication). */
  readonly backupSize?: number;
  /** Bytes read from the source for this session. */
  readonly dataSize?: number;
  /** Percent (Veeam's DedupRatio). */
  readonly dedupRatio?: number;
  /** Percent (Veeam's CompressRatio). */
  readonly compressRatio?: number;
}

export interface VbmStorage {
  readonly id: string;
  readonly backupId?: string;
  readonly hostId?: string;
  /** Path the agent wrote (usually UNC). */
  readonly filePath?: string;
  /** Path elements from Storage@PartialPath; the last one is the file name. */
  readonly partialPath?: readonly string[];
  /** File name on the share: last element of PartialPath, else last element of FilePath. */
  readonly fileName?: string;
  readonly creationTime?: LocalDateTime;
  readonly creationTimeUtc?: Date;
  readonly modificationTime?: LocalDateTime;
  readonly stats?: VbmStorageStats;
  /** Previous storage in the chain; undefined for a full. */
  readonly linkId?: string;
  readonly state?: number;
  readonly availability?: number;
  readonly gfsPeriod?: number;
  readonly partialIncrement?: boolean;
  readonly storageCryptoKeyId?: string;
}

export interface VbmPoint {
  readonly id: string;
  readonly originalId?: string;
  /** Previous point; undefined (all-zero GUID in the file) for a full. */
  readonly linkId?: string;
  readonly num?: number;
  readonly groupId?: string;
  /** Point@CreationTime: in the agent's files this carries the same value as CreationTimeUtc. */
  readonly creationTime?: LocalDateTime;
  readonly creationTimeUtc?: Date;
  /** 0 = full, 1 = increment. */
  readonly type?: number;
  readonly backupId?: string;
}

export interface VbmObject {
  readonly id: string;
  readonly type?: number;
  readonly hostId?: string;
  readonly name?: string;
  readonly displayName?: string;
  readonly objectId?: string;
  readonly uuid?: string;
  readonly platform?: number;
}

export interface VbmOib {
  readonly id: string;
  readonly originalOibId?: string;
  readonly objectId?: string;
  readonly pointId?: string;
  readonly storageId?: string;
  /** Previous OIB; undefined for the full. */
  readonly linkId?: string;
  readonly isCorrupted?: boolean;
  readonly isRecheckCorrupted?: boolean;
  readonly isConsistent?: boolean;
  readonly needHealthCheckRepair?: boolean;
  readonly healthStatus?: number;
  readonly state?: number;
  /** 0 on the full, 2 on increments in the fixture. */
  readonly type?: number;
  /** Local time the snapshot was taken. */
  readonly creationTime?: LocalDateTime;
  readonly creationTimeUtc?: Date;
  readonly completionTimeUtc?: Date;
  readonly vmName?: string;
  readonly displayName?: string;
  readonly fqdn?: string;
  /** Bytes of source data in the backup (about the used size of the backed-up volumes). */
  readonly approxSize?: number;
  readonly hasAd?: boolean;
  readonly hasSql?: boolean;
  readonly hasExchange?: boolean;
  readonly hasSharePoint?: boolean;
  readonly hasOracle?: boolean;
  readonly hasPostgreSql?: boolean;
  readonly productVersion?: string;
  /** OIB@AuxData, entity-decoded once: itself an XML document (COibAuxData). Parsed on demand. */
  readonly auxDataXml?: string;
  /** OIB@GuestInfo, entity-decoded once: an XML document (GuestInfo). Parsed on demand. */
  readonly guestInfoXml?: string;
}

export interface Vbm {
  /** The file it was read from (or the label given to {@link parseVbm}). */
  readonly file: string;
  readonly version?: number;
  readonly metaSchemaVersion?: number;
  readonly creationTimeUtc?: Date;
  readonly owner?: VbmOwner;
  readonly backup: VbmBackup;
  readonly retention?: VbmRetention;
  readonly hosts: readonly VbmHost[];
  readonly storages: readonly VbmStorage[];
  readonly points: readonly VbmPoint[];
  readonly objects: readonly VbmObject[];
  readonly oibs: readonly VbmOib[];
  /** Things that were odd but not fatal (unexpected schema version, records without an Id). */
  readonly warnings: readonly string[];
  /** How much of each record was kept (see VbmReadOptions); absent means `full`. */
  readonly detail?: 'chain';
  /**
   * The fields of the Point, Storage and OIB records the chain model is built from, row by row in the order of the
   * arrays above. In `chain` detail only these are kept: `storages`, `points` and `oibs` are empty.
   */
  readonly columns: ChainColumns;
}

export interface VbmReadOptions {
  readonly limits?: XmlLimits;
  /**
   * `chain` keeps of each Point, Storage and OIB only what the chain's structure and health need (ids, links, times,
   * corruption flags, file names, Stats): for reading a year of hourly points to judge it, not to restore from it
   * (pointDetails returns undefined for its points), and only in {@link Vbm.columns}, with no record object per element.
   * The attributes left out are still checked as a full read checks them, so both refuse the same files with the same
   * message. Default `full`.
   */
  readonly detail?: 'full' | 'chain';
  /** Reuse this buffer for the file's bytes (when reading many files one after the other). */
  readonly scratch?: ReadBuffer;
}

/*
 * Veeam writes Storage@Stats and the PartialPath attributes in one plain shape: elements without attributes (but
 * IsFilePath), text without entities or markup. A value in exactly that shape is read with a regular expression, which
 * says what the scanner would say of it at a fraction of the cost (two per restore point); anything else, and any
 * limits that could refuse it, take the general path with its checks and messages.
 */
const PLAIN_STATS = /^<CBackupStats><BackupSize>(\d*)<\/BackupSize><DataSize>(\d*)<\/DataSize><DedupRatio>(\d*)<\/DedupRatio><CompressRatio>(\d*)<\/CompressRatio><\/CBackupStats>$/;
const PLAIN_PATH = /^<Path IsFilePath="(?:True|False)">(?:<Elements>[^<&]*<\/Elements>)*<\/Path>$/;
const PLAIN_PATH_ELEMENT = /<Elements>([^<&]*)<\/Elements>/g;

function plainFits(text: string, elements: number, limits: XmlLimits): boolean {
  return text.length <= limits.maxAttributeLength && elements <= limits.maxElements && limits.maxDepth >= 2;
}

/** Decodes a `<Path IsFilePath=".."><Elements>a</Elements>...</Path>` attribute. */
export function parsePartialPath(text: string | undefined, where: string, limits: XmlLimits): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (PLAIN_PATH.test(text)) {
    const elements = Array.from(text.matchAll(PLAIN_PATH_ELEMENT), (m) => (m[1] as string).trim());
    if (plainFits(text, elements.length + 1, limits)) return elements;
  }
  const root = parseXmlFragmentShallow(text, where, limits);
  if (root.name !== 'Path') return undefined;
  return root.children.filter((e) => e.name === 'Elements').map((e) => e.text);
}

/** Decodes a `<CBackupStats>` attribute. */
export function parseStats(text: string | undefined, where: string, limits: XmlLimits): VbmStorageStats | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const plain = PLAIN_STATS.exec(text);
  if (plain && plainFits(text, 5, limits)) {
    return { backupSize: parseSize(plain[1]), dataSize: parseSize(plain[2]), dedupRatio: parseSize(plain[3]), compressRatio: parseSize(plain[4]) };
  }
  const root = parseXmlFragmentShallow(text, where, limits);
  if (root.name !== 'CBackupStats') return undefined;
  const v = (n: string): number | undefined => parseSize(root.children.find((c) => c.name === n)?.text);
  return {
    backupSize: v('BackupSize'),
    dataSize: v('DataSize'),
    dedupRatio: v('DedupRatio'),
    compressRatio: v('CompressRatio'),
  };
}

/** Last element of a Windows or POSIX path. */
export function lastPathElement(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  const parts = p.split(/[\\/]/).filter((s) => s !== '');
  return parts.length ? parts[parts.length - 1] : undefined;
}

/** The attributes of the tag being visited: every record is read while its element is visited. */
type Attrs = Pick<TagAttributes, 'get'>;

function readBackup(a: Attrs, where: string, limits: XmlLimits): VbmBackup {
  const v = (n: string): string | undefined => a.get(n);
  return {
    id: parseRef(v('Id')),
    jobId: parseRef(v('JobId')),
    jobName: str(v('JobName')),
    policyName: str(v('PolicyName')),
    dirPath: str(v('DirPath')),
    partialPath: parsePartialPath(v('PartialPath'), `attribute PartialPath of Backup in ${where}`, limits),
    metaFileName: str(v('MetaFileName')),
    encryptionState: parseInteger(v('EncryptionState')),
    creationTime: parseVeeamLocalTime(v('CreationTime')),
    creationTimeUtc: parseVeeamUtcTime(v('CreationTimeUtc')),
    metaUpdateTime: parseVeeamLocalTime(v('MetaUpdateTime')),
  };
}

function readRetention(value: string | undefined, where: string, limits: XmlLimits): VbmRetention | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const root = parseXmlFragment(value, `attribute Value of BackupRetentionOption in ${where}`, limits);
  return {
    type: parseInteger(attr(root, 'RetentionType')),
    daysToKeep: parseInteger(attr(root, 'RetainDaysToKeep')),
    cycles: parseInteger(attr(root, 'RetainCycles')),
  };
}

const readHost = (a: Attrs, id: string): VbmHost => ({ id, name: str(a.get('Name')), type: parseInteger(a.get('Type')) });

function readStorage(a: Attrs, id: string, where: string, limits: XmlLimits): VbmStorage {
  const v = (n: string): string | undefined => a.get(n);
  const filePath = str(v('FilePath'));
  const partialPath = parsePartialPath(v('PartialPath'), `attribute PartialPath of Storage ${id} in ${where}`, limits);
  const fromPartial = partialPath && partialPath.length ? str(partialPath[partialPath.length - 1]) : undefined;
  return {
    id,
    backupId: parseRef(v('BackupId')),
    hostId: parseRef(v('HostId')),
    filePath,
    partialPath,
    fileName: fromPartial ?? lastPathElement(filePath),
    creationTime: parseVeeamLocalTime(v('CreationTime')),
    creationTimeUtc: parseVeeamUtcTime(v('CreationTimeUtc')),
    modificationTime: parseVeeamLocalTime(v('ModificationTime')),
    stats: parseStats(v('Stats'), `attribute Stats of Storage ${id} in ${where}`, limits),
    linkId: parseRef(v('LinkId')),
    state: parseInteger(v('State')),
    availability: parseInteger(v('Availability')),
    gfsPeriod: parseInteger(v('GfsPeriod')),
    partialIncrement: parseBool(v('PartialIncrement')),
    storageCryptoKeyId: parseRef(v('StorageCryptoKeyIdTag')),
  };
}

const readPoint = (a: Attrs, id: string): VbmPoint => ({
  id,
  originalId: parseRef(a.get('OriginalId')),
  linkId: parseRef(a.get('LinkId')),
  num: parseInteger(a.get('Num')),
  groupId: parseRef(a.get('GroupId')),
  creationTime: parseVeeamLocalTime(a.get('CreationTime')),
  creationTimeUtc: parseVeeamUtcTime(a.get('CreationTimeUtc')),
  type: parseInteger(a.get('Type')),
  backupId: parseRef(a.get('BackupId')),
});

const readObject = (a: Attrs, id: string): VbmObject => ({
  id,
  type: parseInteger(a.get('Type')),
  hostId: parseRef(a.get('HostId')),
  name: str(a.get('Name')),
  displayName: str(a.get('DisplayName')),
  objectId: parseRef(a.get('ObjectId')),
  uuid: parseRef(a.get('Uuid')),
  platform: parseInteger(a.get('Platform')),
});

function readOib(a: Attrs, id: string): VbmOib {
  const v = (n: string): string | undefined => a.get(n);
  const b = (n: string): boolean | undefined => parseBool(v(n));
  return {
    id,
    originalOibId: parseRef(v('OriginalOibId')),
    objectId: parseRef(v('ObjectId')),
    pointId: parseRef(v('PointId')),
    storageId: parseRef(v('StorageId')),
    linkId: parseRef(v('LinkId')),
    isCorrupted: b('IsCorrupted'),
    isRecheckCorrupted: b('IsRecheckCorrupted'),
    isConsistent: b('IsConsistent'),
    needHealthCheckRepair: b('NeedHealthCheckRepair'),
    healthStatus: parseInteger(v('HealthStatus')),
    state: parseInteger(v('State')),
    type: parseInteger(v('Type')),
    creationTime: parseVeeamLocalTime(v('CreationTime')),
    creationTimeUtc: parseVeeamUtcTime(v('CreationTimeUtc')),
    completionTimeUtc: parseVeeamUtcTime(v('CompletionTimeUtc')),
    vmName: str(v('VmName')),
    displayName: str(v('DisplayName')),
    fqdn: str(v('Fqdn')),
    approxSize: parseSize(v('ApproxSize')),
    hasAd: b('HasAd'),
    hasSql: b('HasSql'),
    hasExchange: b('HasExchange'),
    hasSharePoint: b('HasSharePoint'),
    hasOracle: b('HasOracle'),
    hasPostgreSql: b('HasPostgreSql'),
    productVersion: str(v('ProductVersion')),
    auxDataXml: str(v('AuxData')),
    guestInfoXml: str(v('GuestInfo')),
  };
}

/** What `detail: 'chain'` decodes of each record element (see VbmReadOptions): what buildChain and the audit use. */
const CHAIN_FIELDS: Readonly<Record<'Point' | 'Storage' | 'OIB', ReadonlySet<string>>> = {
  Point: new Set(['Id', 'LinkId', 'Num', 'CreationTimeUtc', 'Type']),
  Storage: new Set(['Id', 'FilePath', 'PartialPath', 'CreationTime', 'CreationTimeUtc', 'Stats', 'LinkId']),
  OIB: new Set(['Id', 'PointId', 'StorageId', 'IsCorrupted', 'IsRecheckCorrupted', 'IsConsistent', 'CreationTime', 'CreationTimeUtc', 'Fqdn']),
};

/** The tag's attributes as a record reader sees them when only `keep` is decoded: the others are checked, then absent. */
class KeptAttributes implements Attrs {
  attrs: TagAttributes | undefined;
  constructor(private readonly keep: ReadonlySet<string>) {}
  get(name: string): string | undefined {
    const a = this.attrs as TagAttributes;
    if (this.keep.has(name)) return a.get(name);
    a.check(name);
    return undefined;
  }
}

// `chain` detail, for a tag whose values are all plain (TagAttributes.plain): nothing in it can be refused, so the
// fields the chain model needs are read straight into the columns, from the bytes where Veeam's shape allows
// (vbm-bytes.ts), in the order the record readers above read them (only the nested PartialPath and Stats documents
// can still be refused, PartialPath first as there). Any other tag goes through the record readers.

function timeOf(a: TagAttributes, name: string): number {
  if (!a.locate(name)) return Number.NaN;
  const t = timeAt(a.bytes, a.valueStart, a.valueEnd);
  return t !== UNREAD ? t : (parseVeeamUtcTime(a.get(name))?.getTime() ?? Number.NaN);
}

function boolOf(a: TagAttributes, name: string): boolean | undefined {
  if (!a.locate(name)) return undefined;
  const b = boolAt(a.bytes, a.valueStart, a.valueEnd);
  return b !== UNREAD ? b : parseBool(a.get(name));
}

function integerOf(a: TagAttributes, name: string): number {
  if (!a.locate(name)) return Number.NaN;
  const n = integerAt(a.bytes, a.valueStart, a.valueEnd);
  return n !== UNREAD ? n : (parseInteger(a.get(name)) ?? Number.NaN);
}

function addPlainPoint(a: TagAttributes, id: string, c: ChainColumns): void {
  c.pointId.push(id);
  c.pointLinkId.push(parseRef(a.get('LinkId')));
  c.pointNum.push(integerOf(a, 'Num'));
  c.pointTime.push(timeOf(a, 'CreationTimeUtc'));
  c.pointType.push(integerOf(a, 'Type'));
}

/** Where addPlainStorage's Stats are read to. */
const stats = [0, 0, 0, 0];

function addPlainStorage(a: TagAttributes, id: string, where: string, limits: XmlLimits, c: ChainColumns): void {
  const filePath = str(a.get('FilePath'));
  let fromPartial: string | undefined;
  const partial = a.locate('PartialPath') ? partialPathFileAt(a.bytes, a.valueStart, a.valueEnd, limits) : undefined;
  if (partial === UNREAD) {
    const elements = parsePartialPath(a.get('PartialPath'), `attribute PartialPath of Storage ${id} in ${where}`, limits);
    fromPartial = elements && elements.length ? str(elements[elements.length - 1]) : undefined;
  } else fromPartial = partial;
  c.storageId.push(id);
  c.storageFileName.push(fromPartial ?? lastPathElement(filePath));
  c.storageFilePath.push(filePath);
  c.storageLocal.push(parseVeeamLocalTime(a.get('CreationTime')));
  c.storageTime.push(timeOf(a, 'CreationTimeUtc'));
  if (!a.locate('Stats')) stats.fill(Number.NaN);
  else if (!statsAt(a.bytes, a.valueStart, a.valueEnd, limits, stats)) {
    const s = parseStats(a.get('Stats'), `attribute Stats of Storage ${id} in ${where}`, limits);
    stats[0] = s?.backupSize ?? Number.NaN;
    stats[1] = s?.dataSize ?? Number.NaN;
    stats[2] = s?.dedupRatio ?? Number.NaN;
    stats[3] = s?.compressRatio ?? Number.NaN;
  }
  c.storageBackupSize.push(stats[0] as number);
  c.storageDataSize.push(stats[1] as number);
  c.storageDedupRatio.push(stats[2] as number);
  c.storageCompressRatio.push(stats[3] as number);
  c.storageLinkId.push(parseRef(a.get('LinkId')));
}

function addPlainOib(a: TagAttributes, id: string, c: ChainColumns): void {
  c.oibId.push(id);
  c.oibPointId.push(parseRef(a.get('PointId')));
  c.oibStorageId.push(parseRef(a.get('StorageId')));
  c.oibCorrupted.push(boolOf(a, 'IsCorrupted') === true || boolOf(a, 'IsRecheckCorrupted') === true);
  c.oibConsistent.push(flag(boolOf(a, 'IsConsistent')));
  c.oibLocalText.push(a.get('CreationTime'));
  c.oibTime.push(timeOf(a, 'CreationTimeUtc'));
  c.oibCompletionTime.push(Number.NaN);
  c.oibApproxSize.push(Number.NaN);
  c.oibHasAd.push(false);
  c.oibHasSql.push(false);
  c.oibHasExchange.push(false);
  c.oibFqdn.push(str(a.get('Fqdn')));
}

/** The record sections of BackupMetaInfo and the element each lists. */
const SECTIONS = { Hosts: 'Host', Storages: 'Storage', Points: 'Point', Objects: 'Object', Oibs: 'OIB' } as const;
type Section = keyof typeof SECTIONS;
const isSection = (name: string): name is Section => Object.prototype.hasOwnProperty.call(SECTIONS, name);

/**
 * Parses the bytes (or text) of a .vbm file in one streaming pass: only the elements the model uses are decoded,
 * straight into records, so memory is the records, not a tree of the document. As with a tree, the first of each
 * element kind counts (a second <Backup> or <Storages> is ignored). `file` names it in errors and in the result.
 */
export function parseVbm(source: string | Buffer, file: string, options: VbmReadOptions = {}): Vbm {
  const bytes = typeof source === 'string' ? Buffer.from(source, 'utf8') : source;
  const limits = options.limits ?? DEFAULT_XML_LIMITS;
  const where = `"${file}"`;
  let root: { version?: string; schema?: string; createdUtc?: string } = {};
  let owner: VbmOwner | undefined;
  let backup: VbmBackup = {};
  let retentionValue: string | undefined;
  let infoSeen = 0;
  let oldFormat = false;
  const seen = new Set<string>();
  /** The open elements that are the first of their kind on their path (only those are read). */
  const firstPath: boolean[] = [];
  const names: string[] = [];
  let section: Section | undefined;
  const hosts: VbmHost[] = [];
  const storages: VbmStorage[] = [];
  const points: VbmPoint[] = [];
  const objects: VbmObject[] = [];
  const oibs: VbmOib[] = [];
  const withoutId = new Map<string, number>();
  const kept = options.detail === 'chain'
    ? { Point: new KeptAttributes(CHAIN_FIELDS.Point), Storage: new KeptAttributes(CHAIN_FIELDS.Storage), OIB: new KeptAttributes(CHAIN_FIELDS.OIB) }
    : undefined;
  /** The attributes a record reader is given: all of them, or in `chain` detail only those it keeps. */
  const fieldsOf = (kind: string, attrs: TagAttributes): Attrs => {
    const k = kind === 'Point' || kind === 'Storage' || kind === 'OIB' ? kept?.[kind] : undefined;
    if (!k) return attrs;
    k.attrs = attrs;
    return k;
  };
  const columns = new ChainColumns();
  /** A record read: into the columns, and in `full` detail into its list too. */
  const keep = <T>(list: T[], record: T, add: (r: T) => void): void => {
    add(record);
    if (!kept) list.push(record);
  };
  /** True the first time `key` is met: the first <Backup>, the first <Storages> of the first info, and so on. */
  const first = (key: string): boolean => (seen.has(key) ? false : (seen.add(key), true));

  scanOrRefuse(bytes, where, limits, {
    open(name, depth, attrs) {
      const parentFirst = depth === 0 || firstPath[depth - 1] === true;
      let isFirst = false;
      if (depth === 0) {
        if (name !== 'BackupMeta') {
          throw new InputError(
            `${where} is not Veeam backup metadata: its root element is <${name}>, expected <BackupMeta>`,
            'Point Lifeboat at the .vbm file Veeam wrote next to the .vbk/.vib files.',
          );
        }
        root = { version: attrs.get('Version'), schema: attrs.get('MetaSchemaVersion'), createdUtc: attrs.get('CreationTimeUtc') };
        isFirst = true;
      } else if (depth === 1) {
        if (name === 'Owner' && first('Owner')) owner = { id: parseRef(attrs.get('Id')), name: str(attrs.get('Name')) };
        else if (name === 'Backup' && first('Backup')) backup = readBackup(attrs, where, limits);
        else if (name === 'Vbm') oldFormat = true;
        else if (name === 'BackupMetaInfo') isFirst = ++infoSeen === 1;
      } else if (parentFirst) {
        const parent = names[depth - 1];
        if (depth === 2) {
          if (isSection(name) && first(name)) {
            section = name;
            isFirst = true;
          } else if (name === 'CustomMetaOptions') isFirst = first(name);
        } else if (depth === 3 && section !== undefined && name === SECTIONS[section]) {
          const kind = SECTIONS[section];
          const f = fieldsOf(kind, attrs);
          const id = parseRef(f.get('Id'));
          const straight = kept !== undefined && attrs.plain();
          if (id === undefined) withoutId.set(kind, (withoutId.get(kind) ?? 0) + 1);
          else if (section === 'Hosts') hosts.push(readHost(f, id));
          else if (section === 'Objects') objects.push(readObject(f, id));
          else if (section === 'Storages') {
            if (straight) addPlainStorage(attrs, id, where, limits, columns);
            else keep(storages, readStorage(f, id, where, limits), (r) => columns.addStorage(r));
          } else if (section === 'Points') {
            if (straight) addPlainPoint(attrs, id, columns);
            else keep(points, readPoint(f, id), (r) => columns.addPoint(r));
          } else if (straight) addPlainOib(attrs, id, columns);
          else keep(oibs, readOib(f, id), (r) => columns.addOib(r));
        } else if (depth === 3 && parent === 'CustomMetaOptions' && name === 'BackupOptionsInfo') isFirst = first(name);
        else if (depth === 4 && parent === 'BackupOptionsInfo' && name === 'BackupRetentionOption' && first(name)) {
          retentionValue = attrs.get('Value');
        }
      }
      names[depth] = name;
      firstPath[depth] = isFirst;
    },
    close(_name, depth) {
      if (depth === 2) section = undefined;
      firstPath.length = depth;
      names.length = depth;
    },
  });

  if (infoSeen === 0) {
    if (oldFormat) {
      throw new InputError(
        `${where} uses the old Veeam Backup & Replication metadata format (BackupMeta Version ${root.version ?? '?'}), which Lifeboat does not read`,
        'Lifeboat reads the metadata written by Veeam Agent for Windows (MetaSchemaVersion 2).',
      );
    }
    throw new InputError(`${where} has no <BackupMetaInfo>: it lists no backup files or restore points`, 'The metadata file is damaged; Veeam rewrites it at the next backup.');
  }
  const warnings: string[] = [];
  const metaSchemaVersion = parseInteger(root.schema);
  if (metaSchemaVersion !== 2) {
    warnings.push(`MetaSchemaVersion is ${root.schema ?? 'missing'}, expected 2; reading it anyway`);
  }
  for (const [kind, n] of withoutId) {
    warnings.push(n === 1 ? `a <${kind}> without an Id was ignored` : `${n} <${kind}> elements without an Id were ignored`);
  }
  return {
    file,
    version: parseInteger(root.version),
    metaSchemaVersion,
    creationTimeUtc: parseVeeamUtcTime(root.createdUtc),
    owner,
    backup,
    retention: readRetention(retentionValue, where, limits),
    hosts,
    storages,
    points,
    objects,
    oibs,
    warnings,
    ...(options.detail === 'chain' ? { detail: 'chain' as const } : {}),
    columns,
  };
}

/** Reads and parses a .vbm file (size checked before reading). */
export async function readVbm(file: string, options: VbmReadOptions = {}): Promise<Vbm> {
  return parseVbm(await readXmlBytes(file, options.limits ?? DEFAULT_XML_LIMITS, options.scratch), file, options);
}
