/** Stage: the site description, its driver folders and the programs the media carry, checked before anything is written. */
import { driverFolders, loadSite } from '../../site/index.js';
import { START_CMD } from '../../wim/overlay.js';
import { type OverlayFile, driverFiles, hostFile } from '../overlay.js';
import type { BuildStage } from './context.js';

export const checkInputs: BuildStage = {
  id: 'check-inputs',
  async run(ctx) {
    const { options: o } = ctx;
    ctx.say('checking the site and the base ISO');
    const site = await loadSite(o.siteFile);
    const files: OverlayFile[] = [];
    const counts: { kind: string; files: number }[] = [];
    for (const { kind, dir } of driverFolders(site, o.siteFile)) {
      const found = await driverFiles(kind, dir);
      files.push(...found);
      counts.push({ kind, files: found.length });
    }
    ctx.site = site;
    ctx.drivers = { files, counts };
    ctx.programs = [
      await hostFile('/lifeboat/assistant.exe', o.assistantExe, 'assistant.exe'),
      await hostFile('/lifeboat/start.cmd', START_CMD, 'start.cmd'),
    ];
  },
};
