/**
 * Small local stand-ins for figures other modules own, so the manual can be printed today.
 *
 * TODO(src/veeam/capacity.ts): switch `restoreTimeEstimate` to the one in src/veeam/capacity.ts once it lands.
 * TODO(src/veeam/schedule.ts): switch `localBackupSchedule` to `backupSchedule(site, server)` from
 *   src/veeam/schedule.ts once it lands (the build can already pass its result in `renderManual({ schedule })`).
 */
import type { Site } from '../site/index.js';

/** Share of the link speed a bare-metal restore reaches in practice (SMB reads, decompression, small files). */
const LINK_EFFICIENCY = 0.6;
/** Fixed time per server: booting the media, the assistant, Veeam's wizard, the first start of Windows. */
const FIXED_MINUTES = 30;

export interface RestoreTime {
  /** Minutes for copying the data over the link. */
  readonly transferMinutes: number;
  /** transferMinutes plus the fixed part, rounded up to 5 minutes. */
  readonly totalMinutes: number;
}

/** How long restoring `bytes` over a `linkGbps` link takes, roughly. */
export function restoreTimeEstimate(bytes: number, linkGbps: number): RestoreTime {
  const bytesPerSecond = (linkGbps * 1e9 * LINK_EFFICIENCY) / 8;
  const transferMinutes = Math.ceil(bytes / bytesPerSecond / 60);
  const totalMinutes = Math.ceil((transferMinutes + FIXED_MINUTES) / 5) * 5;
  return { transferMinutes, totalMinutes };
}

export interface ScheduleSummary {
  /** One line per rule, e.g. "Mon-Fri every 3 hours 07:00-19:00 (07:00, 10:00, ...)". */
  readonly lines: readonly string[];
}

const DAY_NAMES: Record<string, string> = { mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat', sun: 'Sun' };

function minutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

function hhmm(total: number): string {
  const t = ((total % 1440) + 1440) % 1440;
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

/** When backups run, described from site.yaml's rpoHours and schedule (the same for every server). */
export function localBackupSchedule(site: Site): ScheduleSummary {
  const step = site.rpoHours * 60;
  const window = site.schedule?.window;
  const daily = site.schedule?.dailyAt ?? '22:00';
  const lines: string[] = [];
  if (window) {
    const times: string[] = [];
    for (let t = minutes(window.from); t <= minutes(window.to); t += step) times.push(hhmm(t));
    const days = window.days.map((d) => DAY_NAMES[d] ?? d).join(', ');
    lines.push(`${days}: an incremental backup every ${site.rpoHours} h from ${window.from} to ${window.to} (${times.join(', ')})`);
    lines.push(`Every day: the daily backup job at ${daily}`);
  } else {
    const times: string[] = [];
    for (let t = minutes(daily); t < minutes(daily) + 1440; t += step) times.push(hhmm(t));
    lines.push(`Every day, around the clock: a backup every ${site.rpoHours} h (${times.sort().join(', ')})`);
  }
  lines.push(`Restore points are kept for ${site.retentionDays} days`);
  return { lines };
}
