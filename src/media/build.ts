/**
 * `lifeboat build`: a site's recovery media from a Veeam recovery ISO, as an ordered list of stages
 * (check inputs, secrets, boot image, overlay, ISO, USB image, reports). Every output is staged and moved into
 * place only when all are complete.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { IsoImage, PLATFORM_EFI, allFiles, remaster } from '../iso/index.js';
import { renderManual } from '../manual/index.js';
import { type Secret, type VaultPayload, sealVault, serialiseVault } from '../secrets/index.js';
import { type Site, driverFolders, loadSite } from '../site/index.js';
import { type UsbTreeEntry, writeUsbImage } from '../usb/fat32.js';
import { mapRanges, serializeBlockMap } from '../usb/block-map.js';
import { withUsedBlocks } from '../usb/flash/image-maps.js';
import { zeroFillRanges } from '../usb/flash/writer.js';
import { findSyslinux, installSyslinux, isSyslinuxMissing, syslinuxTreeEntries } from '../usb/bios-boot.js';
import { VERSION } from '../version.js';
import { findWimBackend } from '../wim/backend.js';
import { installAutostart } from '../wim/autostart.js';
import { LAUNCH_CMD, START_CMD } from '../wim/overlay.js';
import { BOOT_WIM, checkBase, checkWinPeLayout, extractFile } from './base-check.js';
import { sha256FileInWorker } from '../util/hash-worker.js';
import { sha256Of } from '../util/manifest.js';
import { type OverlayFile, driverFiles, hostFile, manifestFile, textFile } from './overlay.js';
import { renderSiteJson } from '../site/site-json.js';
import { Staging } from './staging.js';

export interface BuildSecrets {
  sharePassword: Secret;
  unlock: Secret;
  unlockKind: 'passphrase' | 'recovery-code';
  veeamEncryptionPassword?: Secret;
}

export interface BuildOptions {
  siteFile: string;
  base: string;
  outDir: string;
  assistantExe: string;
  /** Asked for only after the inputs checked out, so a typo in site.yaml does not cost a password prompt. */
  secrets: (site: Site) => Promise<BuildSecrets>;
  usb?: boolean;
  autostart?: boolean;
  /** WIM engine (`--wim-tool`): default our own (`lifeboat`); wimlib-imagex or dism when asked for. */
  wimTool?: string;
  noPromptBoot?: boolean;
  force?: boolean;
  date?: Date;
  onStage?: (stage: string) => void;
  onProgress?: (done: number, total: number) => void;
}

export interface OutputInfo {
  file: string;
  bytes: number;
  sha256: string;
}

export interface BuildReport {
  format: 'lifeboat-build-report';
  version: 1;
  buildId: string;
  builtAt: string;
  lifeboatVersion: string;
  site: { id: string; name: string; file: string; sha256: string; servers: string[] };
  base: { file: string; bytes: number; sha256: string; volumeId: string; kind: 'veeam' | 'winpe' };
  unlock: 'passphrase' | 'recovery-code';
  autostart: { enabled: boolean; tool?: string; reason?: string; launches?: string[] };
  noPromptBoot: { requested: boolean; applied: boolean; reason?: string };
  usb: { built: boolean; bios: boolean; reason?: string };
  /** The printed manual (the media carry a copy without the sealed page). */
  manual: { html: string; pdf?: string; pages?: number; sealedPage: boolean; reason?: string };
  drivers: { kind: string; files: number }[];
  outputs: OutputInfo[];
  warnings: string[];
}

async function fileSha256(path: string): Promise<string> {
  return sha256Of(createReadStream(path, { highWaterMark: 4 << 20 }));
}

