/**
 * The file tree an ISO is written from. Nodes carry where their bytes come from (a host file, extents of another
 * ISO, or a small buffer), never the bytes of large files themselves.
 */
import { IsoRequestError } from './errors.js';

export interface Extent {
  /** Byte offset in the source image. */
  offset: number;
  length: number;
}

export type DataSource =
  | { kind: 'host'; path: string; size: number }
  | { kind: 'image'; path: string; extents: Extent[]; size: number }
  | { kind: 'bytes'; data: Buffer; size: number }
  /** The parts one after another (a file changed in a few places: the base's extents between the new bytes). */
  | { kind: 'pieces'; parts: readonly PieceSource[]; size: number };

export type PieceSource = Extract<DataSource, { kind: 'image' | 'bytes' }>;

export interface TreeFile {
  type: 'file';
  name: string;
  source: DataSource;
  mtime: Date;
}

export interface TreeDir {
  type: 'dir';
  name: string;
  /** Keyed by the lowercased name: ISO paths are matched case-insensitively, as Windows and ISO 9660 readers do. */
  children: Map<string, TreeNode>;
  mtime: Date;
}

export type TreeNode = TreeFile | TreeDir;

export function newDir(name: string, mtime: Date): TreeDir {
  return { type: 'dir', name, children: new Map(), mtime };
}

export function splitIsoPath(isoPath: string): string[] {
  const parts = isoPath.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new IsoRequestError(`ISO path "${isoPath}" must not contain ".."`);
  return parts;
}

export function findNode(root: TreeDir, isoPath: string): TreeNode | undefined {
  let node: TreeNode = root;
  for (const part of splitIsoPath(isoPath)) {
    if (node.type !== 'dir') return undefined;
    const next: TreeNode | undefined = node.children.get(part.toLowerCase());
    if (!next) return undefined;
    node = next;
  }
  return node;
}

/** Puts `node` at `isoPath`, creating parent directories; an existing node of the same name is replaced. */
export function placeNode(root: TreeDir, isoPath: string, node: TreeNode, mtime: Date): void {
  const parts = splitIsoPath(isoPath);
  const leaf = parts.pop();
  if (!leaf) throw new IsoRequestError(`ISO path "${isoPath}" names the root; give the path of a file or folder inside the image`);
  let dir = root;
  for (const part of parts) {
    let next = dir.children.get(part.toLowerCase());
    if (!next) {
      next = newDir(part, mtime);
      dir.children.set(part.toLowerCase(), next);
    } else if (next.type !== 'dir') {
      throw new IsoRequestError(`cannot add under "${isoPath}": "${next.name}" is a file, not a folder`);
    }
    dir = next;
  }
  const existing = dir.children.get(leaf.toLowerCase());
  // Keep the spelling the image already used for a replaced entry.
  node.name = existing?.name ?? leaf;
  dir.children.set(leaf.toLowerCase(), node);
}

export function removeNode(root: TreeDir, isoPath: string): boolean {
  const parts = splitIsoPath(isoPath);
  const leaf = parts.pop();
  if (!leaf) return false;
  const parent = findNode(root, parts.join('/'));
  return parent?.type === 'dir' ? parent.children.delete(leaf.toLowerCase()) : false;
}

/** Depth-first walk in name order: directories before their contents. */
export function* walk(dir: TreeDir, prefix = ''): Generator<{ path: string; node: TreeNode }> {
  for (const child of sortedChildren(dir)) {
    const path = `${prefix}/${child.name}`;
    yield { path, node: child };
    if (child.type === 'dir') yield* walk(child, path);
  }
}

export function sortedChildren(dir: TreeDir): TreeNode[] {
  return [...dir.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
