/**
 * The schema of site.yaml: every setting a site has, its default and what it means, in one place (in the spirit of
 * rear's default.conf). The `.describe()` texts are the documentation: `lifeboat init` writes them as comments into
 * site.yaml and `lifeboat schema` puts them into the JSON Schema editors show.
 *
 * site.yaml holds nothing secret. The share password and the unlock secret reach `lifeboat build` through a prompt,
 * a file or an environment variable and end up only in the encrypted vault.
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------------------------

export const SERVER_ROLES = ['dc', 'sql', 'exchange', 'file', 'app'] as const;
export const VENDORS = ['dell', 'hpe', 'lenovo', 'fujitsu', 'supermicro', 'other'] as const;
export const HYPERVISORS = ['esxi', 'hyperv', 'kvm', 'proxmox', 'xen'] as const;
export const FIRMWARES = ['uefi', 'bios'] as const;
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
/** Driver folder kinds: paravirtual drivers per hypervisor family, vendor packs for physical servers, and custom. */
export const DRIVER_KINDS = [
  'virtio',
  'vmware',
  'xen',
  'hyperv',
  'dell',
  'hpe',
  'lenovo',
  'fujitsu',
  'supermicro',
  'custom',
] as const;

export type ServerRole = (typeof SERVER_ROLES)[number];
export type Vendor = (typeof VENDORS)[number];
export type Hypervisor = (typeof HYPERVISORS)[number];
export type Firmware = (typeof FIRMWARES)[number];
export type Weekday = (typeof WEEKDAYS)[number];
export type DriverKind = (typeof DRIVER_KINDS)[number];

