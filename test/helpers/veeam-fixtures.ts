/**
 * Test shares derived from the real Veeam metadata fixture (test/fixtures/veeam/, read-only): the .vbm copied into
 * a temporary share folder, the backup files it names created, and text-level edits that model what goes wrong on a
 * real share (re-dated chain, missing .vib, empty .vbk, broken link, encrypted backup, corrupted point, a synthetic
 * 8,760-point chain). The edits work on the XML text, not through the parser under test.
 */
import { mkdir, mkdtemp, open, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REAL_VBM_PATH =
  process.env['LIFEBOAT_VEEAM_FIXTURE'] ??
  fileURLToPath(new URL('../fixtures/veeam/agent-6.3-physical-server.vbm', import.meta.url));

/** The newest point of the real fixture (Point@CreationTimeUtc of Num 274). */
/** The folder of the real Veeam fixtures and their note (SOURCE.md: where they come from, what they hold). */
export const VEEAM_FIXTURE_DIR = fileURLToPath(new URL('../fixtures/veeam/', import.meta.url));

export interface VbkFixture {
  readonly gz: string;
  readonly version: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly folder: string;
  /** Every item in the folder, in Veeam's order. */
  readonly items: readonly string[];
  /** The disk (or volume) image inside, with its size and content hash from SOURCE.md. */
  readonly disk: { readonly name: string; readonly size: number; readonly sha256: string; readonly properties: readonly { name: string; bytes: number }[] };
}

/** The two real backup files (facts from SOURCE.md). */
export const VBK_FIXTURES: Record<'v9' | 'v13', VbkFixture> = {
  v9: {
    gz: join(VEEAM_FIXTURE_DIR, 'veeam-v9-linux-agent.vbk.gz'),
    version: 9,
    bytes: 31_604_736,
    sha256: '6f664e5ab3a9d70c9976b3c88662d134c4df487e8abee91a2e4e63059ed9b173',
    folder: '6745a759-2205-4cd2-b172-8ec8f7e60ef8 (78a5467d-87f5-8540-9a84-7569ae2849ad_2d1bb20f-49c1-485d-a689-696693713a5a)',
    items: ['DEV__dev_nvme1n1', 'summary.xml'],
    disk: { name: 'DEV__dev_nvme1n1', size: 0x400000, sha256: '337350cac29d2ed34c23ce9fc675950badf85fd2b694791abe6999d36f0dc1b3', properties: [] },
  },
  v13: {
    gz: join(VEEAM_FIXTURE_DIR, 'veeam-v13.vbk.gz'),
    version: 13,
    bytes: 2_112_512,
    sha256: 'c602c5d09385c8794fb0e7139bfb33baca4ae27727d04fb4579e9a0a7e22c581',
    folder: '6745a759-2205-4cd2-b172-8ec8f7e60ef8 (3c834d56-37ac-8bd3-b946-30113c55c4b5)',
    items: ['digest_47d9f323-442b-433d-bd4f-1ecb3fa97351', '8b14f74c-360d-4d7a-98f7-7f4c5e737eb7', 'GuestMembers.xml', 'BackupComponents.xml', 'summary.xml'],
    disk: {
      name: '8b14f74c-360d-4d7a-98f7-7f4c5e737eb7', size: 0x314200, sha256: 'e9ed281cf9c2fe1745e4eb9c926c1a64bd47569c48be511c5fdf6fd5793e5a77',
      properties: [{ name: 'DefinedBlocksMask', bytes: 35 }],
    },
  },
};

const unpacked = new Map<string, Buffer>();
/** The fixture's bytes, unpacked (cached per process). */
export async function vbkBytes(which: 'v9' | 'v13'): Promise<Buffer> {
  let b = unpacked.get(which);
  if (!b) {
    b = gunzipSync(await readFile(VBK_FIXTURES[which].gz));
    unpacked.set(which, b);
  }
  return b;
}

/** Writes the unpacked fixture (or `bytes`) to `dir` and returns its path. */
export async function writeVbk(dir: string, which: 'v9' | 'v13', name = `${which}.vbk`, bytes?: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes ?? (await vbkBytes(which)));
  return path;
}

export const REAL_NEWEST_UTC = new Date('2025-07-26T22:04:57Z');
export const REAL_FULL_FILE = 'Kerserv - 2025-07-13T000458.vbk';

