/**
 * The USB image: every file of the ISO on FAT32, BIOS boot through syslinux when the host has it. Its bulk is written
 * while the ISO is (`followIso`, started by the write-iso stage): it copies each of the ISO's files as soon as the
 * ISO writer has passed it, so the two images are written side by side instead of one after the other. The stage
 * then finishes it: the ISO's final MANIFEST.sha256, syslinux, its own media manifest, its block maps.
 */
import { IsoImage, allFiles } from '../../iso/index.js';
import { FatImage } from '../../usb/fat32-reader.js';
import { MEDIA_MANIFEST_PATH, patchInPlace, placeholder, placeholderBytes, renderMediaManifest, usbEntries } from '../media-manifest.js';
import { SYSLINUX_DIR, type SyslinuxFiles, findSyslinux, installSyslinux, isSyslinuxMissing, syslinuxTreeEntries } from '../../usb/bios-boot.js';
import { type UsbImageResult, type UsbTreeEntry, writeUsbImage } from '../../usb/fat32.js';
import { zeroFillRanges } from '../../usb/flash/writer.js';
import { mapRanges } from '../../usb/block-map.js';
import { writeBlockMapFiles } from '../../usb/flash/image-maps.js';
import { Frontier } from '../../util/frontier.js';
import { MANIFEST_PATH } from '../../util/manifest.js';
import { type BuildContext, type BuildStage, need } from './context.js';

/** The USB image as the ISO's files left it, before syslinux and the manifests. */
export interface UsbDraft {
  path: string;
  result: UsbImageResult;
  bios?: SyslinuxFiles;
  /** Why there is no BIOS boot (syslinux missing). */
  reason?: string;
  manifestBytes: number;
}

function usbImageName(ctx: BuildContext): string {
  return `${need(ctx.site, 'the site').site.id}-usb.img`;
}

/** What the ISO writer tells the USB image's writer while it writes; `fail` when the ISO fails. */
export interface IsoFollower {
  onLayout(layout: { listableEnd: number }): void;
  onWrittenThrough(offset: number): void;
  fail(e: unknown): void;
  /** The USB image's bulk, written; settles only after `fail`, or once the ISO is written through. */
  draft: Promise<UsbDraft>;
}

/**
 * Starts the USB image behind the ISO being written at `isoPath`: once the ISO's directories are in place it is
 * listed, and each file is read only when the ISO writer is past it. Progress is reported once the ISO is done.
 */
export function followIso(ctx: BuildContext, isoPath: string, isoDone: () => boolean): IsoFollower {
  const written = new Frontier();
  let listable!: (end: number) => void;
  let failed!: (e: unknown) => void;
  const layout = new Promise<number>((resolve, reject) => {
    listable = resolve;
    failed = reject;
  });
  const output = need(ctx.output, 'the output set');
  const name = usbImageName(ctx);
  const onProgress = ctx.options.onProgress;
  const draft = (async (): Promise<UsbDraft> => {
    await written.reached((await layout) - 1);
    const iso = await IsoImage.open(isoPath);
    try {
      const syslinux = await findSyslinux();
      const bios = isSyslinuxMissing(syslinux) ? undefined : syslinux;
      // The ISO's media manifest describes the ISO; the USB image gets its own.
      const entries: UsbTreeEntry[] = [...allFiles(iso.root)].filter((f) => f.path.toLowerCase() !== MEDIA_MANIFEST_PATH.toLowerCase())
        .map((f) => ({ path: f.path, size: f.size, mtime: f.recorded, source: { path: isoPath, extents: f.extents, size: f.size } }));
      if (bios) entries.push(...syslinuxTreeEntries(bios));
      const manifestBytes = placeholderBytes([...entries.map((e) => e.path), 'syslinux/ldlinux.sys']);
      const data = placeholder(manifestBytes);
      entries.push({ path: MEDIA_MANIFEST_PATH, size: data.length, source: async function* () { yield data; } });
      const path = output.path(name);
      // Neither the image nor its ranges are hashed here: syslinux and the manifests change it, and it is mapped after.
      const result = await writeUsbImage(entries, path, {
        seed: need(ctx.buildId, 'the build id'), label: 'LIFEBOAT', mbrBootCode: bios?.mbrBootCode, hashImage: false, hashRanges: false, writeBehind: true,
        onProgress: onProgress && ((d, t) => isoDone() && onProgress(d, t)),
        inputReady: (input, end) => (input === isoPath ? written.reached(end - 1) : Promise.resolve()),
      });
      return { path, result, bios, reason: isSyslinuxMissing(syslinux) ? syslinux.reason : undefined, manifestBytes };
    } finally {
      await iso.close();
    }
  })();
  draft.catch(() => undefined); // awaited by the write-usb stage, or by write-iso when the ISO fails
  return {
    onLayout: (l) => listable(l.listableEnd),
    onWrittenThrough: (offset) => written.advanceTo(offset),
    fail: (e) => {
      failed(e);
      written.fail(e);
    },
    draft,
  };
}

