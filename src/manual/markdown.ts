/**
 * A small, safe Markdown renderer for the manual's fixed prose in manuals/*.md. Everything is HTML-escaped first; no
 * raw HTML, no links, no images. The subset (documented in manuals/README.md):
 *   # / ## / ### headings (rendered one level below the chapter title: h2..h4)
 *   paragraphs (lines joined until a blank line)
 *   - bullet lists, 1. numbered lists
 *   - [ ] checklist items (printed with a large tick box)
 *   ``` fenced code blocks ```
 *   `inline code`, **bold**
 *   > notes (a boxed warning)
 */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function inline(text: string): string {
  // Split on code spans first so that ** inside code stays literal.
  return text
    .split(/(`[^`]+`)/)
    .map((part) => {
      if (part.length > 1 && part.startsWith('`') && part.endsWith('`')) return `<code>${escapeHtml(part.slice(1, -1))}</code>`;
      return escapeHtml(part).replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
    })
    .join('');
}

type ListKind = 'ul' | 'ol' | 'check';

/** Renders the Markdown subset to HTML. */
export function renderMarkdown(source: string): string {
  const out: string[] = [];
  const lines = source.replace(/\r\n?/g, '\n').split('\n');
  let para: string[] = [];
  let note: string[] = [];
  let list: { kind: ListKind; items: string[] } | undefined;
  const flushPara = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    para = [];
  };
  const flushNote = () => {
    if (note.length) out.push(`<div class="note">${inline(note.join(' '))}</div>`);
    note = [];
  };
  const flushList = () => {
    if (!list) return;
    if (list.kind === 'check') {
      out.push(`<ul class="checklist">${list.items.map((i) => `<li><span class="box"></span><span>${inline(i)}</span></li>`).join('')}</ul>`);
    } else {
      out.push(`<${list.kind}>${list.items.map((i) => `<li>${inline(i)}</li>`).join('')}</${list.kind}>`);
    }
    list = undefined;
  };
  const flushAll = () => {
    flushPara();
    flushNote();
    flushList();
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      flushAll();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) code.push(lines[i]!);
      out.push(`<pre class="cmd">${escapeHtml(code.join('\n'))}</pre>`);
      continue;
    }
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    if (heading) {
      flushAll();
      const level = heading[1]!.length + 1;
      out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
      continue;
    }
    const item = /^\s*(?:(-\s+\[ \])|(-|\*)|(\d+)\.)\s+(.*)$/.exec(line);
    if (item) {
      flushPara();
      flushNote();
      const kind: ListKind = item[1] ? 'check' : item[2] ? 'ul' : 'ol';
      if (list && list.kind !== kind) flushList();
      list ??= { kind, items: [] };
      list.items.push(item[4]!);
      continue;
    }
    if (line.startsWith('>')) {
      flushPara();
      flushList();
      note.push(line.replace(/^>\s?/, ''));
      continue;
    }
    if (line.trim() === '') {
      flushAll();
      continue;
    }
    if (list && /^\s{2,}\S/.test(line)) {
      // continuation of the last list item
      list.items[list.items.length - 1] += ` ${line.trim()}`;
      continue;
    }
    flushList();
    flushNote();
    para.push(line.trim());
  }
  flushAll();
  return out.join('\n');
}
