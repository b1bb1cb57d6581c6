/** Stage: the base ISO is Windows PE recovery media (Veeam's unless --force); its boot.wim is made ready to change. */
import { InputError } from '../../errors.js';
import { IsoImage } from '../../iso/index.js';
import { findWimBackend } from '../../wim/backend.js';
import { bootWimToChange, checkBase as checkBaseImage, checkWinPeLayout } from '../base-check.js';
import { type BuildStage, need } from './context.js';

export const checkBase: BuildStage = {
  id: 'check-base',
  async run(ctx) {
    const output = need(ctx.output, 'the output set');
    const image = await IsoImage.open(ctx.options.base);
    ctx.image = image;
    checkWinPeLayout(image);
    const backend = await findWimBackend(ctx.options.wimTool);
    if (ctx.options.wimTool !== undefined && !backend) throw new InputError(`--wim-tool ${ctx.options.wimTool}: not available on this machine`);
    ctx.bootWim = backend && (await bootWimToChange(image, backend, output.scratch('boot.wim')));
    ctx.base = await checkBaseImage(image, { bootWim: ctx.bootWim, force: ctx.options.force });
    ctx.warnings.push(...ctx.base.warnings);
  },
};
