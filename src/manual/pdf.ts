/**
 * Prints the manual's HTML to PDF with a Chromium-family browser already on the machine (playwright-core drives it;
 * no browser is downloaded): Debian/Ubuntu `chromium` or `chromium-browser`, Google Chrome, or Microsoft Edge on
 * Windows. `findBrowser` returns undefined when there is none: the caller then keeps the HTML only and says so.
 */
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { constants, existsSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JobError } from '../errors.js';
import { processAlive } from '../util/process-alive.js';

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
  /** The PDF file's bytes. */
  readonly pdf: Buffer;
  readonly pages: number;
  /** Page where each element id given in `anchors` starts (1-based), when the PDF says. */
  readonly anchorPages: ReadonlyMap<string, number>;
  /** The same with the height on the page. */
  readonly anchorPlaces: ReadonlyMap<string, DestinationPlace>;
}

const PROFILE_PREFIX = 'lifeboat-browser-';

/**
 * One headless browser for all the PDFs of a manual (a launch costs seconds). While it is open, SIGINT, SIGTERM and
 * SIGHUP end it and remove its profile folder before the process ends (Playwright's own handlers are off: they
 * would exit without our clean-up, leaving profiles in the temp folder); `onSignal` callbacks remove the caller's
 * unfinished files. A profile left by a killed run (SIGKILL) is removed by the next run.
 */
export class PdfPrinter {
  private closed = false;
  private readonly cleanups = new Set<() => void>();
  private readonly onSignal = (signal: NodeJS.Signals) => this.interrupted(signal);

  private constructor(
    readonly browser: string,
    private readonly profile: string,
    private context: import('playwright-core').BrowserContext | undefined,
  ) {}

