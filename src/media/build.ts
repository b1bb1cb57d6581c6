/**
 * `lifeboat build`: a site's recovery media from a Veeam recovery ISO, as an ordered list of stages over one build
 * context (in the spirit of Relax-and-Recover's workflows): check the inputs, take the output folder, check the
 * base, seal the vault, add the autostart, compose \lifeboat\, write the ISO and the USB image while the manual is
 * printed, write checksums and the report, and commit the whole set at once.
 */
import type { BuildOptions, BuildReport } from './build-types.js';
import { addAutostart } from './stages/autostart.js';
import { checkBase } from './stages/check-base.js';
import { checkInputs } from './stages/check-inputs.js';
import { commitOutputs, openOutputs } from './stages/outputs.js';
import { composeOverlay } from './stages/compose-overlay.js';
import { type BuildContext, type BuildStage, need } from './stages/context.js';
import { printManual, startManual, stopManual } from './stages/print-manual.js';
import { sealTheVault } from './stages/seal-vault.js';
import { writeIso } from './stages/write-iso.js';
import { writeReport } from './stages/write-report.js';
import { writeUsb } from './stages/write-usb.js';
import { stopHook } from './stop-hook.js';

export type { BuildOptions, BuildReport, BuildSecrets, OutputInfo } from './build-types.js';

export const BUILD_STAGES: readonly BuildStage[] = [
  checkInputs, openOutputs, checkBase, sealTheVault, addAutostart, composeOverlay, startManual, writeIso, writeUsb, printManual, writeReport,
  commitOutputs,
];

export async function buildMedia(o: BuildOptions, stages: readonly BuildStage[] = BUILD_STAGES): Promise<{ report: BuildReport; files: string[] }> {
  const ctx: BuildContext = { options: o, now: o.date ?? new Date(), warnings: [], say: o.onStage ?? (() => undefined) };
  let committed = false;
  try {
    for (const stage of stages) {
      await stopHook(`stage:${stage.id}`);
      await stage.run(ctx);
    }
    committed = true;
    return { report: need(ctx.report, 'the report'), files: need(ctx.files, 'the committed files') };
  } finally {
    await stopManual(ctx);
    await ctx.usbDraft?.catch(() => undefined); // written alongside the ISO: nothing is left writing
    if (!committed) await ctx.output?.dispose();
    await ctx.image?.close();
    ctx.secrets?.sharePassword.wipe();
    ctx.secrets?.unlock.wipe();
    ctx.secrets?.veeamEncryptionPassword?.wipe();
  }
}
