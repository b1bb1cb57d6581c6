/** `lifeboat iso inspect|create|remaster`: the ISO engine on the command line. */

import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import {
  type IsoEntry, IsoImage, type IsoOutput, PLATFORM_BIOS, PLATFORM_EFI, type BootCatalog, type BootImagePlan, hostDir, newEntry, remaster, writeIso,
} from '../iso/index.js';
import { AtomicFile } from '../util/atomic-file.js';
import { collect, parseAddition, parseDate } from './common.js';
import { bold, dim, formatBytes, printJson, say } from './output.js';
import { progressMeter } from './progress.js';

export function registerIso(program: Command): void {
  const iso = program
    .command('iso')
    .description('read, create and remaster bootable ISO 9660 images (El Torito, Joliet, hybrid MBR/GPT)');

  iso
    .command('inspect')
    .argument('<file>', 'ISO image to describe')
    .option('--json', 'print one JSON document on stdout')
    .option('--no-files', 'leave out the file list')
    .description('show the volume, El Torito boot entries (with image sizes and SHA-256), system area and files')
    .addHelpText('after', '\nExample:\n  lifeboat iso inspect veeam-recovery.iso --json | jq .boot')
    .action(async (file: string, opts: { json?: boolean; files: boolean }) => {
      const image = await IsoImage.open(file);
      try {
        const report = await describe(image, opts.files);
        if (opts.json) printJson(report);
        else printInspect(report);
      } finally {
        await image.close();
      }
    });

  iso
    .command('create')
    .requiredOption('--dir <dir>', 'folder whose contents become the image root')
    .requiredOption('--out <file>', 'image to write (written beside, then renamed into place)')
    .option('--volid <id>', 'volume label', 'LIFEBOAT')
    .option('--bios <img>', 'BIOS El Torito image (no emulation), stored outside the file tree')
    .option('--bios-load-size <sectors>', '512-byte sectors the BIOS loads (default: whole image up to 32 KiB, else 4)')
    .option('--boot-info-table', 'patch a boot-info-table into the BIOS image (isolinux, GRUB eltorito images need it)')
    .option('--grub2-boot-info', 'patch GRUB2 boot info (byte 2548) into the BIOS image')
    .option('--efi <img>', 'UEFI El Torito image (a FAT image holding \\EFI\\BOOT\\BOOTX64.EFI), outside the file tree')
    .option('--date <when>', 'fixed date for every record: makes the output reproducible (default: now, or SOURCE_DATE_EPOCH)')
    .option('--json', 'print the result as JSON on stdout')
    .description('write a new ISO 9660 level 3 + Joliet image from a folder, optionally bootable (BIOS and/or UEFI)')
    .addHelpText('after', '\nExample:\n  lifeboat iso create --dir tree --out test.iso --bios bios.img --boot-info-table --efi efi.img --date 2026-01-01T00:00:00Z')
    .action(async (opts: {
      dir: string; out: string; volid: string; bios?: string; biosLoadSize?: string; bootInfoTable?: boolean; grub2BootInfo?: boolean;
      efi?: string; date?: string; json?: boolean;
    }) => {
      const date = parseDate(opts.date);
      const root = await hostDir(opts.dir, '', date);
      const boot = await bootPlanForCreate(opts);
      const meter = progressMeter(`writing ${basename(opts.out)}`);
      const result = await atomically(opts.out, (output) => writeIso(output, root, { volumeId: opts.volid, date, boot, onProgress: meter.update }));
      meter.end();
      if (opts.json) printJson(result);
      else say(`wrote ${opts.out} (${formatBytes(result.bytes)})`);
    });

  iso
    .command('remaster')
    .requiredOption('--base <file>', 'bootable ISO to start from')
    .option('--add <src=isoPath>', 'add or replace a host file or folder at an image path (repeatable)', collect, [])
    .option('--remove <isoPath>', 'remove a file or folder from the image (repeatable)', collect, [])
    .requiredOption('--out <file>', 'image to write (written beside, then renamed into place)')
    .option('--volid <id>', 'volume label (default: the base\'s)')
    .option('--date <when>', 'fixed date for new records: makes the output reproducible')
    .option('--json', 'print the result as JSON on stdout')
    .description('copy a bootable ISO with files added, replaced or removed, keeping every boot entry and image')
    .addHelpText('after', [
      '',
      'Every file of the base is copied byte-for-byte, every El Torito entry is kept with its image (also images',
      'that are not files, such as Windows\' efisys.bin) and a hybrid MBR/GPT is updated for the new size.',
      '',
      'Example:',
      '  lifeboat iso remaster --base veeam.iso --add ./lifeboat=/lifeboat --remove /boot/bootfix.bin --out site.iso',
    ].join('\n'))
    .action(async (opts: { base: string; add: string[]; remove: string[]; out: string; volid?: string; date?: string; json?: boolean }) => {
      const meter = progressMeter(`writing ${basename(opts.out)}`);
      const date = parseDate(opts.date);
      const result = await atomically(opts.out, (out) => remaster({
        base: opts.base, out, add: opts.add.map(parseAddition), remove: opts.remove, volumeId: opts.volid, date, onProgress: meter.update,
      }));
      meter.end();
      if (opts.json) printJson(result);
      else say(`wrote ${opts.out} (${formatBytes(result.bytes)}): ${result.added} added, ${result.removed} removed, ${result.bootEntries.length} boot entries kept`);
    });
}

