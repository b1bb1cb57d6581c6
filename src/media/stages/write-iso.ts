/** Stage: the site's ISO, the base remastered with the \lifeboat\ folder and the boot changes. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { IsoImage, allFiles, remaster } from '../../iso/index.js';
import { sha256Of } from '../../util/manifest.js';
import { MEDIA_MANIFEST_PATH, isoEntries, patchInPlace, placeholder, placeholderBytes, renderMediaManifest } from '../media-manifest.js';
import type { OverlayFile } from '../overlay.js';
import { type BuildStage, need } from './context.js';

export const writeIso: BuildStage = {
  id: 'write-iso',
  async run(ctx) {
    const o = ctx.options;
    const name = `${need(ctx.site, 'the site').site.id}.iso`;
    ctx.say(`writing ${name}`);
    const all = [...need(ctx.overlay, 'the overlay'), need(ctx.manifest, 'the manifest'), ...need(ctx.replaced, 'the replaced files')];
    const image = need(ctx.image, 'the base image');
    const manifestBytes = placeholderBytes([...[...allFiles(image.root)].map((f) => f.path), ...all.map((f) => f.isoPath)]);
    const out = need(ctx.output, 'the output set').path(name);
    const iso = await remaster({
      base: o.base,
      out,
      add: all.filter((f): f is OverlayFile & { hostPath: string } => 'hostPath' in f).map((f) => ({ source: f.hostPath, isoPath: f.isoPath })),
      addBytes: [
        ...all.filter((f): f is OverlayFile & { data: Buffer } => 'data' in f).map((f) => ({ isoPath: f.isoPath, data: f.data })),
        { isoPath: MEDIA_MANIFEST_PATH, data: placeholder(manifestBytes) },
      ],
      remove: need(ctx.remove, 'the removed files'),
      bootImageFiles: need(ctx.bootImageFiles, 'the boot image files'),
      volumeId: image.primary.volumeId,
      date: o.date,
      onProgress: o.onProgress,
    });
    // The media manifest is filled in now that every byte it describes is written; then the image is hashed.
    const written = await IsoImage.open(out);
    try {
      const data = renderMediaManifest('iso', await isoEntries(written), manifestBytes);
      await patchInPlace(out, written.find(MEDIA_MANIFEST_PATH)!.extents, data);
    } finally {
      await written.close();
    }
    ctx.iso = { name, bytes: iso.bytes, sha256: await sha256Of(createReadStream(out, { highWaterMark: 4 << 20 })) };
    if ((await stat(out)).size !== iso.bytes) throw new Error(`${out} changed size while its manifest was written`);
  },
};
