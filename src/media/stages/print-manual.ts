/**
 * Stages: the printed restore manual, with the sealed recovery-code page and the media checksums. The browser lays
 * it out and prints it while the images are written (seconds of work that need no image); the cover's checksums,
 * known only once both images are done, go in with one last print.
 */
import { basename } from 'node:path';
import { renderManual } from '../../manual/index.js';
import { type BuildContext, type BuildStage, need } from './context.js';

export const startManual: BuildStage = {
  id: 'start-manual',
  async run(ctx) {
    const secrets = need(ctx.secrets, 'the secrets');
    const output = need(ctx.output, 'the output set');
    const site = need(ctx.site, 'the site');
    const files = [`${site.site.id}.iso`, ...(ctx.options.usb === false ? [] : [`${site.site.id}-usb.img`])];
    let checksums!: (sha256: readonly string[]) => void;
    let abandon!: (why: Error) => void;
    const sha256 = new Promise<readonly string[]>((resolve, reject) => {
      checksums = resolve;
      abandon = reject;
    });
    sha256.catch(() => undefined); // abandoned by a build that stops early, maybe before the manual waits for it
    const printed = renderManual(
      {
        site, siteFile: ctx.options.siteFile, buildId: need(ctx.buildId, 'the build id'), builtAt: ctx.now,
        recoveryCode: secrets.unlockKind === 'recovery-code' ? secrets.unlock.reveal() : undefined,
      },
      output.dir,
      { pdf: true, sealedPage: true, checksumsLater: { files, sha256 } },
    );
    printed.catch(() => undefined); // awaited by printManual, or by the build when it stops early
    ctx.manualJob = { printed, checksums, abandon };
  },
};

export const printManual: BuildStage = {
  id: 'print-manual',
  async run(ctx) {
    const job = need(ctx.manualJob, 'the manual being printed');
    const iso = need(ctx.iso, 'the ISO');
    const usb = need(ctx.usb, 'the USB image');
    const output = need(ctx.output, 'the output set');
    ctx.say('printing the restore manual');
    job.checksums([await iso.sha256, ...(usb.name && usb.sha256 ? [usb.sha256] : [])]);
    const printed = await job.printed;
    ctx.manualJob = undefined;
    for (const file of printed.files) output.path(basename(file));
    ctx.manualFiles = printed.files.map((f) => basename(f));
    ctx.manual = { html: basename(printed.html), pdf: printed.pdf && basename(printed.pdf), pages: printed.pages, sealedPage: printed.sealedPage, reason: printed.pdfSkipped };
    if (printed.pdfSkipped) ctx.warnings.push(`manual printed as HTML only: ${printed.pdfSkipped}`);
  },
};

/** A build that stops before the manual is done: the browser is ended and the manual's unfinished files go. */
export async function stopManual(ctx: BuildContext): Promise<void> {
  const job = ctx.manualJob;
  if (!job) return;
  ctx.manualJob = undefined;
  job.abandon(new Error('the build stopped before the manual was printed'));
  await job.printed.catch(() => undefined);
}
