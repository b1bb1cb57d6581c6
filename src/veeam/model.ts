/**
 * The backup model the assistant and the audit work with: backup server -> chain (one .vbm) -> restore points, and
 * per point the machine it restores (OS, RAM, disks, volumes, roles) decoded on demand from OIB@AuxData.
 *
 * Time semantics (from the real fixture): Point@CreationTime and Point@CreationTimeUtc carry the same UTC value; the
 * point's local wall-clock time is the CreationTime of its storage (the time in the file name, e.g.
 * `Kerserv - 2025-07-18T000456.vib` for 07/18/2025 00:04:56 local, 07/17/2025 22:04:56 UTC).
 */
import { DEFAULT_XML_LIMITS, attr, child, children, parseXmlFragment, path, type XmlElement, type XmlLimits } from './xml.js';
import {
  formatLocalTime,
  formatUtcTime,
  isoLocalTime,
  lastPathElement,
  parseBool,
  parseInteger,
  parseSize,
  parseVeeamLocalTime,
  type LocalDateTime,
  type Vbm,
} from './vbm.js';

export type PointType = 'full' | 'increment' | 'unknown';

export interface RestorePoint {
  readonly id: string;
  /** Veeam's running number of the point (Point@Num). */
  readonly num?: number;
  /** When the backup was taken (UTC). */
  readonly time?: Date;
  /** Local wall-clock time as text, `2025-07-18 00:04:56`. */
  readonly localTime?: string;
  readonly local?: LocalDateTime;
  /** How to show the time to a person: `18 Jul 2025 00:04` (local), falling back to UTC. */
  readonly label: string;
  readonly type: PointType;
  /** Bytes of this point's backup file (Storage@Stats BackupSize). */
  readonly size?: number;
  /** Bytes of source data read for this point (Storage@Stats DataSize). */
  readonly dataSize?: number;
  /** Bytes of data the point restores (OIB@ApproxSize, about the used size of the backed-up volumes). */
  readonly approxSize?: number;
  readonly storageId?: string;
  /** File name of the point's backup file on the share (PartialPath, else last element of FilePath). */
  readonly storageFile?: string;
  /** Path the agent wrote the file to (usually UNC). */
  readonly storageFilePath?: string;
  /** The previous point (Point@LinkId); undefined for a full. */
  readonly linkId?: string;
  /** The previous storage (Storage@LinkId); undefined for a full. */
  readonly previousStorageId?: string;
  readonly oibId?: string;
  readonly isCorrupted: boolean;
  /** OIB@IsConsistent; undefined when not recorded. */
  readonly isConsistent?: boolean;
  readonly roles: Roles;
  readonly fqdn?: string;
  /** OIB creation (snapshot) and completion times, UTC. */
  readonly creationTime?: Date;
  readonly completionTime?: Date;
  /** completionTime - creationTime in milliseconds. */
  readonly durationMs?: number;
}

export interface Roles {
  readonly ad: boolean;
  readonly sql: boolean;
  readonly exchange: boolean;
}

export interface ChainStorage {
  readonly id: string;
  readonly fileName?: string;
  readonly filePath?: string;
  readonly linkId?: string;
  readonly size?: number;
  readonly dataSize?: number;
  readonly dedupRatio?: number;
  readonly compressRatio?: number;
  readonly time?: Date;
  readonly localTime?: string;
  /** Points whose data is in this file. */
  readonly pointIds: readonly string[];
}

export interface ServerIdentity {
  /** Lower-case fully qualified name from the newest OIB (OIB@Fqdn), when known. */
  readonly fqdn?: string;
  /** Lower-case host name: first label of the FQDN, else Object@DisplayName, else the job's policy name. */
  readonly shortName?: string;
  /** Object@DisplayName (the agent's computer name). */
  readonly displayName?: string;
  readonly jobName?: string;
  readonly policyName?: string;
}

