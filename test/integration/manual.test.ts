/**
 * The printed restore manual: rendered for a one-server physical site and a five-server site on every hypervisor,
 * with and without a recovery code; the PDF's text (pdftotext) carries every server, chapter and generated command,
 * each server's backup schedule (src/veeam/schedule.ts), restore time and NAS capacity (src/veeam/capacity.ts);
 * with --share the figures are measured and the server sheet shows the newest restore point; no template leftovers;
 * the recovery code only on the sealed page; no password anywhere. Page images for a visual review are left in
 * $LIFEBOAT_MANUAL_REVIEW when that is set.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { STEPS } from '../../src/assistant/run.js';
import { CHAPTERS, buildManualModel, renderManual, vmPlan, type ManualInput } from '../../src/manual/index.js';
import { generateRecoveryCode } from '../../src/secrets/index.js';
import { loadSite, type Site } from '../../src/site/index.js';
import { capacity, formatGb, restoreTimeEstimate, type MeasuredServer } from '../../src/veeam/capacity.js';
import { discoverChains } from '../../src/veeam/discover.js';
import { measureShare } from '../../src/veeam/feasibility.js';
import { groupServers, pointDetails } from '../../src/veeam/model.js';
import { backupSchedule } from '../../src/veeam/schedule.js';
import { lifeboat } from '../helpers/cli.js';
import { REPO_ROOT, mkTempDir, removeTempDir, run } from '../helpers/tools.js';
import { makeShare, readRealVbm, redate } from '../helpers/veeam-fixtures.js';

const ONE = join(REPO_ROOT, 'test', 'fixtures', 'sites', 'one-physical.yaml');
const FIVE = join(REPO_ROOT, 'test', 'fixtures', 'sites', 'five-mixed.yaml');
/** Its one server, KERSERV, is the server of the real Veeam fixture makeShare writes. */
const TRAINING = join(REPO_ROOT, 'examples', 'scenarios', 'training-site.yaml');
const SHARE_PASSWORD = 'Tr0ub4dor&3-never-printed';
const LEFTOVERS = [/\{\{/, /\}\}/, /undefined/, /NaN/, /\[object Object\]/];

/** Text of the whole PDF, or of page `page`, whitespace collapsed (commands may wrap). */
async function pdfText(pdf: string, page?: number): Promise<string> {
  const range = page === undefined ? [] : ['-f', String(page), '-l', String(page)];
  const r = await run('pdftotext', [...range, '-enc', 'UTF-8', pdf, '-']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/\s+/g, ' ');
}

/**
 * The backup schedule, restore time and NAS capacity the manual must print for the site, computed here from
 * src/veeam/schedule.ts and src/veeam/capacity.ts (measured when `measured` is given).
 */
function expectedFigures(site: Site, measured?: ReadonlyMap<string, MeasuredServer>): string[] {
  const cap = capacity(site, { measured });
  const out: string[] = [];
  site.servers.forEach((s, i) => {
    const schedule = backupSchedule(site, s);
    out.push(schedule.summary, ...schedule.sentences, schedule.taskName);
    const restore = restoreTimeEstimate(cap.servers[i]!.inputs.dataBytes.value, site.nas.linkSpeedGbps);
    out.push(restore.text, restore.sentence, ...restore.assumptions);
    out.push(formatGb(cap.servers[i]!.totalBytes), cap.servers[i]!.formula);
  });
  if (site.servers.length > 1) out.push(formatGb(cap.totalBytes));
  return out;
}

function assertClean(text: string, what: string): void {
  for (const re of LEFTOVERS) assert.doesNotMatch(text, re, `${what} contains ${re}`);
  assert.ok(!text.includes(SHARE_PASSWORD), `${what} contains the share password`);
}

/** Everything site-specific the manual must show, computed from the site (never typed here). */
function expectedValues(site: Site): string[] {
  const out = [site.site.name, site.share.path, site.share.user];
  for (const s of site.servers) out.push(s.name, s.veeamJob, `${s.ramGb} GB`);
  for (const c of site.contacts) out.push(c.name, c.phone);
  return out;
}

