/** Stages: take the output folder (outputs are staged inside it), and move every output into place at the end. */
import { Staging } from '../staging.js';
import { type BuildStage, need } from './context.js';

export const openOutputs: BuildStage = {
  id: 'open-outputs',
  async run(ctx) {
    ctx.output = await Staging.open(ctx.options.outDir);
  },
};

export const commitOutputs: BuildStage = {
  id: 'commit',
  async run(ctx) {
    ctx.files = await need(ctx.output, 'the output set').commit();
  },
};
