/**
 * Stage: the \lifeboat\ folder (assistant, site data, vault, manual without the sealed page, drivers), its manifest,
 * and the boot changes --no-prompt-boot asks for.
 */
import { basename } from 'node:path';
import { PLATFORM_EFI } from '../../iso/index.js';
import { renderManual } from '../../manual/index.js';
import { renderSiteJson } from '../../site/site-json.js';
import { sha256Of } from '../../util/manifest.js';
import { VERSION } from '../../version.js';
import { BOOT_WIM } from '../base-check.js';
import { type OverlayFile, hostFile, manifestPlaceholder, overlayHashes, textFile } from '../overlay.js';
import { type BuildContext, type BuildStage, need } from './context.js';

export const composeOverlay: BuildStage = {
  id: 'compose-overlay',
  async run(ctx) {
    const site = need(ctx.site, 'the site');
    const secrets = need(ctx.secrets, 'the secrets');
    const buildId = need(ctx.buildId, 'the build id');
    const image = need(ctx.image, 'the base image');
    const replaced = need(ctx.replaced, 'the replaced files');
    ctx.say('composing \\lifeboat\\');
    const siteJson = renderSiteJson({
      buildId, builtAt: ctx.now.toISOString(), lifeboatVersion: VERSION, site, veeamLaunch: need(ctx.base, 'the base check').winpeshl?.apps,
      autostart: need(ctx.autostart, 'the autostart').enabled, unlock: secrets.unlockKind,
    });
    // The media carry the manual without the sealed page (the recovery code never travels with the media).
    const mediaManual = await renderManual(
      { site, siteFile: ctx.options.siteFile, buildId, builtAt: ctx.now },
      need(ctx.output, 'the output set').scratch('manual'),
      { pdf: false, sealedPage: false },
    );
    const overlay: OverlayFile[] = [
      ...need(ctx.programs, 'the programs'), textFile('/lifeboat/site.json', siteJson), textFile('/lifeboat/vault.json', await need(ctx.vault, 'the vault')),
      await hostFile(`/lifeboat/manual/${basename(mediaManual.html)}`, mediaManual.html, 'the manual'), ...need(ctx.drivers, 'the drivers').files,
    ];
    ctx.overlay = overlay;
    // The manifest covers the boot image the media will carry: the updated copy, or the base's own. Each hash is taken
    // once (large files in worker threads, side by side) while the ISO is written, and kept for the media manifests
    // of both images; the ISO gets a placeholder of the manifest's size, filled in once the hashes are in.
    const hashed = [...overlay, ...replaced];
    ctx.manifest = manifestPlaceholder([...hashed.map((f) => f.isoPath), ...(replaced.length === 0 ? [BOOT_WIM] : [])]);
    ctx.fileHashes = (async () => {
      const hashes = await overlayHashes(hashed);
      if (replaced.length === 0) hashes.set(BOOT_WIM, await sha256Of(image.stream(image.find(BOOT_WIM)!.extents)));
      return hashes;
    })();
    ctx.fileHashes.catch(() => undefined); // awaited by write-iso
    planNoPromptBoot(ctx);
  },
};

/** --no-prompt-boot: the UEFI El Torito entry boots efisys_noprompt.bin, and bootfix.bin (BIOS's prompt) goes. */
function planNoPromptBoot(ctx: BuildContext): void {
  const image = need(ctx.image, 'the base image');
  const base = need(ctx.base, 'the base check');
  ctx.remove = [];
  ctx.bootImageFiles = [];
  ctx.noPromptBoot = { requested: !!ctx.options.noPromptBoot, applied: false };
  if (!ctx.options.noPromptBoot) return;
  if (base.noPromptEfi) {
    ctx.bootImageFiles.push({ platformId: PLATFORM_EFI, isoPath: base.noPromptEfi });
    if (image.find('/boot/bootfix.bin')) ctx.remove.push('/boot/bootfix.bin');
    ctx.noPromptBoot = { requested: true, applied: true };
  } else {
    ctx.noPromptBoot = { requested: true, applied: false, reason: 'the base carries no efi/microsoft/boot/efisys_noprompt.bin' };
    ctx.warnings.push(`--no-prompt-boot not applied: ${ctx.noPromptBoot.reason}; UEFI boots still show "Press any key to boot from CD or DVD"`);
  }
}
