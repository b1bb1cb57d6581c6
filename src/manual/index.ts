/**
 * The printed restore manual: `renderManual` turns a site (plus, when known, build data, the share's backup metadata,
 * schedules and capacity figures) into `<site>-manual.html` and, with a Chromium-family browser, `<site>-manual.pdf`.
 *
 * `lifeboat build` calls it twice: with `sealedPage: true` and the recovery code for the printed manual in dist, and
 * with `sealedPage: false` for the copy carried on the media under \lifeboat\manual\.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildManualModel, type ManualInput } from './data.js';
import { findBrowser, printPdf } from './pdf.js';
import { loadSources, renderHtml } from './render-html.js';

export type { ManualInput, ManualModel, ChapterId } from './data.js';
export { CHAPTERS, BOOT_FACTS, buildManualModel } from './data.js';
export { vmPlan, keepFailedVmScript, HYPERVISOR_NAMES, type VmPlan, type VmScript } from './commands.js';
export { readShareCatalog, type ShareCatalog, type CatalogServer } from './catalog.js';
export { findBrowser, ENV_BROWSER } from './pdf.js';
export { renderMarkdown } from './markdown.js';

export interface RenderOptions {
  /** Print a PDF too (needs a browser; without one the result says why there is none). */
  readonly pdf: boolean;
  /** Include the sealed page with the recovery code (only printed when `input.recoveryCode` is set). */
  readonly sealedPage: boolean;
  /** Browser executable; default: found on the machine (see findBrowser). */
  readonly browser?: string;
}

export interface RenderResult {
  /** Path of the HTML file. */
  readonly html: string;
  /** Path of the PDF file, when one was printed. */
  readonly pdf?: string;
  /** Pages of the PDF. */
  readonly pages?: number;
  /** The browser that printed it. */
  readonly browser?: string;
  /** Why there is no PDF although one was asked for. */
  readonly pdfSkipped?: string;
  /** Whether the sealed page is in this copy. */
  readonly sealedPage: boolean;
}

/** Renders the manual into `outDir` (created if missing). */
export async function renderManual(input: ManualInput, outDir: string, opts: RenderOptions): Promise<RenderResult> {
  const sources = await loadSources();
  const model = buildManualModel(input, { sealedPage: opts.sealedPage });
  await mkdir(outDir, { recursive: true });
  const base = `${input.site.site.id}-manual`;
  const htmlFile = join(outDir, `${base}.html`);
  const write = async (file: string, text: string) => {
    const tmp = `${file}.tmp-${process.pid}`;
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, file);
  };
  await write(htmlFile, renderHtml(model, sources));
  const sealedPage = model.sealed !== undefined;
  if (!opts.pdf) return { html: htmlFile, sealedPage };
  const browser = opts.browser ?? (await findBrowser());
  if (!browser) {
    return { html: htmlFile, sealedPage, pdfSkipped: 'no Chromium-family browser (chromium, Chrome or Edge) was found: HTML only' };
  }
  const pdfFile = join(outDir, `${base}.pdf`);
  const footer = `${model.siteName} · restore manual · ${model.buildId}`;
  const anchors = model.chapters.map((c) => `ch-${c.id}`);
  let printed = await printPdf(browser, htmlFile, pdfFile, footer, anchors);
  if (printed.anchorPages.size > 0) {
    // Second pass: the contents page now shows page numbers. It stays one page, so the numbers stay right.
    for (const c of model.chapters) c.page = printed.anchorPages.get(`ch-${c.id}`);
    await write(htmlFile, renderHtml(model, sources));
    printed = await printPdf(browser, htmlFile, pdfFile, footer);
  }
  return { html: htmlFile, pdf: pdfFile, pages: printed.pages, browser, sealedPage };
}
