/**
 * The backup schedule a server gets from site.yaml, as plain data: the Task Scheduler triggers `lifeboat
 * backup-setup` writes, the run times per weekday the audit checks against, and the sentences the manual prints.
 *
 * Veeam Agent FREE schedules one job "Daily at"; a recovery point objective under a day comes from Windows Task
 * Scheduler running `Veeam.EndPoint.Manager.exe /backup` (an incremental run of the configured job) every
 * `rpoHours`:
 * - without `schedule.window`: around the clock, every rpoHours, anchored at `schedule.dailyAt` (22:00 when site.yaml
 *   has no schedule) so the daily job's time is one of the runs: one daily trigger repeating every rpoHours for a day;
 * - with a window (e.g. business hours): every rpoHours from `from` on the window's days, one more run at `to` (the
 *   work of the last hours is saved when the office closes), and every day at `dailyAt` (the daily job).
 *
 * All times are the server's local wall-clock time.
 */
import type { Server, Site, Weekday } from '../site/index.js';
import { WEEKDAYS } from '../site/index.js';

export const VEEAM_MANAGER_EXE = 'C:\\Program Files\\Veeam\\Endpoint Backup\\Veeam.EndPoint.Manager.exe';
export const VEEAM_CONFIGURATOR_EXE = 'C:\\Program Files\\Veeam\\Endpoint Backup\\Veeam.Agent.Configurator.exe';
export const VEEAM_BACKUP_ARGUMENTS = '/backup';
/** Exit codes of `Veeam.EndPoint.Manager.exe /backup`: 0 ok, -1 failed or not started, 5 a backup already runs. */
export const VEEAM_EXIT_ALREADY_RUNNING = 5;
/** The task's folder and name in Task Scheduler. */
export const TASK_NAME = '\\Lifeboat\\Veeam backup';
/** Where the daily job runs when site.yaml has no schedule section (the schema's default). */
export const DEFAULT_DAILY_AT = '22:00';

const DAY_NAMES: Record<Weekday, string> = {
  mon: 'Monday',
  tue: 'Tuesday',
  wed: 'Wednesday',
  thu: 'Thursday',
  fri: 'Friday',
  sat: 'Saturday',
  sun: 'Sunday',
};
/** Task Scheduler's element names for weekdays. */
export const TASK_DAY_NAMES = DAY_NAMES;

/** One Task Scheduler calendar trigger, as plain data. */
export interface ScheduleTrigger {
  /** What it is for. */
  readonly purpose: 'interval' | 'window-end' | 'daily';
  /** Every day, or on the listed weekdays. */
  readonly days: 'every-day' | readonly Weekday[];
  /** Local start time, HH:MM. */
  readonly at: string;
  /** Repeat every this many hours after `at` ... */
  readonly repeatEveryHours?: number;
  /** ... for this many minutes (Task Scheduler Repetition Duration). */
  readonly repeatForMinutes?: number;
}

export interface BackupSchedule {
  readonly server: string;
  readonly rpoHours: number;
  /** Hours between incremental runs: the RPO. */
  readonly intervalHours: number;
  readonly mode: 'around-the-clock' | 'window';
  readonly window?: { readonly days: readonly Weekday[]; readonly from: string; readonly to: string };
  /** The daily job's time (Veeam "Daily at"). */
  readonly dailyAt: string;
  readonly triggers: readonly ScheduleTrigger[];
  /** Local start times (HH:MM, sorted) per weekday. */
  readonly runsByDay: Readonly<Record<Weekday, readonly string[]>>;
  readonly runsPerWeek: number;
  /** Longest time between two runs over the week, hours (the most work a failure can lose, plus the backup's duration). */
  readonly maxGapHours: number;
  /** Longest time between two runs that ends inside the window (equals maxGapHours around the clock). */
  readonly maxGapInWindowHours: number;
  /** Task Scheduler stops a run that takes longer than this, hours. */
  readonly executionTimeLimitHours: number;
  readonly taskName: string;
  readonly command: { readonly program: string; readonly arguments: string; readonly commandLine: string };
  /** One line: `every 3 hours around the clock (from 22:00)`. */
  readonly summary: string;
  /** Sentences for a person (README, manual). */
  readonly sentences: readonly string[];
}

const MINUTES_PER_DAY = 24 * 60;

