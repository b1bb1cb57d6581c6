/**
 * The files of winpe-overlay/ and where they go (found through src/resources.ts: in the repository, or unpacked from
 * the release exe).
 */
import { join } from 'node:path';
import { resourcePath } from '../resources.js';

export const OVERLAY_DIR = resourcePath('winpe-overlay');

/** winpe-overlay/launch.cmd: goes into the boot image as \lifeboat\launch.cmd (see LAUNCH_CMD_IMAGE_PATH). */
export const LAUNCH_CMD = join(OVERLAY_DIR, 'launch.cmd');
/** winpe-overlay/start.cmd: goes onto the media as \lifeboat\start.cmd (manual start from Tools > Command Prompt). */
export const START_CMD = join(OVERLAY_DIR, 'start.cmd');

/** Where launch.cmd lives inside the boot image. */
export const LAUNCH_CMD_IMAGE_PATH = '/lifeboat/launch.cmd';
/** The same file as Windows PE sees it (X: is the RAM drive the boot image is loaded into). */
export const LAUNCH_CMD_PE_PATH = '%SYSTEMDRIVE%\\lifeboat\\launch.cmd';
/** winpeshl.ini inside the boot image. */
export const WINPESHL_IMAGE_PATH = '/Windows/System32/winpeshl.ini';
