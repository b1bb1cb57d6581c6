/** Stage: the USB image, every file of the finished ISO on FAT32, BIOS boot through syslinux when the host has it. */
import { IsoImage, allFiles } from '../../iso/index.js';
import { FatImage } from '../../usb/fat32-reader.js';
import { MEDIA_MANIFEST_PATH, patchInPlace, placeholder, placeholderBytes, renderMediaManifest, usbEntries } from '../media-manifest.js';
import { SYSLINUX_DIR, findSyslinux, installSyslinux, isSyslinuxMissing, syslinuxTreeEntries } from '../../usb/bios-boot.js';
import { type UsbTreeEntry, writeUsbImage } from '../../usb/fat32.js';
import { zeroFillRanges } from '../../usb/flash/writer.js';
import { mapRanges } from '../../usb/block-map.js';
import { writeBlockMapFiles } from '../../usb/flash/image-maps.js';
import type { BuildReport } from '../build-types.js';
import { type BuildStage, need } from './context.js';

export const writeUsb: BuildStage = {
  id: 'write-usb',
  async run(ctx) {
    if (ctx.options.usb === false) {
      ctx.usb = { built: false, bios: false, reason: 'turned off with --no-usb' };
      return;
    }
    const output = need(ctx.output, 'the output set');
    const name = `${need(ctx.site, 'the site').site.id}-usb.img`;
    // The map twice: our JSON (what flash reads first) and the standard .bmap, so bmaptool and balenaEtcher also
    // write only the used blocks and check their hashes.
    const blockmap = `${name}.blockmap.json`;
    const bmap = `${name}.bmap`;
    ctx.say(`writing ${name}`);
    const iso = need(ctx.iso, 'the ISO');
    const { sha256, ...info } = await writeImage(
      output.path(iso.name), output.path(name), { json: output.path(blockmap), bmap: output.path(bmap) },
      need(ctx.buildId, 'the build id'), iso.fileHashes, () => output.syncSoon(name), ctx.options.onProgress,
    );
    ctx.usb = { ...info, name, blockmap, bmap, sha256 };
    if (!info.bios) ctx.warnings.push(`UEFI-only USB image: ${info.reason}`);
  },
};

/**
 * `isoHashes`: the ISO's files by lowercase path, which the image carries unchanged (all but syslinux's, which its
 * installer may write over). `written` starts the image on its way to disk once its bulk is written (the output
 * set makes it durable, with what syslinux and the manifest change after).
 */
async function writeImage(
  isoPath: string, usbPath: string, mapPaths: { json: string; bmap: string }, seed: string, isoHashes: ReadonlyMap<string, string>,
  written: () => void, onProgress?: (d: number, t: number) => void,
): Promise<BuildReport['usb'] & { sha256?: string }> {
  const iso = await IsoImage.open(isoPath);
  let bios: Awaited<ReturnType<typeof findSyslinux>> | undefined;
  let reason: string | undefined;
  let used: { start: number; length: number }[];
  let manifestBytes: number;
  try {
    // The ISO's media manifest describes the ISO; the USB image gets its own.
    const entries: UsbTreeEntry[] = [...allFiles(iso.root)].filter((f) => f.path.toLowerCase() !== MEDIA_MANIFEST_PATH.toLowerCase())
      .map((f) => ({ path: f.path, size: f.size, mtime: f.recorded, source: { path: isoPath, extents: f.extents, size: f.size } }));
    const syslinux = await findSyslinux();
    bios = isSyslinuxMissing(syslinux) ? undefined : syslinux;
    reason = isSyslinuxMissing(syslinux) ? syslinux.reason : undefined;
    if (bios) entries.push(...syslinuxTreeEntries(bios));
    manifestBytes = placeholderBytes([...entries.map((e) => e.path), 'syslinux/ldlinux.sys']);
    const data = placeholder(manifestBytes);
    entries.push({ path: MEDIA_MANIFEST_PATH, size: data.length, source: async function* () { yield data; } });
    // Neither the image nor its ranges are hashed here: syslinux and the manifest change it, and it is mapped after.
    const result = await writeUsbImage(entries, usbPath, { seed, label: 'LIFEBOAT', mbrBootCode: bios?.mbrBootCode, onProgress, hashImage: false, hashRanges: false });
    written();
    // syslinux writes ldlinux into free clusters and rewrites the boot sector. Map (and hash) every block the file
    // system uses, zero or not (flash refuses a map that leaves one out): what we wrote, plus the metadata area and
    // every allocated cluster the writer skipped.
    if (bios) await installSyslinux(usbPath, result.partition.offset, bios, { sync: false });
    used = [...result.blockMap.ranges, ...(await zeroFillRanges(usbPath, result.blockMap))];
  } finally {
    await iso.close();
  }
  // The media manifest is filled in once syslinux is in place; then the image is mapped and hashed.
  const fat = await FatImage.open(usbPath);
  try {
    const known = new Map([...isoHashes].filter(([path]) => !path.startsWith(`${SYSLINUX_DIR}/`)));
    const data = renderMediaManifest('usb', await usbEntries(fat, known), manifestBytes);
    await patchInPlace(usbPath, await fat.extents(fat.find(MEDIA_MANIFEST_PATH)!), data);
  } finally {
    await fat.close();
  }
  const { imageSha256, ...map } = await mapRanges(usbPath, used);
  await writeBlockMapFiles(map, mapPaths);
  return bios ? { built: true, bios: true, sha256: imageSha256 } : { built: true, bios: false, reason, sha256: imageSha256 };
}
