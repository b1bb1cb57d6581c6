/** Stage: the site description, its driver folders and the programs the media carry, checked before anything is written. */
import { realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { driverFolders, loadSite } from '../../site/index.js';
import { START_CMD } from '../../wim/overlay.js';
import { type OverlayFile, driverFiles, hostFile, isInside } from '../overlay.js';
import type { BuildStage } from './context.js';

export const checkInputs: BuildStage = {
  id: 'check-inputs',
  async run(ctx) {
    const { options: o } = ctx;
    ctx.say('checking the site and the base ISO');
    const site = await loadSite(o.siteFile);
    const files: OverlayFile[] = [];
    const counts: { kind: string; files: number }[] = [];
    const siteDir = await realpath(dirname(resolve(o.siteFile)));
    for (const { kind, dir } of driverFolders(site, o.siteFile)) {
      const real = await realpath(dir).catch(() => dir);
      if (!o.driversOutsideSite && !isInside(real, siteDir)) {
        throw new InputError(
          `drivers.${kind} in ${o.siteFile} points outside the site's folder: "${real}"`,
          `Keep driver folders beside site.yaml (in ${siteDir}), or allow this one with --drivers-outside-site.`,
        );
      }
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