export function parseHhmm(text: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(text);
  if (!m) throw new Error(`not a time of day: ${text}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export function formatHhmm(minutes: number): string {
  const m = ((minutes % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function hours(n: number): string {
  const r = Math.round(n * 10) / 10;
  return `${r} hour${r === 1 ? '' : 's'}`;
}

function listing(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** `Monday to Friday`, `Monday, Wednesday and Friday`, `every day`. */
export function describeDays(days: readonly Weekday[]): string {
  const idx = [...new Set(days)].map((d) => WEEKDAYS.indexOf(d)).sort((a, b) => a - b);
  if (idx.length === 7) return 'every day';
  const contiguous = idx.length >= 3 && idx.every((v, i) => i === 0 || v === (idx[i - 1] as number) + 1);
  const names = idx.map((i) => DAY_NAMES[WEEKDAYS[i] as Weekday]);
  if (contiguous) return `${names[0]} to ${names[names.length - 1]}`;
  return listing(names);
}

/** The schedule `server` gets from the site's rpoHours and schedule section. */
export function backupSchedule(site: Pick<Site, 'rpoHours' | 'schedule'>, server: Pick<Server, 'name'>): BackupSchedule {
  const rpo = site.rpoHours;
  const dailyAt = site.schedule?.dailyAt ?? DEFAULT_DAILY_AT;
  const window = site.schedule?.window;
  const intervalMin = rpo * 60;
  const runs = new Map<Weekday, Set<number>>(WEEKDAYS.map((d) => [d, new Set<number>()]));
  const triggers: ScheduleTrigger[] = [];
  const sentences: string[] = [];
  let summary: string;

  if (!window) {
    const anchor = parseHhmm(dailyAt);
    const times: number[] = [];
    for (let k = 0; k * intervalMin < MINUTES_PER_DAY; k++) times.push(anchor + k * intervalMin);
    // A repetition started on one day runs on into the next: file each run under the weekday it falls on.
    for (let i = 0; i < 7; i++) {
      for (const t of times) {
        const dayIndex = (i + Math.floor(t / MINUTES_PER_DAY)) % 7;
        runs.get(WEEKDAYS[dayIndex] as Weekday)?.add(t % MINUTES_PER_DAY);
      }
    }
    // Veeam's own schedule runs the job at dailyAt: the task adds only the runs in between, starting one interval
    // later and ending a minute before the next daily run, so the two never start the same backup at once.
    if (rpo < 24 && times.length > 1) {
      triggers.push({
        purpose: 'interval',
        days: 'every-day',
        at: formatHhmm((anchor + intervalMin) % MINUTES_PER_DAY),
        repeatEveryHours: rpo,
        repeatForMinutes: MINUTES_PER_DAY - intervalMin - 1,
      });
    }
    const shown = times.slice(0, 4).map(formatHhmm);
    summary = rpo < 24 ? `every ${hours(rpo)} around the clock (from ${dailyAt})` : `once a day at ${dailyAt}`;
    sentences.push(
      rpo < 24
        ? `A backup runs every ${hours(rpo)}, day and night, every day: at ${shown.join(', ')}${times.length > 4 ? ' and so on' : ''}.`
        : `A backup runs once a day at ${dailyAt}.`,
      `The ${dailyAt} run is Veeam's own daily schedule for the job ("Daily at ${dailyAt}"); the scheduled task adds the runs in between and never starts at ${dailyAt}.`,
    );
  } else {
    const from = parseHhmm(window.from);
    const to = parseHhmm(window.to);
    const inWindow: number[] = [];
    for (let t = from; t < to; t += intervalMin) inWindow.push(t);
    inWindow.push(to);
    for (const d of window.days) for (const t of inWindow) runs.get(d)?.add(t);
    for (const d of WEEKDAYS) runs.get(d)?.add(parseHhmm(dailyAt));
    // The daily run is Veeam's own schedule ("Daily at"): the task holds only the runs inside the window.
    triggers.push({ purpose: 'interval', days: [...window.days], at: window.from, repeatEveryHours: rpo, repeatForMinutes: to - from });
    if (window.to !== dailyAt) triggers.push({ purpose: 'window-end', days: [...window.days], at: window.to });
    const dayText = describeDays(window.days);
    summary = `every ${hours(rpo)} ${window.from}-${window.to} ${dayText}, daily at ${dailyAt}`;
    sentences.push(
      `A backup runs every ${hours(rpo)} from ${window.from} to ${window.to} ${dayText === 'every day' ? 'every day' : `on ${dayText}`}: at ${listing(inWindow.map(formatHhmm))}.`,
      `The daily run at ${dailyAt}, every day, is Veeam's own schedule for the job ("Daily at ${dailyAt}"); the scheduled task holds only the runs inside these hours.`,
    );
  }

  const runsByDay = Object.fromEntries(
    WEEKDAYS.map((d) => [d, [...(runs.get(d) ?? [])].sort((a, b) => a - b).map(formatHhmm)]),
  ) as Record<Weekday, string[]>;
  const weekRuns = weekRunMinutes(runsByDay);
  const runsPerWeek = weekRuns.length;
  let maxGap = 0;
  let maxGapInWindow = 0;
  for (let i = 0; i < weekRuns.length; i++) {
    const cur = weekRuns[i] as number;
    const prev = i === 0 ? (weekRuns[weekRuns.length - 1] as number) - 7 * MINUTES_PER_DAY : (weekRuns[i - 1] as number);
    const gap = (cur - prev) / 60;
    maxGap = Math.max(maxGap, gap);
    if (!window) maxGapInWindow = maxGap;
    else if (isInWindow(window, cur)) {
      // Work inside the window at risk: from the previous run, or from the window's start that day when later.
      const windowStart = Math.floor(cur / MINUTES_PER_DAY) * MINUTES_PER_DAY + parseHhmm(window.from);
      maxGapInWindow = Math.max(maxGapInWindow, (cur - Math.max(prev, windowStart)) / 60);
    }
  }
  if (window) {
    sentences.push(
      `Inside these hours a failure loses at most ${hours(maxGapInWindow)} of work (plus the minutes a backup takes); ` +
        `outside them the newest backup can be up to ${hours(maxGap)} old, which is fine while nobody works.`,
    );
  } else {
    sentences.push(`A failure loses at most ${hours(maxGap)} of work (plus the minutes a backup takes).`);
  }
  sentences.push(
    'Each run is a Windows scheduled task that starts Veeam\'s incremental backup as SYSTEM; a run that finds a backup ' +
      'already running (Veeam exit code 5) leaves it alone, which is not a failure.',
  );

  const commandLine = `"${VEEAM_MANAGER_EXE}" ${VEEAM_BACKUP_ARGUMENTS}`;
  return {
    server: server.name,
    rpoHours: rpo,
    intervalHours: rpo,
    mode: window ? 'window' : 'around-the-clock',
    window: window ? { days: [...window.days], from: window.from, to: window.to } : undefined,
    dailyAt,
    triggers,
    runsByDay,
    runsPerWeek,
    maxGapHours: maxGap,
    maxGapInWindowHours: maxGapInWindow,
    executionTimeLimitHours: rpo,
    taskName: TASK_NAME,
    command: { program: VEEAM_MANAGER_EXE, arguments: VEEAM_BACKUP_ARGUMENTS, commandLine },
    summary,
    sentences,
  };
}

