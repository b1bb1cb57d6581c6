/**
 * Commands the manual prints for the backup side, written for the system they run on: `lifeboat audit` reads the
 * share as a folder, which on Windows is the UNC path and on Linux a mount point (a UNC path is not a path there).
 */
import type { Site } from '../site/index.js';

export interface PlatformCommand {
  /** "On Windows", "On Linux". */
  readonly label: string;
  /** One command per line. */
  readonly text: string;
}

/** `\\nas01\veeam\sub` -> `//nas01/veeam/sub`, the form mount.cifs takes. */
function cifsSource(unc: string): string {
  return unc.replace(/\\/g, '/');
}

/** The audit command for `platform` ('win32', 'linux'); both for anything else (the reader's system is unknown). */
export function auditCommands(site: Site, siteFile: string, platform: string | undefined, mountedRoot?: string): PlatformCommand[] {
  const windows: PlatformCommand = { label: 'On Windows', text: `lifeboat audit --site ${siteFile} --share ${site.share.path}` };
  const shareName = site.share.path.slice(2).split('\\').slice(1).join('-') || 'backup';
  // A share read for this manual on Linux was mounted there: print that folder.
  const mountPoint = mountedRoot && mountedRoot.startsWith('/') ? mountedRoot : `/mnt/${shareName}`;
  const options = ['ro', `username=${site.share.user}`, ...(site.share.domain ? [`domain=${site.share.domain}`] : [])].join(',');
  const linux: PlatformCommand = {
    label: 'On Linux (mount the share first; mount asks for the password)',
    text: [
      `sudo mkdir -p ${mountPoint}`,
      `sudo mount -t cifs ${cifsSource(site.share.path)} ${mountPoint} -o ${options}`,
      `lifeboat audit --site ${siteFile} --share ${mountPoint}`,
    ].join('\n'),
  };
  if (platform === 'win32') return [windows];
  if (platform === 'linux') return [linux];
  return [windows, linux];
}