/** Which driver folder a hypervisor's guests need (paravirtual storage and network drivers). */
export const HYPERVISOR_DRIVER_KIND: Record<Hypervisor, DriverKind> = {
  esxi: 'vmware',
  hyperv: 'hyperv',
  kvm: 'virtio',
  proxmox: 'virtio',
  xen: 'xen',
};

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** A share or folder name in a UNC path: no separators, no characters Windows forbids, not blank. */
const UNC_PART = /^[^\\/:*?"<>|\u0000-\u001f]+$/;
const HHMM = /^(?:[01]\d|2[0-3]):[0-5]\d$/;
/** NetBIOS-safe computer name: 1-15 letters, digits and dashes, not starting or ending with a dash, not all digits. */
const NETBIOS = /^(?!\d+$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?$/;
const PHONE = /^\+?[0-9][0-9 ()/.-]{2,30}$/;

/** A non-empty single-line text of at most `max` characters, trimmed. */
function text(max: number) {
  return z
    .string()
    .trim()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    .refine((s) => !/[\r\n]/.test(s), { error: 'must be a single line' });
}

/** Checks a UNC path `\\server\share[\folder...]` and says what is wrong with it. */
export function uncPathProblem(path: string): string | undefined {
  if (path.startsWith('//') || /^smb:/i.test(path)) {
    return 'write the share as a Windows UNC path with backslashes, like \\\\nas01\\veeam';
  }
  if (!path.startsWith('\\\\')) return 'must be a UNC path starting with two backslashes, like \\\\nas01\\veeam';
  const parts = path.slice(2).split('\\');
  const [server, share, ...rest] = parts;
  if (!server || !(HOSTNAME.test(server) || IPV4.test(server))) {
    return `"${server ?? ''}" is not a valid server name (letters, digits, dots and dashes)`;
  }
  if (share === undefined || share === '') return 'needs a share name after the server, like \\\\nas01\\veeam';
  for (const part of [share, ...rest]) {
    if (part === '') return 'must not contain empty parts or end with a backslash';
    if (!UNC_PART.test(part) || part.trim() !== part) return `"${part}" contains characters not allowed in a share path`;
  }
  if (path.length > 260) return 'must be at most 260 characters';
  return undefined;
}

const uncPath = z.string().superRefine((value, ctx) => {
  const problem = uncPathProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const hhmm = z.string().regex(HHMM, { error: 'must be a time of day as HH:MM (24 hours), like 07:30' });

const phone = z
  .string()
  .trim()
  .regex(PHONE, { error: 'must be a phone number: digits, spaces, + ( ) / . -' })
  .refine((s) => s.replace(/\D/g, '').length >= 3, { error: 'must contain at least 3 digits' });

const driverFolder = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(1024)
  .refine((s) => !s.includes('\u0000'), { error: 'must not contain NUL characters' });

// ---------------------------------------------------------------------------------------------------------------
// Sections
// ---------------------------------------------------------------------------------------------------------------

export const contactSchema = z
  .strictObject({
    name: text(100).describe('Name of the person.'),
    role: text(100).describe('What they are for, e.g. "IT service provider", "Managing director", "Office manager".'),
    phone: phone.describe('Phone number to call during a restore, with country code, e.g. "+49 89 1234567".'),
    email: z.email({ error: 'must be an e-mail address' }).optional().describe('E-mail address (optional).'),
  })
  .describe('A person the technician can call.');

export const escalationSchema = z
  .strictObject({
    name: text(100).describe('Name of the person or service desk.'),
    phone: phone.describe('Phone number, with country code.'),
    when: text(200).describe('When to call, e.g. "a restore takes twice its estimate" or "hardware fault" (the manual prints the times).'),
  })
  .describe('Who to call when the restore does not go to plan, and when.');

export const shareSchema = z
  .strictObject({
    path: uncPath.describe(
      'The SMB share the Veeam agents back up to, as a UNC path: \\\\server\\share or \\\\server\\share\\folder.',
    ),
    user: text(104)
      .refine((s) => !s.includes('\\'), {
        error: 'give the user name without the domain and put the domain into share.domain',
      })
      .describe(
        'Account the restore uses to read the share. A separate read-only restore account is the safe choice, ' +
          'since its password travels (encrypted) on the recovery media.',
      ),
    domain: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$/, {
        error: 'must be a domain or host name (letters, digits, dots and dashes)',
      })
      .optional()
      .describe(
        'Domain of the account (DOMAIN\\user), or the NAS host name for a local NAS account. Leave out when ' +
          'the NAS takes the plain user name.',
      ),
    password: z
      .never({
        error:
          'passwords never go in site.yaml: lifeboat build asks for the share password, or reads it from ' +
          '--password-file or LIFEBOAT_SHARE_PASSWORD, and stores it only in the encrypted vault',
      })
      .optional()
      .describe(
        'Never set this. Passwords never go in site.yaml: lifeboat build asks for the share password (or reads ' +
          '--password-file / LIFEBOAT_SHARE_PASSWORD) and keeps it only in the encrypted vault.',
      ),
  })
  .describe('Where the backups are and who may read them. Never the password.');

export const nasSchema = z
  .strictObject({
    host: z
      .string()
      .trim()
      .refine((s) => HOSTNAME.test(s) || IPV4.test(s), { error: 'must be a host name or IPv4 address' })
      .optional()
      .describe('Host name or IP address of the NAS, for the manual and network checks (optional).'),
    linkSpeedGbps: z
      .number()
      .positive({ error: 'must be greater than 0' })
      .max(400, { error: 'must be at most 400' })
      .default(1)
      .describe('Network speed between NAS and servers in Gbit/s; used to estimate restore times.'),
  })
  .describe('The NAS holding the share.');

export const scheduleSchema = z
  .strictObject({
    window: z
      .strictObject({
        days: z
          .array(z.enum(WEEKDAYS))
          .min(1, { error: 'must list at least one day' })
          .refine((d) => new Set(d).size === d.length, { error: 'must not list a day twice' })
          .describe('Days the window applies to: mon, tue, wed, thu, fri, sat, sun.'),
        from: hhmm.describe('Start of the window, HH:MM.'),
        to: hhmm.describe('End of the window, HH:MM (later than from).'),
      })
      .refine((w) => w.from < w.to, { error: 'must be later than from', path: ['to'] })
      .optional()
      .describe(
        'Hours in which the recovery point objective applies, e.g. business hours; incremental backups run every ' +
          'rpoHours inside it. Leave out to keep the RPO around the clock.',
      ),
    dailyAt: hhmm.default('22:00').describe('Time of the daily backup job (Veeam "Daily at"), HH:MM.'),
  })
  .describe('When backups run. Leave out for backups every rpoHours around the clock.');

const physicalSchema = z
  .strictObject({
    kind: z.literal('physical').describe('A physical machine.'),
    vendor: z.enum(VENDORS).describe('Hardware vendor: dell, hpe, lenovo, fujitsu, supermicro or other.'),
    model: text(100).optional().describe('Model, e.g. "PowerEdge T350" (optional).'),
  })
  .describe('The server is a physical machine.');

const vmSchema = z
  .strictObject({
    kind: z.literal('vm').describe('A virtual machine.'),
    hypervisor: z.enum(HYPERVISORS).describe('Hypervisor: esxi, hyperv, kvm, proxmox or xen.'),
  })
  .describe('The server is a virtual machine.');

export const runsOnSchema = z
  .discriminatedUnion('kind', [physicalSchema, vmSchema])
  .describe('Where the server runs: kind physical (with vendor) or kind vm (with hypervisor).');

export const diskSchema = z
  .strictObject({
    name: text(60).optional().describe('Label for the disk, e.g. "system" or "data" (optional).'),
    sizeGb: z
      .number()
      .positive({ error: 'must be greater than 0' })
      .max(1_000_000, { error: 'must be at most 1000000' })
      .describe('Size of the disk in GB; a restore target must be at least this large.'),
  })
  .describe('A disk of the server.');

export const serverSchema = z
  .strictObject({
    name: z
      .string()
      .regex(NETBIOS, {
        error: 'must be a Windows computer name: 1-15 letters, digits and dashes, not starting or ending with a dash',
      })
      .describe('Windows computer name (NetBIOS, at most 15 characters), e.g. DC01.'),
    fqdn: z
      .string()
      .regex(HOSTNAME, { error: 'must be a fully qualified host name, like dc01.muster.local' })
      .optional()
      .describe('Fully qualified name, e.g. dc01.muster.local (optional; helps match backups).'),
    role: z.enum(SERVER_ROLES).describe('Main role: dc, sql, exchange, file or app. Sets the restore order and checks.'),
    runsOn: runsOnSchema,
    firmware: z
      .enum(FIRMWARES)
      .describe('Boot firmware: uefi (GPT disks) or bios (MBR disks). A restore target must use the same.'),
    cpus: z.number().int().min(1).max(512).optional().describe('Number of virtual/physical CPUs (optional).'),
    ramGb: z
      .number()
      .positive({ error: 'must be greater than 0' })
      .max(24576, { error: 'must be at most 24576' })
      .describe('Memory in GB.'),
    disks: z.array(diskSchema).min(1, { error: 'must list at least one disk' }).max(64).describe('The server disks.'),
    veeamJob: text(200).describe('Name of the Veeam Agent backup job on this server, as shown in the Veeam console.'),
    os: text(100).optional().describe('Operating system, e.g. "Windows Server 2022" (optional).'),
  })
  .describe('A Windows server backed up by Veeam Agent for Windows.');

export const driversSchema = z
  .strictObject(
    Object.fromEntries(
      DRIVER_KINDS.map((kind) => [
        kind,
        driverFolder
          .optional()
          .describe(
            kind === 'custom'
              ? 'Folder with any other INF driver packages.'
              : `Folder with ${kind} INF driver packages.`,
          ),
      ]),
    ) as Record<DriverKind, z.ZodOptional<typeof driverFolder>>,
  )
  .describe(
    'Driver folders to carry on the media, by kind, relative to this file: virtio (KVM, Proxmox), vmware (ESXi), ' +
      'xen, hyperv, vendor packs (dell, hpe, lenovo, fujitsu, supermicro) and custom.',
  );

/** The largest disk an MBR partition table can address with 512-byte sectors: 2^32 sectors, 2 TiB, in GB. */
export const MBR_LIMIT_GB = (2 ** 32 * 512) / 1e9;

/**
 * A legacy BIOS server starts from an MBR disk, and MBR cannot describe more than 2 TiB: such a backup (or site.yaml)
 * is wrong, and no restore target can be made to match it. Returns the message, or undefined when the disk is fine.
 */
export function biosSystemDiskProblem(firmware: Firmware, systemDiskGb: number | undefined): string | undefined {
  if (firmware !== 'bios' || systemDiskGb === undefined || systemDiskGb <= MBR_LIMIT_GB) return undefined;
  return (
    `a legacy BIOS server starts from an MBR disk, which holds at most 2 TiB (${Math.floor(MBR_LIMIT_GB)} GB), ` +
    `not ${systemDiskGb} GB: check the size, or set firmware: uefi if the server boots with UEFI (GPT)`
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The whole file
// ---------------------------------------------------------------------------------------------------------------

export const siteSchema = z
  .strictObject({
    site: z
      .strictObject({
        name: text(120).describe('Name of the business, as printed on the manual, e.g. "Muster Steuerberatung".'),
        id: z
          .string()
          .max(40, { error: 'must be at most 40 characters' })
          .regex(SLUG, { error: 'must be lowercase letters, digits and single dashes, like muster-stb' })
          .describe('Short id used in file names and bound to the vault: lowercase letters, digits and dashes.'),
      })
      .describe('The business this restore kit is for.'),
    contacts: z
      .array(contactSchema)
      .min(1, { error: 'must list at least one contact' })
      .max(20)
      .describe('People the technician can call, first the one to call first.'),
    escalation: z
      .array(escalationSchema)
      .max(20)
      .default([])
      .describe('Escalation phone numbers and when to use them.'),
    share: shareSchema,
    nas: nasSchema.prefault({}),
    rpoHours: z
      .number()
      .int({ error: 'must be a whole number of hours' })
      .min(1, { error: 'must be at least 1' })
      .max(24, { error: 'must be at most 24' })
      .default(3)
      .describe('Recovery point objective in hours: the most work the business may lose. Backups run this often.'),
    retentionDays: z
      .number()
      .int({ error: 'must be a whole number of days' })
      .min(1, { error: 'must be at least 1' })
      .max(730, { error: 'must be at most 730' })
      .default(7)
      .describe('How many days of restore points Veeam keeps (1-730).'),
    schedule: scheduleSchema.optional(),
    servers: z
      .array(serverSchema)
      .min(1, { error: 'must list at least one server' })
      .max(20, { error: 'must list at most 20 servers' })
      .describe('The servers this kit can restore.'),
    drivers: driversSchema.prefault({}),
  })
  .superRefine((site, ctx) => {
    site.servers.forEach((server, index) => {
      const problem = biosSystemDiskProblem(server.firmware, server.disks[0]?.sizeGb);
      if (problem) ctx.addIssue({ code: 'custom', path: ['servers', index, 'disks', 0, 'sizeGb'], message: problem });
    });
    const seen = new Map<string, number>();
    site.servers.forEach((server, index) => {
      const key = server.name.toUpperCase();
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['servers', index, 'name'],
          message: `"${server.name}" is already used by servers[${first}]`,
        });
      } else {
        seen.set(key, index);
      }
    });
  })
  .describe('Lifeboat site configuration: one business, its share, its servers and its recovery objectives.');

/** A validated site, defaults filled in. */
export type Site = z.output<typeof siteSchema>;
/** What a site.yaml may contain (defaults still optional). */
export type SiteInput = z.input<typeof siteSchema>;
export type Server = Site['servers'][number];
export type Contact = Site['contacts'][number];
export type Escalation = Site['escalation'][number];
export type Disk = Server['disks'][number];
export type Share = Site['share'];
export type Schedule = NonNullable<Site['schedule']>;
