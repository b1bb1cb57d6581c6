/**
 * "What now?" on every screen that cannot go on (no disk, disk too small, firmware mismatch, no backups): the ways
 * out a technician has at night, each saying what happens next. Also the two fixes offered there: loading a driver
 * from a folder the technician points to, and a command prompt.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Context, Outcome, StepId } from './context.js';
import { BACK, type Choice } from './ui.js';

/** Looked for at most this deep and this many: a folder typed at night may be the root of a big disk. */
const MAX_DEPTH = 6;
const MAX_INFS = 200;

/** INF files under `dir` (sorted), bounded in depth and count. */
export async function infFiles(dir: string, depth = 0, out: string[] = []): Promise<string[]> {
  if (depth > MAX_DEPTH || out.length >= MAX_INFS) return out;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (out.length >= MAX_INFS) break;
    const p = join(dir, e.name);
    if (e.isDirectory()) await infFiles(p, depth + 1, out);
    else if (e.name.toLowerCase().endsWith('.inf')) out.push(p);
  }
  return out;
}

/** Asks for a folder and loads every driver package in it (drvload); false when Esc was pressed. */
export async function loadDriverFromFolder(ctx: Context): Promise<boolean> {
  const { ui, log, platform, state } = ctx;
  for (;;) {
    const folder = await ui.input('Folder with the driver\'s .inf files (e.g. E:\\drivers\\raid on a second USB stick)', {
      validate: (t) => (t.trim() ? true : 'Type the folder, or press Esc to go back'),
    });
    if (folder === BACK) return false;
    const infs = await infFiles(folder.trim());
    if (infs.length === 0) {
      ui.warn(`No .inf file in ${folder.trim()} (or the folder cannot be read). Unpack the driver first; the .inf file must be in that folder or below it.`);
      continue;
    }
    let loaded = 0;
    for (const inf of infs) {
      const r = await platform.loadDriver(inf);
      (state.drivers ??= []).push({ inf, ok: r.ok, message: r.output.trim() });
      log.write(`drvload (typed folder) ${inf}: ${r.ok ? 'ok' : `failed (${r.code}) ${r.output.trim()}`}`);
      if (r.ok) loaded++;
      else ui.warn(`Could not load ${basename(inf)}: ${r.output.trim()}`);
    }
    (loaded ? ui.ok : ui.warn).call(ui, `Loaded ${loaded} of ${infs.length} driver packages from ${folder.trim()}.`);
    state.disks = await platform.disks();
    return true;
  }
}

export async function openCommandPrompt(ctx: Context): Promise<void> {
  ctx.ui.say('A command prompt opens in this window. Type exit to come back to this screen.');
  const r = await ctx.platform.commandPrompt();
  ctx.log.write(`command prompt opened by the technician (${r.code})`);
  if (r.output) ctx.ui.say(r.output);
}

export const QUIT_TO_VEEAM = 'Veeam Recovery starts when this window closes: go on by hand with the manual.';

/**
 * The dead-end menu: the step's own choices first (`extra`), then back, rescan, load a driver, command prompt and quit
 * to Veeam. Returns the outcome for the step (`self` is run again after a rescan, a driver or the command prompt), or
 * the value of an `extra` choice.
 */
export async function whatNow<E extends string = never>(ctx: Context, self: StepId, message: string, extra: Choice<E>[] = [], opts: { first?: boolean } = {}): Promise<Outcome | E> {
  const { ui, log, platform, state } = ctx;
  for (;;) {
    const choice = await ui.select<E | 'back' | 'rescan' | 'driver' | 'cmd' | 'veeam'>(message, [
      ...extra,
      ...(opts.first ? [] : [{ name: 'Go back one step', value: 'back' as const, description: 'to the screen before this one, to choose differently' }]),
      { name: 'Rescan the disks', value: 'rescan', description: 'looks at the disks again (after plugging in a disk or creating the RAID volume), then this screen again' },
      { name: 'Load a driver from a folder', value: 'driver', description: 'you type the folder with the driver\'s .inf files; the disks are scanned again, then this screen again' },
      { name: 'Open a command prompt', value: 'cmd', description: 'diskpart, drvload, ipconfig...; type exit to come back to this screen' },
      { name: 'Quit to Veeam Recovery', value: 'veeam', description: 'this assistant saves its log and ends; Veeam Recovery starts and you go on by hand with the manual' },
    ]);
    if (choice === BACK || choice === 'back') return 'back';
    log.write(`what now (${self}): ${choice}`);
    switch (choice) {
      case 'rescan':
        state.disks = await platform.disks();
        return { goto: self };
      case 'driver':
        if (await loadDriverFromFolder(ctx)) return { goto: self };
        continue;
      case 'cmd':
        await openCommandPrompt(ctx);
        state.disks = await platform.disks();
        return { goto: self };
      case 'veeam':
        state.endNote = QUIT_TO_VEEAM;
        return 'quit';
      default:
        return choice as E;
    }
  }
}
