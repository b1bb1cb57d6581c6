/**
 * `lifeboat backup ls|extract|verify`: Veeam backup files (.vbk) read without Veeam. The reader is loaded inside each
 * action so that start-up stays fast.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { InputError, JobError } from '../errors.js';
import { bold, dim, formatBytes, green, printJson, red, say } from './output.js';
import { progressMeter } from './progress.js';

export function registerBackup(program: Command): void {
  const backup = program
    .command('backup')
    .description('read Veeam backup files (.vbk) without Veeam: list, extract a disk or file, verify every block')
    .addHelpText('after', [
      '',
      'Examples:',
      '  lifeboat backup ls server.vbk',
      '  lifeboat backup verify server.vbk',
      '  lifeboat backup extract server.vbk <internal file from ls> --out disk0.vhd --format vhd',
    ].join('\n'));

  backup
    .command('ls')
    .argument('<file>', 'Veeam backup file (.vbk)')
    .option('--json', 'print one JSON document on stdout')
    .option('--no-disks', 'do not look inside disks for partitions and volumes')
    .description('show the files inside the backup with sizes and properties; for disks the partition table and NTFS volumes')
    .addHelpText('after', [
      '',
      'Inside a Veeam backup are "internal files": a disk image per backed-up disk, plus Veeam\'s XML side files.',
      'Storage formats 9 and 13 are read; encrypted backups are refused.',
      '',
      'Example:',
      '  lifeboat backup ls "/mnt/nas/Server01/Server01 - 2026-01-31T000458.vbk"',
    ].join('\n'))
    .action(async (file: string, opts: { json?: boolean; disks: boolean }) => {
      const { listBackup } = await import('../veeam/vbk/extract.js');
      const listing = await listBackup(file, { disks: opts.disks });
      if (opts.json) return printJson(listing);
      say(`${bold(basename(file))}: Veeam storage format ${listing.formatVersion}, snapshot ${listing.snapshotVersion}, ${listing.storedBlocks} stored blocks of up to ${formatBytes(listing.blockSize)}`);
      for (const item of listing.items) {
        const indent = '  '.repeat(item.depth + 1);
        const name = item.path.split('/').pop() ?? item.path;
        const size = item.size !== undefined ? `  ${formatBytes(item.size)} (${item.size} bytes, ${item.blocks} blocks)` : '/';
        say(`${indent}${item.kind === 'folder' ? bold(name) : name}${item.kind === 'file' || item.kind === 'folder' ? '' : ` [${item.kind}]`}${size}`);
        for (const p of item.properties) {
          say(`${indent}  ${dim(`${p.name} = ${p.type === 'binary' ? `${p.bytes} bytes ${String(p.value).slice(0, 64)}${String(p.value).length > 64 ? '…' : ''}` : String(p.value)}`)}`);
        }
        if (item.diskError) say(`${indent}  ${red('disk not readable:')} ${item.diskError} (run "lifeboat backup verify" for the whole file)`);
        if (item.disk) {
          const d = item.disk;
          if (d.volume) say(`${indent}  volume: ${volumeText(d.volume)}`);
          if (d.partitionTable !== 'none') say(`${indent}  disk: ${d.partitionTable} partition table${d.diskGuid ? ` ${d.diskGuid}` : ''}, ${d.partitions.length} partitions`);
          for (const p of d.partitions) {
            const what = [p.typeName ?? p.type, p.name ? `"${p.name}"` : '', p.volume && p.volume.fileSystem !== 'unknown' ? volumeText(p.volume) : ''].filter(Boolean).join(', ');
            say(`${indent}    ${p.index}: at ${formatBytes(p.offset)}, ${formatBytes(p.size)}  ${what}`);
          }
        }
      }
    });

  backup
    .command('extract')
    .argument('<file>', 'Veeam backup file (.vbk)')
    .argument('<internal-path>', 'the internal file to take out, as "lifeboat backup ls" shows it (or just its name)')
    .requiredOption('--out <file>', 'where to write it (written beside, then renamed into place)')
    .option('--format <format>', 'raw: the exact bytes; vhd: a disk as a fixed VHD (raw data + 512-byte footer)', 'raw')
    .option('--json', 'print the result as JSON on stdout')
    .description('write one internal file out of the backup, every block checked against its digest')
    .addHelpText('after', [
      '',
      'A disk extracted with --format vhd opens in Windows with a double-click (Disk Management attaches it) and',
      'reads as a raw image on Linux (losetup -P, or qemu-img). Nothing is left at --out if a block is damaged.',
      '',
      'Example:',
      '  lifeboat backup extract server.vbk "6745a759-... (3c834d56-...)/8b14f74c-360d-4d7a-98f7-7f4c5e737eb7" --out disk0.vhd --format vhd',
    ].join('\n'))
    .action(async (file: string, internalPath: string, opts: { out: string; format: string; json?: boolean }) => {
      if (opts.format !== 'raw' && opts.format !== 'vhd') throw new InputError(`--format "${opts.format}" is not raw or vhd`, 'Use --format raw for the exact bytes or --format vhd for a disk Windows can attach.');
      const { extractFile } = await import('../veeam/vbk/extract.js');
      const meter = progressMeter(`extracting ${basename(internalPath)}`);
      const result = await extractFile(file, internalPath, opts.out, { format: opts.format, onProgress: meter.update }).finally(() => meter.end());
      if (opts.json) printJson(result);
      else say(`wrote ${opts.out} (${formatBytes(result.outBytes)}${result.format === 'vhd' ? ', fixed VHD' : ''}), sha256 ${result.sha256}`);
    });

  backup
    .command('verify')
    .argument('<file>', 'Veeam backup file (.vbk)')
    .option('--json', 'print the report as JSON on stdout')
    .description('read every metadata page and data block and check it (exit 0 intact, 1 damaged, 2 not a readable backup)')
    .addHelpText('after', [
      '',
      'Checks both metadata slots and every metadata bank against their CRC-32C, then reads, decompresses and checks',
      'every stored block against its MD5 digest. The first damaged block is named with its internal file and offset.',
      '',
      'Example:',
      '  lifeboat backup verify server.vbk && echo intact',
    ].join('\n'))
    .action(async (file: string, opts: { json?: boolean }) => {
      const { verifyBackup } = await import('../veeam/vbk/verify.js');
      const meter = progressMeter(`verifying ${basename(file)}`);
      const report = await verifyBackup(file, { onProgress: meter.update }).finally(() => meter.end());
      if (opts.json) printJson(report);
      const first = report.damage[0];
      if (first) {
        if (!opts.json) for (const d of report.damage) say(`${red('damaged:')} ${d.what}: ${d.reason}`);
        // `what` names the block, its internal file and offset (or the metadata bank or slot).
        throw new JobError(
          `${file}: ${report.damageCount} damaged item(s); first: ${first.what}: ${first.reason}`,
          'Do not rely on this backup: run a new full backup (or an active full in Veeam) and keep this file for analysis.',
        );
      }
      if (!opts.json) {
        say(green(`verified ${basename(file)}: ${report.blocksChecked} blocks, ${formatBytes(report.dataBytesChecked)} of data (${formatBytes(report.storedBytesRead)} stored), ${report.banksChecked} metadata banks, every checksum matches`));
      }
    });
}

function volumeText(v: { fileSystem: string; size?: number; label?: string }): string {
  return [v.fileSystem, v.size !== undefined ? formatBytes(v.size) : '', v.label !== undefined ? `label "${v.label}"` : ''].filter(Boolean).join(' ');
}
