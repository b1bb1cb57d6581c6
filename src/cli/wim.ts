/** `lifeboat wim inspect|update`: our own WIM engine on the command line (loaded only when a wim command runs). */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { collect, parseAddition } from './common.js';
import { bold, dim, formatBytes, printJson, say } from './output.js';
import { progressMeter } from './progress.js';

function parseIndex(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InputError(`${option} "${text}": expected an image number (1, 2, ...)`);
  return Number(text);
}

export function registerWim(program: Command): void {
  const wim = program
    .command('wim')
    .description('read and update Windows Imaging (WIM) files, such as a recovery ISO\'s sources\\boot.wim, with no other tool');

  wim
    .command('inspect')
    .argument('<file>', 'WIM file to describe')
    .option('--image <n>', 'also list the files of image N')
    .option('--json', 'print one JSON document on stdout')
    .description('show the header (compression, boot index, integrity table) and every image; with --image, its files')
    .addHelpText('after', [
      '',
      'Reads WIMs compressed with LZX, XPRESS or not at all. Solid (LZMS, .esd) WIMs are refused.',
      'Examples:',
      '  lifeboat wim inspect boot.wim',
      '  lifeboat wim inspect boot.wim --image 2 --json | jq \'.images[1].files[].path\'',
    ].join('\n'))
    .action(async (file: string, opts: { image?: string; json?: boolean }) => {
      const filesOf = parseIndex(opts.image, '--image');
      const { inspectWim } = await import('../wim/engine/inspect.js');
      const r = await inspectWim(file, filesOf === undefined ? {} : { filesOf });
      if (filesOf !== undefined && filesOf > r.images.length) {
        throw new InputError(`${file}: has no image ${filesOf} (it holds ${r.images.length})`);
      }
      if (opts.json) {
        printJson(r);
        return;
      }
      say(`${bold(r.path)}: ${formatBytes(r.fileSize)}, WIM version ${r.version}, ${r.compression.toUpperCase()} in ${r.chunkSize}-byte chunks`);
      say(`  boot index ${r.bootIndex || 'none'}, ${r.integrityTable ? 'with' : 'no'} integrity table, ${r.blobs.count} file data blobs (${r.blobs.compressed} compressed)`);
      for (const img of r.images) {
        say(`  image ${img.index}${img.index === r.bootIndex ? ' (boot)' : ''}: ${img.name ?? dim('no name')}` +
          `${img.fileCount !== undefined ? `, ${img.fileCount} files, ${img.dirCount} folders, ${formatBytes(img.totalBytes ?? 0)}` : ''}` +
          `${img.modified ? `, changed ${img.modified}` : ''}`);
        for (const f of img.files ?? []) {
          say(`    ${f.kind === 'dir' ? dim('dir ') : f.kind === 'link' ? dim('link') : '    '} ${f.path}${f.kind === 'file' ? dim(`  ${f.bytes}`) : ''}`);
        }
      }
    });

  wim
    .command('update')
    .argument('<file>', 'WIM file to change in place')
    .requiredOption('--image <n>', 'image to change (1 = first)')
    .option('--add <src=path>', 'put host file SRC at PATH in the image (replaces a file already there); repeatable', collect, [])
    .option('--remove <path>', 'remove the file or folder (with its contents) at PATH; repeatable', collect, [])
    .option('--json', 'print the result as JSON on stdout')
    .description('add, replace and remove files in one image, appending to the WIM as wimlib does (nothing else moves)')
    .addHelpText('after', [
      '',
      'New data and the image\'s new directory tree are written after the old end of the file, then a new blob',
      'table, XML and (when the WIM had one) integrity table; the header is rewritten last. Interrupted, the WIM',
      'stays as it was. Paths in the image use / or \\ and are matched case-insensitively, as Windows does.',
      'Every --remove is applied before the --add options; a replaced file keeps its name, attributes and security.',
      'Example:',
      '  lifeboat wim update boot.wim --image 2 --add launch.cmd=/lifeboat/launch.cmd \\',
      '    --add winpeshl.ini=/Windows/System32/winpeshl.ini',
    ].join('\n'))
    .action(async (file: string, opts: { image: string; add: string[]; remove: string[]; json?: boolean }) => {
      const index = parseIndex(opts.image, '--image')!;
      if (opts.add.length === 0 && opts.remove.length === 0) {
        throw new InputError('wim update: nothing to do', 'Give at least one --add SRC=PATH or --remove PATH.');
      }
      const add = opts.add.map((spec) => {
        const a = parseAddition(spec);
        return { source: a.source, target: a.isoPath };
      });
      const { updateWim } = await import('../wim/engine/update.js');
      const meter = progressMeter(`updating ${file}`);
      const r = await updateWim(file, { index, add, remove: opts.remove }, { onProgress: (_w, d, t) => meter.update(d, t) });
      meter.end();
      if (opts.json) {
        printJson({ file, ...r });
        return;
      }
      for (const p of r.removed) say(`removed ${p}`);
      for (const a of r.added) say(`added   ${a.target} (${formatBytes(a.bytes)}${a.stored || a.bytes === 0 ? '' : ', data already in the WIM'})`);
      say(`${bold(file)}: image ${r.index} updated, ${formatBytes(r.appendedBytes)} appended${r.integrity ? ', integrity table rewritten' : ''}`);
    });
}
