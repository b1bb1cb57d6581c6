/**
 * The restore assistant: an ordered list of steps, each a small module with its own screen (in the spirit of
 * Relax-and-Recover's recover workflow). A step goes on, goes back, jumps, or ends the session; the session log
 * records all of it.
 *
 * "Back" (Esc) is exactly one step: the runner keeps the trail of steps that asked the technician something, in the
 * order they were passed, and Esc returns to the last of them. Steps that only show or check are not on the trail
 * (going back to them would run straight through to where Esc was pressed). Ctrl+C anywhere ends the session with
 * one line and exit code 130.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import { SiteJsonError, parseSiteJson } from '../site/site-json.js';
import type { Context, Media, Step, StepId } from './context.js';
import { saveRecords } from './report.js';
import { SessionLog } from './session-log.js';
import { afterRestore, repair } from './steps/after-restore.js';
import { backups } from './steps/backups.js';
import { checks } from './steps/checks.js';
import { diagnostics } from './steps/diagnostics.js';
import { drivers } from './steps/drivers.js';
import { handover } from './steps/handover.js';
import { machine } from './steps/machine.js';
import { menu } from './steps/menu.js';
import { network } from './steps/network.js';
import { plan } from './steps/plan.js';
import { requirements } from './steps/requirements.js';
import { restorePoint } from './steps/restore-point.js';
import { share } from './steps/share.js';
import { start } from './steps/start.js';
import { targetDisk } from './steps/target-disk.js';
import { unlock } from './steps/unlock.js';
import type { Ui } from './ui.js';

/** In order; `diagnostics` and `repair` are reached from the menu only. */
export const STEPS: readonly Step[] = [
  start, machine, drivers, checks, network, unlock, share, menu, backups, restorePoint, requirements, targetDisk, plan,
  handover, afterRestore, diagnostics, repair,
];

export function stepIndex(id: StepId): number {
  const i = STEPS.findIndex((s) => s.id === id);
  if (i < 0) throw new Error(`no assistant step "${id}"`);
  return i;
}

export async function loadMedia(root: string): Promise<Media> {
  const file = join(root, 'lifeboat', 'site.json');
  const read = async (name: string) => {
    try {
      return await readFile(join(root, 'lifeboat', name), 'utf8');
    } catch (e) {
      throw new InputError(`the recovery media was not found at ${root} (\\lifeboat\\${name}: ${(e as NodeJS.ErrnoException).code ?? e})`, 'Start the assistant from the media: \\lifeboat\\start.cmd, or give --media D:\\');
    }
  };
  let kit;
  try {
    kit = parseSiteJson(await read('site.json'), file);
  } catch (e) {
    if (e instanceof SiteJsonError) throw new InputError(e.message, 'Use another copy of the media, or rebuild it with lifeboat build.');
    throw e;
  }
  const { site, ...build } = kit;
  return { root, build, site, siteId: site.site.id, siteName: site.site.name, vaultText: await read('vault.json') };
}

/** Ctrl+C: at a prompt inquirer throws ExitPromptError; elsewhere the terminal sends SIGINT. */
class Interrupted extends Error {}

function interruptedLine(ctx: Context, step: Step): string {
  const changed = ctx.state.afterRestore?.filter((a) => !a.endsWith('failed')) ?? [];
  const what = changed.length ? `only this was changed: ${changed.join(', ')}` : 'nothing was written to or changed on this machine\'s disks';
  return `Stopped (Ctrl+C) at "${step.title}": ${what}. Start again with \\lifeboat\\start.cmd.`;
}

export async function runAssistant(platform: Platform, ui: Ui): Promise<number> {
  const media = await loadMedia(platform.mediaRoot);
  const stamp = platform.now().toISOString();
  const log = new SessionLog(join(platform.scratchRoot, 'lifeboat-logs'), () => platform.now(), stamp.replace(/[:.]/g, '-'));
  let prompts = 0;
  const counted: Ui = {
    heading: (t) => ui.heading(t),
    say: (t) => ui.say(t),
    warn: (t) => ui.warn(t),
    ok: (t) => ui.ok(t),
    clear: () => ui.clear(),
    countdown: (m, s, u) => ui.countdown(m, s, u),
    select: (...a) => (prompts++, ui.select(...a)),
    input: (...a) => (prompts++, ui.input(...a)),
    secret: (...a) => (prompts++, ui.secret(...a)),
    confirm: (...a) => (prompts++, ui.confirm(...a)),
  };
  const ctx: Context = { platform, ui: counted, log, media, state: {}, stamp, revisit: false };
  log.write(`assistant started on ${platform.kind}`);
  let onSigint: (() => void) | undefined;
  const sigint = new Promise<never>((_, reject) => {
    onSigint = () => reject(new Interrupted());
    process.on('SIGINT', onSigint);
  });
  sigint.catch(() => undefined);
  const trail: number[] = [];
  let i = 0;
  try {
    for (;;) {
      const step = STEPS[i]!;
      ui.heading(step.title);
      log.write(`step ${step.id}${ctx.revisit ? ' (back)' : ''}`);
      const before = prompts;
      let outcome;
      try {
        outcome = await Promise.race([step.run(ctx), sigint]);
      } catch (e) {
        if (!(e instanceof Interrupted) && (e as Error)?.name !== 'ExitPromptError') throw e;
        log.write(`interrupted (Ctrl+C) at step ${step.id}`);
        process.stdout.write(`\n${interruptedLine(ctx, step)}\n`);
        return 130;
      }
      ctx.revisit = false;
      if (outcome === 'done') return 0;
      if (outcome === 'quit') {
        await saveRecords(ctx, ctx.state.endNote ? `ended by the technician: ${ctx.state.endNote}` : 'ended by the technician');
        ui.say(`The session log is saved. ${ctx.state.endNote ?? 'Veeam Recovery starts when this window closes.'}`);
        if (ctx.state.powerOffAtEnd) {
          const r = await platform.powerOff();
          log.write(`power off: ${r.ok ? 'ok' : `failed ${r.code}`} ${r.output}`);
        }
        return 0;
      }
      if (outcome === 'back') {
        const previous = trail.pop();
        ctx.revisit = true;
        // Nothing asked before this step: the machine check is the first screen to come back to.
        i = previous ?? (i === stepIndex('checks') ? i : stepIndex('checks'));
        continue;
      }
      const target = outcome === 'next' ? i + 1 : stepIndex(outcome.goto);
      if (target === i) continue; // the same step again ("look again")
      const onTrail = trail.indexOf(target);
      if (onTrail >= 0) trail.length = onTrail; // back to a step passed before: the trail is as it was then
      else if (prompts > before) trail.push(i);
      i = target;
    }
  } finally {
    if (onSigint) process.removeListener('SIGINT', onSigint);
  }
}
