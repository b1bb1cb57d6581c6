/**
 * What the build stages share: the options, the outputs being staged and what each stage found or made. A stage
 * reads what earlier stages set and sets its own fields; `need` turns a stage run out of order into a loud bug.
 */
import type { IsoImage } from '../../iso/index.js';
import type { RenderResult } from '../../manual/index.js';
import type { Site } from '../../site/index.js';
import type { BaseCheck, BootWim } from '../base-check.js';
import type { BuildOptions, BuildReport, BuildSecrets } from '../build-types.js';
import type { OverlayFile } from '../overlay.js';
import type { OutputSet } from '../output-set.js';
import type { UsbDraft } from './write-usb.js';

export interface BuildContext {
  readonly options: BuildOptions;
  readonly now: Date;
  readonly warnings: string[];
  /** Announces a stage to the user (a line on the terminal). */
  readonly say: (stage: string) => void;

  site?: Site;
  /** Files of the site's driver folders, and how many per kind for the report. */
  drivers?: { files: OverlayFile[]; counts: { kind: string; files: number }[] };
  /** assistant.exe and start.cmd. */
  programs?: OverlayFile[];
  output?: OutputSet;
  image?: IsoImage;
  /** The boot image to change and the WIM backend that reaches it; none without a WIM tool. */
  bootWim?: BootWim;
  base?: BaseCheck;
  secrets?: BuildSecrets;
  buildId?: string;
  /** vault.json, being sealed (scrypt) while the next stages run. */
  vault?: Promise<string>;
  /** The base's hash, taken in a worker alongside the rest of the build. */
  baseSha256?: Promise<string>;
  autostart?: BuildReport['autostart'];
  /** Base files the media carry in a changed form (the boot.wim with the autostart). */
  replaced?: OverlayFile[];
  /** The \lifeboat\ folder and its manifest. */
  overlay?: OverlayFile[];
  manifest?: OverlayFile;
  /**
   * SHA-256 of the files MANIFEST.sha256 covers (\lifeboat\ and boot.wim), by media path: taken while the ISO is
   * written; `manifest` is a placeholder of the right size until then.
   */
  fileHashes?: Promise<ReadonlyMap<string, string>>;
  noPromptBoot?: BuildReport['noPromptBoot'];
  remove?: string[];
  bootImageFiles?: { platformId: number; isoPath: string }[];
  /**
   * The ISO: its hash (taken in a worker while the build goes on), the hashes of its files by lowercase path, and
   * MANIFEST.sha256 as written into it (the USB image gets the same).
   */
  iso?: { name: string; bytes: number; sha256: Promise<string>; fileHashes: ReadonlyMap<string, string>; manifest: Buffer };
  /** The USB image's bulk, written alongside the ISO (write-usb finishes it). */
  usbDraft?: Promise<UsbDraft>;
  usb?: BuildReport['usb'] & { name?: string; blockmap?: string; bmap?: string; sha256?: string };
  /** The manual, being printed while the images are written; `checksums` gives it the media's SHA-256 at the end. */
  manualJob?: { printed: Promise<RenderResult>; checksums: (sha256: readonly string[]) => void; abandon: (why: Error) => void };
  manual?: BuildReport['manual'];
  /** Every file the printed manual consists of (the manual, its sealed page), as output names. */
  manualFiles?: string[];
  report?: BuildReport;
  files?: string[];
}

export interface BuildStage {
  /** A short name for logs and tests. */
  id: string;
  run(ctx: BuildContext): Promise<void>;
}

/** The value an earlier stage should have set. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`build stage order: ${what} is not set yet`);
  return value;
}
