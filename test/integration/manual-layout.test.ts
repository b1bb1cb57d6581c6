/**
 * The printed manual checked page by page (pdftotext), on the example site and on a site with physical servers
 * only: every server has its VM recipe; the sealed page is alone on an odd page with a blank back, and also its
 * own PDF; files with the recovery code are 0600, the copy to share keeps the normal mode and has no code; no
 * near-empty spill-over pages; the contents give the page of each server sheet; escalation times come from the
 * estimates; the audit command fits the platform; nothing is wider than the page box (checked in the browser with
 * print styles, at the page box's width).
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { buildManualModel, findBrowser, PAGE_MARGINS, renderManual, type ManualInput, type RenderResult } from '../../src/manual/index.js';
import { generateRecoveryCode } from '../../src/secrets/index.js';
import { loadSite, type Site } from '../../src/site/index.js';
import { pdfPages, type PdfPage } from '../helpers/pdf-pages.js';
import { clippedRules } from '../helpers/pdf-raster.js';
import { REPO_ROOT, mkTempDir, removeTempDir } from '../helpers/tools.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'site.yaml');
const PHYSICAL = join(REPO_ROOT, 'test', 'fixtures', 'sites', 'all-physical.yaml');
/** Less than this much of a page used, and not a deliberate blank: a near-empty spill-over. */
const NEAR_EMPTY = 0.3;

const browser = await findBrowser();

interface Printed {
  site: Site;
  input: ManualInput;
  result: RenderResult;
  pages: PdfPage[];
  code: string;
  groups: string[];
}

