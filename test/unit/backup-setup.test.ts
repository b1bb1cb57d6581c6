/**
 * `lifeboat backup-setup` output: the schedule each server gets, the Task Scheduler XML parsed back with a real XML
 * parser (encoding, interval = RPO, command, principal, policies), and the PowerShell scripts (parsed by pwsh when it
 * is installed, else checked structurally: agent and job checks, schtasks /Create /XML, one run, exit code 5).
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { psQuote, renderServerSetup, writeBackupSetup, isoDuration } from '../../src/media/backup-setup.js';
import { parseSite, type Site } from '../../src/site/index.js';
import { allowedAgeHours, backupSchedule, lastScheduledRun } from '../../src/veeam/schedule.js';
import { lifeboat } from '../helpers/cli.js';
import { mkTempDir, removeTempDir, run } from '../helpers/tools.js';

const MANAGER = '"C:\\Program Files\\Veeam\\Endpoint Backup\\Veeam.EndPoint.Manager.exe" /backup';

function site(extra: string, name = "Müller & O'Brien <Steuer>"): Site {
  return parseSite(`site: { name: "${name}", id: setup-test }
contacts: [ { name: A, role: IT, phone: "+49 89 1234567" } ]
share: { path: '\\\\nas01\\veeam', user: restore }
${extra}servers:
  - { name: DC01, fqdn: dc01.example.local, role: dc, runsOn: { kind: physical, vendor: dell }, firmware: uefi, ramGb: 8, veeamJob: "DC01 'Daily' $(whoami)", disks: [ { sizeGb: 100 } ] }
  - { name: FS01, role: file, runsOn: { kind: vm, hypervisor: hyperv }, firmware: uefi, ramGb: 8, veeamJob: FS01 Daily, disks: [ { sizeGb: 100 } ] }
`);
}

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, trimValues: true });

/** Decodes the task file as schtasks does (UTF-16 LE with BOM) and parses it. */
function parseTask(bytes: Buffer): { decl: string; task: any } {
  assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xfe], 'UTF-16 LE byte order mark');
  const text = bytes.subarray(2).toString('utf16le');
  assert.equal(XMLValidator.validate(text), true);
  const decl = /^<\?xml[^>]*\?>/.exec(text)?.[0] ?? '';
  return { decl, task: parser.parse(text).Task };
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('backup schedule from site.yaml', () => {
  it('around the clock: every rpoHours from the daily job time, the run list per weekday', () => {
    const s = backupSchedule(site('rpoHours: 3\n'), { name: 'DC01' });
    assert.equal(s.mode, 'around-the-clock');
    assert.equal(s.intervalHours, 3);
    assert.equal(s.dailyAt, '22:00');
    assert.deepEqual(s.runsByDay.mon, ['01:00', '04:00', '07:00', '10:00', '13:00', '16:00', '19:00', '22:00']);
    assert.equal(s.runsPerWeek, 56);
    assert.equal(s.maxGapHours, 3);
    // Veeam's own "Daily at 22:00" covers 22:00: the task starts at 01:00 and ends before the next 22:00.
    assert.deepEqual(s.triggers, [{ purpose: 'interval', days: 'every-day', at: '01:00', repeatEveryHours: 3, repeatForMinutes: 21 * 60 - 1 }]);
    assert.equal(s.summary, 'every 3 hours around the clock (from 22:00)');
    assert.match(s.sentences[0]!, /every 3 hours, day and night, every day: at 22:00, 01:00, 04:00, 07:00 and so on/);
    assert.equal(s.command.commandLine, MANAGER);
    // An interval that does not divide the day: the pattern restarts at the daily time, no gap exceeds the RPO.
    const five = backupSchedule(site('rpoHours: 5\nschedule: { dailyAt: "20:30" }\n'), { name: 'X' });
    assert.deepEqual(five.runsByDay.tue, ['01:30', '06:30', '11:30', '16:30', '20:30']);
    assert.equal(five.maxGapHours, 5);
  });

  it('a window: every rpoHours inside it, a run at its end, the daily job every day', () => {
    const s = backupSchedule(site('rpoHours: 4\nschedule: { window: { days: [mon, tue, wed, thu, fri], from: "07:30", to: "18:00" }, dailyAt: "22:00" }\n'), { name: 'DC01' });
    assert.equal(s.mode, 'window');
    assert.deepEqual(s.runsByDay.wed, ['07:30', '11:30', '15:30', '18:00', '22:00']);
    assert.deepEqual(s.runsByDay.sat, ['22:00']);
    assert.equal(s.runsPerWeek, 5 * 5 + 2);
    assert.equal(s.maxGapInWindowHours, 4);
    assert.equal(s.maxGapHours, 24);
    assert.deepEqual(s.triggers.map((t) => `${t.purpose} ${t.at}`), ['interval 07:30', 'window-end 18:00'], 'no task run at 22:00: that is Veeam\'s own daily run');
    assert.match(s.sentences.join(' '), /Veeam's own schedule for the job \("Daily at 22:00"\); the scheduled task holds only the runs inside these hours/);
    assert.match(s.sentences[0]!, /every 4 hours from 07:30 to 18:00 on Monday to Friday: at 07:30, 11:30, 15:30 and 18:00/);
    assert.match(s.sentences.join(' '), /Inside these hours a failure loses at most 4 hours of work/);
  });

  it('what the audit allows at a given moment: the RPO inside the window, more outside it', () => {
    const s = backupSchedule(site('rpoHours: 3\nschedule: { window: { days: [mon, tue, wed, thu, fri], from: "07:00", to: "19:00" } }\n'), { name: 'X' });
    // Monday 2030-03-11, server clock UTC+1.
    const at = (local: string) => new Date(`${local}Z`).getTime() - 3_600_000;
    assert.equal(lastScheduledRun(s, new Date(at('2030-03-11T08:00:00')), 60)?.getTime(), at('2030-03-11T07:00:00'));
    assert.equal(lastScheduledRun(s, new Date(at('2030-03-11T06:00:00')), 60)?.getTime(), at('2030-03-10T22:00:00'));
    assert.equal(allowedAgeHours(s, new Date(at('2030-03-11T12:00:00')), 60), 3);
    // 07:10 Monday: the 07:00 run may still be going, the Sunday 22:00 point is fine (9 h 10 min + 5 min slack).
    assert.equal(Math.round(allowedAgeHours(s, new Date(at('2030-03-11T07:10:00')), 60) * 60), 9 * 60 + 15);
  });
});

describe('backup-setup files', () => {
  it('the task XML: UTF-16, schema 1.2, interval = RPO, command, SYSTEM with highest privileges, policies', () => {
    const s = site('rpoHours: 3\n');
    const setup = renderServerSetup(s, s.servers[0]!);
    const xml = setup.files.find((f) => f.name === 'backup-task.xml')!;
    const { decl, task } = parseTask(xml.bytes);
    assert.match(decl, /encoding="UTF-16"/);
    assert.equal(task['@_version'], '1.2');
    assert.equal(task['@_xmlns'], 'http://schemas.microsoft.com/windows/2004/02/mit/task');
    const triggers = list(task.Triggers.CalendarTrigger);
    assert.equal(triggers.length, 1);
    assert.equal(triggers[0].Repetition.Interval, 'PT3H', 'interval equals the RPO');
    assert.equal(triggers[0].Repetition.Duration, 'PT20H59M', 'ends before Veeam\'s own 22:00 run');
    assert.equal(triggers[0].StartBoundary, '2024-01-01T01:00:00');
    assert.equal(triggers[0].ScheduleByDay.DaysInterval, '1');
    const exec = task.Actions.Exec;
    assert.equal(`${exec.Command} ${exec.Arguments}`, MANAGER);
    const principal = task.Principals.Principal;
    assert.equal(principal.UserId, 'S-1-5-18', 'SYSTEM');
    assert.equal(principal.RunLevel, 'HighestAvailable');
    assert.equal(task.Actions['@_Context'], principal['@_id']);
    assert.equal(task.Settings.MultipleInstancesPolicy, 'IgnoreNew');
    assert.equal(task.Settings.StartWhenAvailable, 'true');
    assert.equal(task.Settings.ExecutionTimeLimit, 'PT3H');
    assert.equal(task.Settings.Enabled, 'true');
    assert.equal(task.Settings.DisallowStartIfOnBatteries, 'false');
    // Site text is escaped, not injected.
    assert.match(task.RegistrationInfo.Description, /\(site Müller & O'Brien <Steuer>\)/);
    assert.ok(xml.text.includes('Müller &amp; O&apos;Brien &lt;Steuer&gt;'));
    assert.match(xml.text, /<Command>"C:\\Program Files\\Veeam\\Endpoint Backup\\Veeam\.EndPoint\.Manager\.exe"<\/Command>/);
    assert.ok(xml.bytes.subarray(2).toString('utf16le').includes('\r\n'), 'CRLF line ends');
  });

  it('a window gives weekly triggers on its days, and none for the daily job (Veeam runs it)', () => {
    const s = site('rpoHours: 2\nschedule: { window: { days: [mon, wed, fri], from: "08:00", to: "17:00" }, dailyAt: "21:15" }\n');
    const { task } = parseTask(renderServerSetup(s, s.servers[1]!).files[0]!.bytes);
    const triggers = list(task.Triggers.CalendarTrigger);
    assert.equal(triggers.length, 2);
    const [interval, end] = triggers;
    assert.equal(interval.Repetition.Interval, 'PT2H');
    assert.equal(interval.Repetition.Duration, 'PT9H');
    assert.equal(interval.StartBoundary, '2024-01-01T08:00:00');
    assert.deepEqual(Object.keys(interval.ScheduleByWeek.DaysOfWeek), ['Monday', 'Wednesday', 'Friday']);
    assert.equal(end.StartBoundary, '2024-01-01T17:00:00');
    assert.equal(end.Repetition, undefined);
    assert.deepEqual(Object.keys(end.ScheduleByWeek.DaysOfWeek), ['Monday', 'Wednesday', 'Friday']);
    assert.equal(task.Settings.ExecutionTimeLimit, 'PT2H');
  });

  it('ISO durations and PowerShell quoting', () => {
    assert.equal(isoDuration(180), 'PT3H');
    assert.equal(isoDuration(1440), 'P1D');
    assert.equal(isoDuration(570), 'PT9H30M');
    assert.equal(psQuote("O'Brien $(x) `n"), "'O''Brien $(x) `n'");
    assert.equal(psQuote('a\u2019b'), "'a\u2019\u2019b'");
    assert.throws(() => psQuote('a\nb'));
  });

  describe('PowerShell scripts', () => {
    const s = site('rpoHours: 3\n');
    const setup = renderServerSetup(s, s.servers[0]!);
    const install = setup.files.find((f) => f.name === 'install.ps1')!;
    const uninstall = setup.files.find((f) => f.name === 'uninstall.ps1')!;
    let dir: string;
    let pwsh: string | undefined;
    before(async () => {
      dir = await mkTempDir('backup-setup');
      const which = await run('sh', ['-c', 'command -v pwsh || true']);
      pwsh = which.stdout.trim() || undefined;
    });
    after(() => removeTempDir(dir));

    it('are UTF-8 with BOM and CRLF, and parse (pwsh when installed)', async (t) => {
      for (const f of [install, uninstall]) {
        assert.deepEqual([...f.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
        assert.ok(!/[^\r]\n/.test(f.bytes.toString('utf8')), 'every line ends in CRLF');
      }
      if (!pwsh) {
        t.diagnostic('pwsh not installed: structural checks only');
        return;
      }
      const written = await writeBackupSetup(s, dir);
      for (const p of written.servers.flatMap((x) => x.paths).filter((p) => p.endsWith('.ps1'))) {
        const r = await run(pwsh, ['-NoProfile', '-NonInteractive', '-Command',
          `$e=$null; [void][System.Management.Automation.Language.Parser]::ParseFile('${p}', [ref]$null, [ref]$e); if ($e.Count) { $e | ForEach-Object { $_.Message }; exit 1 }`]);
        assert.equal(r.code, 0, `${p}: ${r.stdout}${r.stderr}`);
      }
    });

    it('install.ps1: checks agent and job, registers with schtasks /Create /XML, runs once, exit 5 is not a failure', () => {
      const text = install.text;
      assert.match(text, /^#Requires -Version 5\.1\r?\n#Requires -RunAsAdministrator/);
      assert.match(text, /\$VeeamManager\s+= 'C:\\Program Files\\Veeam\\Endpoint Backup\\Veeam\.EndPoint\.Manager\.exe'/);
      assert.match(text, /Test-Path -LiteralPath \$VeeamManager -PathType Leaf/, 'checks the agent is installed');
      assert.match(text, /& \$VeeamConfigurator -export/, 'reads the job configuration');
      assert.match(text, /if \(\$code -eq 30\) \{\s+Stop-Install \('Veeam Agent has no backup job/, 'job not found (30) stops the install');
      assert.match(text, /& schtasks\.exe \/Create \/TN \$TaskName \/XML \$TaskXml \/F/);
      assert.match(text, /-ChildPath 'backup-task\.xml'/);
      assert.match(text, /& schtasks\.exe \/Run \/TN \$TaskName/, 'runs it once');
      assert.match(text, /Get-ScheduledTaskInfo -TaskPath \$TaskFolder -TaskName \$TaskLeaf/, 'shows the result');
      assert.match(text, /\$VeeamAlreadyRunning = 5/);
      assert.match(text, /elseif \(\$result -eq \$VeeamAlreadyRunning\) \{\s+Write-Ok/, 'exit code 5 is reported as ok');
      assert.match(text, /\$TaskName\s+= '\\Lifeboat\\Veeam backup'/);
      assert.match(text, /\$TaskFolder\s+= '\\Lifeboat\\'/);
      // Site values are single-quoted literals: no expansion of $(...) and quotes doubled.
      assert.match(text, /\$ExpectedJob\s+= 'DC01 ''Daily'' \$\(whoami\)'/);
      assert.match(text, /\$SiteName\s+= 'Müller & O''Brien <Steuer>'/);
      // Balanced braces and parentheses, no template leftovers.
      const code = text.replace(/'(?:[^']|'')*'/g, "''").replace(/<#[\s\S]*?#>/g, '').replace(/#.*$/gm, '');
      for (const [o, c] of [['{', '}'], ['(', ')']] as const) assert.equal(code.split(o).length, code.split(c).length, `${o}${c} balanced`);
      assert.doesNotMatch(text, /\{\{|\}\}/);
      assert.match(text, /exit 0\s*$/);
    });

    it('uninstall.ps1 removes only the task', () => {
      assert.match(uninstall.text, /#Requires -RunAsAdministrator/);
      assert.match(uninstall.text, /& schtasks\.exe \/Delete \/TN \$TaskName \/F/);
      assert.match(uninstall.text, /Get-ScheduledTask -TaskPath \$TaskFolder -TaskName \$TaskLeaf -ErrorAction SilentlyContinue/);
      assert.doesNotMatch(uninstall.text, /Veeam\.EndPoint\.Manager/);
    });

    it('README.txt explains schedule, install, check and removal', () => {
      const readme = setup.files.find((f) => f.name === 'README.txt')!.text;
      assert.match(readme, /^Lifeboat backup schedule for DC01\n=+\n/);
      assert.ok(readme.includes(MANAGER));
      assert.match(readme, /Schedule:\s+every 3 hours around the clock \(from 22:00\)/);
      assert.match(readme, /powershell\.exe -ExecutionPolicy Bypass -File \.\\install\.ps1/);
      assert.match(readme, /uninstall\.ps1/);
      assert.match(readme, /Exit code 5 from Veeam means a backup was already\s+running: that is not a failure/);
      // Only what Veeam's own daily schedule does not cover; what needs one run on a real server to confirm.
      assert.match(readme, /at the times Veeam's own daily schedule\s+does not cover \(never at 22:00/);
      assert.match(readme, /To confirm on a real server/);
      assert.match(readme, /while a backup is already running: taken here as 5/);
      assert.match(readme, /Whether \/backup waits until the backup has finished/);
      assert.match(readme, /exit codes of Veeam\.Agent\.Configurator\.exe/);
    });
  });
});

describe('lifeboat backup-setup (CLI)', () => {
  let dir: string;
  before(async () => {
    dir = await mkTempDir('backup-setup-cli');
  });
  after(() => removeTempDir(dir));

  it('writes four files per server of the example site; --json lists them with the schedule', async () => {
    const out = join(dir, 'out');
    const r = await lifeboat(['backup-setup', '--site', 'examples/site.yaml', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { servers: { server: string; files: string[]; schedule: { summary: string } }[] };
    assert.deepEqual(report.servers.map((s) => s.server), ['DC01', 'FS01', 'APP01']);
    assert.equal(report.servers[0]!.schedule.summary, 'every 3 hours 07:00-19:00 Monday to Friday, daily at 22:00');
    for (const name of ['DC01', 'FS01', 'APP01']) {
      assert.deepEqual((await readdir(join(out, name))).sort(), ['README.txt', 'backup-task.xml', 'install.ps1', 'uninstall.ps1']);
    }
    const { task } = parseTask(await readFile(join(out, 'FS01', 'backup-task.xml')));
    assert.equal(list(task.Triggers.CalendarTrigger)[0].Repetition.Interval, 'PT3H');
    const human = await lifeboat(['backup-setup', '--site', 'examples/site.yaml', '--out', out]);
    assert.equal(human.code, 0);
    assert.match(human.stderr, /DC01: every 3 hours 07:00-19:00/);
    const bad = await lifeboat(['backup-setup', '--site', join(dir, 'missing.yaml'), '--out', out]);
    assert.equal(bad.code, 2);
  });
});