let cached: string | undefined;
/** The real fixture's text. */
export async function readRealVbm(): Promise<string> {
  cached ??= await readFile(REAL_VBM_PATH, 'utf8');
  return cached;
}

// ---------------------------------------------------------------------------------------------------------------
// Small text tools for single-line Veeam XML

export function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function unescapeAttr(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#x([0-9a-fA-F]+);/g, (_m, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&');
}

/** Raw (escaped) attribute value of a start tag. */
export function getAttr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m?.[1];
}

/** Sets (or adds) an attribute on a start tag; `value` is raw text, escaped here. `undefined` removes it. */
export function setAttr(tag: string, name: string, value: string | undefined): string {
  const re = new RegExp(`\\s${name}="[^"]*"`);
  if (value === undefined) return tag.replace(re, '');
  const text = ` ${name}="${escapeAttr(value)}"`;
  if (re.test(tag)) return tag.replace(re, () => text);
  return tag.replace(/\s*(\/?>)$/, (_m, end: string) => `${text} ${end}`);
}

/** Start tags (self-closing in Veeam's files) of every element with this name. */
export function tagsOf(xml: string, name: string): string[] {
  return xml.match(new RegExp(`<${name}\\s[^>]*>`, 'g')) ?? [];
}

/** Replaces each start tag of `name` for which `edit` returns a new tag. */
export function editTags(xml: string, name: string, edit: (tag: string) => string): string {
  return xml.replace(new RegExp(`<${name}\\s[^>]*>`, 'g'), (tag) => edit(tag));
}

/** File name of a Storage tag, from PartialPath (else FilePath). */
export function storageFileName(tag: string): string {
  const pp = getAttr(tag, 'PartialPath');
  if (pp) {
    const inner = unescapeAttr(pp);
    const els = [...inner.matchAll(/<Elements>([^<]*)<\/Elements>/g)].map((m) => unescapeAttr(m[1] ?? ''));
    const last = els[els.length - 1];
    if (last) return last;
  }
  return (unescapeAttr(getAttr(tag, 'FilePath') ?? '').split('\\').pop() ?? '').trim();
}

/** Every storage file name the metadata lists. */
export function storageFiles(xml: string): string[] {
  return tagsOf(xml, 'Storage').map(storageFileName);
}

function storageTagByFile(xml: string, fileName: string): string {
  const tag = tagsOf(xml, 'Storage').find((t) => storageFileName(t) === fileName);
  if (!tag) throw new Error(`fixture has no storage "${fileName}"`);
  return tag;
}

/** Edits the OIB whose StorageId is the storage with this file name. */
export function editOibOfFile(xml: string, fileName: string, edit: (tag: string) => string): string {
  const id = getAttr(storageTagByFile(xml, fileName), 'Id');
  return editTags(xml, 'OIB', (t) => (getAttr(t, 'StorageId') === id ? edit(t) : t));
}

// ---------------------------------------------------------------------------------------------------------------
// Times