function buildIdFor(site: Site, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${site.site.id}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export async function buildMedia(o: BuildOptions): Promise<{ report: BuildReport; files: string[] }> {
  const stage = o.onStage ?? (() => undefined);
  const now = o.date ?? new Date();
  const warnings: string[] = [];

  stage('checking the site and the base ISO');
  const site = await loadSite(o.siteFile);
  const drivers: OverlayFile[] = [];
  const driverCounts: { kind: string; files: number }[] = [];
  for (const { kind, dir } of driverFolders(site, o.siteFile)) {
    const files = await driverFiles(kind, dir);
    drivers.push(...files);
    driverCounts.push({ kind, files: files.length });
  }
  const assistant = await hostFile('/lifeboat/assistant.exe', o.assistantExe, 'assistant.exe');
  const startCmd = await hostFile('/lifeboat/start.cmd', START_CMD, 'start.cmd');

  const image = await IsoImage.open(o.base);
  const staging = await Staging.open(o.outDir);
  let secrets: BuildSecrets | undefined;
  try {
    checkWinPeLayout(image);
    const backend = await findWimBackend(o.wimTool);
    if (o.wimTool !== undefined && !backend) throw new InputError(`--wim-tool ${o.wimTool}: not available on this machine`);
    const bootWim = staging.scratch('boot.wim');
    if (backend) await extractFile(image, BOOT_WIM, bootWim);
    const base = await checkBase(image, { backend, bootWimCopy: backend ? bootWim : undefined, force: o.force });
    warnings.push(...base.warnings);

    secrets = await o.secrets(site);
    const buildId = buildIdFor(site, now);
    // Sealed first: scrypt needs 128 MiB, best taken while little else is in memory.
    stage('sealing the vault');
    const payload: VaultPayload = {
      share: { user: site.share.user, domain: site.share.domain, password: secrets.sharePassword },
      veeamEncryptionPassword: secrets.veeamEncryptionPassword,
    };
    const vault = serialiseVault(await sealVault(payload, secrets.unlock, site.site.id));
    // The base's hash (for the report) is taken in a worker, alongside the rest of the build, after scrypt's peak.
    const baseSha256 = sha256FileInWorker(o.base);
    baseSha256.catch(() => undefined); // awaited for the report; a failure there surfaces then

    let autostart: BuildReport['autostart'] = { enabled: false, reason: o.autostart === false ? 'turned off with --no-autostart' : 'no WIM tool (wimlib-imagex or DISM) on this machine' };
    const replaced: OverlayFile[] = [];
    if (backend && o.autostart !== false) {
      stage(`adding the assistant's autostart to the boot image (${backend.name})`);
      const result = await installAutostart(backend, bootWim, { launcherSource: LAUNCH_CMD });
      autostart = { enabled: true, tool: backend.name, launches: result.original.apps.map((a) => a.path) };
      replaced.push(await hostFile(BOOT_WIM, bootWim, 'the updated boot.wim'));
    } else {
      warnings.push(`no autostart: ${autostart.reason}; start the assistant with \\lifeboat\\start.cmd from Veeam's Tools > Command Prompt`);
    }

    stage('composing \\lifeboat\\');
    const siteJson = renderSiteJson({
      buildId, builtAt: now.toISOString(), lifeboatVersion: VERSION, site, veeamLaunch: base.winpeshl?.apps,
      autostart: autostart.enabled, unlock: secrets.unlockKind,
    });
    // The media carry the manual without the sealed page (the recovery code never travels with the media).
    const manualInput = { site, siteFile: o.siteFile, buildId, builtAt: now };
    const mediaManual = await renderManual(manualInput, staging.scratch('manual'), { pdf: false, sealedPage: false });
    const overlay: OverlayFile[] = [
      assistant, startCmd, textFile('/lifeboat/site.json', siteJson), textFile('/lifeboat/vault.json', vault),
      await hostFile(`/lifeboat/manual/${basename(mediaManual.html)}`, mediaManual.html, 'the manual'), ...drivers,
    ];
    // The manifest covers the boot image the media will carry: the updated copy, or the base's own.
    const baseBootWim = image.find(BOOT_WIM)!;
    const manifest = replaced.length > 0
      ? await manifestFile([...overlay, ...replaced])
      : await manifestFile(overlay, [{ path: BOOT_WIM.slice(1), sha256: await sha256Of(image.stream(baseBootWim.extents)) }]);

    let noPrompt: BuildReport['noPromptBoot'] = { requested: !!o.noPromptBoot, applied: false };
    const remove: string[] = [];
    const bootImageFiles: { platformId: number; isoPath: string }[] = [];
    if (o.noPromptBoot) {
      if (base.noPromptEfi) {
        bootImageFiles.push({ platformId: PLATFORM_EFI, isoPath: base.noPromptEfi });
        if (image.find('/boot/bootfix.bin')) remove.push('/boot/bootfix.bin');
        noPrompt = { requested: true, applied: true };
      } else {
        noPrompt = { requested: true, applied: false, reason: 'the base carries no efi/microsoft/boot/efisys_noprompt.bin' };
        warnings.push(`--no-prompt-boot not applied: ${noPrompt.reason}; UEFI boots still show "Press any key to boot from CD or DVD"`);
      }
    }

    const isoName = `${site.site.id}.iso`;
    stage(`writing ${isoName}`);
    const all = [...overlay, manifest, ...replaced];
    const iso = await remaster({
      base: o.base,
      out: staging.path(isoName),
      add: all.filter((f): f is OverlayFile & { hostPath: string } => 'hostPath' in f).map((f) => ({ source: f.hostPath, isoPath: f.isoPath })),
      addBytes: all.filter((f): f is OverlayFile & { data: Buffer } => 'data' in f).map((f) => ({ isoPath: f.isoPath, data: f.data })),
      remove,
      bootImageFiles,
      volumeId: image.primary.volumeId,
      date: o.date,
      onProgress: o.onProgress,
      sha256: true,
    });

    let usb: BuildReport['usb'] = { built: false, bios: false, reason: 'turned off with --no-usb' };
    let usbSha256: string | undefined;
    const usbName = `${site.site.id}-usb.img`;
    const blockmapName = `${usbName}.blockmap.json`;
    if (o.usb !== false) {
      stage(`writing ${usbName}`);
      const { sha256, ...info } = await writeUsb(staging.path(isoName), staging.path(usbName), staging.path(blockmapName), buildId, o.onProgress);
      usb = info;
      usbSha256 = sha256;
      if (!usb.bios) warnings.push(`UEFI-only USB image: ${usb.reason}`);
    }

    stage('printing the restore manual');
    const printed = await renderManual(
      { ...manualInput, recoveryCode: secrets.unlockKind === 'recovery-code' ? secrets.unlock.reveal() : undefined, mediaChecksums: [{ file: isoName, sha256: iso.sha256! }, ...(usbSha256 ? [{ file: usbName, sha256: usbSha256 }] : [])] },
      staging.dir,
      { pdf: true, sealedPage: true },
    );
    for (const file of printed.files) staging.path(basename(file));
    const manual: BuildReport['manual'] = { html: basename(printed.html), pdf: printed.pdf && basename(printed.pdf), pages: printed.pages, sealedPage: printed.sealedPage, reason: printed.pdfSkipped };
    if (printed.pdfSkipped) warnings.push(`manual printed as HTML only: ${printed.pdfSkipped}`);

    stage('writing checksums and the build report');
    // Both images were hashed on the way through; only the small block map is read again.
    const outputs: OutputInfo[] = [{ file: isoName, bytes: iso.bytes, sha256: iso.sha256! }];
    if (usb.built) {
      outputs.push({ file: usbName, bytes: (await stat(staging.path(usbName))).size, sha256: usbSha256! });
      outputs.push({ file: blockmapName, bytes: (await stat(staging.path(blockmapName))).size, sha256: await fileSha256(staging.path(blockmapName)) });
    }
    for (const file of printed.files.map((f) => basename(f))) {
      if (file) outputs.push({ file, bytes: (await stat(staging.path(file))).size, sha256: await fileSha256(staging.path(file)) });
    }
    await staging.writeText('SHA256SUMS', outputs.map((f) => `${f.sha256}  ${f.file}\n`).join(''));
    const report: BuildReport = {
      format: 'lifeboat-build-report',
      version: 1,
      buildId,
      builtAt: now.toISOString(),
      lifeboatVersion: VERSION,
      site: { id: site.site.id, name: site.site.name, file: resolve(o.siteFile), sha256: await fileSha256(o.siteFile), servers: site.servers.map((s) => s.name) },
      base: { file: resolve(o.base), bytes: image.size, sha256: await baseSha256, volumeId: image.primary.volumeId, kind: base.kind },
      unlock: secrets.unlockKind,
      autostart,
      noPromptBoot: noPrompt,
      usb,
      manual,
      drivers: driverCounts,
      outputs,
      warnings,
    };
    await staging.writeText('build-report.json', `${JSON.stringify(report, null, 2)}\n`);
    const files = await staging.commit();
    return { report, files };
  } catch (e) {
    await staging.dispose();
    throw e;
  } finally {
    await image.close();
    secrets?.sharePassword.wipe();
    secrets?.unlock.wipe();
    secrets?.veeamEncryptionPassword?.wipe();
  }
}

/** The USB image: every file of the finished ISO on FAT32, BIOS boot through syslinux when the host has it. */
async function writeUsb(isoPath: string, usbPath: string, blockmapPath: string, seed: string, onProgress?: (d: number, t: number) => void): Promise<BuildReport['usb'] & { sha256?: string }> {
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
