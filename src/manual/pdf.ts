/**
 * Prints the manual's HTML to PDF with a Chromium-family browser already on the machine (playwright-core drives it;
 * no browser is downloaded): Debian/Ubuntu `chromium` or `chromium-browser`, Google Chrome, or Microsoft Edge on
 * Windows. `findBrowser` returns undefined when there is none: the caller then keeps the HTML only and says so.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobError } from '../errors.js';

const UNIX_CANDIDATES: Record<string, readonly string[]> = {
  linux: ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/usr/bin/microsoft-edge', '/usr/bin/microsoft-edge-stable'],
  darwin: ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge', '/Applications/Chromium.app/Contents/MacOS/Chromium'],
};

/** Chromium-family browsers on Windows, relative to the folders they install into; Edge first (every Windows has it). */
const WINDOWS_BROWSERS = [
  'Microsoft\\Edge\\Application\\msedge.exe',
  'Google\\Chrome\\Application\\chrome.exe',
  'Chromium\\Application\\chrome.exe',
  'BraveSoftware\\Brave-Browser\\Application\\brave.exe',
];

/**
 * Where to look, in order. On Windows: Program Files (x86) (where Edge lives), Program Files, then the per-user
 * installs in %LOCALAPPDATA%, each taken from the environment (another drive than C:, a localised folder) with the
 * usual C:\ folders as fallback.
 */
export function browserCandidates(platform: string, env: NodeJS.ProcessEnv): string[] {
  if (platform !== 'win32') return [...(UNIX_CANDIDATES[platform] ?? [])];
  const get = (name: string) => Object.entries(env).find(([k, v]) => k.toUpperCase() === name.toUpperCase() && v)?.[1];
  const roots = [
    get('ProgramFiles(x86)') ?? 'C:\\Program Files (x86)',
    get('ProgramW6432') ?? get('ProgramFiles') ?? 'C:\\Program Files',
    get('ProgramFiles') ?? 'C:\\Program Files',
    get('LOCALAPPDATA'),
  ].filter((r): r is string => !!r).map((r) => r.replace(/\\+$/, ''));
  const out: string[] = [];
  for (const b of WINDOWS_BROWSERS) for (const r of roots) out.push(`${r}\\${b}`);
  return [...new Set(out)];
}

/** Environment variable naming a browser executable to use instead of the search. */
export const ENV_BROWSER = 'LIFEBOAT_BROWSER';

/** The browser to print with: $LIFEBOAT_BROWSER, else the first known path that exists. */
export async function findBrowser(env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): Promise<string | undefined> {
  const wanted = env[ENV_BROWSER];
  if (wanted !== undefined) {
    if (wanted === '' || wanted === 'none') return undefined;
    return (await executable(wanted)) ? wanted : undefined;
  }
  for (const c of browserCandidates(platform, env)) if (await executable(c)) return c;
  return undefined;
}

async function executable(path: string): Promise<boolean> {
  return access(path, process.platform === 'win32' ? constants.F_OK : constants.X_OK).then(() => true, () => false);
}

export const BROWSER_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface PrintResult {
  readonly pages: number;
  /** Page where each element id given in `anchors` starts (1-based), when the PDF says. */
  readonly anchorPages: ReadonlyMap<string, number>;
}

/**
 * Prints `htmlFile` to `pdfFile` (A4, backgrounds, footer "site · page N of M"). `anchors` are element ids whose
 * page numbers are wanted (for the table of contents): they are read back from the PDF's named destinations.
 */
export async function printPdf(browser: string, htmlFile: string, pdfFile: string, footerText: string, anchors: readonly string[] = []): Promise<PrintResult> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'lifeboat-browser-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: browser,
      headless: true,
      args: BROWSER_FLAGS,
      timeout: 60_000,
      offline: true,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load', timeout: 60_000 });
    // The browser's own footer numbers the pages; switch off the CSS page-number boxes meant for printing by hand.
    await page.addStyleTag({ content: '@page { @bottom-center { content: none; } }' });
    // The contents page links to every chapter: Chromium turns those links into named destinations.
    const esc = footerText.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const pdf = await page.pdf({
      path: pdfFile,
      format: 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate: `<div style="font-size:8pt;width:100%;padding:0 15mm;display:flex;justify-content:space-between;color:#444;font-family:sans-serif"><span>${esc}</span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
      margin: { top: '16mm', bottom: '18mm', left: '15mm', right: '15mm' },
      tagged: true,
      outline: true,
    });
    return { pages: countPages(pdf), anchorPages: namedDestinationPages(pdf, anchors) };
  } catch (e) {
    throw new JobError(`printing the manual to PDF with ${browser} failed: ${(e as Error).message.split('\n')[0]}`, `The HTML manual is complete; print it from a browser, or set ${ENV_BROWSER} to another Chromium or Edge.`);
  } finally {
    await context?.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Number of pages in a PDF: the /Count of its root page tree. */
export function countPages(pdf: Uint8Array): number {
  const text = Buffer.from(pdf).toString('latin1');
  const counts = [...text.matchAll(/\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)|\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages\b/g)].map((m) => Number(m[1] ?? m[2]));
  if (counts.length) return Math.max(...counts);
  return [...text.matchAll(/\/Type\s*\/Page\b(?!s)/g)].length;
}

/**
 * Page numbers of named destinations: objects are read as text (Chromium writes dictionaries uncompressed), the
 * page order is taken from the page tree, and each destination `[N 0 R /XYZ ...]` is mapped to its page's position.
 * Returns what it can find; an unknown layout gives an empty map (the contents then show links only).
 */
export function namedDestinationPages(pdf: Uint8Array, names: readonly string[]): Map<string, number> {
  const result = new Map<string, number>();
  if (names.length === 0) return result;
  const text = Buffer.from(pdf).toString('latin1');
  const objects = new Map<number, string>();
  for (const m of text.matchAll(/(?:^|[\r\n\s])(\d+)\s+0\s+obj\b([\s\S]*?)endobj/g)) objects.set(Number(m[1]), m[2]!);
  const pageOrder: number[] = [];
  const walk = (id: number, depth: number) => {
    const body = objects.get(id);
    if (!body || depth > 32) return;
    if (/\/Type\s*\/Pages\b/.test(body)) {
      const kids = /\/Kids\s*\[([^\]]*)\]/.exec(body)?.[1] ?? '';
      for (const k of kids.matchAll(/(\d+)\s+0\s+R/g)) walk(Number(k[1]), depth + 1);
    } else if (/\/Type\s*\/Page\b/.test(body)) {
      pageOrder.push(id);
    }
  };
  const catalog = [...objects.values()].find((b) => /\/Type\s*\/Catalog\b/.test(b));
  const root = catalog && /\/Pages\s+(\d+)\s+0\s+R/.exec(catalog)?.[1];
  if (!root) return result;
  walk(Number(root), 0);
  const pageIndex = new Map(pageOrder.map((id, i) => [id, i + 1]));
  for (const name of names) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`/${escaped}\\s*\\[\\s*(\\d+)\\s+0\\s+R`).exec(text) ?? new RegExp(`\\(${escaped}\\)\\s*\\[\\s*(\\d+)\\s+0\\s+R`).exec(text);
    const page = m ? pageIndex.get(Number(m[1])) : undefined;
    if (page !== undefined) result.set(name, page);
  }
  return result;
}
