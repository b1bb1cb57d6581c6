/**
 * site.json: the non-secret site data the assistant reads on the media: site, contacts, share location, servers,
 * RPO, the build id, and what Veeam's media launched (so the assistant can hand over to it). Never a secret.
 */
import type { Site } from './schema.js';

export const SITE_JSON_FORMAT = 'lifeboat-site';

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

export function renderSiteJson(input: Omit<SiteJson, 'format' | 'version'>): string {
  const doc: SiteJson = { format: SITE_JSON_FORMAT, version: 1, ...input };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