describe('lifeboat manual', { timeout: 120_000 }, () => {
  let dir: string;
  let one: Site;
  let five: Site;
  before(async () => {
    dir = await mkTempDir('manual');
    one = await loadSite(ONE);
    five = await loadSite(FIVE);
  });
  after(() => removeTempDir(dir));

  test('five servers on every hypervisor, with a recovery code: chapters, commands, sealed page', async () => {
    const code = generateRecoveryCode().reveal();
    const groups = code.split('-');
    const input: ManualInput = { site: five, siteFile: FIVE, buildId: 'hafen-logistik-test-1', builtAt: new Date('2026-02-01T08:00:00Z'), recoveryCode: code, mediaChecksums: [{ file: 'hafen-logistik.iso', sha256: 'ab'.repeat(32) }] };
    const out = join(dir, 'five');
    const r = await renderManual(input, out, { pdf: true, sealedPage: true });
    assert.ok(r.pdf && r.pages, `a PDF was printed (${r.pdfSkipped ?? ''})`);
    assert.equal(r.sealedPage, true);
    const html = await readFile(r.html, 'utf8');
    const text = await pdfText(r.pdf);
    assertClean(html, 'HTML');
    assertClean(text, 'PDF text');

    const model = buildManualModel(input, { sealedPage: true });
    for (const c of model.chapters) assert.ok(text.includes(c.title), `chapter "${c.title}" is in the PDF`);
    assert.deepEqual(model.chapters.map((c) => c.title), Object.values(CHAPTERS).filter((t) => t !== CHAPTERS.physical));
    for (const v of expectedValues(five)) assert.ok(text.includes(v), `"${v}" is in the PDF`);
    // Schedules, restore times and capacity from the veeam modules, estimated from site.yaml (no share read).
    for (const v of expectedFigures(five)) assert.ok(text.includes(v), `"${v}" is in the PDF`);
    assert.match(text, /assumed: 50% of the disks/);
    // The contents page has page numbers that point at the chapters' first pages.
    for (const c of model.chapters) {
      const m = new RegExp(`${c.number} ${c.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} page (\\d+)`).exec(await pdfText(r.pdf, 2));
      assert.ok(m, `contents list "${c.title}" with a page`);
      assert.ok((await pdfText(r.pdf, Number(m[1]))).includes(`${c.number} ${c.title.split(' ').slice(0, 3).join(' ')}`), `"${c.title}" starts on page ${m[1]}`);
    }
    // The assistant is described with its real screen titles.
    for (const step of STEPS) assert.ok(text.includes(step.title), `assistant screen "${step.title}" is described`);

    // Generated commands, with each server's own firmware, sizes, memory and CPUs.
    const server = (name: string) => five.servers.find((s) => s.name === name)!;
    const hv = server('HDC01');
    assert.ok(text.includes(`New-VM -Name $Name -Generation 2 -MemoryStartupBytes ${hv.ramGb}GB`), 'Hyper-V UEFI: Generation 2');
    assert.ok(text.includes(`-NewVHDSizeBytes ${hv.disks[0]!.sizeGb}GB`));
    assert.ok(text.includes(`Set-VMProcessor -VMName $Name -Count ${hv.cpus}`));
    const esx = server('HSQL01');
    assert.ok(text.includes(`govc vm.create -ds "$DS" -c ${esx.cpus} -m ${esx.ramGb * 1024}`), 'govc with CPUs and MB');
    assert.ok(text.includes('-firmware efi'));
    assert.ok(text.includes(`-size ${esx.disks[2]!.sizeGb}GB`), 'govc adds the third disk');
    assert.ok(text.includes(`-MemoryGB ${esx.ramGb} -DiskGB ${esx.disks.map((d) => d.sizeGb).join(',')}`), 'PowerCLI New-VM');
    const kvm = server('HEX01');
    assert.ok(text.includes(`virt-install --name '${kvm.name}-restore' --memory ${kvm.ramGb * 1024} --vcpus ${kvm.cpus}`));
    assert.ok(!/virt-install[^$]*--boot uefi/.test(text.split('qm create')[0]!.split(`'${kvm.name}-restore'`)[1] ?? ''), 'BIOS KVM: no --boot uefi');
    assert.ok(text.includes(`--disk size=${kvm.disks[1]!.sizeGb},bus=sata`));
    const pve = server('HFS01');
    assert.match(text, new RegExp(`qm create \\$VMID --name '${pve.name}-restore' .*--cores ${pve.cpus} --memory ${pve.ramGb * 1024} .*--bios ovmf --efidisk0`), 'Proxmox UEFI: --bios ovmf');
    assert.ok(text.includes(`--sata1 $STORE:${pve.disks[1]!.sizeGb}`));
    const xen = server('HAPP01');
    assert.ok(text.includes(`xe vm-install template='Windows Server 2019 (64-bit)' new-name-label='${xen.name}-restore'`));
    assert.ok(text.includes('HVM-boot-params:firmware=bios'));
    assert.ok(text.includes(`static-max=${xen.ramGb}GiB`));
    // Keep-the-failed-VM steps per hypervisor.
    for (const s of ['Checkpoint-VM', 'govc snapshot.create', 'virsh snapshot-create-as', 'qm snapshot', 'xe vm-snapshot']) assert.ok(text.includes(s), s);
    // Share and account as the Veeam wizard wants them.
    assert.ok(text.includes(`${five.share.domain}\\${five.share.user}`));

    // The recovery code: on the sealed page, and nowhere else.
    assert.ok(groups.every((g) => html.includes(g)));
    const sealedPages: number[] = [];
    for (let p = 1; p <= r.pages!; p++) {
      const t = await pdfText(r.pdf, p);
      const hits = groups.filter((g) => t.includes(g)).length;
      if (hits) {
        assert.equal(hits, groups.length, `page ${p} has the whole code`);
        assert.ok(t.includes(CHAPTERS.sealed), `page ${p} with the code is the sealed page`);
        sealedPages.push(p);
      }
    }
    assert.equal(sealedPages.length, 1, 'the code is on exactly one page');
  });

  test('the same site without a code has no sealed page; a BIOS Hyper-V VM is Generation 1', async () => {
    const r = await renderManual({ site: five, siteFile: FIVE, recoveryCode: '11111-22222' }, join(dir, 'five-nocode'), { pdf: false, sealedPage: false });
    const html = await readFile(r.html, 'utf8');
    assert.equal(r.sealedPage, false);
    assert.equal(r.pdf, undefined);
    assert.ok(!html.includes(CHAPTERS.sealed) && !html.includes('11111') && !html.includes('22222'));
    assertClean(html, 'HTML');
    const bios = { ...five.servers[0]!, firmware: 'bios' as const };
    const script = vmPlan(bios, 'hyperv', 'x.iso').scripts[0]!.text;
    assert.match(script, /New-VM -Name \$Name -MemoryStartupBytes 8GB/);
    assert.doesNotMatch(script, /-Generation/);
    assert.match(script, /Set-VMDvdDrive -VMName \$Name -ControllerNumber 1/);
  });

  test('one physical server through the CLI: PDF, boot key, no sealed page, no password, escaped names', async () => {
    const out = join(dir, 'one');
    const r = await lifeboat(['manual', '--site', ONE, '--out', out, '--json', '--date', '2026-02-01T08:00:00Z'], { env: { ...process.env, LIFEBOAT_SHARE_PASSWORD: SHARE_PASSWORD } });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { html: string; pdf: string; pages: number; sealedPage: boolean };
    assert.equal(result.sealedPage, false);
    assert.ok(result.pages >= 10, `${result.pages} pages`);
    const html = await readFile(result.html, 'utf8');
    const text = await pdfText(result.pdf);
    assertClean(html, 'HTML');
    assertClean(text, 'PDF text');
    assert.ok(!r.stdout.includes(SHARE_PASSWORD) && !r.stderr.includes(SHARE_PASSWORD));
    assert.ok(html.includes('Praxis Lindner &amp; Partner'), 'the & in the site name is escaped');
    for (const v of expectedValues(one)) assert.ok(text.includes(v), `"${v}" is in the PDF`);
    for (const v of expectedFigures(one)) assert.ok(text.includes(v), `"${v}" is in the PDF`);
    // The server's schedule sentence and restore time, as backupSchedule and restoreTimeEstimate give them.
    const srv = one.servers[0]!;
    const sentence = backupSchedule(one, srv).sentences[0]!;
    const restore = restoreTimeEstimate(capacity(one).servers[0]!.inputs.dataBytes.value, one.nas.linkSpeedGbps);
    assert.ok(text.includes(sentence), `schedule "${sentence}"`);
    assert.ok(text.includes(`${restore.text}: ${restore.sentence}`), `restore estimate "${restore.text}" on the sheet`);
    const model = buildManualModel({ site: one, siteFile: ONE }, { sealedPage: false });
    for (const c of model.chapters) assert.ok(text.includes(c.title), `chapter "${c.title}"`);
    assert.ok(!text.includes(CHAPTERS.sealed));
    // The physical server still has its way into a VM (the site runs no hypervisor: the generic settings).
    assert.ok(text.includes(CHAPTERS.vm) && text.includes(`${srv.name} as a VM on any hypervisor`));
    assert.match(text, /Boot menu key F12/, 'Fujitsu boots with F12');
    assert.match(text, /Boot mode to use UEFI \(GPT disks\)/);
    for (const f of await readdir(out)) assert.ok(!f.includes('.tmp-'), `no temporary file ${f} left`);
    if (process.env.LIFEBOAT_MANUAL_REVIEW) {
      await run('pdftoppm', ['-png', '-r', '50', result.pdf, join(process.env.LIFEBOAT_MANUAL_REVIEW, 'one')]);
    }
  });

  test('--share: measured restore time and capacity; the sheet shows the newest restore point and OS', async () => {
    const training = await loadSite(TRAINING);
    const share = await makeShare({ root: join(dir, 'share'), xml: redate(await readRealVbm(), new Date('2026-01-20T22:04:57Z')) });
    const out = join(dir, 'training');
    const r = await lifeboat(['manual', '--site', TRAINING, '--share', share.root, '--out', out, '--json', '--date', '2026-02-01T08:00:00Z']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { html: string; pdf: string; pages: number };
    const text = await pdfText(result.pdf);
    assertClean(text, 'PDF text');
    assertClean(await readFile(result.html, 'utf8'), 'HTML');

    // The newest point and its OS, read here with the veeam modules.
    const chains = (await discoverChains(share.root)).chains.map((c) => c.chain);
    const kerserv = groupServers(chains, training.servers).servers.find((s) => s.site?.server.name === 'KERSERV');
    const newest = kerserv?.newest?.point;
    assert.ok(newest, 'the fixture has a newest point for KERSERV');
    const os = pointDetails(newest)?.osName;
    assert.ok(os, 'the newest point records its OS');
    const sheetPage = await (async () => {
      for (let p = result.pages; p >= 1; p--) if ((await pdfText(result.pdf, p)).includes('Newest backup on the share')) return p;
      return undefined;
    })();
    assert.ok(sheetPage, 'a sheet shows the newest backup on the share');
    const sheet = await pdfText(result.pdf, sheetPage);
    assert.ok(sheet.includes('KERSERV'), 'the sheet is KERSERV\'s');
    assert.ok(sheet.includes(newest.label), `newest restore point "${newest.label}" on the sheet`);
    assert.ok(sheet.includes(os), `OS "${os}" on the sheet`);

    // Restore time from the used volume sizes measured on the share; capacity measured too.
    const measurement = await measureShare(share.root, training);
    const measured = measurement.measured.get('KERSERV');
    assert.ok(measured?.restoreBytes, 'used volume sizes measured');
    const restore = restoreTimeEstimate(measured.restoreBytes, training.nas.linkSpeedGbps);
    assert.ok(sheet.includes(`${restore.text}: ${restore.sentence}`), `restore estimate "${restore.sentence}" on the sheet`);
    // (A line may break after the hyphen of "backed-up": pdftotext then joins it as "backedup" or "backed- up".)
    const noHyphens = (x: string) => x.replace(/[-\s]/g, '');
    assert.ok(noHyphens(text).includes(noHyphens('measured on the share: used size of the backed-up volumes in the newest restore point')), 'the measured basis is named');
    for (const v of expectedFigures(training, measurement.measured)) assert.ok(text.includes(v), `"${v}" is in the PDF`);
    const estimated = restoreTimeEstimate(capacity(training).servers[0]!.inputs.dataBytes.value, training.nas.linkSpeedGbps);
    assert.ok(!text.includes(estimated.sentence), 'not the estimate from site.yaml disk sizes');
    assert.doesNotMatch(text, /assumed: 50% of the disks/);
  });

  test('--no-pdf writes HTML only; a bad site file is exit 2', async () => {
    const r = await lifeboat(['manual', '--site', ONE, '--out', join(dir, 'html'), '--no-pdf']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(join(dir, 'html'))).sort(), ['praxis-lindner-manual.html']);
    const bad = await lifeboat(['manual', '--site', join(dir, 'missing.yaml'), '--out', join(dir, 'x')]);
    assert.equal(bad.code, 2);
  });

  test('templates and prose contain no site data: every value comes from site.yaml', async () => {
    const files = [
      ...(await readdir(join(REPO_ROOT, 'templates', 'manual'))).map((f) => join(REPO_ROOT, 'templates', 'manual', f)),
      ...(await readdir(join(REPO_ROOT, 'manuals'))).map((f) => join(REPO_ROOT, 'manuals', f)),
    ];
    const values = [...expectedValues(one), ...expectedValues(five)].filter((v) => !/^\d+ GB$/.test(v) && v !== one.share.user && v !== five.share.user);
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      for (const v of values) assert.ok(!text.includes(v), `${f} has "${v}" typed in`);
      if (f.endsWith('.hbs')) assert.doesNotMatch(text, /\{\{\{/, `${f} uses triple-stash`);
    }
  });
});
