/**
 * Remaster: a new image with the base's files (byte-identical, copied straight from the base), files added,
 * replaced or removed, every El Torito entry and image carried over byte-for-byte (images that are not files of
 * the tree included), and the system area's partition tables updated for the new size and places.
 */
import { hostNode } from './host-tree.js';
import { type BootImageInfo, type IsoEntry, IsoImage } from './reader.js';
import { type Extent, type PieceSource, type TreeDir, type TreeNode, findNode, newDir, placeNode, removeNode, splitIsoPath } from './tree.js';
import { type BootImagePlan, type CarriedSystemArea, type WriteOptions, type WriteResult, writeIso } from './writer.js';
import { SECTOR } from './bytes.js';
import { appendedArea } from './system-area.js';
import type { Progress } from './writer.js';
import type { IsoOutput } from './output.js';
import { IsoRequestError } from './errors.js';

export interface RemasterAddition {
  /** A host file or folder. */
  source: string;
  /** Where it goes in the image. */
  isoPath: string;
}

export interface RemasterOptions {
  base: string;
  out: IsoOutput;
  add?: RemasterAddition[];
  /** Extra content given as bytes (generated files). */
  addBytes?: { isoPath: string; data: Buffer }[];
  /** Files made of stretches of other files and bytes, in order (a base file changed in a few places). */
  addPieces?: { isoPath: string; pieces: readonly ({ path: string; extents: Extent[]; size: number } | { data: Buffer; size: number })[] }[];
  remove?: string[];
  /** Boot entries whose image becomes a file of the tree (e.g. UEFI -> efisys_noprompt.bin), by platform id. */
  bootImageFiles?: { platformId: number; isoPath: string }[];
  volumeId?: string;
  date?: Date;
  onProgress?: Progress;
  /** Hash the output while writing it. */
  sha256?: boolean;
  /** Send the output to disk while it is written; be told what is written while it is (see WriteOptions). */
  writeBehind?: boolean;
  onLayout?: WriteOptions['onLayout'];
  onWrittenThrough?: WriteOptions['onWrittenThrough'];
}

/** Two entries of the base whose names differ only in case ("/a/README" and "/a/readme"). */
interface CaseClash {
  kept: IsoEntry;
  /** The one not in the tree (the tree matches names case-insensitively), and its node. */
  left: IsoEntry;
  leftNode: TreeNode;
  dir: TreeDir;
}

function fileNode(image: IsoImage, c: IsoEntry): TreeNode {
  return { type: 'file', name: c.name, mtime: c.recorded, source: { kind: 'image', path: image.path, extents: c.extents, size: c.size } };
}

/**
 * The base's tree. Names that differ only in case (Rock Ridge and Joliet allow them) cannot both be written: the
 * names this library writes (ISO 9660 upper case, Joliet as Windows reads it) match case-insensitively. The first
 * is kept in the tree and the pair is returned, for the caller to resolve or refuse.
 */
function treeFromImage(image: IsoImage): { root: TreeDir; clashes: CaseClash[] } {
  const clashes: CaseClash[] = [];
  const convert = (entry: IsoEntry, name: string): TreeDir => {
    const dir = newDir(name, entry.recorded);
    const kept = new Map<string, IsoEntry>();
    for (const c of entry.children) {
      const key = c.name.toLowerCase();
      const node = c.isDir ? convert(c, c.name) : fileNode(image, c);
      const first = kept.get(key);
      if (first) {
        clashes.push({ kept: first, left: c, leftNode: node, dir });
        continue;
      }
      kept.set(key, c);
      dir.children.set(key, node);
    }
    return dir;
  };
  return { root: convert(image.root, ''), clashes };
}

/**
 * Applies the removals, which may name one of two clashing entries by its exact spelling (that one goes, the other
 * stays); refuses, naming both, a clash left unresolved. Returns how many entries were removed.
 */
function removeAndResolve(image: IsoImage, root: TreeDir, clashes: CaseClash[], remove: readonly string[]): number {
  const exact = (path: string) => `/${splitIsoPath(path).join('/')}`;
  const open = new Set(clashes);
  let removed = 0;
  for (const path of remove) {
    const clash = clashes.find((c) => exact(path) === c.kept.path || exact(path) === c.left.path);
    if (clash) {
      if (exact(path) === clash.kept.path) clash.dir.children.set(clash.left.name.toLowerCase(), clash.leftNode);
      open.delete(clash);
      removed++;
      continue;
    }
    if (!removeNode(root, path)) throw new IsoRequestError(`cannot remove "${path}": ${image.path} has no such file or folder`, 'List the files of the base image to see what it holds.');
    removed++;
  }
  const [clash] = open;
  if (clash) {
    throw new IsoRequestError(
      `${image.path} holds "${clash.kept.path}" and "${clash.left.path}", names that differ only in case; the image written keeps names case-insensitively (ISO 9660 and Joliet as Windows reads them), so it cannot hold both`,
      'Remove one of the two (by its exact spelling) or rename it in the base image.',
    );
  }
  return removed;
}

