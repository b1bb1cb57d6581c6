/**
 * Entry point of assistant.exe (the Restore Assistant run from the recovery media). Bundled by
 * scripts/build-assistant.mjs into a CommonJS file whose first statement sets process.title (an empty console title
 * aborts Node 22 on Windows, nodejs/node#58695), then packed into a Node single executable.
 *
 * This build is a placeholder: `--version` (the media's self-test) and `--help` are real; the steps come later.
 * Keep this file free of top-level await and import.meta (both break in the CommonJS bundle).
 */
import { versionLine } from './version.js';

const USAGE = `Usage: assistant.exe [options]

Lifeboat Restore Assistant: guides a technician through restoring a server from its Veeam backup.

Options:
  --version   print the version and exit
  --help      print this help and exit
`;

export function run(argv: readonly string[]): number {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('/?')) {
    process.stdout.write(USAGE);
    return 0;
  }
  process.stdout.write(
    `${versionLine()}\n` +
      'Lifeboat Restore Assistant\n' +
      'The restore assistant is not yet implemented in this build.\n' +
      'Follow the printed restore manual, or start Veeam Recovery from its own menu.\n',
  );
  return 0;
}

process.exitCode = run(process.argv.slice(2));
