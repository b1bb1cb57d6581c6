/** The ISO engine's public surface: read, write, remaster. It knows nothing of Windows or of Lifeboat's media. */
export { IsoImage, type IsoEntry, type BootImageInfo, allFiles } from './reader.js';
export { writeIso, type WriteOptions, type WriteResult, type BootImagePlan } from './writer.js';
export { remaster, treeFromImage, type RemasterOptions, type RemasterAddition } from './remaster.js';
export { hostDir, hostNode } from './host-tree.js';
export { IsoFormatError } from './errors.js';
export { newDir, placeNode, findNode, walk, type TreeDir, type TreeFile, type TreeNode, type DataSource } from './tree.js';
export { PLATFORM_BIOS, PLATFORM_EFI, newEntry, platformName, type BootCatalog, type BootEntry } from './boot-catalog.js';
export { fatImageBytes } from './boot-images.js';
export type { Progress } from './image-writer.js';
