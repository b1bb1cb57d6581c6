/**
 * Renders the view model into one self-contained HTML file: templates/manual/layout.hbs with its partials, the CSS
 * inlined, and the fixed prose from manuals/*.md. Handlebars escapes every value; the only unescaped output is the
 * CSS file and the HTML our own Markdown renderer made from the (escaped) prose files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { JobError } from '../errors.js';
import type { ManualModel } from './data.js';
import { renderMarkdown } from './markdown.js';
import { resourcePath } from '../resources.js';

export const TEMPLATE_DIR = resourcePath('templates/manual');
export const PROSE_DIR = resourcePath('manuals');

export interface Sources {
  readonly layout: string;
  readonly css: string;
  readonly partials: ReadonlyMap<string, string>;
  readonly prose: ReadonlyMap<string, string>;
}

/** Reads the templates and the prose files. */
export async function loadSources(templateDir = TEMPLATE_DIR, proseDir = PROSE_DIR): Promise<Sources> {
  const partials = new Map<string, string>();
  const prose = new Map<string, string>();
  let layout: string | undefined;
  let css = '';
  try {
    for (const f of (await readdir(templateDir)).sort()) {
      const text = await readFile(join(templateDir, f), 'utf8');
      if (f === 'layout.hbs') layout = text;
      else if (f === 'style.css') css = text;
      else if (f.endsWith('.hbs')) partials.set(f.slice(0, -4), text);
    }
    for (const f of (await readdir(proseDir)).sort()) {
      if (f.endsWith('.md') && f !== 'README.md') prose.set(f.slice(0, -3), await readFile(join(proseDir, f), 'utf8'));
    }
  } catch (e) {
    throw new JobError(`cannot read the manual templates: ${(e as Error).message}`, 'Reinstall Lifeboat: templates/manual and manuals/ belong to it.');
  }
  if (!layout) throw new JobError(`${join(templateDir, 'layout.hbs')} is missing`, 'Reinstall Lifeboat.');
  return { layout, css, partials, prose };
}

/** Renders the manual's HTML. Throws when a template names a missing prose file or value (strict mode). */
export function renderHtml(model: ManualModel, sources: Sources): string {
  const hb = Handlebars.create();
  for (const [name, text] of sources.partials) hb.registerPartial(name, text);
  const rendered = new Map<string, string>();
  hb.registerHelper('md', (name: unknown) => {
    const key = String(name);
    const text = sources.prose.get(key);
    if (text === undefined) throw new JobError(`the manual's prose file manuals/${key}.md is missing`);
    let html = rendered.get(key);
    if (html === undefined) {
      html = renderMarkdown(text);
      rendered.set(key, html);
    }
    return new hb.SafeString(html);
  });
  hb.registerHelper('inlineCss', () => new hb.SafeString(sources.css.replace(/<\/style/gi, '')));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  const template = hb.compile(sources.layout, { noEscape: false, knownHelpersOnly: false });
  return template(model, { allowProtoPropertiesByDefault: false });
}
