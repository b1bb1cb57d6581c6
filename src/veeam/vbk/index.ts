/** Read-only access to Veeam backup files (.vbk): listing, extracting and verifying, never writing. */
export { VbkReader, ENCRYPTED_HINT, type TreeEntry, type BlockRef } from './reader.js';
export { VbkDamageError, VbkFormatError, type DamageLocation } from './errors.js';
export { verifyBackup, inSubset, describeSubset, type Subset, type VerifyReport, type VerifyOptions } from './verify.js';
export { describeDisk, readRange, type DiskInfo, type PartitionInfo, type VolumeInfo } from './disk-info.js';
export { vhdFooter } from './vhd.js';
export { ItemType, type DirItem } from './layout.js';
export type { Property } from './properties.js';
