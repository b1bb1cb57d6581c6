/**
 * Stage: the site's ISO, the base remastered with the \lifeboat\ folder and the boot changes. The USB image's bulk is
 * written alongside (see write-usb.ts: it copies the ISO's files behind the ISO writer).
 */
import { open, stat } from 'node:fs/promises';
import { IsoImage, allFiles, remaster } from '../../iso/index.js';
import { sha256FileInWorker } from '../../util/hash-worker.js';
import { outputError } from '../../util/io-errors.js';
import { MEDIA_MANIFEST_PATH, type MediaEntry, isoEntries, patchInPlace, placeholder, placeholderBytes, renderMediaManifest } from '../media-manifest.js';
import { type OverlayFile, manifestFile, sha256OfOverlay } from '../overlay.js';
import { type BuildContext, type BuildStage, need } from './context.js';
import { type IsoFollower, followIso } from './write-usb.js';

export const writeIso: BuildStage = {
  id: 'write-iso',
  async run(ctx) {
    const name = `${need(ctx.site, 'the site').site.id}.iso`;
    ctx.say(`writing ${name}`);
    const all = [...need(ctx.overlay, 'the overlay'), need(ctx.manifest, 'the manifest'), ...need(ctx.replaced, 'the replaced files')];
    const manifestBytes = placeholderBytes([...[...allFiles(need(ctx.image, 'the base image').root)].map((f) => f.path), ...all.map((f) => f.isoPath)]);
    const output = need(ctx.output, 'the output set');
    const out = output.path(name);
    // Written into a handle of ours: the output set makes the whole set durable (no fsync of each file in turn here).
    const handle = await open(out, 'w').catch((e: unknown) => {
      throw outputError(out, e);
    });
    let isoDone = false;
    const usb = ctx.options.usb === false ? undefined : followIso(ctx, out, () => isoDone);
    ctx.usbDraft = usb?.draft;
    try {
      const bytes = await writeImage(ctx, { handle, path: out }, all, manifestBytes, usb).finally(() => handle.close());
      isoDone = true;
      const { entries, manifest } = await fillManifests(ctx, out, manifestBytes);
      if ((await stat(out)).size !== bytes) throw new Error(`${out} changed size while its manifest was written`);
      // The finished image is hashed in a worker and starts going to disk while the USB image is finished.
      const sha256 = sha256FileInWorker(out);
      sha256.catch(() => undefined); // awaited by the manual and the report
      output.syncSoon(name);
      // The USB image carries the same files: their hashes are reused there (names with @ are boot structures).
      const fileHashes = new Map(entries.filter((e) => !e.name.startsWith('@')).map((e) => [`/${e.name.toLowerCase()}`, e.sha256]));
      ctx.iso = { name, bytes, sha256, fileHashes, manifest };
    } catch (e) {
      // The USB image stops with the ISO, before the stage gives up: nothing is left writing.
      usb?.fail(e);
      await usb?.draft.catch(() => undefined);
      throw e;
    }
  },
};

/** The base remastered into `out`, with the manifests as placeholders of their final size; returns its size. */
async function writeImage(ctx: BuildContext, out: Parameters<typeof remaster>[0]['out'], all: readonly OverlayFile[], manifestBytes: number,
  usb: IsoFollower | undefined): Promise<number> {
  const o = ctx.options;
  const iso = await remaster({
    base: o.base,
    out,
    add: all.filter((f): f is OverlayFile & { hostPath: string } => 'hostPath' in f).map((f) => ({ source: f.hostPath, isoPath: f.isoPath })),
    addBytes: [
      ...all.filter((f): f is OverlayFile & { data: Buffer } => 'data' in f).map((f) => ({ isoPath: f.isoPath, data: f.data })),
      { isoPath: MEDIA_MANIFEST_PATH, data: placeholder(manifestBytes) },
    ],
    addPieces: all.filter((f) => 'pieces' in f).map((f) => ({ isoPath: f.isoPath, pieces: f.pieces })),
    remove: need(ctx.remove, 'the removed files'),
    bootImageFiles: need(ctx.bootImageFiles, 'the boot image files'),
    volumeId: need(ctx.image, 'the base image').primary.volumeId,
    date: o.date,
    onProgress: o.onProgress,
    writeBehind: true,
    onLayout: usb?.onLayout,
    onWrittenThrough: usb?.onWrittenThrough,
  });
  return iso.bytes;
}

/**
 * Both manifests, filled in now that every byte they describe is written: MANIFEST.sha256 from the hashes taken
 * meanwhile, then the media manifest (the files MANIFEST.sha256 covers are not read again, the base's other files
 * are read back). Returns the media manifest's entries and MANIFEST.sha256's bytes.
 */
async function fillManifests(ctx: BuildContext, out: string, manifestBytes: number): Promise<{ entries: MediaEntry[]; manifest: Buffer }> {
  const written = await IsoImage.open(out);
  try {
    const hashes = new Map(await need(ctx.fileHashes, 'the file hashes'));
    const manifest = manifestFile(hashes);
    await patchInPlace(out, written.find(manifest.isoPath)!.extents, manifest.data);
    hashes.set(manifest.isoPath, await sha256OfOverlay(manifest));
    const entries = await isoEntries(written, new Map([...hashes].map(([path, sha256]) => [path.toLowerCase(), sha256])));
    await patchInPlace(out, written.find(MEDIA_MANIFEST_PATH)!.extents, renderMediaManifest('iso', entries, manifestBytes));
    return { entries, manifest: manifest.data };
  } finally {
    await written.close();
  }
}