describe('the printed manual, page by page', { skip: browser ? false : 'no Chromium-family browser to print with', timeout: 240_000 }, () => {
  let dir: string;
  const printed = new Map<string, Printed>();
  before(async () => {
    dir = await mkTempDir('manual-layout');
    for (const [name, file] of [['example', EXAMPLE], ['physical', PHYSICAL]] as const) {
      const site = await loadSite(file);
      const code = generateRecoveryCode().reveal();
      const input: ManualInput = { site, siteFile: file, buildId: `${name}-build-1`, builtAt: new Date('2026-03-01T09:00:00Z'), recoveryCode: code, platform: 'linux' };
      const result = await renderManual(input, join(dir, name), { pdf: true, sealedPage: true });
      assert.ok(result.pdf, `printed (${result.pdfSkipped ?? ''})`);
      printed.set(name, { site, input, result, pages: await pdfPages(result.pdf), code, groups: code.split('-') });
    }
  });
  after(() => removeTempDir(dir));

  for (const name of ['example', 'physical'] as const) {
    test(`${name}: every server has its VM recipe, and its sheet's page is in the contents`, () => {
      const { site, pages, input } = printed.get(name)!;
      const model = buildManualModel(input, { sealedPage: true });
      const page = (title: string) => Number(new RegExp(`${title} page (\\d+)`).exec(pages[1]!.text)?.[1]);
      const [from, to] = [page(model.chapter.vm!.title), page(model.chapter.assistant!.title)];
      assert.ok(from > 2 && to >= from, 'the contents give the VM chapter its pages');
      const vmText = pages.filter((p) => p.number >= from && p.number <= to).map((p) => p.text).join(' ');
      const hypervisors = model.vmGroups.map((g) => g.name);
      for (const s of site.servers) {
        assert.ok(vmText.includes(`${s.name}-restore`), `${s.name}: a new VM is named in the VM chapter`);
        if (s.runsOn.kind === 'physical') {
          if (hypervisors.length === 0) {
            assert.ok(vmText.includes(`${s.name} as a VM on any hypervisor`), `${s.name}: the generic VM block`);
            assert.ok(vmText.includes(`${Math.ceil(s.ramGb)} GB, fixed`), `${s.name}: its memory`);
            assert.ok(vmText.includes(`disk 0${s.disks[0]!.name ? ` (${s.disks[0]!.name})` : ''}: at least ${Math.ceil(s.disks[0]!.sizeGb)} GB`), `${s.name}: its system disk`);
            assert.ok(vmText.includes(s.firmware === 'uefi' ? 'Hyper-V Generation 2' : 'Hyper-V Generation 1'), `${s.name}: the firmware to choose`);
          }
          for (const h of hypervisors) assert.ok(vmText.includes(`${s.name} as a VM on ${h}`), `${s.name}: commands for ${h}, which the site runs`);
          if (hypervisors.includes('Microsoft Hyper-V')) assert.ok(vmText.includes(`-MemoryStartupBytes ${s.ramGb}GB`), `${s.name}: New-VM with its memory`);
          if (hypervisors.includes('Proxmox VE')) assert.ok(vmText.includes(`--name '${s.name}-restore'`), `${s.name}: qm create`);
        }
      }
      assert.ok(vmText.includes('Drivers:'), 'which drivers the assistant injects');
      // Contents: each sheet with its page, and that page is the sheet.
      const contents = pages[1]!.text;
      for (const s of model.servers) {
        const m = new RegExp(`${s.name}: ${s.roleName} page (\\d+)`).exec(contents);
        assert.ok(m, `the contents give ${s.name}'s sheet a page`);
        assert.match(pages[Number(m[1]) - 1]!.text, new RegExp(`${s.name}: ${s.roleName} Name ${s.name}`), `page ${m[1]} is ${s.name}'s sheet`);
      }
    });

    test(`${name}: the sealed page is alone on an odd page with a blank back; no near-empty pages`, async () => {
      const { pages, groups, result } = printed.get(name)!;
      const withCode = pages.filter((p) => groups.some((g) => p.text.includes(g)));
      assert.equal(withCode.length, 1, 'the code is on one page');
      const sealed = withCode[0]!;
      assert.ok(groups.every((g) => sealed.text.includes(g)), 'the whole code');
      assert.equal(sealed.number % 2, 1, `the sealed page is a front (odd) page, not ${sealed.number}`);
      assert.match(sealed.text, /^\d+ Sealed page: recovery code Cut this sheet off/, 'nothing before it on its page');
      assert.doesNotMatch(sealed.text, /Restore log|Glossary|Server sheets/, 'nothing of another chapter on it');
      assert.equal(pages[sealed.number]?.words, 0, 'its back is blank');
      const before = pages[sealed.number - 2]!;
      assert.ok(before.words === 0 || /Restore log/.test(before.text), 'before it: the restore log or a blank page');
      // Blank pages only around the sealed sheet; every other page is either well filled or a sheet of its own.
      for (const p of pages) {
        if (p.words === 0) {
          assert.ok(p.number === sealed.number + 1 || p.number === sealed.number - 1, `page ${p.number} is blank`);
          continue;
        }
        assert.ok(p.fill >= NEAR_EMPTY, `page ${p.number} is near-empty (${Math.round(p.fill * 100)}% used): "${p.text.slice(0, 80)}"`);
      }
      // The sealed sheet as its own PDF: the code on page 1, page 2 blank; and the copy to share has no code.
      const own = await pdfPages(result.sealedFiles!.pdf!);
      assert.equal(own.length, 2);
      assert.ok(groups.every((g) => own[0]!.text.includes(g)));
      assert.equal(own[1]!.words, 0);
      const shared = await pdfPages(result.shareable!.pdf!);
      assert.equal(shared.length, pages.length, 'the copy to share has the same pages');
      assert.ok(shared.every((p) => !groups.some((g) => p.text.includes(g))), 'no code in the copy to share');
      const sharedText = shared.map((p) => p.text).join(' ');
      assert.ok(sharedText.includes('The recovery code is not in this copy of the manual. It was printed from'), 'a note where the code was');
    });

    test(`${name}: files with the code are 0600, the copy to share keeps the normal mode; nothing else is left`, async () => {
      const { result } = printed.get(name)!;
      const folder = join(dir, name);
      const normal = join(folder, 'normal-mode-probe');
      await writeFile(normal, 'x');
      const normalMode = (await stat(normal)).mode & 0o777;
      for (const f of [result.html, result.pdf!, result.sealedFiles!.html, result.sealedFiles!.pdf!]) {
        assert.equal((await stat(f)).mode & 0o777, 0o600, `${f} is 0600`);
      }
      for (const f of [result.shareable!.html, result.shareable!.pdf!]) assert.equal((await stat(f)).mode & 0o777, normalMode, `${f} keeps the normal mode`);
      const names = (await readdir(folder)).filter((f) => f !== 'normal-mode-probe').sort();
      assert.deepEqual(names, result.files.map((f) => f.slice(folder.length + 1)).sort(), 'only the reported files, no temporary ones');
      assert.equal(names.length, 6);
    });

    test(`${name}: escalation times from the estimates; the audit command fits the platform`, async () => {
      const { pages, input, site } = printed.get(name)!;
      const model = buildManualModel(input, { sealedPage: true });
      const all = pages.map((p) => p.text).join(' ');
      for (const s of model.servers) assert.ok(all.includes(`${s.name} not running after ${s.escalateAfter}`), `${s.name}: escalate after ${s.escalateAfter}`);
      assert.ok(all.includes(`all servers not back after ${model.restore.escalateAfter}`));
      assert.doesNotMatch(all, /4 hours after starting/);
      const unc = `--share ${site.share.path}`;
      assert.ok(!all.includes(unc), 'no UNC path in a command for Linux');
      assert.match(all, /sudo mount -t cifs \/\/[\w.-]+\/\S+ \/mnt\/\S+ -o ro,username=/);
      const win = buildManualModel({ ...input, platform: 'win32' }, { sealedPage: false }).auditCommands;
      assert.deepEqual(win.map((c) => c.text), [`lifeboat audit --site ${model.siteFile} ${unc}`]);
      const unknown = buildManualModel({ ...input, platform: undefined }, { sealedPage: false }).auditCommands;
      assert.equal(unknown.length, 2, 'both when the platform is unknown');
    });

    test(`${name}: every table and box keeps its right border on the page (pixels of each page)`, async () => {
      const { result, pages } = printed.get(name)!;
      const clipped: string[] = [];
      for (const p of pages) {
        const rows = await clippedRules(result.pdf!, p.number);
        if (rows.length) clipped.push(`page ${p.number}: ${rows.length} rules without a right end (first at ${rows[0]} px)`);
      }
      assert.deepEqual(clipped, []);
    });

    test(`${name}: nothing is wider than the page box (print styles, at its width)`, async () => {
      const { result } = printed.get(name)!;
      const { chromium } = await import('playwright-core');
      const b = await chromium.launch({ executablePath: browser!, args: ['--no-sandbox', '--headless'], handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
      try {
        const mm = (v: string) => Number(v.replace('mm', ''));
        const widthPx = ((210 - mm(PAGE_MARGINS.left) - mm(PAGE_MARGINS.right)) / 25.4) * 96;
        const page = await b.newPage({ viewport: { width: Math.floor(widthPx), height: 1000 } });
        await page.emulateMedia({ media: 'print' });
        await page.goto(pathToFileURL(result.shareable!.html).href);
        const problems = await page.evaluate((limit) => {
          const out: string[] = [];
          if (document.documentElement.scrollWidth > limit + 1) out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth}px > ${limit}px`);
          for (const el of Array.from(document.body.querySelectorAll('*'))) {
            const style = getComputedStyle(el);
            const r = el.getBoundingClientRect();
            if (r.width === 0 && r.height === 0) continue;
            // In a collapsed table, half of the outer border lines lies outside the boxes, where the page clips it.
            const table = el.closest('table');
            const collapsed = table !== null && getComputedStyle(table).borderCollapse === 'collapse';
            const overhang = collapsed && ['TABLE', 'TD', 'TH'].includes(el.tagName) ? parseFloat(style.borderRightWidth) / 2 : 0;
            if (r.right + overhang > limit + 0.25) out.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}.${el.className}: right edge ${Math.round(r.right + overhang)}px > ${Math.round(limit)}px ("${(el.textContent ?? '').trim().slice(0, 40)}")`);
          }
          return out;
        }, Math.floor(widthPx));
        assert.deepEqual(problems.slice(0, 10), []);
      } finally {
        await b.close();
      }
    });
  }

  test('physical only: vendor driver packs named, a BIOS server\'s VM is legacy, the DC chapter is there', () => {
    const { pages } = printed.get('physical')!;
    const all = pages.map((p) => p.text).join(' ');
    assert.match(all, /loads the dell driver pack from \\lifeboat\\drivers\\dell\\/);
    assert.match(all, /No hpe driver pack is on the media \(site\.yaml has no drivers\.hpe\)/);
    assert.match(all, /ERP1 as a VM on any hypervisor New VM name ERP1-restore Firmware Legacy BIOS/);
    assert.match(all, /Domain controllers: old restore points and USN rollback/);
  });

  test('the example\'s HTML without a code keeps the normal mode and no sealed page', async () => {
    const { input } = printed.get('example')!;
    const out = join(dir, 'nocode');
    const r = await renderManual({ ...input, recoveryCode: undefined }, out, { pdf: false, sealedPage: true });
    assert.equal(r.sealedPage, false);
    assert.equal(r.sealedFiles, undefined);
    await writeFile(join(out, 'probe'), 'x');
    assert.equal((await stat(r.html)).mode & 0o777, (await stat(join(out, 'probe'))).mode & 0o777, 'the normal mode');
    assert.doesNotMatch(await readFile(r.html, 'utf8'), /Sealed page: recovery code/);
  });
});
