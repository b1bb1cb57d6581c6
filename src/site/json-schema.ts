/**
 * The JSON Schema of site.yaml, for `lifeboat schema` (editor completion and checking, e.g. with the YAML language
 * server's `# yaml-language-server: $schema=site.schema.json` comment). Generated from the zod schema, so it always
 * matches what `loadSite` accepts; fields with defaults are optional in it.
 */
import { z } from 'zod';
import { siteSchema } from './schema.js';

export const SITE_SCHEMA_ID = 'https://lifeboat.invalid/schema/site.schema.json';

export function siteJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(siteSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  return { ...schema, $id: SITE_SCHEMA_ID, title: 'Lifeboat site.yaml' };
}