/**
 * Runs a write into a temporary file beside `target` that is renamed into place on success and removed on failure
 * or Ctrl-C (the library leaves signals to its caller).
 */
async function atomically<T extends { path: string }>(target: string, write: (output: IsoOutput) => Promise<T>): Promise<T> {
  const file = await AtomicFile.create(target);
  try {
    const result = await write({ handle: file.handle, path: target });
    await file.commit();
    return result;
  } finally {
    await file.abort();
  }
}

async function bootPlanForCreate(opts: {
  bios?: string; biosLoadSize?: string; bootInfoTable?: boolean; grub2BootInfo?: boolean; efi?: string;
}): Promise<{ catalog: BootCatalog; images: BootImagePlan[] } | undefined> {
  const entries: { platformId: number; sectorCount: number; plan: BootImagePlan }[] = [];
  const sizeOf = async (path: string, option: string) => {
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile() || s.size === 0) throw new InputError(`${option} "${path}" is not a readable, non-empty file`);
    return s.size;
  };
  if (opts.bios) {
    const size = await sizeOf(opts.bios, '--bios');
    let count = size <= 32 * 1024 ? Math.ceil(size / 512) : 4;
    if (opts.biosLoadSize !== undefined) {
      count = Number(opts.biosLoadSize);
      if (!Number.isInteger(count) || count < 1 || count > 65535) throw new InputError(`--bios-load-size "${opts.biosLoadSize}" must be 1-65535`);
    }
    entries.push({
      platformId: PLATFORM_BIOS, sectorCount: count,
      plan: { source: { kind: 'host', path: opts.bios, size }, patchBootInfoTable: opts.bootInfoTable, patchGrub2BootInfo: opts.grub2BootInfo },
    });
  }
  if (opts.efi) {
    const size = await sizeOf(opts.efi, '--efi');
    entries.push({ platformId: PLATFORM_EFI, sectorCount: Math.min(65535, Math.ceil(size / 512)), plan: { source: { kind: 'host', path: opts.efi, size } } });
  }
  if (entries.length === 0) return undefined;
  const [first, ...rest] = entries;
  const catalog: BootCatalog = {
    platformId: first!.platformId,
    id: Buffer.alloc(24),
    defaultEntry: newEntry(first!.sectorCount),
    sections: rest.map((e) => ({ platformId: e.platformId, id: Buffer.alloc(28), entries: [newEntry(e.sectorCount)] })),
  };
  return { catalog, images: entries.map((e) => e.plan) };
}

