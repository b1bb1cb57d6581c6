/** Stage: the printed restore manual, with the sealed recovery-code page and the media checksums. */
import { basename } from 'node:path';
import { renderManual } from '../../manual/index.js';
import { type BuildStage, need } from './context.js';

export const printManual: BuildStage = {
  id: 'print-manual',
  async run(ctx) {
    const secrets = need(ctx.secrets, 'the secrets');
    const iso = need(ctx.iso, 'the ISO');
    const usb = need(ctx.usb, 'the USB image');
    const output = need(ctx.output, 'the output set');
    ctx.say('printing the restore manual');
    const printed = await renderManual(
      {
        site: need(ctx.site, 'the site'), siteFile: ctx.options.siteFile, buildId: need(ctx.buildId, 'the build id'), builtAt: ctx.now,
        recoveryCode: secrets.unlockKind === 'recovery-code' ? secrets.unlock.reveal() : undefined,
        mediaChecksums: [{ file: iso.name, sha256: iso.sha256 }, ...(usb.name && usb.sha256 ? [{ file: usb.name, sha256: usb.sha256 }] : [])],
      },
      output.dir,
      { pdf: true, sealedPage: true },
    );
    for (const file of printed.files) output.path(basename(file));
    ctx.manualFiles = printed.files.map((f) => basename(f));
    ctx.manual = { html: basename(printed.html), pdf: printed.pdf && basename(printed.pdf), pages: printed.pages, sealedPage: printed.sealedPage, reason: printed.pdfSkipped };
    if (printed.pdfSkipped) ctx.warnings.push(`manual printed as HTML only: ${printed.pdfSkipped}`);
  },
};
