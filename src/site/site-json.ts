/**
 * site.json: the non-secret site data the assistant reads on the media: site, contacts, share location, servers,
 * RPO, the build id, and what Veeam's media launched (so the assistant can hand over to it). Never a secret.
 * `renderSiteJson` writes it at build time; `parseSiteJson` reads it back on the media, checked against the same
 * schemas as site.yaml (the media is an input like any other: a damaged or foreign file is refused by field).
 */
import { z } from 'zod';
import { siteSchema, type Site } from './schema.js';

export const SITE_JSON_FORMAT = 'lifeboat-site';
/** Largest site.json read: a site has at most 20 servers and 20 contacts, far below this. */
export const MAX_SITE_JSON_BYTES = 1 << 20;

export interface SiteJson {
  format: typeof SITE_JSON_FORMAT;
  version: 1;
  buildId: string;
  builtAt: string;
  lifeboatVersion: string;
  site: Site;
  /** The programs the original winpeshl.ini started, in order (Veeam's UI), when a WIM tool could read it. */
  veeamLaunch?: { path: string; args?: string }[];
  autostart: boolean;
  unlock: 'passphrase' | 'recovery-code';
}

const siteJsonSchema = z.object({
  format: z.literal(SITE_JSON_FORMAT),
  version: z.literal(1),
  buildId: z.string().min(1).max(200),
  builtAt: z.string().max(40),
  lifeboatVersion: z.string().max(100),
  site: siteSchema,
  veeamLaunch: z.array(z.object({ path: z.string().max(1000), args: z.string().max(2000).optional() })).max(10).optional(),
  autostart: z.boolean(),
  unlock: z.enum(['passphrase', 'recovery-code']),
});

export class SiteJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SiteJsonError';
  }
}

export function renderSiteJson(input: Omit<SiteJson, 'format' | 'version'>): string {
  const doc: SiteJson = { format: SITE_JSON_FORMAT, version: 1, ...input };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Reads site.json text; `file` names it in messages. Throws SiteJsonError naming the first bad fields. */
export function parseSiteJson(text: string, file: string): SiteJson {
  if (text.length > MAX_SITE_JSON_BYTES) throw new SiteJsonError(`${file} is larger than ${MAX_SITE_JSON_BYTES} bytes: not Lifeboat site data`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SiteJsonError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  if ((json as { format?: unknown } | null)?.format !== SITE_JSON_FORMAT) throw new SiteJsonError(`${file} is not Lifeboat site data (format is not "${SITE_JSON_FORMAT}")`);
  const parsed = siteJsonSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new SiteJsonError(`${file} is damaged or from another Lifeboat version: ${issues.join('; ')}`);
  }
  return parsed.data as SiteJson;
}
