/** Which site and build this is, and whether the media reads back as it was written. */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MANIFEST_PATH, parseManifest, sha256Of } from '../../util/manifest.js';
import type { AssistantState, Outcome, Step } from '../context.js';
import { BACK, type Ui } from '../ui.js';

/** A yes/no on the very first screen: there is no step before it, so Esc asks again. */
async function firstConfirm(ui: Ui, message: string): Promise<boolean> {
  for (;;) {
    const r = await ui.confirm(message, false);
    if (r !== BACK) return r;
    ui.say('This is the first screen: there is no step before it.');
  }
}

/** Ending on damaged media: what to do instead of starting Veeam from it. */
function damagedEnd(state: AssistantState): Outcome {
  state.endNote = 'Write the USB image to another stick (lifeboat flash) or use the ISO, and boot from that.';
  return 'quit';
}

export const start: Step = {
  id: 'start',
  title: 'Restore kit and media check',
  async run({ ui, log, media, state }) {
    const { site, build } = media;
    ui.say(`Restore kit for ${media.siteName}, build ${build.buildId} (${build.builtAt.slice(0, 10)})`);
    ui.say(`Servers: ${site.servers.map((s) => `${s.name} (${s.role})`).join(', ')}`);
    ui.say(`Backups on ${site.share.path}`);
    log.write(`site ${media.siteId} build ${build.buildId}`);
    let entries;
    try {
      entries = parseManifest(await readFile(join(media.root, ...MANIFEST_PATH.split('/')), 'utf8'));
    } catch (e) {
      ui.warn(`The media's checksum list cannot be read (${(e as Error).message}). The media may be damaged.`);
      log.write(`media check: manifest unreadable: ${(e as Error).message}`);
      state.mediaOk = false;
      return (await firstConfirm(ui, 'Continue anyway? (better: use another copy of the media)')) ? 'next' : damagedEnd(state);
    }
    const bad: string[] = [];
    let done = 0;
    for (const e of entries) {
      const path = join(media.root, ...e.path.split('/'));
      const size = await stat(path).then((s) => s.size, () => undefined);
      if (size === undefined) bad.push(`${e.path} is missing`);
      else if ((await sha256Of(createReadStream(path, { highWaterMark: 1 << 20 }))) !== e.sha256) bad.push(`${e.path} is damaged`);
      done++;
      if (size !== undefined && size > 50e6) ui.say(`  checked ${done} of ${entries.length} files (${e.path}, ${Math.round(size / 1e6)} MB)`);
    }
    state.mediaOk = bad.length === 0;
    log.write(`media check: ${entries.length} files, ${bad.length} bad${bad.length ? `: ${bad.join('; ')}` : ''}`);
    if (bad.length === 0) {
      ui.ok(`Media check: all ${entries.length} files are as they were written.`);
      return 'next';
    }
    ui.warn('THE MEDIA IS DAMAGED: the USB stick or ISO was not written correctly.');
    for (const b of bad.slice(0, 8)) ui.warn(`  ${b}`);
    ui.say('Write the USB image to another stick (lifeboat flash verifies it), or use the ISO, then start again.');
    return (await firstConfirm(ui, 'Continue with damaged media anyway? (not recommended)')) ? 'next' : damagedEnd(state);
  },
};