const TIME_RE = /(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})/g;
const ISO_RE = /(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z/g;
const p2 = (n: number): string => String(n).padStart(2, '0');

/** `MM/dd/yyyy HH:mm:ss` of a Date read in UTC. */
export function veeamTime(d: Date): string {
  return `${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())}/${d.getUTCFullYear()} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
}

function parseVeeamTime(s: string): Date {
  const m = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m) throw new Error(`not a Veeam time: ${s}`);
  return new Date(Date.UTC(+m[3]!, +m[1]! - 1, +m[2]!, +m[4]!, +m[5]!, +m[6]!));
}

/** Newest Point@CreationTimeUtc in the text. */
export function newestPointTime(xml: string): Date {
  let max = -Infinity;
  for (const t of tagsOf(xml, 'Point')) {
    const v = getAttr(t, 'CreationTimeUtc');
    if (v) max = Math.max(max, parseVeeamTime(v).getTime());
  }
  if (!Number.isFinite(max)) throw new Error('no point times');
  return new Date(max);
}

/**
 * Shifts every time in the file (all `MM/dd/yyyy HH:mm:ss` values: CreationTime, CreationTimeUtc,
 * ModificationTime, CompletionTimeUtc, MetaUpdateTime, also inside escaped AuxData; and ISO `...Z` times in the
 * retention settings) so that the newest point is at `newestUtc`. File names keep their original dates.
 */
export function redate(xml: string, newestUtc: Date): string {
  const delta = newestUtc.getTime() - newestPointTime(xml).getTime();
  return xml
    .replace(TIME_RE, (s) => veeamTime(new Date(parseVeeamTime(s).getTime() + delta)))
    .replace(ISO_RE, (_s, y: string, mo: string, d: string, h: string, mi: string, se: string, frac: string | undefined) => {
      const t = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +se) + delta);
      return `${t.toISOString().slice(0, 19)}${frac ?? ''}Z`;
    });
}

// ---------------------------------------------------------------------------------------------------------------
// Damage

export function setEncryptionState(xml: string, state: number): string {
  return editTags(xml, 'Backup', (t) => setAttr(t, 'EncryptionState', String(state)));
}

export function setCorrupted(xml: string, fileName: string): string {
  return editOibOfFile(xml, fileName, (t) => setAttr(t, 'IsCorrupted', 'True'));
}

export function setInconsistent(xml: string, fileName: string): string {
  return editOibOfFile(xml, fileName, (t) => setAttr(t, 'IsConsistent', 'False'));
}

/** Points the storage's LinkId at a storage that does not exist. */
export function breakLink(xml: string, fileName: string, to = '0badc0de-0000-4000-8000-000000000000'): string {
  return editTags(xml, 'Storage', (t) => (storageFileName(t) === fileName ? setAttr(t, 'LinkId', to) : t));
}

/** The first `fraction` of the text, as a copy interrupted mid-way would leave it. */
export function truncateText(xml: string, fraction = 0.5): string {
  return xml.slice(0, Math.floor(xml.length * fraction));
}

// ---------------------------------------------------------------------------------------------------------------
// Synthetic long chain

export interface SynthOptions {
  /** Restore points in total, full included. Default 8,760. */
  readonly points?: number;
  readonly intervalHours?: number;
  /** Time of the newest point. Default: the fixture's newest. */
  readonly newestUtc?: Date;
  /** Keep OIB@AuxData on every point (`all`, about 28 KB each) or only on the newest point and the full. */
  readonly auxData?: 'all' | 'newest';
}

function fakeGuid(kind: number, i: number): string {
  return `${kind.toString(16).padStart(8, '0')}-${(i >>> 16).toString(16).padStart(4, '0')}-4${(i & 0xfff).toString(16).padStart(3, '0')}-8000-${i.toString(16).padStart(12, '0')}`;
}

function replaceSection(xml: string, name: string, inner: string): string {
  const re = new RegExp(`<${name}>[\\s\\S]*?</${name}>`);
  if (!re.test(xml)) throw new Error(`no <${name}> section`);
  return xml.replace(re, () => `<${name}>${inner}</${name}>`);
}

/**
 * A chain of `points` restore points, one full then increments every `intervalHours`, built by repeating the
 * fixture's full and newest-increment Storage/Point/OIB elements with fresh ids, links, times and file names.
 */
export function synthesizeChain(xml: string, options: SynthOptions = {}): string {
  const n = options.points ?? 8760;
  const interval = (options.intervalHours ?? 1) * 3_600_000;
  const newest = options.newestUtc ?? REAL_NEWEST_UTC;
  const storages = tagsOf(xml, 'Storage');
  const points = tagsOf(xml, 'Point');
  const oibs = tagsOf(xml, 'OIB');
  const fullPoint = points.find((t) => getAttr(t, 'Type') === '0');
  const fullOib = oibs.find((t) => getAttr(t, 'PointId') === getAttr(fullPoint ?? '', 'Id'));
  const fullStorage = storages.find((t) => getAttr(t, 'Id') === getAttr(fullOib ?? '', 'StorageId'));
  const newestPoint = points.reduce((a, b) => (Number(getAttr(b, 'Num')) > Number(getAttr(a, 'Num')) ? b : a));
  const incOib = oibs.find((t) => getAttr(t, 'PointId') === getAttr(newestPoint, 'Id'));
  const incStorage = storages.find((t) => getAttr(t, 'Id') === getAttr(incOib ?? '', 'StorageId'));
  if (!fullPoint || !fullOib || !fullStorage || !incOib || !incStorage) throw new Error('fixture lacks a full or increment');
  const localOffset =
    parseVeeamTime(getAttr(incStorage, 'CreationTime') ?? '').getTime() - parseVeeamTime(getAttr(incStorage, 'CreationTimeUtc') ?? '').getTime();
  const dir = unescapeAttr(getAttr(incStorage, 'FilePath') ?? '').replace(/[^\\]*$/, '');
  const prefix = storageFileName(incStorage).replace(/ - [^-]*\.vib$/, '').replace(/\.vib$/, '') || 'Server';

  const sOut: string[] = [];
  const pOut: string[] = [];
  const oOut: string[] = [];
  for (let i = 0; i < n; i++) {
    const full = i === 0;
    const utc = new Date(newest.getTime() - (n - 1 - i) * interval);
    const local = new Date(utc.getTime() + localOffset);
    const stamp = `${local.getUTCFullYear()}-${p2(local.getUTCMonth() + 1)}-${p2(local.getUTCDate())}T${p2(local.getUTCHours())}${p2(local.getUTCMinutes())}${p2(local.getUTCSeconds())}`;
    const fileName = `${prefix} - ${stamp}${full ? '.vbk' : '.vib'}`;
    const sid = fakeGuid(0x5707a6e, i);
    const pid = fakeGuid(0x9011e7, i);
    const oid = fakeGuid(0x0b1b, i);
    let s = full ? fullStorage : incStorage;
    s = setAttr(s, 'Id', sid);
    s = setAttr(s, 'FilePath', `${dir}${fileName}`);
    s = setAttr(s, 'PartialPath', `<Path IsFilePath="True"><Elements>${escapeAttr(fileName)}</Elements></Path>`);
    s = setAttr(s, 'CreationTime', veeamTime(local));
    s = setAttr(s, 'CreationTimeUtc', veeamTime(utc));
    s = setAttr(s, 'ModificationTime', veeamTime(new Date(local.getTime() + 100_000)));
    s = setAttr(s, 'LinkId', full ? undefined : fakeGuid(0x5707a6e, i - 1));
    sOut.push(s);
    let p = full ? fullPoint : newestPoint;
    p = setAttr(p, 'Id', pid);
    p = setAttr(p, 'OriginalId', fakeGuid(0x0e1, i));
    p = setAttr(p, 'LinkId', full ? '00000000-0000-0000-0000-000000000000' : fakeGuid(0x9011e7, i - 1));
    p = setAttr(p, 'Num', `${i + 1}.0000000000`);
    p = setAttr(p, 'CreationTime', veeamTime(utc));
    p = setAttr(p, 'CreationTimeUtc', veeamTime(utc));
    pOut.push(p);
    let o = full ? fullOib : incOib;
    o = setAttr(o, 'Id', oid);
    o = setAttr(o, 'OriginalOibId', oid);
    o = setAttr(o, 'PointId', pid);
    o = setAttr(o, 'StorageId', sid);
    o = setAttr(o, 'LinkId', full ? '00000000-0000-0000-0000-000000000000' : fakeGuid(0x0b1b, i - 1));
    o = setAttr(o, 'CreationTime', veeamTime(new Date(local.getTime() + 40_000)));
    o = setAttr(o, 'CreationTimeUtc', veeamTime(new Date(utc.getTime() + 40_000)));
    o = setAttr(o, 'CompletionTimeUtc', veeamTime(new Date(utc.getTime() + 110_000)));
    o = setAttr(o, 'CreationUsn', String(i + 1));
    if (options.auxData !== 'all' && !full && i !== n - 1) o = setAttr(o, 'AuxData', undefined);
    oOut.push(o);
  }
  let out = replaceSection(xml, 'Storages', sOut.join(''));
  out = replaceSection(out, 'Points', pOut.join(''));
  out = replaceSection(out, 'Oibs', oOut.join(''));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Shares on disk

export interface TestShare {
  /** The share root (what `--share` gets). */
  readonly root: string;
  /** The folder holding the chain. */
  readonly dir: string;
  readonly vbmPath: string;
  /** Storage file name -> path, for every file created. */
  readonly files: ReadonlyMap<string, string>;
  cleanup(): Promise<void>;
}

export interface ShareOptions {
  /** The metadata text. Default: the real fixture. */
  readonly xml?: string;
  /** Existing folder to build in (e.g. to put several chains on one share); default a new temp folder. */
  readonly root?: string;
  /** Folders from the root to the chain, default like a VBR-managed agent: owner / job folder. */
  readonly subdirs?: readonly string[];
  readonly vbmName?: string;
  /** `small` (default): 1 KiB files; `sparse`: files of the size in the metadata, without writing data. */
  readonly content?: 'small' | 'sparse';
  /** Storage files not to create. */
  readonly omit?: readonly string[];
  /** Storage files to create empty. */
  readonly empty?: readonly string[];
  /** Don't create storage files at all. */
  readonly noFiles?: boolean;
}

function statsBackupSize(tag: string): number | undefined {
  const stats = unescapeAttr(getAttr(tag, 'Stats') ?? '');
  const m = /<BackupSize>(\d+)<\/BackupSize>/.exec(stats);
  return m ? Number(m[1]) : undefined;
}

/** Writes the metadata and the storage files it names into a share folder. */
export async function makeShare(options: ShareOptions = {}): Promise<TestShare> {
  const xml = options.xml ?? (await readRealVbm());
  const ownRoot = options.root === undefined;
  const root = options.root ?? (await mkdtemp(join(tmpdir(), 'lifeboat-veeam-')));
  const dir = join(root, ...(options.subdirs ?? ['VeeamAgentUser5cf2da00', 'Kerserv_-_192.168.80.1']));
  await mkdir(dir, { recursive: true });
  const vbmPath = join(dir, options.vbmName ?? 'Kerserv -.vbm');
  await writeFile(vbmPath, xml);
  const files = new Map<string, string>();
  if (!options.noFiles) {
    const block = Buffer.alloc(1024, 0x5a);
    for (const tag of tagsOf(xml, 'Storage')) {
      const name = storageFileName(tag);
      if (!name || options.omit?.includes(name)) continue;
      const p = join(dir, name);
      if (options.empty?.includes(name)) await writeFile(p, '');
      else if (options.content === 'sparse') {
        const h = await open(p, 'w');
        await h.close();
        await truncate(p, statsBackupSize(tag) ?? 1024);
      } else await writeFile(p, block);
      files.set(name, p);
    }
  }
  return {
    root,
    dir,
    vbmPath,
    files,
    cleanup: async () => {
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Deletes one storage file of a share. */
export async function deleteStorageFile(share: TestShare, fileName: string): Promise<void> {
  const p = share.files.get(fileName);
  if (!p) throw new Error(`share has no file "${fileName}"`);
  await unlink(p);
}

/** Truncates one storage file of a share to 0 bytes. */
export async function emptyStorageFile(share: TestShare, fileName: string): Promise<void> {
  const p = share.files.get(fileName);
  if (!p) throw new Error(`share has no file "${fileName}"`);
  await truncate(p, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Other servers and their site.yaml

/** The fixture as the backup of another server: every spelling of "Kerserv" replaced (job, FQDN, files, AuxData). */
export function renameServer(xml: string, name: string): string {
  const lower = name.toLowerCase();
  const title = lower.charAt(0).toUpperCase() + lower.slice(1);
  return xml.replace(/KERSERV/g, name.toUpperCase()).replace(/Kerserv/g, title).replace(/kerserv/g, lower);
}

/** `SRVOK` -> `Srvok`: how the renamed fixture spells a server in job, folder and file names. */
export const titleCase = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1).toLowerCase();

/** The Veeam job name of a renamed fixture server. */
export const jobOf = (name: string): string => `${titleCase(name)} - 192.168.80.1`;

export interface SiteYamlOptions {
  /** YAML inserted before `servers:` (e.g. a schedule). */
  readonly extra?: string;
  readonly site?: { readonly name: string; readonly id: string };
  readonly retentionDays?: number;
}

/** A site.yaml listing these servers (as the renamed fixture names them), RPO 3 hours around the clock. */
export function siteYaml(servers: readonly string[], options: SiteYamlOptions = {}): string {
  const site = options.site ?? { name: 'Audit Test <GmbH>', id: 'audit-test' };
  const list = servers.map((n) => `  - name: ${n}
    fqdn: ${n.toLowerCase()}.stb.local
    role: file
    runsOn: { kind: physical, vendor: dell }
    firmware: uefi
    ramGb: 16
    disks: [ { sizeGb: 2000 } ]
    veeamJob: "${jobOf(n)}"
`);
  return `site: { name: ${site.name}, id: ${site.id} }
contacts: [ { name: Anna Berger, role: IT, phone: "+49 89 1234567" } ]
share: { path: '\\\\nas01\\veeam', user: restore }
nas: { linkSpeedGbps: 1 }
rpoHours: 3
retentionDays: ${options.retentionDays ?? 14}
${options.extra ?? ''}servers:
${list.join('')}`;
}
