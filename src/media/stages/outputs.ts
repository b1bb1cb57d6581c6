/** Stages: take the output folder (the new set is written beside it), and switch it to the whole set at the end. */
import { OutputSet } from '../output-set.js';
import { type BuildStage, need } from './context.js';

export const openOutputs: BuildStage = {
  id: 'open-outputs',
  async run(ctx) {
    ctx.output = await OutputSet.open(ctx.options.outDir);
  },
};

export const commitOutputs: BuildStage = {
  id: 'commit',
  async run(ctx) {
    ctx.files = await need(ctx.output, 'the output set').commit(need(ctx.buildId, 'the build id'));
  },
};
