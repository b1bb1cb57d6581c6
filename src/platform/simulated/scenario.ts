/**
 * A training scenario: the machine, its disks and network, and a share built from real Veeam metadata, described
 * in one scenario.json beside a site.yaml. Loaded with the same care as any input file.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../errors.js';

const disk = z.strictObject({
  number: z.number().int().min(0),
  sizeGb: z.number().positive(),
  bus: z.string().default('SATA'),
  model: z.string(),
  partitionStyle: z.enum(['GPT', 'MBR', 'RAW']).optional(),
  holdsBootMedia: z.boolean().default(false),
  volumes: z.array(z.strictObject({ letter: z.string().optional(), label: z.string().optional(), sizeGb: z.number().optional(), fs: z.string().optional() })).default([]),
});

export const scenarioSchema = z.strictObject({
  title: z.string(),
  description: z.string(),
  /** The site this media was built for (relative to scenario.json). */
  site: z.string(),
  /** Training secrets: printed in the scenario's README, never real ones. */
  training: z.strictObject({ unlock: z.string().min(14), sharePassword: z.string().min(1) }),
  machine: z.strictObject({
    firmware: z.enum(['uefi', 'bios']),
    manufacturer: z.string(),
    model: z.string(),
    biosVendor: z.string().optional(),
    ramGb: z.number().positive(),
    cpus: z.number().int().positive().optional(),
  }),
  disks: z.array(disk).min(1),
  /** Disks that appear only after the technician loads this driver (an INF file name) from a folder. */
  lateDisks: z.strictObject({ driver: z.string(), disks: z.array(disk).min(1) }).optional(),
  /** How the media was started: a USB stick (writable) or an ISO/DVD (read-only). */
  media: z.enum(['usb', 'iso']).default('usb'),
  nics: z.array(z.strictObject({
    name: z.string(), description: z.string().optional(), connected: z.boolean().default(true),
    /** Seconds until DHCP gives an address; absent: no DHCP server on this network. */
    dhcpAfterSeconds: z.number().min(0).optional(),
    address: z.string().default('192.168.80.50'),
  })).default([]),
  /** Drivers (INF file names) that fail to load. */
  failingDrivers: z.array(z.string()).default([]),
  share: z.strictObject({
    /** Real VBM files the share holds (relative to scenario.json); none: a share without backups. */
    vbm: z.array(z.string()).default([]),
    /** The newest restore point is this many hours old when the scenario starts. */
    newestAgeHours: z.number().min(0).default(2),
    /** Storage files left out or emptied (matched by a part of their name). */
    missingFiles: z.array(z.string()).default([]),
    emptyFiles: z.array(z.string()).default([]),
    /** Whether the NAS answers on TCP 445 by its name. */
    reachable: z.boolean().default(true),
    /** An IPv4 address the NAS answers on when its name does not (no DNS in this network). */
    reachableByIp: z.string().optional(),
    /** The restore account may read but not write (as it should be): records must go elsewhere. */
    readOnly: z.boolean().default(false),
    /** A Windows error net use reports (53, 67, 86, 1219, 1272, 1326); 0: connects when the password is right. */
    netUseError: z.number().int().default(0),
    /** The password the share accepts; default the training share password. */
    acceptPassword: z.string().optional(),
  }),
  /** Exit code of the stand-in for Veeam's program at hand-over. */
  veeamExitCode: z.number().int().default(0),
});

export type Scenario = z.output<typeof scenarioSchema>;

export async function loadScenario(dir: string): Promise<{ scenario: Scenario; file: string; dir: string }> {
  const file = resolve(dir, 'scenario.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError(`no scenario at "${dir}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'scenario.json is missing' : String(e)}`, 'Give a folder from examples/scenarios/, e.g. examples/scenarios/healthy-physical.');
  }
  if (text.length > 1 << 20) throw new InputError(`${file} is larger than 1 MiB`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = scenarioSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${file}: ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new InputError(lines.join('\n'));
  }
  return { scenario: parsed.data, file, dir: dirname(file) };
}
