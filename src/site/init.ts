/**
 * The `lifeboat init` questionnaire: asks for a site step by step and returns a validated Site (the CLI writes it
 * with renderSiteYaml). Questions go through a small Prompter interface so tests can drive them with scripted
 * answers; the default prompter is @inquirer/prompts. Every answer is checked with the same schema loadSite uses.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import { type Choice, inquirerPrompter, type Prompter } from './init-prompter.js';
import { type Answer, GoBack, InitInterrupted, Tape } from './init-tape.js';
import {
  biosSystemDiskProblem,
  contactSchema,
  diskSchema,
  DRIVER_KINDS,
  escalationSchema,
  FIRMWARES,
  HYPERVISOR_DRIVER_KIND,
  HYPERVISORS,
  nasSchema,
  serverSchema,
  shareSchema,
  siteSchema,
  SERVER_ROLES,
  VENDORS,
  WEEKDAYS,
  type DriverKind,
  type Site,
  type SiteInput,
  type Weekday,
} from './schema.js';
import { formatPath } from './load.js';

export type { Choice, Prompter } from './init-prompter.js';
export { GoBack, InitInterrupted, type Answer } from './init-tape.js';

export interface AskOptions {
  /** Answers to replay first (a draft, `init --resume`). */
  readonly answers?: readonly Answer[];
  /** The folder site.yaml is written to: driver folders are suggested and checked relative to it. */
  readonly siteDir?: string;
}

/**
 * Asks the questions and returns the site. Every answer is checked as it is given, against the answers before it
 * (window end after start, a BIOS server's system disk, names already used). A prompter throwing GoBack (Esc) goes
 * back one question; an interrupt (Ctrl-C) ends in InitInterrupted carrying the answers so far.
 */
export async function askSite(prompter: Prompter = inquirerPrompter, opts: AskOptions = {}): Promise<Site> {
  const tape = new Tape([...(opts.answers ?? [])]);
  for (;;) {
    tape.rewind();
    try {
      return await questionnaire(new Questions(prompter, tape), opts.siteDir ?? '.');
    } catch (e) {
      if (e instanceof GoBack) {
        tape.back();
        continue;
      }
      if (isInterrupt(e)) throw new InitInterrupted(tape.answers);
      throw e;
    }
  }
}

function isInterrupt(e: unknown): boolean {
  return e instanceof Error && (e.name === 'ExitPromptError' || e instanceof InitInterrupted);
}

