/**
 * Places everything an image holds on sectors before a byte is written: descriptors, boot catalog, path tables,
 * both directory hierarchies, boot images that are not files, then file data. The writer then streams the image
 * front to back in one pass.
 */
import { SECTOR, sectorsFor } from './bytes.js';
import { recordLength } from './directory-record.js';
import { compareIsoIds, compareJolietIds, mapIsoNames, mapJolietNames } from './names.js';
import { type PathTableEntry, pathTableSize } from './path-table.js';
import { type DataSource, type TreeDir, type TreeFile, type TreeNode, sortedChildren } from './tree.js';

/** Largest extent of a multi-extent file: 4 GiB less one sector, so every extent stays sector aligned. */
export const MAX_EXTENT = 0xfffff800;

export interface Namespace {
  joliet: boolean;
  /** Per directory: its entries as they appear in it, sorted as the namespace requires. */
  records: Map<TreeDir, { id: string; node: TreeNode }[]>;
  /** Directory -> identifier in this namespace (root: "\0"). */
  ids: Map<TreeDir, string>;
  pathTable: PathTableEntry[];
  /** Path-table order; the index + 1 is the directory number. */
  dirs: TreeDir[];
  parents: Map<TreeDir, TreeDir>;
  dirLba: Map<TreeDir, number>;
  dirBytes: Map<TreeDir, number>;
  pathTableBytes: number;
  lPathLba: number;
  mPathLba: number;
}

export interface BootBlob {
  source: DataSource;
  lba: number;
  size: number;
}

export interface Layout {
  iso: Namespace;
  joliet?: Namespace;
  descriptorLbas: { primary: number; bootRecord?: number; joliet?: number; terminator: number };
  catalogLba?: number;
  catalogSectors: number;
  blobs: BootBlob[];
  fileLba: Map<TreeFile, number>;
  /** Files in the order their data is written. */
  files: TreeFile[];
  /** Sectors used by the volume (before tail padding). */
  volumeSectors: number;
}

function extentsOf(size: number): number {
  return Math.max(1, Math.ceil(size / MAX_EXTENT));
}

function buildNamespace(root: TreeDir, joliet: boolean): Namespace {
  const records = new Map<TreeDir, { id: string; node: TreeNode }[]>();
  const ids = new Map<TreeDir, string>([[root, '\0']]);
  const parents = new Map<TreeDir, TreeDir>();
  const compare = joliet ? compareJolietIds : compareIsoIds;
  const stack: TreeDir[] = [root];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const children = sortedChildren(dir);
    const names = (joliet ? mapJolietNames : mapIsoNames)(children.map((c) => ({ name: c.name, isDir: c.type === 'dir' })));
    const list = children.map((node) => ({ id: names.get(node.name)!, node }));
    list.sort((a, b) => compare(a.id, b.id));
    records.set(dir, list);
    for (const { id, node } of list) {
      if (node.type === 'dir') {
        ids.set(node, id);
        parents.set(node, dir);
        stack.push(node);
      }
    }
  }
  // Path table order: breadth first; within a level by parent number, then by identifier.
  const dirs: TreeDir[] = [root];
  const number = new Map<TreeDir, number>([[root, 1]]);
  for (let level: TreeDir[] = [root]; level.length > 0; ) {
    const next: TreeDir[] = [];
    for (const parent of level) {
      for (const { node } of records.get(parent)!) if (node.type === 'dir') next.push(node);
    }
    next.sort((a, b) => number.get(parents.get(a)!)! - number.get(parents.get(b)!)! || compare(ids.get(a)!, ids.get(b)!));
    for (const d of next) {
      dirs.push(d);
      number.set(d, dirs.length);
    }
    level = next;
  }
  const pathTable = dirs.map((d) => ({ id: ids.get(d)!, lba: 0, parent: d === root ? 1 : number.get(parents.get(d)!)! }));
  const dirBytes = new Map<TreeDir, number>();
  for (const d of dirs) {
    let used = 0;
    const add = (len: number) => {
      if ((used % SECTOR) + len > SECTOR) used = Math.ceil(used / SECTOR) * SECTOR;
      used += len;
    };
    add(34);
    add(34);
    for (const { id, node } of records.get(d)!) {
      const n = node.type === 'file' ? extentsOf(node.source.size) : 1;
      for (let i = 0; i < n; i++) add(recordLength(id, joliet));
    }
    dirBytes.set(d, Math.ceil(used / SECTOR) * SECTOR);
  }
  return {
    joliet, records, ids, pathTable, dirs, parents, dirLba: new Map(), dirBytes,
    pathTableBytes: pathTableSize(pathTable, joliet), lPathLba: 0, mPathLba: 0,
  };
}

export interface LayoutInput {
  root: TreeDir;
  joliet: boolean;
  hasBoot: boolean;
  catalogBytes: number;
  /** Boot images that are not files of the tree, each placed once. */
  blobs: { source: DataSource }[];
}

export function computeLayout(input: LayoutInput): Layout {
  const iso = buildNamespace(input.root, false);
  const joliet = input.joliet ? buildNamespace(input.root, true) : undefined;
  let lba = 16;
  const descriptorLbas = {
    primary: lba++,
    bootRecord: input.hasBoot ? lba++ : undefined,
    joliet: joliet ? lba++ : undefined,
    terminator: lba++,
  };
  const catalogSectors = input.hasBoot ? sectorsFor(input.catalogBytes) : 0;
  const catalogLba = input.hasBoot ? lba : undefined;
  lba += catalogSectors;
  for (const ns of [iso, joliet]) {
    if (!ns) continue;
    ns.lPathLba = lba;
    lba += sectorsFor(ns.pathTableBytes);
    ns.mPathLba = lba;
    lba += sectorsFor(ns.pathTableBytes);
  }
  for (const ns of [iso, joliet]) {
    if (!ns) continue;
    ns.dirs.forEach((d, i) => {
      ns.dirLba.set(d, lba);
      ns.pathTable[i]!.lba = lba;
      lba += ns.dirBytes.get(d)! / SECTOR;
    });
  }
  const blobs: BootBlob[] = [];
  for (const b of input.blobs) {
    blobs.push({ source: b.source, lba, size: b.source.size });
    lba += Math.max(1, sectorsFor(b.source.size));
  }
  const fileLba = new Map<TreeFile, number>();
  const files: TreeFile[] = [];
  const visit = (dir: TreeDir) => {
    for (const { node } of iso.records.get(dir)!) {
      if (node.type === 'dir') visit(node);
      else {
        files.push(node);
        fileLba.set(node, lba);
        lba += sectorsFor(node.source.size);
      }
    }
  };
  visit(input.root);
  return { iso, joliet, descriptorLbas, catalogLba, catalogSectors, blobs, fileLba, files, volumeSectors: lba };
}
