/**
 * Which restore point, then the data loss it means. When the point is older than the RPO or later points
 * are lost to a damaged chain, the loss is said in time ("8 days: since 19 Jul 00:04"), whom to call, and must be
 * confirmed explicitly; it goes into the restore report. A domain controller from an old point gets the USN rollback
 * note and the manual's chapter.
 */
import { pointDetails } from '../../veeam/model.js';
import { BACK } from '../ui.js';
import { type DataLoss, type Step, duration, firstContact, pointTime, pointZone } from '../context.js';

/** The short "19 Jul 00:04" form of a point's label (day, month, time). */
function shortWhen(label: string): string {
  const m = /^(\d{1,2} \w{3}) \d{4} (\d{2}:\d{2})/.exec(label);
  return m ? `${m[1]} ${m[2]}` : label;
}

export const restorePoint: Step = {
  id: 'restore-point',
  title: 'Restore point',
  async run({ ui, log, platform, media, state }) {
    const h = state.health;
    if (!state.shareRoot || !h || !state.server) {
      // Without the share (or without points) Veeam lists the points: the newest is the one to take.
      ui.say('Restore point: choose the newest one in Veeam\'s list (Veeam shows them with date and time).');
      state.point = undefined;
      state.details = undefined;
      state.dataLoss = undefined;
      log.write('restore point: to be picked in Veeam (newest)');
      return 'next';
    }
    for (const f of h.findings.filter((f) => f.severity !== 'info')) ui.warn(f.message);
    const points = [...h.points].reverse().slice(0, 20);
    const zone = h.points.at(-1)?.point ? pointZone(h.points.at(-1)!.point) : 'UTC';
    const choice = await ui.select(`Which restore point? (the newest good one is preselected) Times: ${zone}`, points.map((p) => ({
      name: `${p.point.label}  ${p.point.type === 'full' ? 'full     ' : 'increment'}${p.restorable ? '' : '  NOT RESTORABLE'}`,
      value: p.point.id,
      disabled: p.restorable ? false : (p.findings[0]?.message ?? 'not restorable'),
    })), h.newestRestorable?.id);
    if (choice === BACK) return 'back';
    const point = h.points.find((p) => p.point.id === choice)!.point;
    state.point = point;
    const details = (state.details = pointDetails(point));
    state.dataLoss = undefined;
    ui.say(`Restore point: ${pointTime(point)}, ${point.type}.`);
    log.write(`restore point ${point.label} (${point.type}, ${point.storageFile ?? '?'})`);

    const rpo = media.site.rpoHours;
    const hours = point.time ? (platform.now().getTime() - point.time.getTime()) / 3_600_000 : undefined;
    const newest = h.points.at(-1)?.point;
    const reason: DataLoss['reason'] | undefined = !h.chainOk && point !== newest
      ? 'backup chain damaged'
      : hours !== undefined && hours > rpo
        ? 'older than the RPO'
        : point !== newest && point !== h.newestRestorable
          ? 'older point chosen'
          : undefined;
    if (!reason || hours === undefined) return 'next';
    const isDc = state.siteServer?.role === 'dc' || details?.roles.ad === true;
    const since = shortWhen(point.label);
    const loss = `${duration(hours)}: since ${since}`;
    ui.warn(`WORK WILL BE LOST: ${state.server.name} comes back as it was at ${pointTime(point)}.`);
    ui.warn(`Everything done on it since then is lost: ${loss}.`);
    ui.say(reason === 'backup chain damaged'
      ? 'Why: the backup chain is damaged, so the newer restore points cannot be restored.'
      : reason === 'older than the RPO'
        ? `Why: the newest restorable point is older than the ${rpo} h the business agreed to lose at most (RPO).`
        : 'Why: you chose an older point than the newest good one.');
    ui.say(`Call ${firstContact(media.site)} before going on: the business decides whether this loss is accepted (a newer copy may exist elsewhere).`);
    if (isDc) {
      ui.warn(`${state.server.name} is a DOMAIN CONTROLLER: an old copy next to other, newer domain controllers damages the directory (USN rollback). If another domain controller still works, do not restore this one: call. If it is the only one, restore it and make it authoritative for SYSVOL as the manual says.`);
      ui.say('Read the manual, chapter "After the restore", part "Domain controller", before the restored server joins the network.');
    }
    const ack = await ui.select(`Restore this point and lose ${duration(hours)} of work?`, [
      { name: 'No: choose another restore point', value: 'no', description: 'back to the list of restore points' },
      { name: `Yes: the loss of ${duration(hours)} is accepted (I have called)`, value: 'yes', description: 'recorded in the restore report with whom to call' },
    ], 'no');
    if (ack === BACK || ack === 'no') return { goto: 'restore-point' };
    state.dataLoss = { hours: Math.round(hours * 10) / 10, since: pointTime(point), reason, acknowledged: true, call: firstContact(media.site), domainController: isDc };
    log.write(`data loss acknowledged: ${loss} (${reason}); call ${firstContact(media.site)}${isDc ? '; domain controller: USN rollback note shown' : ''}`);
    return 'next';
  },
};
