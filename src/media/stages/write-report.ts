/** Stage: SHA256SUMS and the build report over every output. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sha256Of } from '../../util/manifest.js';
import { VERSION } from '../../version.js';
import type { BuildReport, OutputInfo } from '../build-types.js';
import { type BuildStage, need } from './context.js';

async function fileSha256(path: string): Promise<string> {
  return sha256Of(createReadStream(path, { highWaterMark: 4 << 20 }));
}

export const writeReport: BuildStage = {
  id: 'write-report',
  async run(ctx) {
    const o = ctx.options;
    const output = need(ctx.output, 'the output set');
    const site = need(ctx.site, 'the site');
    const iso = need(ctx.iso, 'the ISO');
    const usb = need(ctx.usb, 'the USB image');
    const manual = need(ctx.manual, 'the manual');
    const image = need(ctx.image, 'the base image');
    const base = need(ctx.base, 'the base check');
    ctx.say('writing checksums and the build report');
    // Both images were hashed on the way through; only the small block map is read again.
    const outputs: OutputInfo[] = [{ file: iso.name, bytes: iso.bytes, sha256: await iso.sha256 }];
    if (usb.built && usb.name && usb.blockmap) {
      outputs.push({ file: usb.name, bytes: (await stat(output.path(usb.name))).size, sha256: need(usb.sha256, 'the USB image hash') });
      for (const map of [usb.blockmap, usb.bmap]) {
        if (map) outputs.push({ file: map, bytes: (await stat(output.path(map))).size, sha256: await fileSha256(output.path(map)) });
      }
    }
    for (const file of need(ctx.manualFiles, 'the manual files')) {
      if (file) outputs.push({ file, bytes: (await stat(output.path(file))).size, sha256: await fileSha256(output.path(file)) });
    }
    await output.writeText('SHA256SUMS', outputs.map((f) => `${f.sha256}  ${f.file}\n`).join(''));
    const { name: _n, blockmap: _b, bmap: _m, sha256: _s, ...usbReport } = usb;
    const report: BuildReport = {
      format: 'lifeboat-build-report',
      version: 1,
      buildId: need(ctx.buildId, 'the build id'),
      builtAt: ctx.now.toISOString(),
      lifeboatVersion: VERSION,
      site: { id: site.site.id, name: site.site.name, file: resolve(o.siteFile), sha256: await fileSha256(o.siteFile), servers: site.servers.map((s) => s.name) },
      base: { file: resolve(o.base), bytes: image.size, sha256: await need(ctx.baseSha256, 'the base hash'), volumeId: image.primary.volumeId, kind: base.kind },
      unlock: need(ctx.secrets, 'the secrets').unlockKind,
      autostart: need(ctx.autostart, 'the autostart'),
      noPromptBoot: need(ctx.noPromptBoot, 'the --no-prompt-boot plan'),
      usb: usbReport,
      manual,
      drivers: need(ctx.drivers, 'the drivers').counts,
      outputs,
      warnings: ctx.warnings,
    };
    ctx.report = report;
    await output.writeText('build-report.json', `${JSON.stringify(report, null, 2)}\n`);
  },
};
