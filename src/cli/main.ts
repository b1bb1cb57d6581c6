/**
 * The `lifeboat` command line. Each command lives in its own file and only parses, calls a module and prints.
 * Exit codes: 0 ok, 1 the job failed, 2 bad usage or input, 3 an audit found a problem.
 */
import { Command, CommanderError } from 'commander';
import { LifeboatError } from '../errors.js';
import { registrationsFor } from './commands.js';
import { asLifeboatError } from './library-errors.js';
import { type ErrorCode, printJsonError, printedJson, red, say } from './output.js';
import { VERSION } from '../version.js';

/** The program with the commands `argv` needs registered (all of them by default). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('lifeboat')
    .version(VERSION, '-V, --version', 'print the version')
    .description([
      'Turns a Veeam Agent for Windows recovery ISO into a site\'s complete, tested restore kit.',
      '',
      'Human messages and progress go to stderr; with --json a command prints one JSON document on stdout.',
      // One paragraph: commander wraps it to the terminal; a line break of our own would split it oddly.
      'Exit codes: 0 ok, 1 the job failed, 2 bad usage or input (the message names the file or field), 3 an audit found an RPO or backup chain problem.',
    ].join('\n'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of await registrationsFor(argv)) register(program);
  for (const c of program.commands) c.exitOverride().showHelpAfterError();
  for (const c of program.commands.flatMap((c) => c.commands)) c.exitOverride().showHelpAfterError();
  return program;
}

/** True when the command line asks for --json (before any `--` that ends the options). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

const CODES: Record<LifeboatError['exitCode'], ErrorCode> = { 1: 'failed', 2: 'bad-input', 3: 'audit-problem', 130: 'interrupted' };

export async function main(argv: string[]): Promise<number> {
  const json = wantsJson(argv);
  const jsonError = (code: ErrorCode, exitCode: number, message: string, hint?: string) => {
    if (json && !printedJson()) printJsonError(code, exitCode, message, hint);
    return exitCode;
  };
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return 0;
  } catch (thrown) {
    const e = asLifeboatError(thrown);
    if (e instanceof CommanderError) {
      // --help and --version end here too, with code 0; commander has already printed its message.
      if (e.exitCode === 0) return 0;
      return jsonError('usage', 2, e.message.replace(/^error: /, ''), 'Run the command with --help for its usage.');
    }
    if (e instanceof LifeboatError) {
      say(`${red('error:')} ${e.message}`);
      if (e.hint) say(`  ${e.hint}`);
      return jsonError(CODES[e.exitCode], e.exitCode, e.message, e.hint);
    }
    say(`${red('error:')} ${(e as Error)?.stack ?? String(e)}`);
    say('  This is a bug in Lifeboat; please report it with the command you ran.');
    return jsonError('internal', 1, (e as Error)?.message ?? String(e), 'This is a bug in Lifeboat; please report it with the command you ran.');
  }
}

// A reader that goes away (`lifeboat build --help | head`) ends only our printing, never the job: the rest of what
// would have gone to that stream is dropped, and the job finishes (or cleans up) and sets the exit code as usual.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}

// No top-level await: the release exe bundles this file as CommonJS (scripts/build-release.mjs).
void main(process.argv).then((code) => {
  process.exitCode = code;
});