async function questionnaire(ask: Questions, siteDir: string): Promise<Site> {
  const name = await ask.text('Name of the business (as printed on the manual)', siteSchema.shape.site.shape.name);
  const id = await ask.text('Short site id (lowercase letters, digits, dashes)', siteSchema.shape.site.shape.id, slugify(name));

  const contacts: SiteInput['contacts'] = [];
  do {
    const n = contacts.length + 1;
    contacts.push({
      name: await ask.text(`Contact ${n}: name`, contactSchema.shape.name),
      role: await ask.text(`Contact ${n}: role (e.g. IT service provider)`, contactSchema.shape.role),
      phone: await ask.text(`Contact ${n}: phone (with country code)`, contactSchema.shape.phone),
      email: await ask.optionalText(`Contact ${n}: e-mail (empty: none)`, contactSchema.shape.email),
    });
  } while (contacts.length < 20 && (await ask.confirm('Add another contact?', false)));

  const escalation: NonNullable<SiteInput['escalation']> = [];
  while (escalation.length < 20 && (await ask.confirm(escalation.length === 0 ? 'Add an escalation phone number?' : 'Add another escalation number?', escalation.length === 0))) {
    const n = escalation.length + 1;
    escalation.push({
      name: await ask.text(`Escalation ${n}: name or service desk`, escalationSchema.shape.name),
      phone: await ask.text(`Escalation ${n}: phone`, escalationSchema.shape.phone),
      when: await ask.text(`Escalation ${n}: when to call`, escalationSchema.shape.when, 'a restore takes twice its estimate'),
    });
  }

  const share: SiteInput['share'] = {
    path: await ask.text('Backup share as UNC path (e.g. \\\\nas01\\veeam)', shareSchema.shape.path),
    user: await ask.text('User for reading the share (a read-only restore account is best)', shareSchema.shape.user),
    domain: await ask.optionalText('Domain of that user, or the NAS name for a local account (empty: none)', shareSchema.shape.domain),
  };

  // The NAS is usually the server in the share path: offer it.
  const shareHost = share.path.slice(2).split('\\')[0];
  const nas: NonNullable<SiteInput['nas']> = {
    host: await ask.optionalText('NAS host name or IP address (empty: skip)', nasSchema.shape.host, shareHost || undefined),
    linkSpeedGbps: await ask.num('Network speed between NAS and servers in Gbit/s', nasSchema.shape.linkSpeedGbps, 1),
  };

  const rpoHours = await ask.num('Recovery point objective in hours (most work the business may lose)', siteSchema.shape.rpoHours, 3);
  const retentionDays = await ask.num('Days of restore points to keep', siteSchema.shape.retentionDays, 7);

  let schedule: SiteInput['schedule'];
  if (await ask.confirm(`Only keep the ${rpoHours}-hour RPO during business hours?`, false)) {
    const days = await ask.text('Business days (e.g. mon-fri or mon,tue,wed)', daysSchemaText, 'mon-fri');
    const from = await ask.text('Business hours start (HH:MM)', timeSchemaText, '07:00');
    const to = await ask.text('Business hours end (HH:MM)', timeSchemaText.refine((t) => t > from, { error: `must be later than the start, ${from}` }), from < '19:00' ? '19:00' : undefined);
    schedule = {
      window: { days: parseDays(days), from, to },
      dailyAt: await ask.text('Time of the daily backup job (HH:MM)', timeSchemaText, '22:00'),
    };
  }

  const servers: SiteInput['servers'] = [];
  do {
    const n = servers.length + 1;
    const used = new Map(servers.map((s, i) => [s.name.toUpperCase(), i + 1]));
    const serverName = await ask.text(
      `Server ${n}: Windows computer name (e.g. DC01)`,
      serverSchema.shape.name.refine((v) => !used.has(v.toUpperCase()), { error: 'that name is already used by another server' }),
    );
    const fqdn = await ask.optionalText(`${serverName}: fully qualified name (empty: skip)`, serverSchema.shape.fqdn);
    const role = await ask.select(`${serverName}: main role`, SERVER_ROLES.map((value) => ({ name: ROLE_NAMES[value], value })));
    const kind = await ask.select(`${serverName}: runs on`, [
      { name: 'a physical machine', value: 'physical' as const },
      { name: 'a virtual machine', value: 'vm' as const },
    ]);
    let runsOn: SiteInput['servers'][number]['runsOn'];
    if (kind === 'physical') {
      const vendor = await ask.select(`${serverName}: hardware vendor`, VENDORS.map((value) => ({ name: VENDOR_NAMES[value], value })));
      const model = await ask.optionalText(`${serverName}: model (empty: skip)`, textSchema);
      runsOn = { kind: 'physical', vendor, model };
    } else {
      const hypervisor = await ask.select(`${serverName}: hypervisor`, HYPERVISORS.map((value) => ({ name: HYPERVISOR_NAMES[value], value })));
      runsOn = { kind: 'vm', hypervisor };
    }
    const firmware = await ask.select(
      `${serverName}: boot firmware`,
      FIRMWARES.map((value) => ({ name: value === 'uefi' ? 'UEFI (GPT disks)' : 'legacy BIOS (MBR disks)', value })),
      'uefi',
    );
    const cpus = await ask.optionalNum(`${serverName}: number of CPUs (empty: skip)`, serverSchema.shape.cpus);
    const ramGb = await ask.num(`${serverName}: memory in GB`, serverSchema.shape.ramGb);
    const diskCount = await ask.num(`${serverName}: number of disks`, diskCountSchema, 1);
    const disks: SiteInput['servers'][number]['disks'] = [];
    for (let d = 1; d <= diskCount; d++) {
      // A BIOS server starts from an MBR disk: its system disk cannot be over 2 TiB.
      const sizeSchema = d === 1 ? diskSchema.shape.sizeGb.superRefine((v, ctx) => {
        const problem = biosSystemDiskProblem(firmware, v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }) : diskSchema.shape.sizeGb;
      disks.push({
        name: await ask.optionalText(`${serverName}: disk ${d} label (empty: none)`, diskSchema.shape.name, d === 1 ? 'system' : 'data'),
        sizeGb: await ask.num(`${serverName}: disk ${d} size in GB`, sizeSchema),
      });
    }
    const veeamJob = await ask.text(`${serverName}: Veeam backup job name`, serverSchema.shape.veeamJob, 'Backup Job 1');
    const os = await ask.optionalText(`${serverName}: operating system (e.g. Windows Server 2022; empty: skip)`, serverSchema.shape.os);
    servers.push({ name: serverName, fqdn, role, runsOn, firmware, cpus, ramGb, disks, veeamJob, os });
  } while (servers.length < 20 && (await ask.confirm('Add another server?', false)));

  // Drivers: the hypervisors' paravirtual drivers, and the vendor packs for physical servers.
  const wanted = new Set<DriverKind>();
  for (const server of servers) {
    if (server.runsOn.kind === 'vm') wanted.add(HYPERVISOR_DRIVER_KIND[server.runsOn.hypervisor]);
    else if (server.runsOn.vendor !== 'other') wanted.add(server.runsOn.vendor);
  }
  const drivers: Partial<Record<DriverKind, string>> = {};
  for (const kind of DRIVER_KINDS.filter((k) => wanted.has(k))) {
    const what = (VENDORS as readonly string[]).includes(kind) ? `the ${VENDOR_NAMES[kind as keyof typeof VENDOR_NAMES]} driver pack (RAID controller, network card)` : `${kind} drivers`;
    drivers[kind] = await ask.folder(`Folder with ${what}, relative to site.yaml (empty: add later)`, siteDir, `drivers/${kind}`);
  }
  drivers.custom = await ask.folder('Folder with other drivers to carry, relative to site.yaml (empty: none)', siteDir);

  const draft: SiteInput = {
    site: { name, id },
    contacts,
    escalation,
    share,
    nas,
    rpoHours,
    retentionDays,
    schedule,
    servers,
    drivers: dropUndefined(drivers),
  };
  const result = siteSchema.safeParse(dropUndefinedDeep(draft));
  if (!result.success) {
    throw new InputError(
      result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`).join('\n'),
      'Run lifeboat init again.',
    );
  }
  return result.data;
}

// ---------------------------------------------------------------------------------------------------------------

const ROLE_NAMES = {
  dc: 'domain controller',
  sql: 'SQL Server / database application',
  exchange: 'Exchange',
  file: 'file server',
  app: 'application server',
} as const;
const VENDOR_NAMES = {
  dell: 'Dell',
  hpe: 'HPE',
  lenovo: 'Lenovo',
  fujitsu: 'Fujitsu',
  supermicro: 'Supermicro',
  other: 'other',
} as const;
const HYPERVISOR_NAMES = {
  esxi: 'VMware ESXi',
  hyperv: 'Microsoft Hyper-V',
  kvm: 'KVM',
  proxmox: 'Proxmox VE',
  xen: 'Xen / XCP-ng / Citrix Hypervisor',
} as const;

const textSchema = serverSchema.shape.veeamJob;
const timeSchemaText = siteSchema.shape.schedule.unwrap().shape.window.unwrap().shape.from;
const diskCountSchema = serverSchema.shape.disks.element.shape.sizeGb.int().max(64);
/** Validates "mon-fri" / "mon,tue,wed" style day lists. */
const daysSchemaText = z.string().superRefine((value, ctx) => {
  try {
    parseDays(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** "mon-fri" or "mon, wed, fri" -> ['mon', 'tue', ...]. */
export function parseDays(text: string): Weekday[] {
  const days: Weekday[] = [];
  for (const part of text.toLowerCase().split(/[,\s]+/).filter(Boolean)) {
    const [from, to, extra] = part.split('-');
    const a = WEEKDAYS.indexOf(from as Weekday);
    const b = to === undefined ? a : WEEKDAYS.indexOf(to as Weekday);
    if (a === -1 || b === -1 || extra !== undefined || b < a) {
      throw new Error(`"${part}" is not a day or range of days (mon, tue, wed, thu, fri, sat, sun; e.g. mon-fri)`);
    }
    for (let i = a; i <= b; i++) {
      const day = WEEKDAYS[i];
      if (day && !days.includes(day)) days.push(day);
    }
  }
  if (days.length === 0) throw new Error('name at least one day');
  return days;
}

export function slugify(name: string): string {
  const german: Record<string, string> = { ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss' };
  const slug = name
    .normalize('NFC')
    .toLowerCase()
    .replace(/[äöüß]/g, (c) => german[c] ?? c)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || 'site';
}

function firstMessage(schema: z.ZodType, value: unknown): true | string {
  const result = schema.safeParse(value);
  return result.success ? true : (result.error.issues[0]?.message ?? 'invalid');
}

/** The questions, each answered from the tape (replay) or asked, and checked as it is answered. */
class Questions {
  constructor(
    private readonly prompter: Prompter,
    private readonly tape: Tape,
  ) {}

  async text(message: string, schema: z.ZodType, defaultValue?: string): Promise<string> {
    const check = (value: string) => firstMessage(schema, value.trim());
    const answer = await this.tape.next(
      (v) => typeof v === 'string' && check(v) === true,
      (previous) => this.prompter.input({ message, default: typeof previous === 'string' ? previous : defaultValue, validate: check }),
    );
    return answer.trim();
  }

  async optionalText(message: string, schema: z.ZodType, defaultValue?: string): Promise<string | undefined> {
    const check = (value: string) => (value.trim() === '' ? true : firstMessage(schema, value.trim()));
    const answer = await this.tape.next(
      (v) => typeof v === 'string' && check(v) === true,
      (previous) => this.prompter.input({ message, default: typeof previous === 'string' ? previous : defaultValue, validate: check }),
    );
    return answer.trim() === '' ? undefined : answer.trim();
  }

  /** A folder relative to `siteDir` that must exist; suggested only when it does. Empty: none. */
  async folder(message: string, siteDir: string, suggestion?: string): Promise<string | undefined> {
    const exists = (folder: string) => {
      try {
        return statSync(resolve(siteDir, folder)).isDirectory();
      } catch {
        return false;
      }
    };
    const check = (value: string) => {
      const v = value.trim();
      if (v === '') return true;
      const shape = firstMessage(textSchema, v);
      if (shape !== true) return shape;
      return exists(v) ? true : `there is no folder "${v}" in ${resolve(siteDir)}; leave this empty and add it to site.yaml later`;
    };
    return this.optionalTextWith(message, check, suggestion && exists(suggestion) ? suggestion : undefined);
  }

  private async optionalTextWith(message: string, check: (v: string) => true | string, defaultValue?: string): Promise<string | undefined> {
    const answer = await this.tape.next(
      (v) => typeof v === 'string' && check(v) === true,
      (previous) => this.prompter.input({ message, default: typeof previous === 'string' ? previous : defaultValue, validate: check }),
    );
    return answer.trim() === '' ? undefined : answer.trim();
  }

  async num(message: string, schema: z.ZodType, defaultValue?: number): Promise<number> {
    const check = (value: number | undefined) => (value === undefined ? 'please enter a number' : firstMessage(schema, value));
    const answer = await this.tape.next(
      (v) => typeof v === 'number' && check(v) === true,
      async (previous) => {
        const n = await this.prompter.number({ message, default: typeof previous === 'number' ? previous : defaultValue, required: true, validate: check });
        if (n === undefined) throw new InputError(`no answer to "${message}"`);
        return n;
      },
    );
    return answer;
  }

  async optionalNum(message: string, schema: z.ZodType): Promise<number | undefined> {
    const check = (value: number | undefined) => (value === undefined ? true : firstMessage(schema, value));
    const answer = await this.tape.next(
      (v) => (v === null || typeof v === 'number') && check(v ?? undefined) === true,
      async (previous) => (await this.prompter.number({ message, default: typeof previous === 'number' ? previous : undefined, validate: check })) ?? null,
    );
    return answer ?? undefined;
  }

  async select<T extends string>(message: string, choices: readonly Choice<T>[], defaultValue?: T): Promise<T> {
    const fits = (v: Answer) => choices.some((c) => c.value === v);
    return this.tape.next<T>(fits, (previous) => this.prompter.select({ message, choices, default: fits(previous ?? null) ? (previous as T) : defaultValue }));
  }

  async confirm(message: string, defaultValue: boolean): Promise<boolean> {
    return this.tape.next<boolean>(
      (v) => typeof v === 'boolean',
      (previous) => this.prompter.confirm({ message, default: typeof previous === 'boolean' ? previous : defaultValue }),
    );
  }
}

function dropUndefined<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function dropUndefinedDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => dropUndefinedDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, dropUndefinedDeep(v)]),
    ) as T;
  }
  return value;
}
