/**
 * The restore report (JSON for tools, text for people) and the session log, written to the share under
 * lifeboat-logs\<server>\<timestamp>\ and to the scratch folder, so the record survives either being lost.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from './context.js';

export function restoreReport(ctx: Context, outcome: string): Record<string, unknown> {
  const s = ctx.state;
  return {
    format: 'lifeboat-restore-report',
    version: 1,
    outcome,
    site: ctx.media.site.site.site.id,
    buildId: ctx.media.site.buildId,
    started: ctx.stamp,
    finished: ctx.platform.now().toISOString(),
    platform: ctx.platform.kind,
    mediaOk: s.mediaOk,
    machine: s.machine,
    drivers: s.drivers?.map((d) => ({ inf: d.inf, ok: d.ok })),
    network: { up: s.networkUp, nasReachable: s.nasReachable },
    unlocked: !!s.credentials,
    share: ctx.media.site.site.share.path,
    server: s.server?.name,
    restorePoint: s.point && { label: s.point.label, time: s.point.time?.toISOString(), type: s.point.type, file: s.point.storageFile },
    targetDisk: s.targetDisk && { number: s.targetDisk.number, sizeBytes: s.targetDisk.sizeBytes, model: s.targetDisk.model, bus: s.targetDisk.bus },
    restoreMode: s.restoreMode,
    veeamExitCode: s.veeamExitCode,
    afterRestore: s.afterRestore,
    diagnostics: s.diagnostics,
  };
}

function text(report: Record<string, unknown>): string {
  const lines = ['Lifeboat restore report', ''];
  for (const [k, v] of Object.entries(report)) lines.push(`${k.padEnd(14)} ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? '-')}`);
  return `${lines.join('\n')}\n`;
}

/** Writes report and log; returns the folders written (share first). */
export async function saveRecords(ctx: Context, outcome: string): Promise<string[]> {
  const report = restoreReport(ctx, outcome);
  ctx.log.write(`session ends: ${outcome}`);
  const server = (ctx.state.server?.name ?? 'no-server').replace(/[^\w.-]/g, '_');
  const stamp = ctx.stamp.replace(/[:.]/g, '-');
  const roots = [ctx.state.shareRoot, ctx.platform.scratchRoot].filter((r): r is string => !!r);
  const written: string[] = [];
  for (const root of roots) {
    const dir = join(root, 'lifeboat-logs', server, stamp);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'restore-report.json'), `${JSON.stringify(report, null, 2)}\n`);
      await writeFile(join(dir, 'restore-report.txt'), text(report));
      await writeFile(join(dir, 'session.log'), ctx.log.text());
      written.push(dir);
    } catch (e) {
      ctx.ui.warn(`Could not write the records to ${dir}: ${(e as Error).message}`);
    }
  }
  ctx.state.reportFolder = written[0];
  return written;
}
