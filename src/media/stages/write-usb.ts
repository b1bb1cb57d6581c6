/** Stage: the USB image, every file of the finished ISO on FAT32, BIOS boot through syslinux when the host has it. */
import { writeFile } from 'node:fs/promises';
import { IsoImage, allFiles } from '../../iso/index.js';
import { findSyslinux, installSyslinux, isSyslinuxMissing, syslinuxTreeEntries } from '../../usb/bios-boot.js';
import { type UsbTreeEntry, writeUsbImage } from '../../usb/fat32.js';
import { withUsedBlocks } from '../../usb/flash/image-maps.js';
import { zeroFillRanges } from '../../usb/flash/writer.js';
import { mapRanges, serializeBlockMap } from '../../usb/block-map.js';
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
    const blockmap = `${name}.blockmap.json`;
    ctx.say(`writing ${name}`);
    const { sha256, ...info } = await writeImage(
      output.path(need(ctx.iso, 'the ISO').name), output.path(name), output.path(blockmap), need(ctx.buildId, 'the build id'), ctx.options.onProgress,
    );
    ctx.usb = { ...info, name, blockmap, sha256 };
    if (!info.bios) ctx.warnings.push(`UEFI-only USB image: ${info.reason}`);
  },
};

async function writeImage(isoPath: string, usbPath: string, blockmapPath: string, seed: string, onProgress?: (d: number, t: number) => void): Promise<BuildReport['usb'] & { sha256?: string }> {
  const iso = await IsoImage.open(isoPath);
  try {
    const entries: UsbTreeEntry[] = [...allFiles(iso.root)].map((f) => ({ path: f.path, size: f.size, mtime: f.recorded, source: { path: isoPath, extents: f.extents, size: f.size } }));
    const syslinux = await findSyslinux();
    const bios = isSyslinuxMissing(syslinux) ? undefined : syslinux;
    if (bios) entries.push(...syslinuxTreeEntries(bios));
    const result = await writeUsbImage(entries, usbPath, { seed, label: 'LIFEBOAT', mbrBootCode: bios?.mbrBootCode, onProgress, sync: true, hashImage: !bios });
    if (!bios) {
      // flash refuses a map that leaves out a block the FAT uses: add the zero ones the writer skipped
      await writeFile(blockmapPath, serializeBlockMap(await withUsedBlocks(usbPath, result.blockMap)));
      return { built: true, bios: false, reason: isSyslinuxMissing(syslinux) ? syslinux.reason : undefined, sha256: result.imageSha256 };
    }
    // syslinux writes ldlinux into free clusters and rewrites the boot sector: map (and hash) what the file system
    // now uses: what we wrote plus the metadata area and every allocated cluster.
    await installSyslinux(usbPath, result.partition.offset, bios);
    const used = [...result.blockMap.ranges, ...(await zeroFillRanges(usbPath, result.blockMap))];
    const { imageSha256, ...map } = await mapRanges(usbPath, used);
    await writeFile(blockmapPath, serializeBlockMap(map));
    return { built: true, bios: true, sha256: imageSha256 };
  } finally {
    await iso.close();
  }
}
