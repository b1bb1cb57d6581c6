import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../src/errors.js';
import { askSite, GoBack, InitInterrupted, parseDays, slugify, type Choice, type Prompter } from '../../src/site/init.js';
import { loadDraft, saveDraft, Tape } from '../../src/site/init-tape.js';
import { siteJsonSchema } from '../../src/site/json-schema.js';
import {
  didYouMean,
  driverFolders,
  loadSite,
  MAX_SITE_FILE_BYTES,
  parseSite,
  SiteFileError,
} from '../../src/site/load.js';
import { siteSchema, uncPathProblem, type Site } from '../../src/site/schema.js';
import { renderSiteYaml } from '../../src/site/write.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const example = path.join(root, 'examples/site.yaml');

/** A valid site; the line numbers in the expectations below refer to this text. */
const BASE = [
  'site:', //                                       1
  '  name: Test GmbH', //                           2
  '  id: test-gmbh', //                             3
  'contacts:', //                                   4
  '  - name: Eva Example', //                       5
  '    role: IT', //                                6
  '    phone: +49 30 123456', //                    7
  'share:', //                                      8
  '  path: \\\\nas\\backup', //                     9
  '  user: restore', //                             10
  'servers:', //                                    11
  '  - name: DC01', //                              12
  '    role: dc', //                                13
  '    runsOn: {kind: physical, vendor: dell}', //  14
  '    firmware: uefi', //                          15
  '    ramGb: 16', //                               16
  '    disks: [{sizeGb: 200}]', //                  17
  '    veeamJob: Job 1', //                         18
  '  - name: FS01', //                              19
  '    role: file', //                              20
  '    runsOn:', //                                 21
  '      kind: vm', //                              22
  '      hypervisor: hyperv', //                    23
  '    firmware: uefi', //                          24
  '    ramGb: 8', //                                25
  '    disks:', //                                  26
  '      - sizeGb: 100', //                         27
  '    veeamJob: Job 1', //                         28
  '  - name: APP01', //                             29
  '    role: app', //                               30
  '    runsOn: {kind: vm, hypervisor: proxmox}', // 31
  '    firmware: bios', //                          32
  '    ramGb: 8', //                                33
  '    disks: [{sizeGb: 50}]', //                   34
  '    veeamJob: Job 1', //                         35
];

/** BASE with lines replaced (1-based line number -> new text; null deletes the line). */
function edit(changes: Record<number, string | null>): string {
  return BASE.map((line, i) => (i + 1 in changes ? changes[i + 1] : line))
    .filter((line): line is string => line !== null)
    .join('\n');
}

