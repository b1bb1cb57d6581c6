/**
 * The `lifeboat init` questionnaire: asks for a site step by step and returns a validated Site (the CLI writes it
 * with renderSiteYaml). Questions go through a small Prompter interface so tests can drive them with scripted
 * answers; the default prompter is @inquirer/prompts. Every answer is checked with the same schema loadSite uses.
 */
import { confirm as inquirerConfirm, input as inquirerInput, number as inquirerNumber, select as inquirerSelect } from '@inquirer/prompts';
import { z } from 'zod';
import { InputError } from '../errors.js';
import {
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

type Validate<T> = (value: T) => true | string;

export interface Choice<T extends string> {
  name: string;
  value: T;
  description?: string;
}

/** The four kinds of question the questionnaire asks. */
export interface Prompter {
  input(question: { message: string; default?: string; validate?: Validate<string> }): Promise<string>;
  number(question: {
    message: string;
    default?: number;
    min?: number;
    max?: number;
    required?: boolean;
    validate?: Validate<number | undefined>;
  }): Promise<number | undefined>;
  select<T extends string>(question: { message: string; choices: readonly Choice<T>[]; default?: T }): Promise<T>;
  confirm(question: { message: string; default?: boolean }): Promise<boolean>;
}

/** The interactive prompter (a terminal is needed). */
export const inquirerPrompter: Prompter = {
  input: (q) => inquirerInput({ message: q.message, default: q.default, validate: q.validate }),
  number: (q) =>
    inquirerNumber({
      message: q.message,
      default: q.default,
      min: q.min,
      max: q.max,
      step: 'any',
      required: q.required ?? false,
      validate: q.validate,
    }),
  select: <T extends string>(q: { message: string; choices: readonly Choice<T>[]; default?: T }) =>
    inquirerSelect<T>({ message: q.message, choices: [...q.choices], default: q.default }),
  confirm: (q) => inquirerConfirm({ message: q.message, default: q.default }),
};

/** Asks the questions and returns the site. */
export async function askSite(prompter: Prompter = inquirerPrompter): Promise<Site> {
  const ask = new Questions(prompter);

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
  } while (contacts.length < 20 && (await prompter.confirm({ message: 'Add another contact?', default: false })));

  const escalation: NonNullable<SiteInput['escalation']> = [];
  while (
    escalation.length < 20 &&
    (await prompter.confirm({
      message: escalation.length === 0 ? 'Add an escalation phone number?' : 'Add another escalation number?',
      default: escalation.length === 0,
    }))
  ) {
    const n = escalation.length + 1;
    escalation.push({
      name: await ask.text(`Escalation ${n}: name or service desk`, escalationSchema.shape.name),
      phone: await ask.text(`Escalation ${n}: phone`, escalationSchema.shape.phone),
      when: await ask.text(`Escalation ${n}: when to call`, escalationSchema.shape.when),
    });
  }

  const share: SiteInput['share'] = {
    path: await ask.text('Backup share as UNC path (e.g. \\\\nas01\\veeam)', shareSchema.shape.path),
    user: await ask.text('User for reading the share (a read-only restore account is best)', shareSchema.shape.user),
    domain: await ask.optionalText('Domain of that user, or the NAS name for a local account (empty: none)', shareSchema.shape.domain),
  };

  const nas: NonNullable<SiteInput['nas']> = {
    host: await ask.optionalText('NAS host name or IP address (empty: skip)', nasSchema.shape.host),
    linkSpeedGbps: await ask.num('Network speed between NAS and servers in Gbit/s', nasSchema.shape.linkSpeedGbps, 1),
  };

  const rpoHours = await ask.num('Recovery point objective in hours (most work the business may lose)', siteSchema.shape.rpoHours, 3);
  const retentionDays = await ask.num('Days of restore points to keep', siteSchema.shape.retentionDays, 7);

  let schedule: SiteInput['schedule'];
  if (await prompter.confirm({ message: `Only keep the ${rpoHours}-hour RPO during business hours?`, default: false })) {
    const days = await ask.text('Business days (e.g. mon-fri or mon,tue,wed)', daysSchemaText, 'mon-fri');
    schedule = {
      window: {
        days: parseDays(days),
        from: await ask.text('Business hours start (HH:MM)', timeSchemaText, '07:00'),
        to: await ask.text('Business hours end (HH:MM)', timeSchemaText, '19:00'),
      },
      dailyAt: await ask.text('Time of the daily backup job (HH:MM)', timeSchemaText, '22:00'),
    };
  }

  const servers: SiteInput['servers'] = [];
  do {
    const n = servers.length + 1;
    const used = new Set(servers.map((s) => s.name.toUpperCase()));
    const serverName = await ask.text(
      `Server ${n}: Windows computer name (e.g. DC01)`,
      serverSchema.shape.name.refine((v) => !used.has(v.toUpperCase()), { error: 'that name is already used' }),
    );
    const fqdn = await ask.optionalText(`${serverName}: fully qualified name (empty: skip)`, serverSchema.shape.fqdn);
    const role = await prompter.select({
      message: `${serverName}: main role`,
      choices: SERVER_ROLES.map((value) => ({ name: ROLE_NAMES[value], value })),
    });
    const kind = await prompter.select({
      message: `${serverName}: runs on`,
      choices: [
        { name: 'a physical machine', value: 'physical' as const },
        { name: 'a virtual machine', value: 'vm' as const },
      ],
    });
    let runsOn: SiteInput['servers'][number]['runsOn'];
    if (kind === 'physical') {
      const vendor = await prompter.select({
        message: `${serverName}: hardware vendor`,
        choices: VENDORS.map((value) => ({ name: VENDOR_NAMES[value], value })),
      });
      const model = await ask.optionalText(`${serverName}: model (empty: skip)`, textSchema);
      runsOn = { kind: 'physical', vendor, model };
    } else {
      const hypervisor = await prompter.select({
        message: `${serverName}: hypervisor`,
        choices: HYPERVISORS.map((value) => ({ name: HYPERVISOR_NAMES[value], value })),
      });
      runsOn = { kind: 'vm', hypervisor };
    }
    const firmware = await prompter.select({
      message: `${serverName}: boot firmware`,
      choices: FIRMWARES.map((value) => ({
        name: value === 'uefi' ? 'UEFI (GPT disks)' : 'legacy BIOS (MBR disks)',
        value,
      })),
      default: 'uefi',
    });
    const cpus = await ask.optionalNum(`${serverName}: number of CPUs (empty: skip)`, serverSchema.shape.cpus);
    const ramGb = await ask.num(`${serverName}: memory in GB`, serverSchema.shape.ramGb);
    const diskCount = (await ask.num(`${serverName}: number of disks`, diskCountSchema, 1)) ?? 1;
    const disks: SiteInput['servers'][number]['disks'] = [];
    for (let d = 1; d <= diskCount; d++) {
      disks.push({
        name: await ask.optionalText(`${serverName}: disk ${d} label (empty: none)`, diskSchema.shape.name, d === 1 ? 'system' : 'data'),
        sizeGb: await ask.num(`${serverName}: disk ${d} size in GB`, diskSchema.shape.sizeGb),
      });
    }
    const veeamJob = await ask.text(`${serverName}: Veeam backup job name`, serverSchema.shape.veeamJob, 'Backup Job 1');
    const os = await ask.optionalText(`${serverName}: operating system (e.g. Windows Server 2022; empty: skip)`, serverSchema.shape.os);
    servers.push({ name: serverName, fqdn, role, runsOn, firmware, cpus, ramGb, disks, veeamJob, os });
  } while (servers.length < 20 && (await prompter.confirm({ message: 'Add another server?', default: false })));

  const drivers: Partial<Record<DriverKind, string>> = {};
  const wanted = new Set<DriverKind>();
  for (const server of servers) {
    if (server.runsOn.kind === 'vm') wanted.add(HYPERVISOR_DRIVER_KIND[server.runsOn.hypervisor]);
  }
  for (const kind of DRIVER_KINDS.filter((k) => wanted.has(k))) {
    drivers[kind] = await ask.optionalText(
      `Folder with ${kind} drivers, relative to site.yaml (empty: none)`,
      textSchema,
      `drivers/${kind}`,
    );
  }
  drivers.custom = await ask.optionalText('Folder with other drivers to carry, relative to site.yaml (empty: none)', textSchema);

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

class Questions {
  constructor(private readonly prompter: Prompter) {}

  async text(message: string, schema: z.ZodType, defaultValue?: string): Promise<string> {
    const answer = await this.prompter.input({
      message,
      default: defaultValue,
      validate: (value) => firstMessage(schema, value.trim()),
    });
    return answer.trim();
  }

  async optionalText(message: string, schema: z.ZodType, defaultValue?: string): Promise<string | undefined> {
    const answer = await this.prompter.input({
      message,
      default: defaultValue,
      validate: (value) => (value.trim() === '' ? true : firstMessage(schema, value.trim())),
    });
    return answer.trim() === '' ? undefined : answer.trim();
  }

  async num(message: string, schema: z.ZodType, defaultValue?: number): Promise<number> {
    const answer = await this.prompter.number({
      message,
      default: defaultValue,
      required: true,
      validate: (value) => (value === undefined ? 'please enter a number' : firstMessage(schema, value)),
    });
    if (answer === undefined) throw new InputError(`no answer to "${message}"`);
    return answer;
  }

  async optionalNum(message: string, schema: z.ZodType): Promise<number | undefined> {
    return this.prompter.number({
      message,
      validate: (value) => (value === undefined ? true : firstMessage(schema, value)),
    });
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
