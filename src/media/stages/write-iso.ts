/** Stage: the site's ISO, the base remastered with the \lifeboat\ folder and the boot changes. */
import { remaster } from '../../iso/index.js';
import type { OverlayFile } from '../overlay.js';
import { type BuildStage, need } from './context.js';

export const writeIso: BuildStage = {
  id: 'write-iso',
  async run(ctx) {
    const o = ctx.options;
    const name = `${need(ctx.site, 'the site').site.id}.iso`;
    ctx.say(`writing ${name}`);
    const all = [...need(ctx.overlay, 'the overlay'), need(ctx.manifest, 'the manifest'), ...need(ctx.replaced, 'the replaced files')];
    const iso = await remaster({
      base: o.base,
      out: need(ctx.output, 'the output set').path(name),
      add: all.filter((f): f is OverlayFile & { hostPath: string } => 'hostPath' in f).map((f) => ({ source: f.hostPath, isoPath: f.isoPath })),
      addBytes: all.filter((f): f is OverlayFile & { data: Buffer } => 'data' in f).map((f) => ({ isoPath: f.isoPath, data: f.data })),
      remove: need(ctx.remove, 'the removed files'),
      bootImageFiles: need(ctx.bootImageFiles, 'the boot image files'),
      volumeId: need(ctx.image, 'the base image').primary.volumeId,
      date: o.date,
      onProgress: o.onProgress,
      sha256: true,
    });
    ctx.iso = { name, bytes: iso.bytes, sha256: iso.sha256! };
  },
};
