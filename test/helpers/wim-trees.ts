/**
 * Small WIMs made by wimlib-imagex for the WIM engine tests: three images (boot index 2) of trees with hard links,
 * Unicode names (including characters outside the BMP), empty files and folders, many small files, x86-like code
 * (E8 call bytes, for LZX's translation), compressible text and incompressible data.
 */
import { link, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pseudoRandomBytes, runChecked } from './tools.js';

/** Bytes that look like x86 code: many E8 (call) opcodes followed by 32-bit targets, some of them repeated. */
export function x86LikeBytes(length: number): Buffer {
  const out = Buffer.alloc(length);
  const rnd = pseudoRandomBytes('x86', length);
  for (let i = 0; i + 5 <= length; i += 8) {
    out[i] = 0xe8;
    out.writeInt32LE(((rnd.readUInt16LE(i) % 4000) - 1000) * ((i % 3) + 1), i + 1);
    out[i + 5] = 0x90;
    out[i + 6] = rnd[i + 6]! & 0x0f;
    out[i + 7] = 0xc3;
  }
  return out;
}

/** Writes a tree; `variant` changes a few files so the images differ. */
export async function makeWimTree(root: string, variant: number): Promise<void> {
  const sys = join(root, 'Windows', 'System32');
  await mkdir(sys, { recursive: true });
  await writeFile(join(sys, 'winpeshl.ini'), `[LaunchApps]\r\nX:\\VeeamRecovery\\Veeam.Endpoint.Recovery.exe\r\n; variant ${variant}\r\n`);
  await writeFile(join(sys, 'startnet.cmd'), 'wpeinit\r\n');
  await writeFile(join(sys, 'code.dll'), x86LikeBytes(300_000 + variant * 1000));
  await mkdir(join(root, 'VeeamRecovery'), { recursive: true });
  await writeFile(join(root, 'VeeamRecovery', 'Veeam.Endpoint.Recovery.exe'), pseudoRandomBytes(`veeam${variant}`, 200_000));
  const text = Array.from({ length: 12_000 }, (_, i) => `line ${i} of a log that compresses well (variant ${variant})\r\n`).join('');
  await writeFile(join(root, 'log.txt'), text);
  await mkdir(join(root, 'links'), { recursive: true });
  await link(join(root, 'log.txt'), join(root, 'links', 'same log.txt'));
  await writeFile(join(root, 'empty.txt'), '');
  await mkdir(join(root, 'Empty Folder'), { recursive: true });
  const uni = join(root, 'Ünïcødé 名前');
  await mkdir(uni, { recursive: true });
  await writeFile(join(uni, 'ファイル 🚀.txt'), 'unicode\r\n');
  await writeFile(join(uni, 'Ελληνικά.txt'), `variant ${variant}\r\n`);
  const many = join(root, 'many');
  await mkdir(many, { recursive: true });
  for (let i = 0; i < 120; i++) await writeFile(join(many, `f${String(i).padStart(3, '0')}.txt`), `file ${i}\r\n`.repeat(i % 7));
  await mkdir(join(root, 'remove me', 'sub'), { recursive: true });
  await writeFile(join(root, 'remove me', 'sub', 'gone.txt'), 'bye\r\n');
}

/** A three-image WIM (boot index 2) with `compress` (LZX, XPRESS, none); `check` adds an integrity table. */
export async function makeTestWim(dir: string, compress: string, check: boolean): Promise<string> {
  const wim = join(dir, `test-${compress}${check ? '-check' : ''}.wim`);
  for (const v of [1, 2, 3]) await makeWimTree(join(dir, `tree${v}`), v);
  const extra = check ? ['--check'] : [];
  await runChecked('wimlib-imagex', ['capture', join(dir, 'tree1'), wim, 'Image One', `--compress=${compress}`, ...extra]);
  await runChecked('wimlib-imagex', ['append', join(dir, 'tree2'), wim, 'Windows PE', '--boot', ...extra]);
  await runChecked('wimlib-imagex', ['append', join(dir, 'tree3'), wim, 'Image Three', ...extra]);
  return wim;
}

/** Every file below `root`: relative path (with /) -> bytes; folders map to null. */
export async function readTree(root: string): Promise<Map<string, Buffer | null>> {
  const out = new Map<string, Buffer | null>();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const rel = `/${relative(root, p).split(sep).join('/')}`;
      if (e.isDirectory()) {
        out.set(rel, null);
        await walk(p);
      } else out.set(rel, await readFile(p));
    }
  };
  await walk(root);
  return out;
}

/** The inode numbers of two files (to see that a hard link survived extraction). */
export async function sameInode(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([stat(a), stat(b)]);
  return sa.ino === sb.ino && sa.dev === sb.dev;
}

/** `wimlib-imagex extract WIM N --dest-dir=DEST` of a whole image. */
export async function extractImage(wim: string, index: number, dest: string): Promise<void> {
  await runChecked('wimlib-imagex', ['extract', wim, String(index), `--dest-dir=${dest}`, '--no-acls']);
}
