/** Stage: the assistant starts by itself, through a changed boot.wim (when a WIM tool is here and it is wanted). */
import { installAutostart } from '../../wim/autostart.js';
import { LAUNCH_CMD } from '../../wim/overlay.js';
import { BOOT_WIM } from '../base-check.js';
import type { BuildReport } from '../build-types.js';
import { hostFile } from '../overlay.js';
import { BOOT_WIM_SCRATCH } from './check-base.js';
import { type BuildStage, need } from './context.js';

export const addAutostart: BuildStage = {
  id: 'autostart',
  async run(ctx) {
    const { backend, options: o } = ctx;
    ctx.replaced = [];
    if (!backend || o.autostart === false) {
      const reason = o.autostart === false ? 'turned off with --no-autostart' : 'no WIM tool (wimlib-imagex or DISM) on this machine';
      ctx.autostart = { enabled: false, reason };
      ctx.warnings.push(`no autostart: ${reason}; start the assistant with \\lifeboat\\start.cmd from Veeam's Tools > Command Prompt`);
      return;
    }
    ctx.say(`adding the assistant's autostart to the boot image (${backend.name})`);
    const bootWim = need(ctx.output, 'the output set').scratch(BOOT_WIM_SCRATCH);
    const result = await installAutostart(backend, bootWim, { launcherSource: LAUNCH_CMD });
    const autostart: BuildReport['autostart'] = { enabled: true, tool: backend.name, launches: result.original.apps.map((a) => a.path) };
    ctx.autostart = autostart;
    ctx.replaced.push(await hostFile(BOOT_WIM, bootWim, 'the updated boot.wim'));
  },
};
