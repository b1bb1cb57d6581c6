/**
 * The restore assistant: an ordered list of steps, each a small module with its own screen (in the spirit of
 * Relax-and-Recover's recover workflow). A step goes on, goes back, jumps, or ends the session; the session log
 * records all of it.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import { SITE_JSON_FORMAT, type SiteJson } from '../site/site-json.js';
import type { Context, Step } from './context.js';
import { saveRecords } from './report.js';
import { SessionLog } from './session-log.js';
import { afterRestore } from './steps/after-restore.js';
import { backups } from './steps/backups.js';
import { diagnostics } from './steps/diagnostics.js';
import { drivers } from './steps/drivers.js';
import { handover } from './steps/handover.js';
import { machine } from './steps/machine.js';
import { menu } from './steps/menu.js';
import { network } from './steps/network.js';
import { requirements } from './steps/requirements.js';
import { share } from './steps/share.js';
import { start } from './steps/start.js';
import { targetDisk } from './steps/target-disk.js';
import { unlock } from './steps/unlock.js';
import type { Ui } from './ui.js';

/** In order; `diagnostics` is reached from the menu only. */
export const STEPS: Step[] = [start, machine, drivers, network, unlock, share, menu, backups, requirements, targetDisk, handover, afterRestore, diagnostics];

export async function loadMedia(root: string): Promise<Context['media']> {
  const read = async (name: string) => {
    try {
      return await readFile(join(root, 'lifeboat', name), 'utf8');
    } catch (e) {
      throw new InputError(`the recovery media was not found at ${root} (\\lifeboat\\${name}: ${(e as NodeJS.ErrnoException).code ?? e})`, 'Start the assistant from the media: \\lifeboat\\start.cmd, or give --media D:\\');
    }
  };
  const site = JSON.parse(await read('site.json')) as SiteJson;
  if (site.format !== SITE_JSON_FORMAT) throw new InputError(`${join(root, 'lifeboat', 'site.json')} is not Lifeboat site data`);
  return { root, site, vaultText: await read('vault.json') };
}

export async function runAssistant(platform: Platform, ui: Ui): Promise<number> {
  const media = await loadMedia(platform.mediaRoot);
  const stamp = platform.now().toISOString();
  const log = new SessionLog(join(platform.scratchRoot, 'lifeboat-logs'), () => platform.now(), stamp.replace(/[:.]/g, '-'));
  const ctx: Context = { platform, ui, log, media, state: {}, stamp };
  log.write(`assistant started on ${platform.kind}`);
  // Where "back" goes: the last step that asked the technician something (steps that only show or check are
  // stepped over, else Esc would land on a step that runs straight through to where it came from).
  const asked: number[] = [];
  let prompts = 0;
  const counted: Ui = {
    ...ui,
    heading: (t) => ui.heading(t),
    say: (t) => ui.say(t),
    warn: (t) => ui.warn(t),
    ok: (t) => ui.ok(t),
    countdown: (m, s, u) => ui.countdown(m, s, u),
    select: (...a) => (prompts++, ui.select(...a)),
    input: (...a) => (prompts++, ui.input(...a)),
    secret: (...a) => (prompts++, ui.secret(...a)),
    confirm: (...a) => (prompts++, ui.confirm(...a)),
  };
  ctx.ui = counted;
  for (let i = 0; ; ) {
    const step = STEPS[i]!;
    ui.heading(`${step.title}`);
    log.write(`step ${step.id}`);
    const before = prompts;
    const outcome = await step.run(ctx);
    if (outcome === 'done') return 0;
    if (outcome === 'quit') {
      await saveRecords(ctx, 'ended by the technician');
      ui.say('The session log is saved. Veeam Recovery starts when this window closes.');
      return 0;
    }
    if (outcome === 'back') {
      i = asked.pop() ?? i;
      continue;
    }
    if (prompts > before) asked.push(i);
    i = outcome === 'next' ? i + 1 : STEPS.findIndex((s) => s.id === outcome.goto);
  }
}
