/** Builds an image tree from a folder on the host (for `iso create` and for files added to a remaster). */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { IsoRequestError } from './errors.js';
import { type TreeDir, type TreeFile, type TreeNode, newDir } from './tree.js';

const MAX_ENTRIES = 1_000_000;

/** `date`, when given, replaces every modification time (reproducible images). */
export async function hostNode(path: string, name: string, date?: Date): Promise<TreeNode> {
  let s;
  try {
    s = await stat(path);
  } catch (e) {
    throw new IsoRequestError(`cannot read "${path}": ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : String(e)}`, 'Check that the path exists and is readable.');
  }
  if (s.isDirectory()) return hostDir(path, name, date);
  if (s.isFile()) return hostFile(path, name, s.size, date ?? s.mtime);
  throw new IsoRequestError(`"${path}" is neither a file nor a folder`, 'Only regular files and folders can go into an image.');
}

function hostFile(path: string, name: string, size: number, mtime: Date): TreeFile {
  return { type: 'file', name, source: { kind: 'host', path, size }, mtime };
}

/** Reads a folder recursively; symbolic links are followed, loops and special files refused. */
export async function hostDir(path: string, name = '', date?: Date): Promise<TreeDir> {
  let count = 0;
  const seen = new Set<string>();
  const visit = async (dirPath: string, dirName: string): Promise<TreeDir> => {
    const s = await stat(dirPath);
    const key = `${s.dev}:${s.ino}`;
    if (seen.has(key)) throw new IsoRequestError(`folder "${dirPath}" contains a link back to one of its parents`, 'Remove the looping symbolic link.');
    seen.add(key);
    const dir = newDir(dirName, date ?? s.mtime);
    let names: string[];
    try {
      names = await readdir(dirPath);
    } catch (e) {
      throw new IsoRequestError(`cannot list folder "${dirPath}": ${(e as NodeJS.ErrnoException).code ?? e}`, 'Check its permissions.');
    }
    for (const child of names.sort()) {
      if (++count > MAX_ENTRIES) throw new IsoRequestError(`folder "${path}" holds more than ${MAX_ENTRIES} entries`);
      const childPath = join(dirPath, child);
      let cs = await lstat(childPath);
      if (cs.isSymbolicLink()) cs = await stat(childPath).catch(() => cs);
      if (dir.children.has(child.toLowerCase())) {
        throw new IsoRequestError(`folder "${dirPath}" has two entries that differ only in case ("${child}")`, 'ISO images and Windows treat names case-insensitively: rename one.');
      }
      let node: TreeNode;
      if (cs.isDirectory()) node = await visit(childPath, child);
      else if (cs.isFile()) node = hostFile(childPath, child, cs.size, date ?? cs.mtime);
      else throw new IsoRequestError(`"${childPath}" is not a regular file or folder (socket, device or broken link)`, 'Remove it from the folder.');
      dir.children.set(child.toLowerCase(), node);
    }
    seen.delete(key);
    return dir;
  };
  return visit(path, name);
}