function errorLines(text: string, file = 'site.yaml'): string[] {
  try {
    parseSite(text, file);
  } catch (error) {
    assert.ok(error instanceof SiteFileError, `expected SiteFileError, got ${String(error)}`);
    assert.ok(error instanceof InputError);
    assert.equal(error.exitCode, 2);
    return error.message.split('\n');
  }
  assert.fail('expected the site to be rejected');
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lifeboat-site-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadSite', () => {
  test('the bundled example loads, with defaults and three servers', async () => {
    const site = await loadSite(example);
    assert.equal(site.site.id, 'muster-stb');
    assert.equal(site.share.path, '\\\\nas01\\veeam');
    assert.equal(site.share.user, 'svc-restore');
    assert.equal(site.rpoHours, 3);
    assert.deepEqual(
      site.servers.map((s) => [s.name, s.runsOn.kind === 'vm' ? s.runsOn.hypervisor : s.runsOn.vendor, s.firmware]),
      [
        ['DC01', 'dell', 'uefi'],
        ['FS01', 'hyperv', 'uefi'],
        ['APP01', 'proxmox', 'bios'],
      ],
    );
    const folders = driverFolders(site, example);
    assert.deepEqual(
      folders.map((f) => f.kind),
      ['virtio', 'hyperv'],
    );
    for (const folder of folders) {
      assert.ok((await readdir(folder.dir)).some((name) => name.endsWith('.inf')), `${folder.dir} holds an INF`);
    }
  });

  test('the base text is valid and gets the defaults', () => {
    const site = parseSite(BASE.join('\n'));
    assert.equal(site.rpoHours, 3);
    assert.equal(site.retentionDays, 7);
    assert.deepEqual(site.nas, { linkSpeedGbps: 1 });
    assert.deepEqual(site.escalation, []);
    assert.deepEqual(site.drivers, {});
    assert.equal(site.schedule, undefined);
  });

  test('an enum error names file, line and path', () => {
    assert.deepEqual(errorLines(edit({ 32: '    firmware: efi' })), ['site.yaml:32: servers[2].firmware: expected "uefi" or "bios"']);
  });

  test('the file name is the one the caller gave', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, edit({ 15: '    firmware: legacy' }));
    await assert.rejects(loadSite(file), {
      name: 'SiteFileError',
      message: `${file}:15: servers[0].firmware: expected "uefi" or "bios"`,
    });
  });

  test('every problem is listed, in line order', () => {
    assert.deepEqual(
      errorLines(
        edit({
          3: '  id: Test GmbH',
          7: '    phone: call me',
          23: '      hypervisor: vmware',
          25: '    ramGb: eight',
          32: '    firmware: efi',
        }),
      ),
      [
        'site.yaml:3: site.id: must be lowercase letters, digits and single dashes, like muster-stb',
        'site.yaml:7: contacts[0].phone: must be a phone number: digits, spaces, + ( ) / . -',
        'site.yaml:23: servers[1].runsOn.hypervisor: expected "esxi", "hyperv", "kvm", "proxmox" or "xen"',
        'site.yaml:25: servers[1].ramGb: expected a number, got the text "eight"',
        'site.yaml:32: servers[2].firmware: expected "uefi" or "bios"',
      ],
    );
  });

  test('a missing field points at its parent', () => {
    assert.deepEqual(errorLines(edit({ 33: null })), ['site.yaml:29: servers[2].ramGb: required field is missing']);
    assert.deepEqual(errorLines(edit({ 8: null, 9: null, 10: null })), ['site.yaml:1: share: required field is missing']);
  });

  test('an unknown discriminator lists the kinds', () => {
    assert.deepEqual(errorLines(edit({ 22: '      kind: virtual' })), [
      'site.yaml:22: servers[1].runsOn.kind: expected "physical" or "vm"',
    ]);
  });

  test('unknown keys are rejected, with "did you mean" when close', () => {
    assert.deepEqual(errorLines(edit({ 16: '    ramGB: 16' })), [
      'site.yaml:12: servers[0].ramGb: required field is missing',
      'site.yaml:16: servers[0].ramGB: unknown key (did you mean "ramGb"?)',
    ]);
    assert.deepEqual(errorLines(`${BASE.join('\n')}\nrpo_hours: 4`), [
      'site.yaml:36: rpo_hours: unknown key (did you mean "rpoHours"?)',
    ]);
    assert.deepEqual(errorLines(`${BASE.join('\n')}\ncolour: red`), [
      'site.yaml:36: colour: unknown key; allowed here: site, contacts, escalation, share, nas, rpoHours, retentionDays, schedule, servers, drivers',
    ]);
    assert.deepEqual(errorLines(edit({ 14: '    runsOn: {kind: physical, vendor: dell, modell: R350}' })), [
      'site.yaml:14: servers[0].runsOn.modell: unknown key (did you mean "model"?)',
    ]);
    assert.equal(didYouMean('firmwre', ['firmware', 'fqdn']), 'firmware');
    assert.equal(didYouMean('xyz', ['firmware', 'fqdn']), undefined);
  });

  test('a password in site.yaml is refused with the reason', () => {
    const lines = errorLines(edit({ 10: '  user: restore\n  password: hunter2' }));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^site\.yaml:11: share\.password: passwords never go in site\.yaml/);
    // Misspelt or elsewhere: still the password message, never a suggestion to write "password".
    const misspelt = errorLines(edit({ 10: '  user: restore\n  pasword: hunter2' }));
    assert.match(misspelt[0] ?? '', /^site\.yaml:11: share\.pasword: unknown key: passwords never go in site\.yaml/);
    const topLevel = errorLines(`${BASE.join('\n')}\nsharePassword: x`);
    assert.match(topLevel[0] ?? '', /^site\.yaml:36: sharePassword: unknown key: passwords never go in site\.yaml/);
  });

  test('a legacy BIOS server with a system disk over 2 TiB is an error; a data disk over 2 TiB or UEFI is fine', () => {
    const lines = errorLines(edit({ 34: '    disks: [{sizeGb: 3000}, {sizeGb: 5000}]' }));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^site\.yaml:34: servers\[2\]\.disks\[0\]\.sizeGb: a legacy BIOS server starts from an MBR disk, which holds at most 2 TiB \(2199 GB\), not 3000 GB/);
    assert.doesNotThrow(() => parseSite(edit({ 34: '    disks: [{sizeGb: 2199}, {sizeGb: 5000}]' })));
    assert.doesNotThrow(() => parseSite(edit({ 32: '    firmware: uefi', 34: '    disks: [{sizeGb: 3000}]' })));
  });

  test('range and format checks', () => {
    assert.deepEqual(errorLines(`${BASE.join('\n')}\nrpoHours: 30\nretentionDays: 0`), [
      'site.yaml:36: rpoHours: must be at most 24',
      'site.yaml:37: retentionDays: must be at least 1',
    ]);
    assert.deepEqual(errorLines(edit({ 9: '  path: //nas/backup' })), [
      'site.yaml:9: share.path: write the share as a Windows UNC path with backslashes, like \\\\nas01\\veeam',
    ]);
    assert.deepEqual(errorLines(edit({ 10: '  user: MUSTER\\restore' })), [
      'site.yaml:10: share.user: give the user name without the domain and put the domain into share.domain',
    ]);
    assert.deepEqual(errorLines(edit({ 12: '  - name: THIS-NAME-IS-TOO-LONG' })), [
      'site.yaml:12: servers[0].name: must be a Windows computer name: 1-15 letters, digits and dashes, not starting or ending with a dash',
    ]);
    assert.deepEqual(errorLines(edit({ 17: '    disks: []' })), ['site.yaml:17: servers[0].disks: must list at least one disk']);
    assert.deepEqual(errorLines(edit({ 19: '  - name: dc01' })), ['site.yaml:19: servers[1].name: "dc01" is already used by servers[0]']);
    assert.deepEqual(
      errorLines(`${BASE.join('\n')}\nschedule:\n  window: {days: [mon, fri], from: "18:00", to: "08:00"}\n  dailyAt: "25:00"`),
      [
        'site.yaml:37: schedule.window.to: must be later than from',
        'site.yaml:38: schedule.dailyAt: must be a time of day as HH:MM (24 hours), like 07:30',
      ],
    );
  });

  test('UNC paths', () => {
    assert.equal(uncPathProblem('\\\\nas01\\veeam'), undefined);
    assert.equal(uncPathProblem('\\\\192.168.1.10\\backup\\agents'), undefined);
    assert.match(uncPathProblem('\\\\nas01') ?? '', /share name/);
    assert.match(uncPathProblem('\\\\nas01\\veeam\\') ?? '', /empty parts/);
    assert.match(uncPathProblem('nas01\\veeam') ?? '', /two backslashes/);
    assert.match(uncPathProblem('\\\\nas_01\\veeam') ?? '', /not a valid server name/);
    assert.match(uncPathProblem('\\\\nas01\\vee*am') ?? '', /not allowed/);
  });

  test('YAML syntax errors carry their line', () => {
    assert.deepEqual(errorLines(edit({ 17: '    disks: [{sizeGb: 200}' })).map((l) => l.replace(/: YAML syntax: .*/, '')), [
      'site.yaml:18',
    ]);
    assert.match(errorLines(edit({ 16: '    ramGb: 16\n    ramGb: 17' }))[0] ?? '', /^site\.yaml:17: YAML syntax: Map keys must be unique/);
    assert.match(errorLines(`${BASE.join('\n')}\n---\nsite: {}`)[0] ?? '', /^site\.yaml:36: YAML syntax: Source contains multiple documents/);
    assert.match(errorLines('site:\n\tname: x')[0] ?? '', /^site\.yaml:2: YAML syntax: Tabs are not allowed/);
  });

  test('hostile files: empty, not a mapping, alias bombs, __proto__, huge, not UTF-8', async () => {
    assert.deepEqual(errorLines(''), ['site.yaml:1: the file is empty']);
    assert.deepEqual(errorLines('- a\n- b'), ['site.yaml:1: expected a mapping (key: value lines), got a list']);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 6; i++) bomb.push(`${'bcdef'[i - 1]}: &${'bcdef'[i - 1]} [${new Array(10).fill(`*${'abcde'[i - 1]}`).join(', ')}]`);
    assert.match(errorLines(bomb.join('\n'))[0] ?? '', /^site\.yaml:1: YAML: Excessive alias count/);
    assert.match(errorLines('site: *nowhere')[0] ?? '', /^site\.yaml:1: YAML: Unresolved alias/);
    assert.ok(errorLines(`${BASE.join('\n')}\n__proto__: {polluted: true}`).includes('site.yaml:36: __proto__: unknown key; allowed here: site, contacts, escalation, share, nas, rpoHours, retentionDays, schedule, servers, drivers'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);

    const huge = path.join(dir, 'huge.yaml');
    await writeFile(huge, `# ${'x'.repeat(MAX_SITE_FILE_BYTES)}\n`);
    await assert.rejects(loadSite(huge), (error: unknown) => error instanceof InputError && /at most 1048576 bytes/.test(error.message));
    const latin1 = path.join(dir, 'latin1.yaml');
    await writeFile(latin1, Buffer.from('site:\n  name: M\xfcller\n', 'latin1'));
    await assert.rejects(loadSite(latin1), { message: `${latin1}:1: is not UTF-8 text` });
    await assert.rejects(loadSite(path.join(dir, 'missing.yaml')), (error: unknown) => error instanceof InputError && /no such file/.test(error.message));
    await assert.rejects(loadSite(dir), (error: unknown) => error instanceof InputError && /is a directory/.test(error.message));
  });

  test('aliases within the limit work', () => {
    const text = edit({ 7: '    phone: &p +49 30 123456' }) + '\nescalation:\n  - {name: Desk, phone: *p, when: always}';
    assert.equal(parseSite(text).escalation[0]?.phone, '+49 30 123456');
  });
});