interface InspectReport {
  file: string;
  bytes: number;
  volume: { id: string; systemId: string; applicationId: string; sectors: number; created?: string; joliet: boolean; namespace: string };
  boot: {
    catalogLba?: number;
    entries: {
      index: number; platform: string; platformId: number; bootable: boolean; emulation: string; loadSegment: number;
      sectorCount: number; lba: number; size: number; sizeFrom: string; file?: string; bootInfoTable: boolean; grub2BootInfo: boolean; sha256: string;
    }[];
  };
  systemArea: IsoImage['systemAreaInfo'];
  files?: { path: string; size: number; dir: boolean }[];
}

async function describe(image: IsoImage, withFiles: boolean): Promise<InspectReport> {
  const files: { path: string; size: number; dir: boolean }[] = [];
  const visit = (e: IsoEntry) => {
    for (const c of e.children) {
      files.push({ path: c.path, size: c.size, dir: c.isDir });
      if (c.isDir) visit(c);
    }
  };
  if (withFiles) visit(image.root);
  const entries = [];
  for (const b of image.bootImages) {
    entries.push({
      index: b.index, platform: b.platform, platformId: b.platformId, bootable: b.bootable, emulation: b.emulation,
      loadSegment: b.loadSegment, sectorCount: b.sectorCount, lba: b.lba, size: b.size, sizeFrom: b.sizeBasis, file: b.file,
      bootInfoTable: b.bootInfoTable, grub2BootInfo: b.grub2BootInfo, sha256: await image.sha256(b.lba * 2048, b.size),
    });
  }
  return {
    file: image.path,
    bytes: image.size,
    volume: {
      id: image.primary.volumeId, systemId: image.primary.systemId, applicationId: image.primary.applicationId,
      sectors: image.primary.volumeSpaceSize, created: image.primary.created?.toISOString(), joliet: !!image.joliet, namespace: image.namespace,
    },
    boot: { catalogLba: image.catalogLba, entries },
    systemArea: image.systemAreaInfo,
    files: withFiles ? files : undefined,
  };
}

function printInspect(r: InspectReport): void {
  say(`${bold(r.file)}  ${formatBytes(r.bytes)}`);
  say(`  volume "${r.volume.id}", ${r.volume.sectors} sectors, names from ${r.volume.namespace}${r.volume.created ? `, created ${r.volume.created}` : ''}`);
  if (r.boot.entries.length === 0) say('  not bootable (no El Torito catalog)');
  for (const e of r.boot.entries) {
    say(`  boot ${e.index}: ${e.platform}, ${e.emulation === 'none' ? 'no emulation' : e.emulation}, load ${e.sectorCount}x512 at segment 0x${(e.loadSegment || 0x7c0).toString(16)}, ` +
      `image ${formatBytes(e.size)} at LBA ${e.lba} (size from ${e.sizeFrom})${e.file ? `, file ${e.file}` : ', not a file'}` +
      `${e.bootInfoTable ? ', boot-info-table' : ''}${e.grub2BootInfo ? ', grub2-boot-info' : ''}`);
    say(dim(`          sha256 ${e.sha256}`));
  }
  const sa = r.systemArea;
  if (sa.empty) say('  system area: empty (no hybrid MBR/GPT: boots from CD/ISO only)');
  else {
    const parts = sa.mbr?.partitions.map((p) => `#${p.index} type 0x${p.type.toString(16)}${p.bootable ? ' active' : ''} ${p.start}+${p.sectors}`).join(', ');
    say(`  system area: ${sa.hybrid ?? 'data'}${sa.mbr ? `, MBR [${parts || 'no partitions'}]` : ''}${sa.gpt ? `, GPT with ${sa.gpt.partitions.length} partitions` : ''}`);
  }
  if (r.files) {
    say(`  ${r.files.length} entries:`);
    for (const f of r.files) say(`    ${f.dir ? `${f.path}/` : `${f.path}  ${dim(formatBytes(f.size))}`}`);
  }
}

