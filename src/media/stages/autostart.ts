/** Stage: the assistant starts by itself, through a changed boot.wim (when a WIM tool is here and it is wanted). */
import { installAutostart } from '../../wim/autostart.js';
import { LAUNCH_CMD } from '../../wim/overlay.js';
import { BOOT_WIM } from '../base-check.js';
import type { BuildReport } from '../build-types.js';
import { hostFile } from '../overlay.js';
import type { BuildStage } from './context.js';

export const addAutostart: BuildStage = {
  id: 'autostart',
  async run(ctx) {
    const { bootWim, options: o } = ctx;
    ctx.replaced = [];
    if (!bootWim || o.autostart === false) {
      const reason = o.autostart === false ? 'turned off with --no-autostart' : 'no WIM tool (wimlib-imagex or DISM) on this machine';
      ctx.autostart = { enabled: false, reason };
      ctx.warnings.push(`no autostart: ${reason}; start the assistant with \\lifeboat\\start.cmd from Veeam's Tools > Command Prompt`);
      return;
    }
    const { backend, name, patched } = bootWim;
    ctx.say(`adding the assistant's autostart to the boot image (${backend.name})`);
    const result = await installAutostart(backend, name, { launcherSource: LAUNCH_CMD });
    const autostart: BuildReport['autostart'] = { enabled: true, tool: backend.name, launches: result.original.apps.map((a) => a.path) };
    ctx.autostart = autostart;
    ctx.replaced.push(patched ? { isoPath: BOOT_WIM, pieces: patched.pieces(), size: patched.size } : await hostFile(BOOT_WIM, name, 'the updated boot.wim'));
  },
};