/**
 * The write plan for the base's boot images, against the tree as it will be written: an image that is still the
 * base's file stays that file; anything else (not a file, or a file the user removed or replaced) keeps the
 * original bytes as an image outside the tree.
 */
function bootPlanFrom(image: IsoImage, root: TreeDir): BootImagePlan[] {
  return image.bootImages.map((b: BootImageInfo) => {
    const inTree = b.file ? findNode(root, b.file) : undefined;
    const common = { oldLba: b.lba, patchBootInfoTable: b.bootInfoTable, patchGrub2BootInfo: b.grub2BootInfo };
    if (inTree?.type === 'file' && inTree.source.kind === 'image' && inTree.source.extents[0]?.offset === b.lba * 2048) {
      return { ...common, treePath: b.file };
    }
    return { ...common, key: `lba:${b.lba}`, source: { kind: 'image', path: image.path, extents: [{ offset: b.lba * 2048, length: b.size }], size: b.size } };
  });
}

/** The base's system area with what the writer needs to update it, appended partitions included. */
function carriedSystemArea(image: IsoImage): CarriedSystemArea {
  const oldVolumeBytes = Math.min(image.primary.volumeSpaceSize * SECTOR, image.size);
  const appended = appendedArea(image.systemArea, oldVolumeBytes, image.size);
  return { data: image.systemArea, oldImageBytes: image.size, oldVolumeBytes, appended: appended && { path: image.path, ...appended } };
}

export async function remaster(o: RemasterOptions): Promise<WriteResult & { added: number; removed: number }> {
  const image = await IsoImage.open(o.base);
  try {
    const { root, clashes } = treeFromImage(image);
    const removed = removeAndResolve(image, root, clashes, o.remove ?? []);
    const now = o.date ?? new Date();
    for (const a of o.add ?? []) {
      const node = await hostNode(a.source, '', o.date);
      placeNode(root, a.isoPath, node, now);
    }
    for (const b of o.addBytes ?? []) {
      placeNode(root, b.isoPath, { type: 'file', name: '', mtime: now, source: { kind: 'bytes', data: b.data, size: b.data.length } }, now);
    }
    for (const p of o.addPieces ?? []) {
      const parts = p.pieces.map((x): PieceSource => ('data' in x ? { kind: 'bytes', ...x } : { kind: 'image', ...x }));
      placeNode(root, p.isoPath, { type: 'file', name: '', mtime: now, source: { kind: 'pieces', parts, size: parts.reduce((n, x) => n + x.size, 0) } }, now);
    }
    const bootImages = bootPlanFrom(image, root);
    for (const swap of o.bootImageFiles ?? []) {
      const index = image.bootImages.findIndex((b) => b.platformId === swap.platformId);
      const node = findNode(root, swap.isoPath);
      if (index < 0) throw new IsoRequestError(`${o.base} has no El Torito entry for platform 0x${swap.platformId.toString(16)}`);
      if (node?.type !== 'file') throw new IsoRequestError(`${o.base} has no file ${swap.isoPath} to boot from`);
      bootImages[index] = { treePath: swap.isoPath };
    }
    const result = await writeIso(o.out, root, {
      volumeId: o.volumeId ?? image.primary.volumeId,
      date: o.date,
      systemId: image.primary.systemId,
      publisherId: image.primary.publisherId,
      preparerId: image.primary.preparerId,
      joliet: true,
      boot: image.catalog ? { catalog: image.catalog, images: bootImages } : undefined,
      systemArea: image.systemAreaInfo.empty ? undefined : carriedSystemArea(image),
      onProgress: o.onProgress,
      sha256: o.sha256,
      writeBehind: o.writeBehind,
      onLayout: o.onLayout,
      onWrittenThrough: o.onWrittenThrough,
    });
    return { ...result, added: (o.add?.length ?? 0) + (o.addBytes?.length ?? 0) + (o.addPieces?.length ?? 0), removed };
  } finally {
    await image.close();
  }
}
