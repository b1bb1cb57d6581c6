/**
 * The ISO library's public surface (see README.md): read an image, write one from a tree, remaster one. It knows
 * nothing of Windows, of Lifeboat's media or of its command line; everything else in src/iso is internal.
 */
export { IsoImage, type IsoEntry, type BootImageInfo, allFiles } from './reader.js';
export { writeIso, type WriteOptions, type WriteResult, type BootImagePlan, type Progress } from './writer.js';
export { type IsoOutput } from './output.js';
export { remaster, type RemasterOptions, type RemasterAddition } from './remaster.js';
export { hostDir } from './host-tree.js';
export { newDir, placeNode, type TreeDir, type TreeFile, type TreeNode, type DataSource } from './tree.js';
export { PLATFORM_BIOS, PLATFORM_EFI, newEntry, type BootCatalog, type BootEntry } from './boot-catalog.js';
export { IsoError, IsoFormatError, IsoRequestError, IoError, type IoProblem } from './errors.js';