  /** Starts the browser. `onInterrupt` runs (synchronously) when a signal ends the process while it is open. */
  static async open(browser: string, onInterrupt?: () => void): Promise<PdfPrinter> {
    await removeStaleProfiles();
    const profile = await mkdtemp(join(tmpdir(), `${PROFILE_PREFIX}${process.pid}-`));
    const printer = new PdfPrinter(browser, profile, undefined);
    if (onInterrupt) printer.cleanups.add(onInterrupt);
    for (const s of SIGNALS) process.on(s, printer.onSignal);
    try {
      const { chromium } = await import('playwright-core');
      printer.context = await chromium.launchPersistentContext(profile, {
        executablePath: browser,
        headless: true,
        args: BROWSER_FLAGS,
        timeout: 60_000,
        offline: true,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      return printer;
    } catch (e) {
      await printer.close();
      throw printError(browser, e);
    }
  }

  /**
   * Prints `htmlFile` (A4, backgrounds, footer "text · page N of M") and returns the PDF. `anchors` are element ids
   * whose page numbers are wanted (contents, sheet layout): they are read back from the PDF's named destinations.
   */
  async print(htmlFile: string, footerText: string, anchors: readonly string[] = []): Promise<PrintResult> {
    if (!this.context) throw new JobError('the browser is closed');
    const page = await this.context.newPage();
    try {
      await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load', timeout: 60_000 });
      // The browser's own footer numbers the pages; switch off the CSS page-number boxes meant for printing by hand.
      await page.addStyleTag({ content: '@page { @bottom-center { content: none; } }' });
      const esc = footerText.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      const pdf = await page.pdf({
        format: 'A4',
        printBackground: true,
        displayHeaderFooter: true,
        headerTemplate: '<span></span>',
        footerTemplate: `<div style="font-size:8pt;width:100%;padding:0 15mm;display:flex;justify-content:space-between;color:#444;font-family:sans-serif"><span>${esc}</span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
        margin: PAGE_MARGINS,
        tagged: true,
        outline: true,
      });
      const anchorPlaces = namedDestinations(pdf, anchors);
      return { pdf, pages: countPages(pdf), anchorPages: new Map([...anchorPlaces].map(([k, v]) => [k, v.page])), anchorPlaces };
    } catch (e) {
      throw printError(this.browser, e);
    } finally {
      await page.close().catch(() => undefined);
    }
  }

  /** Ends the browser and removes its profile. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.context?.close().catch(() => undefined);
    for (const s of SIGNALS) process.removeListener(s, this.onSignal);
    await rm(this.profile, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }

  /** Synchronous on purpose: the process ends right after. Also while `close` is under way (it may never finish). */
  private interrupted(signal: NodeJS.Signals): void {
    this.closed = true;
    for (const s of SIGNALS) process.removeListener(s, this.onSignal);
    endBrowserAndRemove(this.profile, 5_000);
    for (const cleanup of this.cleanups) {
      try {
        cleanup();
      } catch {
        /* nothing more to do */
      }
    }
    try {
      writeSync(2, `lifeboat: interrupted (${signal}) while printing the manual; the browser was ended and no unfinished file was left.\n`);
    } catch {
      /* stderr is gone */
    }
    // Die of the signal as the caller expects (exit status 128 + n), unless someone else still handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The page box: A4 less these margins is what the manual's CSS must fit into (180 x 263 mm). */
export const PAGE_MARGINS = { top: '16mm', bottom: '18mm', left: '15mm', right: '15mm' } as const;

function printError(browser: string, e: unknown): JobError {
  if (e instanceof JobError) return e;
  return new JobError(`printing the manual to PDF with ${browser} failed: ${(e as Error).message.split('\n')[0]}`, `The HTML manual is complete; print it from a browser, or set ${ENV_BROWSER} to another Chromium or Edge.`);
}

/**
 * Ends (SIGKILL) the browser processes started with `profile`, with their process groups (Playwright starts the
 * browser in a group of its own; its helpers do not all name the profile). Returns a test for "one of them still
 * runs". Linux only: read from /proc; elsewhere nothing to do.
 */
function killProcessesUsing(profile: string): (pid: number) => boolean {
  const pids = new Set<number>();
  const groups = new Set<number>();
  const ownGroup = processStat(process.pid)?.group;
  if (process.platform === 'linux') {
    for (const pid of processIds()) {
      if (pid === process.pid) continue;
      try {
        if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(profile)) continue;
        const group = processStat(pid)?.group;
        if (group !== undefined && group !== ownGroup) {
          process.kill(-group, 'SIGKILL');
          groups.add(group);
        }
        process.kill(pid, 'SIGKILL');
        pids.add(pid);
      } catch {
        /* gone already, or not ours */
      }
    }
  }
  return (pid) => {
    if (!pids.has(pid) && !groups.has(processStat(pid)?.group ?? -1)) return false;
    const state = processStat(pid)?.state;
    return state !== undefined && state !== 'Z' && state !== 'X';
  };
}

function processIds(): number[] {
  try {
    return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
  } catch {
    return [];
  }
}

/** From /proc/PID/stat, the fields after the command name: state and process group. */
function processStat(pid: number): { state: string; group: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: state!, group: Number(group) };
  } catch {
    return undefined;
  }
}

/** Waits (blocking: the process ends right after) until no process `ours` still runs (a zombie has stopped), at most `ms`. */
function waitUntilGone(ours: (pid: number) => boolean, ms: number): void {
  const deadline = Date.now() + ms;
  while (processIds().some(ours) && Date.now() < deadline) sleepSync(20);
}

/**
 * Ends the browser started with `profile` and removes the profile, for at most `ms` (blocking: the process ends right
 * after). A helper that was still dying can write into the profile after the removal, or make it again: so once
 * removed, it is looked at again a moment later, and the whole is repeated while it is back.
 */
function endBrowserAndRemove(profile: string, ms: number): void {
  const deadline = Date.now() + ms;
  do {
    waitUntilGone(killProcessesUsing(profile), deadline - Date.now());
    try {
      rmSync(profile, { recursive: true, force: true });
    } catch {
      /* something still wrote into it: again */
    }
    sleepSync(50);
  } while (existsSync(profile) && Date.now() < deadline);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Profiles of runs that were killed outright (their process is gone). */
async function removeStaleProfiles(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const m = new RegExp(`^${PROFILE_PREFIX}(\\d+)-`).exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Number of pages in a PDF: the /Count of its root page tree. */
export function countPages(pdf: Uint8Array): number {
  const text = Buffer.from(pdf).toString('latin1');
  const counts = [...text.matchAll(/\/Type\s*\/Pages\b[^>]*?\/Count\s+(\d+)|\/Count\s+(\d+)[^>]*?\/Type\s*\/Pages\b/g)].map((m) => Number(m[1] ?? m[2]));
  if (counts.length) return Math.max(...counts);
  return [...text.matchAll(/\/Type\s*\/Page\b(?!s)/g)].length;
}

/** Where a named destination is: its page (1-based) and how far down that page, 0 (top) to 1 (bottom). */
export interface DestinationPlace {
  readonly page: number;
  readonly down?: number;
}

/**
 * Page numbers of named destinations: objects are read as text (Chromium writes dictionaries uncompressed), the
 * page order is taken from the page tree, and each destination `[N 0 R /XYZ x y z]` is mapped to its page's position.
 * Returns what it can find; an unknown layout gives an empty map (the contents then show links only).
 */
export function namedDestinationPages(pdf: Uint8Array, names: readonly string[]): Map<string, number> {
  return new Map([...namedDestinations(pdf, names)].map(([k, v]) => [k, v.page]));
}

/** Like namedDestinationPages, with the height on the page (from the destination's y and the page's MediaBox). */
export function namedDestinations(pdf: Uint8Array, names: readonly string[]): Map<string, DestinationPlace> {
  const result = new Map<string, DestinationPlace>();
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
  const mediaBox = /\/MediaBox\s*\[\s*[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)\s*\]/.exec(text);
  const height = mediaBox ? Number(mediaBox[1]) : 842;
  for (const name of names) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const m = new RegExp(`/${escaped}\\s*\\[\\s*(\\d+)\\s+0\\s+R(?:\\s*/XYZ\\s+[-\\d.]+\\s+([-\\d.]+))?`).exec(text) ?? new RegExp(`\\(${escaped}\\)\\s*\\[\\s*(\\d+)\\s+0\\s+R(?:\\s*/XYZ\\s+[-\\d.]+\\s+([-\\d.]+))?`).exec(text);
    const page = m ? pageIndex.get(Number(m[1])) : undefined;
    if (page !== undefined) result.set(name, { page, down: m?.[2] !== undefined ? Math.min(1, Math.max(0, (height - Number(m[2])) / height)) : undefined });
  }
  return result;
}
