/** The assistant's pure parts: wrapping at the console's edge, forms with one-step Esc, site.json, sizes and times. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { duration, gb, pointTime, pointZone } from '../../src/assistant/context.js';
import { askForm } from '../../src/assistant/form.js';
import { BACK, type Back, wrap } from '../../src/assistant/ui.js';
import { checkUnlockInput } from '../../src/assistant/unlock-vault.js';
import { SiteJsonError, parseSiteJson, renderSiteJson } from '../../src/site/site-json.js';
import { loadSite } from '../../src/site/index.js';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/tools.js';
import type { RestorePoint } from '../../src/veeam/model.js';

describe('wrap', () => {
  test('breaks at spaces only, never inside a word, and keeps continuation lines indented', () => {
    const text = 'Target disk: at least 1919 GB for "Entire computer"; at least 144 GB (the used data) for "Manual restore" with shrunk volumes.';
    const lines = wrap(text, 40, '  ').split('\n');
    assert.ok(lines.length > 2);
    for (const l of lines) assert.ok(l.length <= 40, `"${l}" fits`);
    assert.equal(lines.join(' ').replace(/ {2,}/g, ' '), text, 'no character lost or split');
    for (const l of lines.slice(1)) assert.ok(l.startsWith('  ') && !l.startsWith('   '));
  });
  test('a word longer than the line is left whole; short lines and line breaks are kept', () => {
    assert.equal(wrap('short\nline', 10), 'short\nline');
    assert.equal(wrap('a \\\\nas01\\a-very-long-share-name b', 10), 'a\n\\\\nas01\\a-very-long-share-name\nb');
  });
});

describe('askForm', () => {
  test('Esc goes back one field, keeps going back to the first, and Esc on the first leaves', async () => {
    const script: (string | Back)[] = ['10.0.0.5', BACK, '10.0.0.6', '255.255.255.0', BACK, BACK, BACK];
    const asked: string[] = [];
    const field = (key: 'a' | 'b' | 'c') => ({ key, ask: async () => (asked.push(key), script.shift()!) });
    const r = await askForm([field('a'), field('b'), field('c')]);
    assert.equal(r, BACK);
    assert.deepEqual(asked, ['a', 'b', 'a', 'b', 'c', 'b', 'a']);
  });
  test('all answered: the answers by key', async () => {
    const answers = ['x', 'y'];
    const r = await askForm([{ key: 'a', ask: async () => answers.shift()! }, { key: 'b', ask: async () => answers.shift()! }]);
    assert.deepEqual(r, { a: 'x', b: 'y' });
  });
});

describe('parseSiteJson', async () => {
  const site = await loadSite(join(REPO_ROOT, 'examples', 'scenarios', 'training-site.yaml'));
  const text = renderSiteJson({ buildId: 'b1', builtAt: '2026-01-01T00:00:00Z', lifeboatVersion: '1', site, autostart: true, unlock: 'passphrase' });
  test('reads back what renderSiteJson wrote', () => {
    const back = parseSiteJson(text, 'site.json');
    assert.equal(back.site.site.id, 'kerner-training');
    assert.equal(back.site.servers[0]!.firmware, 'uefi');
    assert.equal(back.unlock, 'passphrase');
  });
  test('a damaged or foreign file is refused naming the field', () => {
    const doc = JSON.parse(text);
    doc.site.servers[0].firmware = 'efi';
    assert.throws(() => parseSiteJson(JSON.stringify(doc), 'D:\\lifeboat\\site.json'), (e: Error) => e instanceof SiteJsonError && /D:\\lifeboat\\site\.json .*site\.servers\.0\.firmware/.test(e.message));
    assert.throws(() => parseSiteJson('{"format":"other"}', 'x.json'), /not Lifeboat site data/);
    assert.throws(() => parseSiteJson('{', 'x.json'), /not valid JSON/);
    assert.throws(() => parseSiteJson(' '.repeat(2 << 20), 'x.json'), /larger than/);
  });
});

describe('sizes, durations and restore point times', () => {
  test('gb: MB below 1 GB (an EFI partition is not "0.0 GB")', () => {
    assert.equal(gb(35e6), '35 MB');
    assert.equal(gb(1.5e9), '1.5 GB');
    assert.equal(gb(1920e9), '1920 GB');
    assert.equal(gb(undefined), '?');
  });
  test('duration: days, hours, minutes', () => {
    assert.equal(duration(197), '8 days');
    assert.equal(duration(5.5), '5 hours');
    assert.equal(duration(0.5), '30 minutes');
  });
  test('a point\'s time carries its zone: server time with the offset from UTC, or UTC', () => {
    const local = { year: 2025, month: 7, day: 19, hour: 0, minute: 4, second: 56, text: '07/19/2025 00:04:56' };
    const p = { label: '19 Jul 2025 00:04', local, time: new Date(Date.UTC(2025, 6, 18, 22, 4, 56)) } as unknown as RestorePoint;
    assert.equal(pointZone(p), 'server time (UTC+2)');
    assert.equal(pointTime(p), '19 Jul 2025 00:04 server time (UTC+2)');
    const utc = { label: '18 Jul 2025 22:04 UTC', time: new Date(Date.UTC(2025, 6, 18, 22, 4)) } as unknown as RestorePoint;
    assert.equal(pointTime(utc), '18 Jul 2025 22:04 UTC');
  });
  test('unlock input: a recovery code with a typo is caught per group; anything else is a passphrase', () => {
    assert.equal(checkUnlockInput('correct horse battery staple'), true);
    assert.notEqual(checkUnlockInput('12345-12345-12345-12345-12345-12345'), true);
  });
});

describe('training scenarios', () => {
  test('every folder of examples/scenarios loads, is in the training guide and in `lifeboat assistant --help`', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const { loadScenario } = await import('../../src/platform/simulated/scenario.js');
    const dir = join(REPO_ROOT, 'examples', 'scenarios');
    const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('_')).map((e) => e.name);
    assert.ok(names.length >= 13, names.join(', '));
    for (const n of ['firmware-check-vm', 'read-only-share', 'data-loss']) assert.ok(names.includes(n), `scenario ${n}`);
    const guide = await readFile(join(dir, 'README.md'), 'utf8');
    const help = await readFile(join(REPO_ROOT, 'src', 'cli', 'assistant.ts'), 'utf8');
    for (const n of names) {
      const { scenario } = await loadScenario(join(dir, n));
      assert.ok(scenario.title.length > 0);
      assert.ok(guide.includes(`\`${n}\``), `${n} is in the training guide`);
      assert.ok(help.includes(n), `${n} is in the --help text`);
    }
  });
});
