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
import {
  DEFAULT_XML_LIMITS,
  attr,
  child,
  children,
  parseXmlDocument,
  parseXmlFragment,
  readXmlText,
  type XmlElement,
  type XmlLimits,
} from './xml.js';

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

const TIME_RE = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})\s*$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Parses Veeam's `MM/dd/yyyy HH:mm:ss` into parts; undefined when absent or invalid. */
export function parseVeeamLocalTime(text: string | undefined): LocalDateTime | undefined {
  if (text === undefined) return undefined;
  const m = TIME_RE.exec(text);
  if (!m) return undefined;
  const [month, day, year, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number, number, number, number, number, number,
  ];
  if (year < 1900 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return { year, month, day, hour, minute, second, text: text.trim() };
}

/** Parses a UTC time in Veeam's `MM/dd/yyyy HH:mm:ss` into a Date; undefined when absent or invalid. */
export function parseVeeamUtcTime(text: string | undefined): Date | undefined {
  const t = parseVeeamLocalTime(text);
  if (!t) return undefined;
  return new Date(Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number): string => String(n).padStart(2, '0');

/** `18 Jul 2025 00:04`: how the manual and messages show a point's time. */
export function formatLocalTime(t: LocalDateTime): string {
  return `${t.day} ${MONTHS[t.month - 1] ?? '?'} ${t.year} ${p2(t.hour)}:${p2(t.minute)}`;
}

/** `2025-07-18 00:04:56`: sortable, unambiguous local time text. */
export function isoLocalTime(t: LocalDateTime): string {
  return `${t.year}-${p2(t.month)}-${p2(t.day)} ${p2(t.hour)}:${p2(t.minute)}:${p2(t.second)}`;
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
}

export interface VbmReadOptions {
  readonly limits?: XmlLimits;
}

/** Decodes a `<Path IsFilePath=".."><Elements>a</Elements>...</Path>` attribute. */
export function parsePartialPath(text: string | undefined, where: string, limits: XmlLimits): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const root = parseXmlFragment(text, where, limits);
  if (root.name !== 'Path') return undefined;
  return children(root, 'Elements').map((e) => e.text);
}

/** Decodes a `<CBackupStats>` attribute. */
export function parseStats(text: string | undefined, where: string, limits: XmlLimits): VbmStorageStats | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const root = parseXmlFragment(text, where, limits);
  if (root.name !== 'CBackupStats') return undefined;
  const v = (n: string): number | undefined => parseSize(child(root, n)?.text);
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

function readBackup(el: XmlElement | undefined, where: string, limits: XmlLimits): VbmBackup {
  if (!el) return {};
  const a = (n: string): string | undefined => attr(el, n);
  return {
    id: parseRef(a('Id')),
    jobId: parseRef(a('JobId')),
    jobName: str(a('JobName')),
    policyName: str(a('PolicyName')),
    dirPath: str(a('DirPath')),
    partialPath: parsePartialPath(a('PartialPath'), `attribute PartialPath of Backup in ${where}`, limits),
    metaFileName: str(a('MetaFileName')),
    encryptionState: parseInteger(a('EncryptionState')),
    creationTime: parseVeeamLocalTime(a('CreationTime')),
    creationTimeUtc: parseVeeamUtcTime(a('CreationTimeUtc')),
    metaUpdateTime: parseVeeamLocalTime(a('MetaUpdateTime')),
  };
}

function readRetention(info: XmlElement | undefined, where: string, limits: XmlLimits): VbmRetention | undefined {
  const opt = child(child(child(info, 'CustomMetaOptions'), 'BackupOptionsInfo'), 'BackupRetentionOption');
  const value = attr(opt, 'Value');
  if (value === undefined || value.trim() === '') return undefined;
  const root = parseXmlFragment(value, `attribute Value of BackupRetentionOption in ${where}`, limits);
  return {
    type: parseInteger(attr(root, 'RetentionType')),
    daysToKeep: parseInteger(attr(root, 'RetainDaysToKeep')),
    cycles: parseInteger(attr(root, 'RetainCycles')),
  };
}

/** Parses the text of a .vbm file. `file` names it in errors and in the result. */
export function parseVbm(text: string, file: string, options: VbmReadOptions = {}): Vbm {
  const limits = options.limits ?? DEFAULT_XML_LIMITS;
  const where = `"${file}"`;
  const root = parseXmlDocument(text, file, limits);
  if (root.name !== 'BackupMeta') {
    throw new InputError(
      `${where} is not Veeam backup metadata: its root element is <${root.name}>, expected <BackupMeta>`,
      'Point Lifeboat at the .vbm file Veeam wrote next to the .vbk/.vib files.',
    );
  }
  const warnings: string[] = [];
  const info = child(root, 'BackupMetaInfo');
  if (!info) {
    if (child(root, 'Vbm')) {
      throw new InputError(
        `${where} uses the old Veeam Backup & Replication metadata format (BackupMeta Version ${attr(root, 'Version') ?? '?'}), which Lifeboat does not read`,
        'Lifeboat reads the metadata written by Veeam Agent for Windows (MetaSchemaVersion 2).',
      );
    }
    throw new InputError(`${where} has no <BackupMetaInfo>: it lists no backup files or restore points`, 'The metadata file is damaged; Veeam rewrites it at the next backup.');
  }
  const metaSchemaVersion = parseInteger(attr(root, 'MetaSchemaVersion'));
  if (metaSchemaVersion !== 2) {
    warnings.push(`MetaSchemaVersion is ${attr(root, 'MetaSchemaVersion') ?? 'missing'}, expected 2; reading it anyway`);
  }
  const ownerEl = child(root, 'Owner');

  const withId = <T>(kind: string, els: XmlElement[], read: (el: XmlElement, id: string) => T): T[] => {
    const out: T[] = [];
    for (const el of els) {
      const id = parseRef(attr(el, 'Id'));
      if (id === undefined) {
        warnings.push(`a <${kind}> without an Id was ignored`);
        continue;
      }
      out.push(read(el, id));
    }
    return out;
  };

  const hosts = withId('Host', children(child(info, 'Hosts'), 'Host'), (el, id): VbmHost => ({
    id,
    name: str(attr(el, 'Name')),
    type: parseInteger(attr(el, 'Type')),
  }));

  const storages = withId('Storage', children(child(info, 'Storages'), 'Storage'), (el, id): VbmStorage => {
    const a = (n: string): string | undefined => attr(el, n);
    const filePath = str(a('FilePath'));
    const partialPath = parsePartialPath(a('PartialPath'), `attribute PartialPath of Storage ${id} in ${where}`, limits);
    const fromPartial = partialPath && partialPath.length ? str(partialPath[partialPath.length - 1]) : undefined;
    return {
      id,
      backupId: parseRef(a('BackupId')),
      hostId: parseRef(a('HostId')),
      filePath,
      partialPath,
      fileName: fromPartial ?? lastPathElement(filePath),
      creationTime: parseVeeamLocalTime(a('CreationTime')),
      creationTimeUtc: parseVeeamUtcTime(a('CreationTimeUtc')),
      modificationTime: parseVeeamLocalTime(a('ModificationTime')),
      stats: parseStats(a('Stats'), `attribute Stats of Storage ${id} in ${where}`, limits),
      linkId: parseRef(a('LinkId')),
      state: parseInteger(a('State')),
      availability: parseInteger(a('Availability')),
      gfsPeriod: parseInteger(a('GfsPeriod')),
      partialIncrement: parseBool(a('PartialIncrement')),
      storageCryptoKeyId: parseRef(a('StorageCryptoKeyIdTag')),
    };
  });

  const points = withId('Point', children(child(info, 'Points'), 'Point'), (el, id): VbmPoint => ({
    id,
    originalId: parseRef(attr(el, 'OriginalId')),
    linkId: parseRef(attr(el, 'LinkId')),
    num: parseInteger(attr(el, 'Num')),
    groupId: parseRef(attr(el, 'GroupId')),
    creationTime: parseVeeamLocalTime(attr(el, 'CreationTime')),
    creationTimeUtc: parseVeeamUtcTime(attr(el, 'CreationTimeUtc')),
    type: parseInteger(attr(el, 'Type')),
    backupId: parseRef(attr(el, 'BackupId')),
  }));

  const objects = withId('Object', children(child(info, 'Objects'), 'Object'), (el, id): VbmObject => ({
    id,
    type: parseInteger(attr(el, 'Type')),
    hostId: parseRef(attr(el, 'HostId')),
    name: str(attr(el, 'Name')),
    displayName: str(attr(el, 'DisplayName')),
    objectId: parseRef(attr(el, 'ObjectId')),
    uuid: parseRef(attr(el, 'Uuid')),
    platform: parseInteger(attr(el, 'Platform')),
  }));

  const oibs = withId('OIB', children(child(info, 'Oibs'), 'OIB'), (el, id): VbmOib => {
    const a = (n: string): string | undefined => attr(el, n);
    const b = (n: string): boolean | undefined => parseBool(a(n));
    return {
      id,
      originalOibId: parseRef(a('OriginalOibId')),
      objectId: parseRef(a('ObjectId')),
      pointId: parseRef(a('PointId')),
      storageId: parseRef(a('StorageId')),
      linkId: parseRef(a('LinkId')),
      isCorrupted: b('IsCorrupted'),
      isRecheckCorrupted: b('IsRecheckCorrupted'),
      isConsistent: b('IsConsistent'),
      needHealthCheckRepair: b('NeedHealthCheckRepair'),
      healthStatus: parseInteger(a('HealthStatus')),
      state: parseInteger(a('State')),
      type: parseInteger(a('Type')),
      creationTime: parseVeeamLocalTime(a('CreationTime')),
      creationTimeUtc: parseVeeamUtcTime(a('CreationTimeUtc')),
      completionTimeUtc: parseVeeamUtcTime(a('CompletionTimeUtc')),
      vmName: str(a('VmName')),
      displayName: str(a('DisplayName')),
      fqdn: str(a('Fqdn')),
      approxSize: parseSize(a('ApproxSize')),
      hasAd: b('HasAd'),
      hasSql: b('HasSql'),
      hasExchange: b('HasExchange'),
      hasSharePoint: b('HasSharePoint'),
      hasOracle: b('HasOracle'),
      hasPostgreSql: b('HasPostgreSql'),
      productVersion: str(a('ProductVersion')),
      auxDataXml: str(a('AuxData')),
      guestInfoXml: str(a('GuestInfo')),
    };
  });

  return {
    file,
    version: parseInteger(attr(root, 'Version')),
    metaSchemaVersion,
    creationTimeUtc: parseVeeamUtcTime(attr(root, 'CreationTimeUtc')),
    owner: ownerEl ? { id: parseRef(attr(ownerEl, 'Id')), name: str(attr(ownerEl, 'Name')) } : undefined,
    backup: readBackup(child(root, 'Backup'), where, limits),
    retention: readRetention(info, where, limits),
    hosts,
    storages,
    points,
    objects,
    oibs,
    warnings,
  };
}

/** Reads and parses a .vbm file (size checked before reading). */
export async function readVbm(file: string, options: VbmReadOptions = {}): Promise<Vbm> {
  const text = await readXmlText(file, options.limits ?? DEFAULT_XML_LIMITS);
  return parseVbm(text, file, options);
}