describe('siteJsonSchema', () => {
  test('is JSON with the servers items and descriptions', () => {
    const schema = JSON.parse(JSON.stringify(siteJsonSchema())) as {
      $schema: string;
      properties: Record<string, { description?: string; items?: { properties: Record<string, { enum?: string[]; description?: string }>; required: string[] } }>;
      required: string[];
    };
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    const servers = schema.properties.servers;
    assert.ok(servers?.items);
    assert.deepEqual(servers.items.properties.firmware?.enum, ['uefi', 'bios']);
    assert.deepEqual(servers.items.properties.role?.enum, ['dc', 'sql', 'exchange', 'file', 'app']);
    assert.ok(servers.items.required.includes('veeamJob'));
    assert.deepEqual(schema.required.sort(), ['contacts', 'servers', 'share', 'site']);
    for (const [key, property] of Object.entries(schema.properties)) {
      assert.ok(property.description, `${key} has a description`);
    }
    for (const [key, property] of Object.entries(servers.items.properties)) {
      assert.ok(property.description, `servers.${key} has a description`);
    }
  });
});

describe('renderSiteYaml', () => {
  test('the example round-trips and is commented', async () => {
    const site = await loadSite(example);
    const text = renderSiteYaml(site);
    assert.deepEqual(parseSite(text), site);
    assert.match(text, /# Boot firmware: uefi \(GPT disks\) or bios \(MBR disks\)/);
    assert.match(text, /# Passwords never go in site\.yaml|Never set this/);
    assert.match(text, /# vmware: \(optional\)/);
    assert.doesNotMatch(text, /\(optional\).*\(optional/, '"(optional)" is said once per setting');
    // One comment block per setting: a blank line before every comment that follows a setting.
    assert.doesNotMatch(text, /^[ ]*[\w-]+: .+\n[ ]*# /m, 'a comment block right under a setting');
    // Comments only on the first entry of a list.
    assert.equal(text.match(/# Boot firmware/g)?.length, 1);
    assert.match(text, /dailyAt: "22:00"/);
  });

  test('a bare render round-trips too, and awkward strings survive', () => {
    const site = siteSchema.parse({
      site: { name: 'Müller & Söhne: "Bau" #1', id: 'mueller-bau' },
      contacts: [{ name: 'Null', role: 'true', phone: '0891234' }],
      share: { path: '\\\\10.0.0.5\\Backups\\Veeam Agents', user: 'backup#reader', domain: 'nas-01' },
      servers: [
        {
          name: '2SERVER',
          role: 'exchange',
          runsOn: { kind: 'vm', hypervisor: 'esxi' },
          firmware: 'uefi',
          ramGb: 12.5,
          disks: [{ sizeGb: 80 }],
          veeamJob: '2024',
          os: 'yes',
        },
      ],
    });
    for (const bare of [true, false]) {
      const back = parseSite(renderSiteYaml(site, { bare }));
      assert.deepEqual(back, site);
    }
    assert.ok(!renderSiteYaml(site, { bare: true }).includes('#  '));
    // Left-out optional settings are listed as comments, each "(optional)" once, each a block of its own.
    const text = renderSiteYaml(site);
    assert.match(text, /# email: E-mail address \(optional\)\./);
    assert.doesNotMatch(text, /\(optional\).*\(optional/);
    assert.match(text, /# fqdn: .*\n\n[ ]*# Main role/, 'blank line between the left-out block and the next setting\'s comment');
  });
});

describe('askSite (lifeboat init)', () => {
  type Answer = string | number | boolean | undefined;

  /** Answers questions in order; each answer must pass the question's validation unless marked as expected to fail. */
  class ScriptedPrompter implements Prompter {
    readonly asked: string[] = [];
    readonly rejected: string[] = [];
    constructor(private readonly answers: [RegExp, Answer | { invalid: Answer }][]) {}

    private next(message: string): Answer {
      this.asked.push(message);
      const entry = this.answers.shift();
      assert.ok(entry, `no scripted answer for "${message}"`);
      const [pattern, answer] = entry;
      assert.match(message, pattern);
      if (typeof answer === 'object' && answer !== null && 'invalid' in answer) {
        this.rejected.push(message);
        return { invalid: answer.invalid } as unknown as Answer;
      }
      return answer;
    }

    private async validated<T extends Answer>(message: string, validate: ((v: T) => true | string) | undefined, fallback?: T): Promise<T> {
      for (;;) {
        let answer = this.next(message) as unknown;
        const invalid = typeof answer === 'object' && answer !== null && 'invalid' in answer;
        if (invalid) answer = (answer as { invalid: T }).invalid;
        if (answer === '' && fallback !== undefined) answer = fallback;
        const verdict = validate ? validate(answer as T) : true;
        if (invalid) {
          assert.notEqual(verdict, true, `"${String(answer)}" should be rejected for "${message}"`);
          continue;
        }
        assert.equal(verdict, true, `"${String(answer)}" rejected for "${message}": ${String(verdict)}`);
        return answer as T;
      }
    }

    input(q: { message: string; default?: string; validate?: (v: string) => true | string }): Promise<string> {
      return this.validated<string>(q.message, q.validate, q.default);
    }
    number(q: { message: string; default?: number; validate?: (v: number | undefined) => true | string }): Promise<number | undefined> {
      return this.validated<number | undefined>(q.message, q.validate, q.default);
    }
    async select<T extends string>(q: { message: string; choices: readonly Choice<T>[]; default?: T }): Promise<T> {
      const answer = this.next(q.message);
      const choice = q.choices.find((c) => c.value === answer);
      assert.ok(choice, `"${String(answer)}" is not a choice for "${q.message}"`);
      return choice.value;
    }
    async confirm(q: { message: string }): Promise<boolean> {
      const answer = this.next(q.message);
      assert.equal(typeof answer, 'boolean');
      return answer as boolean;
    }
  }

  test('a scripted session gives a valid site that renders and loads back', async () => {
    const prompter = new ScriptedPrompter([
      [/Name of the business/, 'Bäckerei Groß & Co'],
      [/site id/, ''], // take the default: the slug
      [/Contact 1: name/, 'Jana Neu'],
      [/Contact 1: role/, 'Owner'],
      [/Contact 1: phone/, { invalid: 'ring ring' }],
      [/Contact 1: phone/, '+49 40 555 0100'],
      [/Contact 1: e-mail/, ''],
      [/another contact/, false],
      [/escalation phone number/, true],
      [/Escalation 1: name/, 'IT-Dienst Nord'],
      [/Escalation 1: phone/, '+49 40 555 0199'],
      [/Escalation 1: when/, 'restore fails'],
      [/another escalation/, false],
      [/UNC path/, { invalid: '//nas/backup' }],
      [/UNC path/, '\\\\nas\\backup'],
      [/User for reading/, 'restore'],
      [/Domain of that user/, 'NAS'],
      [/NAS host/, ''],
      [/Gbit\/s/, 10],
      [/Recovery point objective/, { invalid: 48 }],
      [/Recovery point objective/, 4],
      [/Days of restore points/, ''],
      [/business hours/, true],
      [/Business days/, { invalid: 'weekdays' }],
      [/Business days/, 'mon-fri, sat'],
      [/hours start/, '06:00'],
      [/hours end/, '20:00'],
      [/daily backup job/, ''],
      [/Server 1: Windows computer name/, 'SRV01'],
      [/SRV01: fully qualified/, ''],
      [/SRV01: main role/, 'file'],
      [/SRV01: runs on/, 'physical'],
      [/SRV01: hardware vendor/, 'hpe'],
      [/SRV01: model/, 'ProLiant ML30'],
      [/SRV01: boot firmware/, 'uefi'],
      [/SRV01: number of CPUs/, undefined],
      [/SRV01: memory/, 32],
      [/SRV01: number of disks/, 2],
      [/SRV01: disk 1 label/, ''],
      [/SRV01: disk 1 size/, 240],
      [/SRV01: disk 2 label/, 'daten'],
      [/SRV01: disk 2 size/, 4000],
      [/SRV01: Veeam backup job/, ''],
      [/SRV01: operating system/, 'Windows Server 2022'],
      [/Add another server/, true],
      [/Server 2: Windows computer name/, { invalid: 'srv01' }],
      [/Server 2: Windows computer name/, 'SQL01'],
      [/SQL01: fully qualified/, 'sql01.baeckerei.local'],
      [/SQL01: main role/, 'sql'],
      [/SQL01: runs on/, 'vm'],
      [/SQL01: hypervisor/, 'kvm'],
      [/SQL01: boot firmware/, 'bios'],
      [/SQL01: number of CPUs/, 4],
      [/SQL01: memory/, 16],
      [/SQL01: number of disks/, 1],
      [/SQL01: disk 1 label/, ''],
      [/SQL01: disk 1 size/, 120],
      [/SQL01: Veeam backup job/, 'SQL nightly'],
      [/SQL01: operating system/, ''],
      [/Add another server/, false],
      [/virtio drivers/, ''], // drivers/virtio exists: offered and taken
      [/HPE driver pack/, { invalid: 'drivers/hpe' }], // no such folder: not taken
      [/HPE driver pack/, ''],
      [/other drivers/, ''],
    ]);
    const siteDir = await mkdtemp(path.join(tmpdir(), 'lifeboat-init-'));
    await mkdir(path.join(siteDir, 'drivers', 'virtio'), { recursive: true });
    const site: Site = await askSite(prompter, { siteDir }).finally(() => rm(siteDir, { recursive: true, force: true }));
    assert.equal(site.nas.host, 'nas', 'the NAS host is offered from the share path');
    assert.equal(site.site.id, 'baeckerei-gross-co');
    assert.equal(site.rpoHours, 4);
    assert.equal(site.retentionDays, 7);
    assert.deepEqual(site.schedule, { window: { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], from: '06:00', to: '20:00' }, dailyAt: '22:00' });
    assert.deepEqual(site.servers[0]?.disks, [
      { name: 'system', sizeGb: 240 },
      { name: 'daten', sizeGb: 4000 },
    ]);
    assert.equal(site.servers[0]?.veeamJob, 'Backup Job 1');
    assert.deepEqual(site.servers[1]?.runsOn, { kind: 'vm', hypervisor: 'kvm' });
    assert.deepEqual(site.drivers, { virtio: 'drivers/virtio' });
    assert.equal(prompter.rejected.length, 6);
    assert.deepEqual(parseSite(renderSiteYaml(site)), site);
  });

  /** A prompter that answers from a list; the string 'ESC' throws GoBack, 'CTRL-C' an inquirer ExitPromptError. */
  function listPrompter(list: (string | number | boolean | undefined)[], seen: { message: string; default: unknown; invalid?: string }[] = []): Prompter {
    const next = (message: string, def: unknown, validate?: (v: never) => true | string) => {
      for (;;) {
        const a = list.shift();
        if (a === 'ESC') throw new GoBack();
        if (a === 'CTRL-C') throw Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' });
        const value = a === '' && def !== undefined ? def : a;
        const verdict = validate ? validate(value as never) : true;
        seen.push({ message, default: def, invalid: verdict === true ? undefined : verdict });
        if (verdict === true) return value;
        assert.ok(list.length > 0, `"${String(a)}" was refused for "${message}": ${verdict}`);
      }
    };
    return {
      input: async (q) => next(q.message, q.default, q.validate as never) as string,
      number: async (q) => next(q.message, q.default, q.validate as never) as number | undefined,
      select: async (q) => next(q.message, q.default) as never,
      confirm: async (q) => next(q.message, q.default) as boolean,
    };
  }
  const START = ['Acme', '', 'Al', 'Owner', '+49 1 2345', '', false, false, '\\\\nas9\\b', 'u', ''];

  test('each answer is checked in context: window end after start, a BIOS system disk over 2 TiB', async () => {
    const seen: { message: string; default: unknown; invalid?: string }[] = [];
    const p = listPrompter([...START, '', 1, 3, 7, true, 'mon-fri', '09:00', '08:00', '17:00', '',
      'S1', '', 'app', 'vm', 'kvm', 'bios', undefined, 8, 1, '', 3000, 2000, '', '', false, '', ''], seen);
    const site = await askSite(p, { siteDir: tmpdir() });
    assert.equal(seen.find((q) => q.message.startsWith('NAS host'))?.default, 'nas9', 'NAS host offered from the share');
    const end = seen.filter((q) => q.message.startsWith('Business hours end'));
    assert.match(end[0]?.invalid ?? '', /later than the start, 09:00/);
    const disk = seen.filter((q) => q.message.startsWith('S1: disk 1 size'));
    assert.match(disk[0]?.invalid ?? '', /legacy BIOS.*MBR.*2 TiB/);
    assert.equal(disk[1]?.invalid, undefined);
    assert.deepEqual(site.schedule?.window, { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' });
    assert.equal(site.servers[0]?.disks[0]?.sizeGb, 2000);
    assert.deepEqual(site.drivers, {}, 'no driver folder exists: none is suggested or set');
  });

  test('Esc goes back exactly one question and offers the earlier answer; Ctrl-C carries the answers for a draft', async () => {
    const seen: { message: string; default: unknown }[] = [];
    // Esc at "Contact 1: role" goes back to "Contact 1: name", whose earlier answer is the default.
    const p = listPrompter(['Acme', '', 'Al', 'ESC', '', 'Owner', 'CTRL-C'], seen);
    const err = await askSite(p).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof InitInterrupted, String(err));
    assert.deepEqual(err.answers, ['Acme', 'acme', 'Al', 'Owner']);
    const names = seen.filter((q) => q.message === 'Contact 1: name');
    assert.equal(names.length, 2, 'the name was asked again after Esc');
    assert.equal(names[1]?.default, 'Al');
    // The draft round-trips through its file and replays silently: only the next question is asked.
    const dir = await mkdtemp(path.join(tmpdir(), 'lifeboat-draft-'));
    try {
      const file = path.join(dir, 'site.yaml.draft.json');
      await saveDraft(file, err.answers);
      const answers = await loadDraft(file);
      const asked: { message: string; default: unknown }[] = [];
      const rest = listPrompter(['+49 1 2345', 'CTRL-C'], asked);
      const again = await askSite(rest, { answers }).then(() => undefined, (e: unknown) => e);
      assert.ok(again instanceof InitInterrupted);
      assert.deepEqual(asked.map((q) => q.message), ['Contact 1: phone (with country code)']);
      await writeFile(file, '{"format":"other"}');
      await assert.rejects(loadDraft(file), /not a lifeboat init draft/);
      await assert.rejects(loadDraft(path.join(dir, 'none.json')), /no draft to resume/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a draft answer that no longer fits is asked again; Esc at the first question stays there', async () => {
    const tape = new Tape(['Acme', 'NOT A SLUG!']);
    assert.equal(await tape.next((v) => typeof v === 'string', async () => 'x'), 'Acme');
    assert.equal(await tape.next((v) => typeof v === 'string' && /^[a-z-]+$/.test(v), async () => 'acme'), 'acme');
    assert.deepEqual(tape.answers, ['Acme', 'acme']);
    assert.equal(new Tape().back(), false);
    const seen: { message: string; default: unknown }[] = [];
    const err = await askSite(listPrompter(['ESC', 'Acme', 'CTRL-C'], seen)).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof InitInterrupted);
    assert.deepEqual(err.answers, ['Acme']);
  });

  test('helpers', () => {
    assert.deepEqual(parseDays('mon-wed,fri'), ['mon', 'tue', 'wed', 'fri']);
    assert.throws(() => parseDays('fri-mon'), /not a day or range/);
    assert.equal(slugify('Müller & Söhne GmbH'), 'mueller-soehne-gmbh');
    assert.equal(slugify('Café Crème'), 'cafe-creme');
    assert.equal(slugify('!!!'), 'site');
  });
});
