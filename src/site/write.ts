/**
 * Writing a site as a commented site.yaml: every field gets its schema description as a comment (in the first entry
 * of a list only, to keep the file readable), optional fields that are not set are listed as comments where they
 * would go. Used by `lifeboat init` and to make examples/site.yaml; the output loads back with `loadSite`.
 */
import { Document, isMap, isScalar, isSeq, Scalar, type Node, type Pair, type YAMLMap } from 'yaml';
import { z } from 'zod';
import { siteSchema, type Site, type SiteInput } from './schema.js';
import { isRecord, shapeOf, unwrap } from './schema-walk.js';

const COMMENT_WIDTH = 100;

export interface RenderOptions {
  /** Leave out the field descriptions (a compact file). Default false. */
  bare?: boolean;
}

export function renderSiteYaml(site: Site | SiteInput, options: RenderOptions = {}): string {
  const doc = new Document(site, { keepUndefined: false });
  const commented = !options.bare;
  if (commented) {
    doc.commentBefore = [
      ` Lifeboat site configuration: ${site.site.name}`,
      '',
      ' Every setting is explained in the comment above it; `lifeboat schema > site.schema.json` gives the same as',
      ' JSON Schema for editor completion (add "# yaml-language-server: $schema=site.schema.json" at the top).',
      ' Nothing in here is secret: passwords never go in this file.',
    ].join('\n');
  }
  annotate(doc.contents as Node, siteSchema, site, commented, 0);
  return doc.toString({ lineWidth: 0, indent: 2, indentSeq: true });
}

function annotate(node: Node | null, schema: z.ZodType, value: unknown, commented: boolean, depth: number): void {
  if (isMap(node)) {
    const shape = shapeOf(schema, value);
    if (!shape) return;
    const order = Object.keys(shape);
    const position = (pair: Pair) => {
      const index = order.indexOf(String(isScalar(pair.key) ? pair.key.value : pair.key));
      return index === -1 ? order.length : index;
    };
    (node as YAMLMap).items.sort((a, b) => position(a) - position(b));
    const present = new Map<string, Pair>();
    for (const pair of node.items) {
      if (isScalar(pair.key)) present.set(String(pair.key.value), pair);
    }
    let pending: string[] = [];
    let first = true;
    for (const key of order) {
      const fieldSchema = shape[key];
      if (!fieldSchema) continue;
      const field = unwrap(fieldSchema);
      const pair = present.get(key);
      const width = COMMENT_WIDTH - 2 * depth - 2;
      if (!pair) {
        if (!commented || !field.optional) continue;
        // Each left-out key is a block of its own, a blank line between blocks; "(optional)" said once.
        const description = field.description ?? '';
        const text = field.schema instanceof z.ZodNever ? description : /\(optional/.test(description) ? `${key}: ${description}` : `${key}: (optional) ${description}`;
        if (pending.length > 0) pending.push('');
        pending.push(...wrap(text, width));
        continue;
      }
      const keyNode = pair.key as Scalar;
      const own = commented && field.description ? wrap(field.description, width) : [];
      // Top-level keys, and every commented key, start after a blank line: one comment block per setting.
      if (!first && (depth === 0 || own.length > 0 || pending.length > 0)) keyNode.spaceBefore = true;
      first = false;
      if (commented) {
        const lines = [...pending, ...(pending.length > 0 && own.length > 0 ? [''] : []), ...own];
        if (lines.length > 0) keyNode.commentBefore = lines.map((l) => (l ? ` ${l}` : '')).join('\n');
        pending = [];
      }
      const childValue = isRecord(value) ? value[key] : undefined;
      annotate(pair.value as Node | null, fieldSchema, childValue, commented, depth + 1);
    }
    if (pending.length > 0) {
      node.comment = ['', ...pending].map((l) => (l ? ` ${l}` : '')).join('\n');
    }
    return;
  }
  if (isSeq(node)) {
    const inner = unwrap(schema).schema;
    if (!(inner instanceof z.ZodArray)) return;
    const element = inner.element as z.ZodType;
    if (node.items.every((item) => isScalar(item))) node.flow = true;
    node.items.forEach((item, index) => {
      const itemValue = Array.isArray(value) ? (value[index] as unknown) : undefined;
      annotate(item as Node, element, itemValue, commented && index === 0, depth + 1);
    });
    return;
  }
  if (isScalar(node) && typeof node.value === 'string' && /^\d+:\d+(:\d+)?$/.test(node.value)) {
    // Times like 22:00 are strings in YAML 1.2 but numbers (base 60) in YAML 1.1 tools: quote them for both.
    node.type = Scalar.QUOTE_DOUBLE;
  }
}

/** Wraps text into lines of at most `width` characters (words longer than that stay whole). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
