/**
 * The restore report (JSON for tools, text for people) and the session log. They go to one lasting place, chosen
 * once per session: the share when it takes writes; else the Lifeboat USB stick (a restore account is read-only by
 * design); else a disk the technician picks, after being told that X: is lost at restart. A copy always goes to the
 * scratch folder (X:\ in Windows PE) too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BACK } from './ui.js';
import { type Context, duration, gb, pointTime } from './context.js';

export function restoreReport(ctx: Context, outcome: string): Record<string, unknown> {
  const s = ctx.state;
  return {
    format: 'lifeboat-restore-report',
    version: 1,
    outcome,
    site: ctx.media.siteId,
    buildId: ctx.media.build.buildId,
    started: ctx.stamp,
    finished: ctx.platform.now().toISOString(),
    platform: ctx.platform.kind,
    mediaOk: s.mediaOk,
    machine: s.machine,
    machineCheck: s.machineCheck,
    drivers: s.drivers?.map((d) => ({ inf: d.inf, ok: d.ok })),
    network: { up: s.networkUp, nasReachable: s.nasReachable, nasAddress: s.nasAddress },
    unlocked: !!s.credentials,
    share: ctx.media.site.share.path,
    shareConnected: !!s.shareRoot,
    shareProblem: s.shareProblem,
    sharePasswordOutdated: s.passwordTyped === true ? true : undefined,
    server: s.server?.name ?? s.siteServer?.name,
    restorePoint: s.point ? { label: s.point.label, time: s.point.time?.toISOString(), type: s.point.type, file: s.point.storageFile } : s.siteServer ? 'newest in Veeam' : undefined,
    dataLoss: s.dataLoss,
    targetDisk: s.targetDisk && { number: s.targetDisk.number, sizeBytes: s.targetDisk.sizeBytes, model: s.targetDisk.model, bus: s.targetDisk.bus },
    restoreMode: s.restoreMode,
    planConfirmed: s.planConfirmed,
    veeamExitCode: s.veeamExitCode,
    afterRestore: s.afterRestore,
    diagnostics: s.diagnostics,
  };
}

/** The report for people: one fact per line, in the order the restore went. */
export function reportText(ctx: Context, outcome: string): string {
  const s = ctx.state;
  const m = s.machine;
  const line = (k: string, v: string | undefined) => `${`${k}:`.padEnd(16)}${v ?? '-'}`;
  const lines = [
    `Lifeboat restore report: ${ctx.media.siteName}`,
    '',
    line('Outcome', outcome),
    line('Started', ctx.stamp),
    line('Finished', ctx.platform.now().toISOString()),
    line('Media', `build ${ctx.media.build.buildId}, ${s.mediaOk === false ? 'DAMAGED' : s.mediaOk ? 'checked, all files as written' : 'not checked'}`),
    line('Machine', m ? `${m.manufacturer} ${m.model}${m.hypervisor ? ` (${m.hypervisor} VM)` : ''}, ${m.firmware.toUpperCase()}` : undefined),
    line('Drivers', s.drivers?.length ? `${s.drivers.filter((d) => d.ok).length} of ${s.drivers.length} loaded` : 'none needed'),
    line('Network', s.networkUp === undefined ? undefined : `${s.networkUp ? 'up' : 'no address'}; NAS ${s.nasReachable ? 'answers' : 'does not answer'}${s.nasAddress ? ` at ${s.nasAddress}` : ''}`),
    line('Share', `${ctx.media.site.share.path}: ${s.shareRoot ? 'connected' : `not connected${s.shareProblem ? ` (${s.shareProblem})` : ''}`}${s.passwordTyped ? '; the password on the media is OUT OF DATE: rebuild the media' : ''}`),
    line('Server', s.server?.name ?? s.siteServer?.name),
    line('Restore point', s.point ? `${pointTime(s.point)} (${s.point.type})` : s.siteServer ? 'the newest in Veeam' : undefined),
  ];
  if (s.dataLoss) {
    lines.push(line('DATA LOST', `${duration(s.dataLoss.hours)} of work, since ${s.dataLoss.since} (${s.dataLoss.reason}); accepted by the technician; call ${s.dataLoss.call}`));
    if (s.dataLoss.domainController) lines.push(line('Domain ctrl', 'restored from an old point: USN rollback risk; follow the manual, "After the restore", domain controller'));
  }
  lines.push(
    line('Target disk', s.targetDisk ? `disk ${s.targetDisk.number}, ${gb(s.targetDisk.sizeBytes)} ${s.targetDisk.bus} ${s.targetDisk.model}` : undefined),
    line('Restore mode', s.restoreMode),
    line('Plan confirmed', s.planConfirmed ? 'yes (disk number typed)' : 'no'),
    line('Veeam', s.veeamExitCode === undefined ? 'not started from the assistant' : `ended with code ${s.veeamExitCode}`),
    line('Afterwards', s.afterRestore?.length ? s.afterRestore.join('; ') : undefined),
    line('Diagnostics', s.diagnostics),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * Where the records of this session last: asked for once. The share if it takes writes, else the USB stick, else a
 * disk the technician picks (told that X: is lost at restart); undefined: X: only.
 */
export async function recordsRoot(ctx: Context): Promise<{ path: string; what: string } | undefined> {
  const { state, platform, ui, log } = ctx;
  if (state.recordsRoot) return state.recordsRoot;
  if (state.shareRoot && (await platform.canWrite(state.shareRoot))) return (state.recordsRoot = { path: state.shareRoot, what: 'the backup share' });
  if (state.shareRoot) {
    ui.say('The share is read-only for the restore account (as it should be): the records go elsewhere.');
    log.write('records: the share refuses writes');
  }
  if (await platform.canWrite(platform.mediaRoot)) {
    log.write('records: on the Lifeboat USB stick');
    return (state.recordsRoot = { path: platform.mediaRoot, what: 'the Lifeboat USB stick' });
  }
  ui.warn('Neither the share nor the recovery media can be written: the session log, the report and diagnostics are on X: only, which is LOST when this machine restarts.');
  const disks = await platform.disks();
  const volumes = disks.filter((d) => !d.holdsBootMedia).flatMap((d) => d.volumes.filter((v) => v.letter).map((v) => ({ disk: d, letter: v.letter!, label: v.label })));
  const choice = await ui.select('Copy them to a disk that keeps them?', [
    ...volumes.map((v) => ({ name: `${v.letter}: ${v.label ?? ''} (disk ${v.disk.number}, ${v.disk.model})`, value: v.letter, description: `into ${v.letter}:\\lifeboat-logs` })),
    { name: 'Leave them on X: (lost at restart)', value: '', description: 'write down what the report would say' },
  ]);
  if (choice === BACK || choice === '') {
    log.write('records: on X: only (lost at restart)');
    return undefined;
  }
  const path = platform.volumeRoot(choice);
  if (!(await platform.canWrite(path))) {
    ui.warn(`${choice}: cannot be written either: the records stay on X:.`);
    return undefined;
  }
  log.write(`records: on ${choice}:`);
  return (state.recordsRoot = { path, what: `${choice}:` });
}

/** Writes report and log; returns the folders written (the lasting place first, then X:). */
export async function saveRecords(ctx: Context, outcome: string): Promise<string[]> {
  const lasting = await recordsRoot(ctx);
  ctx.log.write(`session ends: ${outcome}`);
  const report = restoreReport(ctx, outcome);
  const text = reportText(ctx, outcome);
  const server = (ctx.state.server?.name ?? ctx.state.siteServer?.name ?? 'no-server').replace(/[^\w.-]/g, '_');
  const stamp = ctx.stamp.replace(/[:.]/g, '-');
  const roots = [lasting?.path, ctx.platform.scratchRoot].filter((r): r is string => !!r);
  const written: string[] = [];
  for (const root of roots) {
    const dir = join(root, 'lifeboat-logs', server, stamp);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'restore-report.json'), `${JSON.stringify(report, null, 2)}\n`);
      await writeFile(join(dir, 'restore-report.txt'), text);
      await writeFile(join(dir, 'session.log'), ctx.log.text());
      written.push(dir);
    } catch (e) {
      ctx.ui.warn(`Could not write the records to ${dir}: ${(e as Error).message}`);
    }
  }
  ctx.state.reportFolder = written[0];
  if (lasting) ctx.ui.say(`Records kept on ${lasting.what}.`);
  return written;
}