export const writeUsb: BuildStage = {
  id: 'write-usb',
  async run(ctx) {
    if (ctx.options.usb === false) {
      ctx.usb = { built: false, bios: false, reason: 'turned off with --no-usb' };
      return;
    }
    const output = need(ctx.output, 'the output set');
    const draft = await need(ctx.usbDraft, 'the USB image');
    const name = usbImageName(ctx);
    ctx.say(`writing ${name}`);
    const iso = need(ctx.iso, 'the ISO');
    // The map twice: our JSON (what flash reads first) and the standard .bmap, so bmaptool and balenaEtcher also
    // write only the used blocks and check their hashes.
    const blockmap = `${name}.blockmap.json`;
    const bmap = `${name}.bmap`;
    const sha256 = await finishImage(draft, iso.manifest, iso.fileHashes, { json: output.path(blockmap), bmap: output.path(bmap) }, () => output.syncSoon(name));
    ctx.usb = { built: true, bios: !!draft.bios, ...(draft.bios ? {} : { reason: draft.reason }), name, blockmap, bmap, sha256 };
    if (!draft.bios) ctx.warnings.push(`UEFI-only USB image: ${draft.reason}`);
  },
};

/**
 * `isoManifest`: the ISO's MANIFEST.sha256 as finally written (the image may have copied its placeholder).
 * `isoHashes`: the ISO's files by lowercase path, which the image carries unchanged (all but syslinux's, which its
 * installer may write over). `written` starts the image on its way to disk (the output set makes it durable, with
 * what syslinux and the manifest change after). Returns the image's SHA-256.
 */
async function finishImage(
  draft: UsbDraft, isoManifest: Buffer, isoHashes: ReadonlyMap<string, string>, mapPaths: { json: string; bmap: string }, written: () => void,
): Promise<string> {
  const { path, result, bios } = draft;
  written();
  // syslinux writes ldlinux into free clusters and rewrites the boot sector. Map (and hash) every block the file
  // system uses, zero or not (flash refuses a map that leaves one out): what we wrote, plus the metadata area and
  // every allocated cluster the writer skipped.
  if (bios) await installSyslinux(path, result.partition.offset, bios, { sync: false });
  const used = [...result.blockMap.ranges, ...(await zeroFillRanges(path, result.blockMap))];
  // Both manifests are filled in once syslinux is in place; then the image is mapped and hashed.
  const fat = await FatImage.open(path);
  try {
    await patchInPlace(path, await fat.extents(fat.find(MANIFEST_PATH)!), isoManifest);
    const known = new Map([...isoHashes].filter(([p]) => !p.startsWith(`${SYSLINUX_DIR}/`)));
    const data = renderMediaManifest('usb', await usbEntries(fat, known), draft.manifestBytes);
    await patchInPlace(path, await fat.extents(fat.find(MEDIA_MANIFEST_PATH)!), data);
  } finally {
    await fat.close();
  }
  const { imageSha256, ...map } = await mapRanges(path, used);
  await writeBlockMapFiles(map, mapPaths);
  return imageSha256;
}
