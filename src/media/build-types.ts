/** The options, secrets and report of `lifeboat build` (the report's format is versioned; see docs). */
import type { Secret } from '../secrets/index.js';
import type { Site } from '../site/index.js';

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
  /** Take driver folders that lie outside the site file's folder (refused by default). */
  driversOutsideSite?: boolean;
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
