/** Stage: the base ISO is Windows PE recovery media (Veeam's unless --force); its boot.wim is copied out to be changed. */
import { InputError } from '../../errors.js';
import { IsoImage } from '../../iso/index.js';
import { findWimBackend } from '../../wim/backend.js';
import { BOOT_WIM, checkBase as checkBaseImage, checkWinPeLayout, extractFile } from '../base-check.js';
import { type BuildStage, need } from './context.js';

export const BOOT_WIM_SCRATCH = 'boot.wim';

export const checkBase: BuildStage = {
  id: 'check-base',
  async run(ctx) {
    const output = need(ctx.output, 'the output set');
    const image = await IsoImage.open(ctx.options.base);
    ctx.image = image;
    checkWinPeLayout(image);
    const backend = await findWimBackend(ctx.options.wimTool);
    if (ctx.options.wimTool !== undefined && !backend) throw new InputError(`--wim-tool ${ctx.options.wimTool}: not available on this machine`);
    ctx.backend = backend;
    const bootWim = output.scratch(BOOT_WIM_SCRATCH);
    if (backend) await extractFile(image, BOOT_WIM, bootWim);
    ctx.base = await checkBaseImage(image, { backend, bootWimCopy: backend ? bootWim : undefined, force: ctx.options.force });
    ctx.warnings.push(...ctx.base.warnings);
  },
};
