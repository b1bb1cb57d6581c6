/**
 * The printed restore manual: `renderManual` turns a site (plus, when known, build data, the share's backup metadata,
 * schedules and capacity figures) into `<site>-manual.html` and, with a Chromium-family browser, `<site>-manual.pdf`.
 *
 * `lifeboat build` calls it twice: with `sealedPage: true` and the recovery code for the printed manual in dist (which
 * then also gets the sealed sheet as its own file and a copy to share without the code), and with `sealedPage: false`
 * for the copy carried on the media under \lifeboat\manual\.
 */
import { rmSync } from 'node:fs';
import { chmod, lstat, mkdir, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../errors.js';
import { writeError } from '../util/atomic-file.js';
import { buildManualModel, type ManualInput, type ManualModel } from './data.js';
import { findBrowser, PdfPrinter } from './pdf.js';
import { loadSources, renderHtml, type Sources } from './render-html.js';

export type { ManualInput, ManualModel, ChapterId } from './data.js';
export { CHAPTERS, BOOT_FACTS, buildManualModel } from './data.js';
export { vmPlan, keepFailedVmScript, HYPERVISOR_NAMES, type VmPlan, type VmScript } from './commands.js';
export { readShareCatalog, type ShareCatalog, type CatalogServer } from './catalog.js';
export { findBrowser, ENV_BROWSER, PAGE_MARGINS } from './pdf.js';
export { renderMarkdown } from './markdown.js';

export interface RenderOptions {
  /** Print a PDF too (needs a browser; without one the result says why there is none). */
  readonly pdf: boolean;
  /** Include the sealed page with the recovery code (only printed when `input.recoveryCode` is set). */
  readonly sealedPage: boolean;
  /** Browser executable; default: found on the machine (see findBrowser). */
  readonly browser?: string;
  /**
   * The media checksums, when the media are still being written: the manual is laid out and printed meanwhile with
   * placeholders of the same width in their place, then printed once more with these (`input.mediaChecksums` is
   * not used). The files are known now, their SHA-256 later, in the same order.
   */
  readonly checksumsLater?: { readonly files: readonly string[]; readonly sha256: Promise<readonly string[]> };
}

export interface ManualFiles {
  /** Path of the HTML file. */
  readonly html: string;
  /** Path of the PDF file, when one was printed. */
  readonly pdf?: string;
  /** Pages of the PDF. */
  readonly pages?: number;
}

export interface RenderResult extends ManualFiles {
  /** The browser that printed it. */
  readonly browser?: string;
  /** Why there is no PDF although one was asked for. */
  readonly pdfSkipped?: string;
  /** Whether the sealed page is in this copy (then html/pdf are written 0600). */
  readonly sealedPage: boolean;
  /** With a recovery code: the sealed sheet alone (0600), to print and seal apart. */
  readonly sealedFiles?: ManualFiles;
  /** With a recovery code: the same manual with a note in place of the code, to share (normal file mode). */
  readonly shareable?: ManualFiles;
  /** Every file written, in the output folder. */
  readonly files: readonly string[];
}

/** Mode of files that hold the recovery code: the owner only. */
export const SECRET_FILE_MODE = 0o600;

/**
 * Renders the manual into `outDir` (created if missing): `<site>-manual.html/.pdf`; with a recovery code also
 * `<site>-recovery-code.html/.pdf` (the sealed sheet alone) and `<site>-manual-shareable.html/.pdf` (no code).
 * Files holding the code are written 0600. All files appear together at the end, or none does.
 */
export async function renderManual(input: ManualInput, outDir: string, opts: RenderOptions): Promise<RenderResult> {
  const later = opts.checksumsLater;
  if (later) input = { ...input, mediaChecksums: later.files.map((file) => ({ file, sha256: PLACEHOLDER_SHA256 })) };
  const sources = await loadSources();
  const withCode = opts.sealedPage && input.recoveryCode !== undefined;
  const base = `${input.site.site.id}-manual`;
  const sealedBase = `${input.site.site.id}-recovery-code`;
  const shareBase = `${input.site.site.id}-manual-shareable`;
  const main = buildManualModel(input, { sealedPage: opts.sealedPage });
  const share = withCode ? buildManualModel(input, { sealedPage: true, sealedElsewhere: `${sealedBase}.pdf` }) : undefined;
  const sealedOnly = withCode ? { ...buildManualModel(input, { sealedPage: true }), sealedOnly: true } : undefined;

  await prepareOutDir(outDir);
  const out = new OutputSet(outDir);
  try {
    const mainMode = main.sealed ? SECRET_FILE_MODE : undefined;
    const docs: { model: ManualModel; base: string; mode?: number; footer: string }[] = [
      { model: main, base, mode: mainMode, footer: `${main.siteName} · restore manual · ${main.buildId}` },
    ];
    if (share) docs.push({ model: share, base: shareBase, footer: `${share.siteName} · restore manual · ${share.buildId}` });
    if (sealedOnly) docs.push({ model: sealedOnly, base: sealedBase, mode: SECRET_FILE_MODE, footer: `${sealedOnly.siteName} · recovery code · ${sealedOnly.buildId}` });
    for (const d of docs) await out.write(`${d.base}.html`, renderHtml(d.model, sources), d.mode);

    const browser = opts.pdf ? (opts.browser ?? (await findBrowser())) : undefined;
    const pdfSkipped = opts.pdf && !browser ? 'no Chromium-family browser (chromium, Chrome or Edge) was found: HTML only' : undefined;
    const pdfs = new Map<string, { pdf: string; pages: number }>();
    const printer = browser ? await PdfPrinter.open(browser, () => out.abortSync()) : undefined;
    try {
      const print = async (d: (typeof docs)[number]) => {
        if (!printer) return;
        const printed = d.model.sealedOnly ? await printer.print(out.pending(`${d.base}.html`), d.footer) : await printLaidOut(printer, d.model, sources, out, d.base, d.mode, d.footer);
        await out.write(`${d.base}.pdf`, printed.pdf, d.mode);
        pdfs.set(d.base, { pdf: out.target(`${d.base}.pdf`), pages: printed.pages });
      };
      for (const d of docs) await print(d);
      if (later) {
        // The checksums in place of the placeholders; the layout found above holds (same width), one print confirms it.
        const sha256 = await later.sha256;
        const checksums = later.files.map((file, i) => ({ file, sha256: sha256[i]! }));
        for (const d of docs) {
          if (d.model.sealedOnly) continue; // the sealed sheet alone has no cover
          d.model = { ...d.model, checksums };
          await out.write(`${d.base}.html`, renderHtml(d.model, sources), d.mode);
          await print(d);
        }
      }
    } finally {
      await printer?.close();
    }
    const files = await out.commit();
    const filesOf = (b: string): ManualFiles => ({ html: join(outDir, `${b}.html`), ...pdfs.get(b) });
    return {
      ...filesOf(base),
      browser,
      pdfSkipped,
      sealedPage: main.sealed !== undefined,
      sealedFiles: sealedOnly ? filesOf(sealedBase) : undefined,
      shareable: share ? filesOf(shareBase) : undefined,
      files,
    };
  } finally {
    await out.abort();
  }
}

/**
 * Prints until the layout is settled: the contents show the page of every chapter and server sheet, and the sealed
 * sheet lands on an odd (front) page, with a blank page before it when needed. Each pass may move pages, so it
 * prints again until nothing changes (at most four passes).
 */
async function printLaidOut(printer: PdfPrinter, model: ManualModel, sources: Sources, out: OutputSet, base: string, mode: number | undefined, footer: string) {
  const anchors = [...model.chapters.map((c) => `ch-${c.id}`), ...model.servers.map((s) => s.anchor), 'end-glossary'];
  const html = `${base}.html`;
  let printed = await printer.print(out.pending(html), footer, anchors);
  for (let pass = 1; pass < 4 && printed.anchorPages.size > 0; pass++) {
    const before = layoutKey(model);
    for (const c of model.chapters) c.page = printed.anchorPages.get(`ch-${c.id}`);
    for (const s of model.servers) s.sheetPage = printed.anchorPages.get(s.anchor);
    // The glossary's last lines alone on a page before the sheets: let the first sheet start below them instead.
    const end = printed.anchorPlaces.get('end-glossary');
    if (end && end.page !== model.chapter.glossary?.page && (end.down ?? 1) < NEAR_EMPTY) model.sheetsFlow = true;
    const sealedPage = model.chapter.sealed?.page;
    if (sealedPage !== undefined && sealedPage % 2 === 0) model.sealedPadBefore = !model.sealedPadBefore;
    if (layoutKey(model) === before) break;
    await out.write(html, renderHtml(model, sources), mode);
    printed = await printer.print(out.pending(html), footer, anchors);
  }
  return printed;
}

/** What the cover shows while a medium's checksum is not known yet (as wide as one). */
const PLACEHOLDER_SHA256 = '0'.repeat(64);

/** A page filled less than this (of its height) is a near-empty spill-over. */
const NEAR_EMPTY = 0.3;

function layoutKey(model: ManualModel): string {
  return JSON.stringify([model.chapters.map((c) => c.page), model.servers.map((s) => s.sheetPage), model.sealedPadBefore ?? false, model.sheetsFlow ?? false]);
}

/** Refuses an output folder that cannot be made, with a message that says why (a dangling link, a file). */
async function prepareOutDir(outDir: string): Promise<void> {
  // The nearest part of the path that exists: a link there whose target is gone cannot hold a folder.
  for (let p = outDir; ; p = dirname(p)) {
    const link = await lstat(p).catch(() => undefined);
    if (link) {
      if (link.isSymbolicLink() && !(await stat(p).catch(() => undefined))) {
        throw new InputError(`--out "${outDir}": "${p}" is a link to "${await readlink(p).catch(() => '?')}", which does not exist`, 'Create the link\'s target, or choose another output folder.');
      }
      break;
    }
    if (dirname(p) === p) break;
  }
  try {
    await mkdir(outDir, { recursive: true });
  } catch (e) {
    const code = await mkdirErrorCode(outDir, e);
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new InputError(`--out "${outDir}" is not a folder`, 'Choose a folder (it is created if missing).');
    if (code === 'EROFS') throw new InputError(`cannot create "${outDir}": the file system is read-only`, 'Choose an output folder on a writable disk.');
    throw writeError(outDir, e);
  }
  if (!(await stat(outDir)).isDirectory()) throw new InputError(`--out "${outDir}" is not a folder`, 'Choose a folder (it is created if missing).');
}

/**
 * The real reason a recursive mkdir failed: on a read-only file system it may say ENOENT; making the first missing
 * folder on its own gives the file system's answer (EROFS, EACCES).
 */
async function mkdirErrorCode(outDir: string, e: unknown): Promise<string | undefined> {
  const code = (e as NodeJS.ErrnoException).code;
  if (code !== 'ENOENT') return code;
  let missing = outDir;
  while (dirname(missing) !== missing && !(await lstat(dirname(missing)).catch(() => undefined))) missing = dirname(missing);
  return mkdir(missing).then(
    () => code,
    (e2: NodeJS.ErrnoException) => e2.code ?? code,
  );
}

/**
 * The manual's files, written to hidden temporary names beside their targets and renamed together at the end, so an
 * error or a signal leaves no partial file at a final path (and the earlier manual stays until the new one is whole).
 */
class OutputSet {
  private readonly temps = new Map<string, string>();

  constructor(private readonly dir: string) {}

  target(name: string): string {
    return join(this.dir, name);
  }

  pending(name: string): string {
    const t = this.temps.get(name);
    if (!t) throw new Error(`${name} was not written`);
    return t;
  }

  async write(name: string, data: string | Uint8Array, mode?: number): Promise<void> {
    // The extension stays last: the browser reads the temporary HTML file and goes by its name.
    const tmp = this.temps.get(name) ?? join(this.dir, `.${name.replace(/(\.[a-z]+)$/, `.tmp-${process.pid}$1`)}`);
    this.temps.set(name, tmp);
    try {
      // A secret file is created with its mode: it is never readable by others, not even for a moment.
      await rm(tmp, { force: true });
      await writeFile(tmp, data, { mode: mode ?? 0o666 });
      if (mode !== undefined) await chmod(tmp, mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EROFS') {
        throw new InputError(`cannot write "${this.target(name)}": the file system is read-only`, 'Choose an output folder on a writable disk.');
      }
      throw writeError(this.target(name), e);
    }
  }

  async commit(): Promise<string[]> {
    const done: string[] = [];
    for (const [name, tmp] of this.temps) {
      try {
        await rename(tmp, this.target(name));
      } catch (e) {
        throw writeError(this.target(name), e);
      }
      done.push(this.target(name));
    }
    this.temps.clear();
    return done;
  }

  async abort(): Promise<void> {
    for (const tmp of this.temps.values()) await rm(tmp, { force: true }).catch(() => undefined);
    this.temps.clear();
  }

  abortSync(): void {
    for (const tmp of this.temps.values()) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        /* nothing more to do */
      }
    }
    this.temps.clear();
  }
}