/** Run times as minutes since Monday 00:00, sorted. */
function weekRunMinutes(runsByDay: Readonly<Record<Weekday, readonly string[]>>): number[] {
  const out: number[] = [];
  WEEKDAYS.forEach((d, i) => {
    for (const t of runsByDay[d]) out.push(i * MINUTES_PER_DAY + parseHhmm(t));
  });
  return out.sort((a, b) => a - b);
}

/** Whether a time (minutes since Monday 00:00) lies inside the window (from and to included). */
function isInWindow(window: NonNullable<BackupSchedule['window']>, weekMinute: number): boolean {
  const day = WEEKDAYS[Math.floor(weekMinute / MINUTES_PER_DAY) % 7] as Weekday;
  const t = weekMinute % MINUTES_PER_DAY;
  return window.days.includes(day) && t >= parseHhmm(window.from) && t <= parseHhmm(window.to);
}

/** Minutes since Monday 00:00 of a wall-clock time held in a Date's UTC fields. */
function weekMinuteOf(wallClock: Date): number {
  const dow = (wallClock.getUTCDay() + 6) % 7; // Monday 0
  return dow * MINUTES_PER_DAY + wallClock.getUTCHours() * 60 + wallClock.getUTCMinutes();
}

/**
 * The newest scheduled start at or before `at`. `utcOffsetMinutes` is the server's offset from UTC (local - UTC),
 * so `at` is read on the server's wall clock. Returns the start as an absolute time.
 */
export function lastScheduledRun(schedule: Pick<BackupSchedule, 'runsByDay'>, at: Date, utcOffsetMinutes = 0): Date | undefined {
  const runs = weekRunMinutes(schedule.runsByDay);
  if (runs.length === 0) return undefined;
  const wall = new Date(at.getTime() + utcOffsetMinutes * 60_000);
  const now = weekMinuteOf(wall) + wall.getUTCSeconds() / 60;
  let best: number | undefined;
  for (const r of runs) if (r <= now) best = r;
  const back = best === undefined ? now - ((runs[runs.length - 1] as number) - 7 * MINUTES_PER_DAY) : now - best;
  return new Date(at.getTime() - back * 60_000);
}

/**
 * How old the newest backup may be at `now` before the schedule is broken: the RPO, or longer when the last
 * scheduled run (counting only runs that started at least `graceMinutes` ago, so a run still in progress is not
 * held against it) lies further back, as it does outside a window.
 */
export function allowedAgeHours(
  schedule: Pick<BackupSchedule, 'runsByDay' | 'rpoHours'>,
  now: Date,
  utcOffsetMinutes = 0,
  graceMinutes = 30,
): number {
  const last = lastScheduledRun(schedule, new Date(now.getTime() - graceMinutes * 60_000), utcOffsetMinutes);
  if (!last) return schedule.rpoHours;
  // A few minutes of slack for clocks: a run stamped just before its scheduled minute still counts.
  return Math.max(schedule.rpoHours, (now.getTime() - last.getTime()) / 3_600_000 + 5 / 60);
}