export interface BackupChain {
  /** The .vbm file the chain was read from. */
  readonly vbmPath: string;
  readonly backupId?: string;
  readonly jobName?: string;
  readonly policyName?: string;
  readonly identity: ServerIdentity;
  /** Backup@EncryptionState: 0 plain, 2 encrypted. */
  readonly encryptionState?: number;
  readonly encrypted: boolean;
  readonly retentionDays?: number;
  /** Oldest first. */
  readonly points: readonly RestorePoint[];
  readonly storages: readonly ChainStorage[];
  readonly newest?: RestorePoint;
  readonly warnings: readonly string[];
}

/** Options for reading the per-point details. */
export interface DetailsOptions {
  readonly limits?: XmlLimits;
}

/** What pointDetails decodes on demand: the two attribute documents, not the whole OIB record (memory per point). */
interface AuxSource {
  readonly oibId: string;
  readonly auxDataXml?: string;
  readonly guestInfoXml?: string;
  readonly file: string;
  readonly encrypted: boolean;
}
const auxSource = new WeakMap<RestorePoint, AuxSource>();
const detailsCache = new WeakMap<RestorePoint, PointDetails | null>();

function pointType(t: number | undefined): PointType {
  if (t === 0) return 'full';
  if (t === 1) return 'increment';
  return 'unknown';
}

const NO_ROLES: Roles = Object.freeze({ ad: false, sql: false, exchange: false });
const date = (ms: number): Date | undefined => (Number.isNaN(ms) ? undefined : new Date(ms));
const value = (n: number): number | undefined => (Number.isNaN(n) ? undefined : n);

