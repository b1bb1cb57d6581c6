/**
 * `lifeboat backup-setup`: per server, the files that make Veeam Agent FREE meet the site's RPO, rendered from the
 * handlebars templates in templates/backup/:
 *
 *   <out>/<SERVER>/backup-task.xml   Task Scheduler task (schema 1.2), UTF-16 LE with BOM as schtasks /XML expects
 *   <out>/<SERVER>/install.ps1       checks agent and job, registers with schtasks /Create /XML, runs once
 *   <out>/<SERVER>/uninstall.ps1     removes the task
 *   <out>/<SERVER>/README.txt        what, why, how to install, check and remove
 *
 * The schedule itself (triggers, sentences) comes from src/veeam/schedule.ts, which the manual uses too.
 * Windows files get CRLF line ends; scripts and README are UTF-8 with BOM (Windows PowerShell 5.1 reads a
 * BOM-less script in the ANSI code page and would garble non-ASCII site names).
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { InputError } from '../errors.js';
import type { Server, Site } from '../site/index.js';
import {
  backupSchedule,
  TASK_DAY_NAMES,
  VEEAM_CONFIGURATOR_EXE,
  VEEAM_EXIT_ALREADY_RUNNING,
  type BackupSchedule,
  type ScheduleTrigger,
} from '../veeam/schedule.js';
import { writeError } from '../util/atomic-file.js';
import { resourcePath } from '../resources.js';
import { pathToFileURL } from 'node:url';

export const TEMPLATE_DIR = pathToFileURL(`${resourcePath('templates/backup')}/`);
export const TASK_XML_FILE = 'backup-task.xml';
/** A fixed, past Monday: the triggers' StartBoundary (only its time of day matters). */
const START_DATE = '2024-01-01';

export interface RenderedFile {
  readonly name: string;
  /** The text before encoding. */
  readonly text: string;
  /** The bytes written. */
  readonly bytes: Buffer;
}

export interface ServerSetup {
  readonly server: string;
  readonly schedule: BackupSchedule;
  readonly files: readonly RenderedFile[];
}

/** A PowerShell single-quoted string literal. PowerShell also treats the typographic single quotes as quotes. */
export function psQuote(value: string): string {
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new InputError(`"${value}" contains control characters and cannot go into a script`);
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/** XML character data / attribute text; refuses characters XML 1.0 cannot carry. */
export function xmlText(value: string): string {
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(value)) throw new InputError(`"${value}" contains characters XML cannot carry`);
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** Text safe inside a PowerShell block comment (`<# ... #>`). */
function commentText(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/#>/g, '# >');
}

const hb = Handlebars.create();
hb.registerHelper('ps', (v: unknown) => new hb.SafeString(psQuote(String(v))));
hb.registerHelper('xml', (v: unknown) => new hb.SafeString(xmlText(String(v))));
hb.registerHelper('comment', (v: unknown) => new hb.SafeString(commentText(String(v))));

type Template = (context: object) => string;
const cache = new Map<string, Template>();

/** Every template is compiled without handlebars' HTML escaping: values go through the helper of their format. */
function template(name: string, noEscape: boolean): Template {
  let t = cache.get(name);
  if (!t) {
    const source = readFileSync(new URL(name, TEMPLATE_DIR), 'utf8');
    t = hb.compile(source, { strict: true, noEscape });
    cache.set(name, t);
  }
  return t;
}

/** ISO 8601 duration: `PT3H`, `PT12H30M`, `P1D`. */
export function isoDuration(minutes: number): string {
  if (minutes % 1440 === 0) return `P${minutes / 1440}D`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}`;
}

function triggerView(t: ScheduleTrigger): object {
  return {
    startBoundary: `${START_DATE}T${t.at}:00`,
    repetition:
      t.repeatEveryHours !== undefined && t.repeatForMinutes !== undefined
        ? { interval: isoDuration(t.repeatEveryHours * 60), duration: isoDuration(t.repeatForMinutes) }
        : undefined,
    weekDays: t.days === 'every-day' ? undefined : t.days.map((d) => TASK_DAY_NAMES[d]),
  };
}

/** UTF-16 LE with BOM and CRLF line ends. */
function utf16(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(crlf(text), 'utf16le')]);
}

/** UTF-8 with BOM and CRLF line ends. */
function utf8Bom(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(crlf(text), 'utf8')]);
}

function crlf(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

/** Renders the four files for one server (nothing written). */
export function renderServerSetup(site: Site, server: Server): ServerSetup {
  const schedule = backupSchedule(site, server);
  const lastSep = schedule.taskName.lastIndexOf('\\');
  const view = {
    server: server.name,
    fqdn: server.fqdn,
    siteName: site.site.name,
    veeamJob: server.veeamJob,
    sharePath: site.share.path,
    rpoHours: site.rpoHours,
    retentionDays: site.retentionDays,
    dailyAt: schedule.dailyAt,
    summary: schedule.summary,
    sentences: schedule.sentences,
    taskName: schedule.taskName,
    taskFolder: schedule.taskName.slice(0, lastSep + 1),
    taskLeaf: schedule.taskName.slice(lastSep + 1),
    xmlFile: TASK_XML_FILE,
    program: schedule.command.program,
    arguments: schedule.command.arguments,
    commandLine: schedule.command.commandLine,
    managerExe: schedule.command.program,
    configuratorExe: VEEAM_CONFIGURATOR_EXE,
    alreadyRunning: VEEAM_EXIT_ALREADY_RUNNING,
    executionTimeLimit: isoDuration(schedule.executionTimeLimitHours * 60),
    executionTimeLimitHours: schedule.executionTimeLimitHours,
    description:
      `Lifeboat: Veeam Agent backup job of ${server.name}, ${schedule.summary}, for a recovery point objective of ` +
      `${site.rpoHours} hours (site ${site.site.name}). Exit code 5 means a backup was already running.`,
    triggers: schedule.triggers.map(triggerView),
    underline: '='.repeat(`Lifeboat backup schedule for ${server.name}`.length),
  };
  const xml = template('task.xml.hbs', true)(view);
  const install = template('install.ps1.hbs', true)(view);
  const uninstall = template('uninstall.ps1.hbs', true)(view);
  const readme = template('README.txt.hbs', true)(view);
  return {
    server: server.name,
    schedule,
    files: [
      { name: TASK_XML_FILE, text: xml, bytes: utf16(xml) },
      { name: 'install.ps1', text: install, bytes: utf8Bom(install) },
      { name: 'uninstall.ps1', text: uninstall, bytes: utf8Bom(uninstall) },
      { name: 'README.txt', text: readme, bytes: utf8Bom(readme) },
    ],
  };
}

export interface BackupSetupResult {
  readonly outDir: string;
  readonly servers: readonly (ServerSetup & { readonly dir: string; readonly paths: readonly string[] })[];
}

/** Renders and writes the files of every server into `<outDir>/<SERVER>/`. */
export async function writeBackupSetup(site: Site, outDir: string): Promise<BackupSetupResult> {
  const servers: BackupSetupResult['servers'][number][] = [];
  for (const server of site.servers) {
    const setup = renderServerSetup(site, server);
    const dir = join(outDir, server.name);
    const paths: string[] = [];
    try {
      await mkdir(dir, { recursive: true });
      for (const f of setup.files) {
        const p = join(dir, f.name);
        await writeFile(p, f.bytes);
        paths.push(p);
      }
    } catch (e) {
      throw writeError(dir, e);
    }
    servers.push({ ...setup, dir, paths });
  }
  return { outDir, servers };
}
