/**
 * Entry point of assistant.exe (the Restore Assistant run from the recovery media). Bundled by
 * scripts/build-assistant.mjs into a CommonJS file whose first statement sets process.title (an empty console title
 * aborts Node 22 on Windows, nodejs/node#58695), then packed into a Node single executable.
 * Keep this file free of top-level await and import.meta (both break in the CommonJS bundle).
 */
import { dirname, resolve } from 'node:path';
import { LifeboatError } from '../errors.js';
import type { Platform } from '../platform/platform.js';
import { SimulatedPlatform } from '../platform/simulated/simulated-platform.js';
import { WinPePlatform } from '../platform/winpe/winpe-platform.js';
import { runCheck } from './check.js';
import { runAssistant } from './run.js';
import { ConsoleUi } from './ui.js';
import { versionLine } from './version.js';

const USAGE = `Usage: assistant.exe [options]

Lifeboat Restore Assistant: guides a technician through restoring a server from its Veeam backup,
step by step, and hands over to Veeam Bare Metal Recovery with what to type.

Options:
  --media <dir>        root of the recovery media (default: the folder above \\lifeboat\\ that holds this program)
  --check              only test the media: show the site and unlock the credentials
  --simulate <folder>  train on a scenario (examples/scenarios/...) instead of this machine
  --version            print the version and exit
  --help               print this help and exit
`;

function option(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--version') || argv.includes('-v')) {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('/?')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const media = resolve(option(argv, '--media') ?? resolve(dirname(process.execPath), '..'));
  if (argv.includes('--check')) return runCheck(media);
  const scenario = option(argv, '--simulate');
  let platform: Platform;
  let simulated: SimulatedPlatform | undefined;
  if (scenario) {
    simulated = await SimulatedPlatform.start(scenario);
    platform = simulated;
  } else {
    platform = new WinPePlatform({ mediaRoot: media });
  }
  try {
    return await runAssistant(platform, new ConsoleUi());
  } finally {
    await simulated?.dispose();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // After Ctrl+C a step may still be waiting (a countdown, a tool): end now, the line has been written.
    if (code === 130) process.exit(130);
    process.exitCode = code;
  },
  (e: unknown) => {
    if ((e as Error)?.name === 'ExitPromptError') {
      process.stdout.write('\nStopped (Ctrl+C): nothing was written to or changed on this machine\'s disks. Start again with \\lifeboat\\start.cmd.\n');
      process.exit(130);
    } else if (e instanceof LifeboatError) {
      process.stdout.write(`${e.message}\n${e.hint ?? ''}\n`);
      process.exitCode = e.exitCode;
    } else {
      process.stdout.write(`The assistant stopped on an unexpected error: ${(e as Error)?.stack ?? e}\nVeeam Recovery starts when this window closes; follow the manual.\n`);
      process.exitCode = 1;
    }
  },
);