/** Builds the chain model from parsed metadata (from its columns: the same way for either detail). */
export function buildChain(vbm: Vbm, vbmPath: string = vbm.file): BackupChain {
  const c = vbm.columns;
  const warnings = [...vbm.warnings];
  const storageRow = new Map<string, number>();
  for (let s = 0; s < c.storageId.length; s++) storageRow.set(c.storageId[s] as string, s);
  // The OIBs of each point, in file order: the first by point id, each next one linked from the one before (one
  // OIB per point is the rule, and a list per point would be 8,760 of them a year).
  const firstOib = new Map<string, number>();
  const lastOib = new Map<string, number>();
  const nextOib = new Int32Array(c.oibId.length).fill(-1);
  for (let o = 0; o < c.oibId.length; o++) {
    const pointId = c.oibPointId[o];
    if (!pointId) continue;
    const last = lastOib.get(pointId);
    if (last === undefined) firstOib.set(pointId, o);
    else nextOib[last] = o;
    lastOib.set(pointId, o);
  }
  const encrypted = vbm.backup.encryptionState !== undefined && vbm.backup.encryptionState !== 0;
  /** The ids of the points whose data is in each file, by the row its id names last (as a map by id would). */
  const pointIdsOf: (string[] | undefined)[] = [];
  // The local time text of each file, once: a point whose local time is its file's shares the string.
  const storageLocalTime = c.storageLocal.map((t) => (t ? isoLocalTime(t) : undefined));

  const points: RestorePoint[] = [];
  for (let p = 0; p < c.pointId.length; p++) {
    const id = c.pointId[p] as string;
    const o = firstOib.get(id);
    let oibCount = 0;
    for (let k = o ?? -1; k !== -1; k = nextOib[k] as number) oibCount++;
    if (oibCount > 1) warnings.push(`restore point ${id} has ${oibCount} objects; the first is shown`);
    const storageId = o === undefined ? undefined : c.oibStorageId[o];
    const s = storageId ? storageRow.get(storageId) : undefined;
    if (s !== undefined) (pointIdsOf[s] ??= []).push(id);
    const oibTime = o === undefined ? Number.NaN : (c.oibTime[o] as number);
    let timeMs = c.pointTime[p] as number;
    if (Number.isNaN(timeMs)) timeMs = Number.isNaN(oibTime) && s !== undefined ? (c.storageTime[s] as number) : oibTime;
    const time = date(timeMs);
    const fileLocal = s === undefined ? undefined : c.storageLocal[s];
    const local = fileLocal ?? (o === undefined ? undefined : parseVeeamLocalTime(c.oibLocalText[o]));
    const creationTime = date(oibTime);
    const completionTime = o === undefined ? undefined : date(c.oibCompletionTime[o] as number);
    const durationMs =
      creationTime && completionTime && completionTime.getTime() >= creationTime.getTime()
        ? completionTime.getTime() - creationTime.getTime()
        : undefined;
    let corrupted = false;
    let consistent = false;
    let inconsistent = false;
    let ad = false;
    let sql = false;
    let exchange = false;
    for (let k = o ?? -1; k !== -1; k = nextOib[k] as number) {
      corrupted ||= c.oibCorrupted[k] === true;
      consistent ||= c.oibConsistent[k] === 1;
      inconsistent ||= c.oibConsistent[k] === 0;
      ad ||= c.oibHasAd[k] === true;
      sql ||= c.oibHasSql[k] === true;
      exchange ||= c.oibHasExchange[k] === true;
    }
    const point: RestorePoint = {
      id,
      num: value(c.pointNum[p] as number),
      time,
      localTime: fileLocal ? storageLocalTime[s as number] : local ? isoLocalTime(local) : undefined,
      local,
      label: local ? formatLocalTime(local) : time ? formatUtcTime(time) : `point ${value(c.pointNum[p] as number) ?? id}`,
      type: pointType(value(c.pointType[p] as number)),
      size: s === undefined ? undefined : value(c.storageBackupSize[s] as number),
      dataSize: s === undefined ? undefined : value(c.storageDataSize[s] as number),
      approxSize: o === undefined ? undefined : value(c.oibApproxSize[o] as number),
      storageId,
      storageFile: s === undefined ? undefined : c.storageFileName[s],
      storageFilePath: s === undefined ? undefined : c.storageFilePath[s],
      linkId: c.pointLinkId[p],
      previousStorageId: s === undefined ? undefined : c.storageLinkId[s],
      oibId: o === undefined ? undefined : c.oibId[o],
      isCorrupted: corrupted,
      isConsistent: inconsistent ? false : consistent ? true : undefined,
      // One shared object for the usual answer: a year of points would otherwise hold 8,760 copies of it.
      roles: ad || sql || exchange ? { ad, sql, exchange } : NO_ROLES,
      fqdn: o === undefined ? undefined : c.oibFqdn[o],
      creationTime,
      completionTime,
      durationMs,
    };
    // Nothing to decode later when the records were read for the chain alone (and a WeakMap entry per point costs).
    const oib = o === undefined || vbm.detail === 'chain' ? undefined : vbm.oibs[o];
    if (oib) auxSource.set(point, { oibId: oib.id, auxDataXml: oib.auxDataXml, guestInfoXml: oib.guestInfoXml, file: vbmPath, encrypted });
    points.push(point);
  }

  points.sort((a, b) => {
    const ta = a.time?.getTime();
    const tb = b.time?.getTime();
    if (ta !== undefined && tb !== undefined && ta !== tb) return ta - tb;
    if (ta === undefined && tb !== undefined) return -1;
    if (tb === undefined && ta !== undefined) return 1;
    return (a.num ?? 0) - (b.num ?? 0);
  });

  const storages: ChainStorage[] = [];
  for (let s = 0; s < c.storageId.length; s++) {
    storages.push({
      id: c.storageId[s] as string,
      fileName: c.storageFileName[s],
      filePath: c.storageFilePath[s],
      linkId: c.storageLinkId[s],
      size: value(c.storageBackupSize[s] as number),
      dataSize: value(c.storageDataSize[s] as number),
      dedupRatio: value(c.storageDedupRatio[s] as number),
      compressRatio: value(c.storageCompressRatio[s] as number),
      time: date(c.storageTime[s] as number),
      localTime: storageLocalTime[s],
      pointIds: pointIdsOf[storageRow.get(c.storageId[s] as string) as number] ?? [],
    });
  }
  storages.sort((a, b) => (a.time?.getTime() ?? 0) - (b.time?.getTime() ?? 0));

  let newest: RestorePoint | undefined;
  for (let i = points.length - 1; i >= 0 && !newest; i--) if (points[i]?.time !== undefined) newest = points[i];
  newest ??= points[points.length - 1];
  const newestOib = newest?.oibId ? c.oibId.indexOf(newest.oibId) : -1;
  let anyFqdn = newestOib === -1 ? undefined : c.oibFqdn[newestOib];
  for (let o = c.oibId.length - 1; o >= 0 && !anyFqdn; o--) anyFqdn = c.oibFqdn[o];
  const fqdn = anyFqdn?.toLowerCase();
  const object = vbm.objects[0];
  const displayName = object?.displayName;
  const shortName = (fqdn?.split('.')[0] ?? displayName ?? vbm.backup.policyName)?.toLowerCase();

  return {
    vbmPath,
    backupId: vbm.backup.id,
    jobName: vbm.backup.jobName,
    policyName: vbm.backup.policyName,
    identity: {
      fqdn,
      shortName,
      displayName,
      jobName: vbm.backup.jobName,
      policyName: vbm.backup.policyName,
    },
    encryptionState: vbm.backup.encryptionState,
    encrypted,
    retentionDays: vbm.retention?.type === 1 ? vbm.retention.daysToKeep : undefined,
    points,
    storages,
    newest,
    warnings,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Per-point details from OIB@AuxData

export type PartitionStyle = 'GPT' | 'MBR' | 'RAW' | 'unknown';

export interface PartitionInfo {
  readonly number?: number;
  readonly offset?: number;
  readonly length?: number;
  /** GPT type GUID or MBR type as written. */
  readonly type?: string;
  readonly name?: string;
  readonly id?: string;
}

export interface VolumeInfo {
  readonly id?: string;
  /** Drive letter without colon, e.g. `C`. */
  readonly letter?: string;
  readonly mountPoints: readonly string[];
  readonly label?: string;
  readonly filesystem?: string;
  readonly capacity?: number;
  readonly used?: number;
  /** Veeam's volume role bits (4 on the system volume, 2 on the EFI system partition in the fixture). */
  readonly roles?: number;
  readonly diskNumber?: number;
  readonly isEfiSystem: boolean;
}

export interface DiskInfo {
  readonly number?: number;
  readonly capacity?: number;
  readonly partitionStyle: PartitionStyle;
  readonly busType?: string;
  readonly model?: string;
  readonly partitions: readonly PartitionInfo[];
  /** Backed-up volumes on this disk. */
  readonly volumes: readonly VolumeInfo[];
  /** Sum of the used size of the backed-up volumes on this disk. */
  readonly usedBytes?: number;
}

export interface PointDetails {
  readonly osName?: string;
  readonly osVersion?: string;
  /** Veeam's OS code, e.g. `EVeeamOs2022`. */
  readonly osType?: string;
  readonly netbiosName?: string;
  readonly fqdn?: string;
  readonly ramBytes?: number;
  readonly cpuCores?: number;
  /** Disks in the backup (those a Bare Metal Recovery restores). */
  readonly disks: readonly DiskInfo[];
  /** Firmware the restored system needs: GPT system disk -> UEFI, MBR -> BIOS. */
  readonly firmware?: 'uefi' | 'bios';
  readonly systemDiskNumber?: number;
  readonly roles: Roles;
  readonly encrypted: boolean;
  readonly isCorrupted: boolean;
  readonly isConsistent?: boolean;
  readonly creationTime?: Date;
  readonly completionTime?: Date;
  readonly durationMs?: number;
  /** Bytes of data in the backup (OIB@ApproxSize). */
  readonly dataBytes?: number;
}

const EFI_GUID = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b';

function partitionStyle(text: string | undefined): PartitionStyle {
  const s = text?.trim().toUpperCase();
  if (s === 'GPT' || s === '1') return 'GPT';
  if (s === 'MBR' || s === '0') return 'MBR';
  if (s === 'RAW' || s === '2') return 'RAW';
  return 'unknown';
}

function readPartitions(parent: XmlElement | undefined): PartitionInfo[] {
  return children(child(parent, 'Partitions'), 'Partition').map((p) => ({
    number: parseInteger(attr(p, 'PartitionNumber')),
    offset: parseSize(attr(p, 'StartingOffset')),
    length: parseSize(attr(p, 'PartitionLength')),
    type: attr(p, 'PartitionType')?.trim() || undefined,
    name: attr(p, 'Name')?.trim() || undefined,
    id: attr(p, 'PartitionId')?.trim().toLowerCase() || undefined,
  }));
}

function readVolume(v: XmlElement, efiIds: ReadonlySet<string>): VolumeInfo {
  const mountPoints = children(child(v, 'MountPoints'), 'MountPoint')
    .map((m) => attr(m, 'Path') ?? '')
    .filter((s) => s !== '');
  const letterMp = mountPoints.find((m) => /^[A-Za-z]:\\?$/.test(m));
  const extent = child(child(v, 'Extents'), 'Extent');
  const id = attr(v, 'Id')?.trim().toLowerCase() || undefined;
  const fs = attr(v, 'FilesystemType')?.trim() || undefined;
  const roles = parseInteger(attr(v, 'Roles'));
  return {
    id,
    letter: letterMp ? letterMp.charAt(0).toUpperCase() : undefined,
    mountPoints,
    label: attr(v, 'Label')?.trim() || undefined,
    filesystem: fs,
    capacity: parseSize(attr(v, 'Capacity')),
    used: parseSize(attr(v, 'UsedSize')),
    roles,
    diskNumber: parseInteger(attr(extent, 'DiskNumber')),
    isEfiSystem: (id !== undefined && efiIds.has(id)) || (roles === 2 && fs === 'FAT32'),
  };
}

/** Decodes a COibAuxData document into details. Exposed for tests and tools; most callers use {@link pointDetails}. */
export function parseAuxData(
  auxXml: string,
  where: string,
  base: Omit<PointDetails, 'osName' | 'osVersion' | 'osType' | 'netbiosName' | 'ramBytes' | 'cpuCores' | 'disks' | 'firmware' | 'systemDiskNumber'>,
  limits: XmlLimits = DEFAULT_XML_LIMITS,
): PointDetails {
  const root = parseXmlFragment(auxXml, where, limits);
  const os = child(root, 'os');
  const desk = child(root, 'DesktopOibAuxData');
  const ramMb = parseSize(attr(path(desk, 'SystemConfiguration', 'RAMInfo'), 'TotalSizeMB'));
  const cpu = path(desk, 'SystemConfiguration', 'CPUInfo');

  const backupVolumes = children(path(desk, 'BackupLayout', 'Volumes'), 'Volume');
  const liveVolumes = children(path(desk, 'ShadowVolumesLayout', 'LiveVolumes'), 'LiveVolume');
  const diskEls = children(desk, 'Disk').filter((d) => parseBool(child(d, 'ExistsInBackup')?.text) !== false);

  const efiIds = new Set<string>();
  for (const d of diskEls) {
    for (const p of readPartitions(child(d, 'DriveLayout'))) {
      if (p.type?.toLowerCase() === EFI_GUID && p.id) efiIds.add(p.id);
    }
  }
  const volumes = (backupVolumes.length ? backupVolumes : liveVolumes).map((v) => readVolume(v, efiIds));

  const disks: DiskInfo[] = diskEls.map((d) => {
    const layout = child(d, 'DriveLayout');
    const number = parseInteger(attr(d, 'DiskNumber'));
    const onDisk = volumes.filter((v) => v.diskNumber !== undefined && v.diskNumber === number);
    const used = onDisk.reduce<number | undefined>((sum, v) => (v.used === undefined || sum === undefined ? sum : sum + v.used), onDisk.length ? 0 : undefined);
    return {
      number,
      capacity: parseSize(attr(d, 'Capacity')) ?? parseSize(child(d, 'Capacity')?.text),
      partitionStyle: partitionStyle(attr(layout, 'PartitionStyle')),
      busType: attr(d, 'BusType')?.trim() || undefined,
      model: attr(d, 'FriendlyName')?.trim() || undefined,
      partitions: readPartitions(layout),
      volumes: onDisk,
      usedBytes: used,
    };
  });

  const systemVolume = volumes.find((v) => v.letter === 'C') ?? volumes.find((v) => ((v.roles ?? 0) & 4) !== 0);
  const systemDisk =
    disks.find((d) => d.number !== undefined && d.number === systemVolume?.diskNumber) ??
    disks.find((d) => d.volumes.some((v) => v.isEfiSystem)) ??
    disks[0];
  const style = systemDisk?.partitionStyle;
  const hasAdInfo = child(root, 'AdInfo') !== undefined;

  return {
    ...base,
    roles: { ...base.roles, ad: base.roles.ad || hasAdInfo },
    osName: child(desk, 'OsName')?.text || undefined,
    osVersion: attr(desk, 'OsVersion')?.trim() || undefined,
    osType: attr(os, 'type')?.trim() || undefined,
    netbiosName: attr(os, 'netbios')?.trim() || undefined,
    fqdn: base.fqdn ?? (attr(os, 'fqdn')?.trim() || undefined),
    ramBytes: ramMb === undefined ? undefined : ramMb * 1024 * 1024,
    cpuCores: parseInteger(attr(cpu, 'CoresCount')),
    disks,
    firmware: style === 'GPT' ? 'uefi' : style === 'MBR' ? 'bios' : undefined,
    systemDiskNumber: systemDisk?.number,
  };
}

/** GuestInfo properties (`GuestOsName`, `DnsName`, `Ip`, ...). */
export function parseGuestInfo(xml: string, where: string, limits: XmlLimits = DEFAULT_XML_LIMITS): Record<string, string> {
  const root = parseXmlFragment(xml, where, limits);
  const out: Record<string, string> = {};
  for (const p of children(root, 'Property')) {
    const name = attr(p, 'Name');
    if (name) out[name] = child(p, 'Value')?.text ?? '';
  }
  return out;
}

/**
 * What the point restores: OS, RAM, disks, volumes, roles. Decoded from OIB@AuxData on first use and cached.
 * Returns undefined when the point carries no metadata at all. Throws InputError on hostile or broken AuxData.
 */
export function pointDetails(point: RestorePoint, options: DetailsOptions = {}): PointDetails | undefined {
  const cached = detailsCache.get(point);
  if (cached !== undefined) return cached ?? undefined;
  const src = auxSource.get(point);
  if (!src) {
    detailsCache.set(point, null);
    return undefined;
  }
  const limits = options.limits ?? DEFAULT_XML_LIMITS;
  const base = {
    fqdn: point.fqdn,
    roles: point.roles,
    encrypted: src.encrypted,
    isCorrupted: point.isCorrupted,
    isConsistent: point.isConsistent,
    creationTime: point.creationTime,
    completionTime: point.completionTime,
    durationMs: point.durationMs,
    dataBytes: point.approxSize,
  };
  let details: PointDetails;
  if (src.auxDataXml) {
    details = parseAuxData(src.auxDataXml, `attribute AuxData of OIB ${src.oibId} in "${src.file}"`, base, limits);
  } else {
    details = { ...base, disks: [] };
  }
  if (!details.osName && src.guestInfoXml) {
    const gi = parseGuestInfo(src.guestInfoXml, `attribute GuestInfo of OIB ${src.oibId} in "${src.file}"`, limits);
    const name = gi['GuestOsName']?.replace(/\s*\(64-bit\)\s*$/, '');
    if (name) details = { ...details, osName: name };
  }
  detailsCache.set(point, details);
  return details;
}

// ---------------------------------------------------------------------------------------------------------------
// Servers and matching to the site's list

/** A server as the site lists it (site.yaml), reduced to what matching needs. */
export interface SiteServerRef {
  readonly name: string;
  readonly fqdn?: string;
  readonly veeamJob?: string;
}

export type MatchReason = 'veeamJob' | 'fqdn' | 'name';

export interface BackupServer {
  /** Grouping key: lower-case short name (or job name when no name is known). */
  readonly key: string;
  /** What to call it: the site's name when matched, else the computer name. */
  readonly name: string;
  readonly fqdn?: string;
  readonly chains: readonly BackupChain[];
  /** Newest point over all chains. */
  readonly newest?: { readonly chain: BackupChain; readonly point: RestorePoint };
  readonly site?: { readonly server: SiteServerRef; readonly matchedBy: MatchReason };
}

export interface ServerCatalog {
  readonly servers: readonly BackupServer[];
  /** Site servers with no chain on the share. */
  readonly missing: readonly SiteServerRef[];
  /** Servers on the share that match no site server (only when a site list was given). */
  readonly unknown: readonly BackupServer[];
}

const low = (s: string | undefined): string | undefined => (s === undefined ? undefined : s.trim().toLowerCase());
const shortOf = (s: string | undefined): string | undefined => low(s)?.split('.')[0];

/** Finds the site server a chain belongs to: by job name, then FQDN, then host name (all case-insensitive). */
export function matchSiteServer(
  identity: ServerIdentity,
  site: readonly SiteServerRef[],
): { server: SiteServerRef; matchedBy: MatchReason } | undefined {
  const jobs = [low(identity.jobName), low(identity.policyName)].filter((s): s is string => !!s);
  for (const s of site) {
    const j = low(s.veeamJob);
    if (j && jobs.includes(j)) return { server: s, matchedBy: 'veeamJob' };
  }
  if (identity.fqdn) {
    for (const s of site) if (low(s.fqdn) === identity.fqdn) return { server: s, matchedBy: 'fqdn' };
  }
  const names = new Set(
    [identity.shortName, low(identity.displayName), shortOf(identity.fqdn)].filter((s): s is string => !!s),
  );
  for (const s of site) {
    if (names.has(low(s.name) ?? '') || names.has(shortOf(s.name) ?? '') || (s.fqdn && names.has(shortOf(s.fqdn) ?? ''))) {
      return { server: s, matchedBy: 'name' };
    }
  }
  return undefined;
}

/** Groups chains into servers and matches them to the site's servers (when given). */
export function groupServers(chains: readonly BackupChain[], site?: readonly SiteServerRef[]): ServerCatalog {
  const groups = new Map<string, { chains: BackupChain[]; match?: { server: SiteServerRef; matchedBy: MatchReason } }>();
  for (const c of chains) {
    const match = site ? matchSiteServer(c.identity, site) : undefined;
    const key = match ? `site:${low(match.server.name)}` : c.identity.shortName ?? low(c.jobName) ?? c.vbmPath;
    const g = groups.get(key);
    if (g) g.chains.push(c);
    else groups.set(key, { chains: [c], match });
  }
  const servers: BackupServer[] = [];
  for (const [key, g] of groups) {
    let newest: BackupServer['newest'];
    for (const chain of g.chains) {
      const p = chain.newest;
      if (p?.time && (!newest?.point.time || p.time.getTime() > newest.point.time.getTime())) newest = { chain, point: p };
      else if (!newest && p) newest = { chain, point: p };
    }
    const first = g.chains[0];
    const fqdn = newest?.chain.identity.fqdn ?? first?.identity.fqdn;
    servers.push({
      key: key.replace(/^site:/, ''),
      name: g.match?.server.name ?? first?.identity.displayName ?? first?.identity.shortName ?? first?.jobName ?? key,
      fqdn,
      chains: g.chains,
      newest,
      site: g.match,
    });
  }
  servers.sort((a, b) => a.name.localeCompare(b.name));
  const matched = new Set(servers.map((s) => s.site?.server).filter((s) => s !== undefined));
  return {
    servers,
    missing: site ? site.filter((s) => !matched.has(s)) : [],
    unknown: site ? servers.filter((s) => !s.site) : [],
  };
}

/** The file name a storage is found by on the share. */
export function storageFileName(s: { fileName?: string; filePath?: string }): string | undefined {
  return s.fileName ?? lastPathElement(s.filePath);
}
