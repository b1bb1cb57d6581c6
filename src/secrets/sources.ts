/**
 * Where secrets come from: a file (`--password-file`, `--unlock-file`), an environment variable
 * (LIFEBOAT_SHARE_PASSWORD, LIFEBOAT_UNLOCK) or an interactive prompt that shows `*` for each character. Never from
 * argv: command lines are visible to every user in the process list and end up in shell history.
 */
import { password as inquirerPassword } from '@inquirer/prompts';
import { open } from 'node:fs/promises';
import { InputError, InterruptedError } from '../errors.js';
import { Secret } from './secret.js';

export const ENV_SHARE_PASSWORD = 'LIFEBOAT_SHARE_PASSWORD';
export const ENV_UNLOCK = 'LIFEBOAT_UNLOCK';
/** Largest secret file read. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

export interface SecretFileOptions {
  /** What the secret is, for messages: "share password", "unlock secret". */
  what?: string;
  /** Where warnings go (e.g. a world-readable file); default: stderr. */
  warn?: (message: string) => void;
}

/**
 * Reads a secret from a file: one trailing newline (LF or CRLF) is removed; an empty file, a file with more than
 * one line or a file that is not UTF-8 is refused. Warns when other users can read the file.
 */
export async function readSecretFile(file: string, options: SecretFileOptions = {}): Promise<Secret> {
  const what = options.what ?? 'secret';
  const warn = options.warn ?? defaultWarn;
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: cannot read the ${what} file: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? error)}`);
  }
  const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1);
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new InputError(`${file}: the ${what} file is a directory`);
    if (stat.isFile() && process.platform !== 'win32' && (stat.mode & 0o004) !== 0) {
      warn(`${file} can be read by every user on this machine; restrict it with: chmod 600 ${file}`);
    }
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_SECRET_FILE_BYTES) {
        throw new InputError(`${file}: the ${what} file is larger than ${MAX_SECRET_FILE_BYTES} bytes; it should hold only the ${what}`);
      }
    }
    let end = length;
    if (buffer[end - 1] === 0x0a) end -= buffer[end - 2] === 0x0d ? 2 : 1;
    let start = 0;
    if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) start = 3; // UTF-8 byte order mark
    const bytes = buffer.subarray(start, Math.max(start, end));
    if (bytes.length === 0) throw new InputError(`${file}: the ${what} file is empty`);
    if (bytes.includes(0x0a) || bytes.includes(0x0d)) {
      throw new InputError(`${file}: the ${what} file has more than one line; it must hold only the ${what}`);
    }
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new InputError(`${file}: the ${what} file is not UTF-8 text`);
    }
    return new Secret(bytes);
  } finally {
    buffer.fill(0);
    await handle.close();
  }
}

export interface SecretEnvOptions {
  what?: string;
  /** Environment to read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Remove the variable after reading so child processes (xorriso, wimlib...) do not inherit it. Default true. */
  consume?: boolean;
}

/** Reads a secret from an environment variable; undefined when it is not set; refuses a set but empty variable. */
export function readSecretEnv(name: string, options: SecretEnvOptions = {}): Secret | undefined {
  const env = options.env ?? process.env;
  const value = env[name];
  if (value === undefined) return undefined;
  if (options.consume ?? true) delete env[name];
  if (value === '') throw new InputError(`${name} is set but empty; set it to the ${options.what ?? 'secret'} or unset it`);
  return new Secret(value);
}

/** Asks for a password without echoing it. */
export interface PasswordPrompter {
  password(question: { message: string; mask: string; validate?: (value: string) => true | string }): Promise<string>;
}

/**
 * The terminal prompter: @inquirer/prompts `password`, drawn on stderr so stdout stays clean for --json. Ctrl+C at
 * the prompt (inquirer's ExitPromptError) becomes an InterruptedError: one line, exit code 130; nothing has been
 * written at that point, since secrets are asked before any output.
 */
export const inquirerPasswordPrompter: PasswordPrompter = {
  password: async (question) => {
    try {
      return await inquirerPassword(question, { output: process.stderr });
    } catch (e) {
      if ((e as Error | undefined)?.name === 'ExitPromptError') {
        process.stderr.write('\n');
        throw new InterruptedError(`interrupted (Ctrl+C) at "${question.message.replace(/:$/, '')}": nothing was written`);
      }
      throw e;
    }
  },
};

export interface PromptSecretOptions {
  /** Ask twice and compare (for new secrets); the text of the second question. */
  confirmMessage?: string;
  /** Checks the first answer; a string is the reason to ask again. */
  validate?: (secret: Secret) => true | string;
  prompter?: PasswordPrompter;
  /** How often to ask again after a mismatch of the two answers. Default 3. */
  attempts?: number;
}

/** Prompts for a secret (masked with `*`). */
export async function promptSecret(message: string, options: PromptSecretOptions = {}): Promise<Secret> {
  const prompter = options.prompter ?? inquirerPasswordPrompter;
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const first = new Secret(
      await prompter.password({
        message,
        mask: '*',
        validate: (value) => {
          if (value === '') return 'please type it (it cannot be empty)';
          if (!options.validate) return true;
          const candidate = new Secret(value);
          try {
            return options.validate(candidate);
          } finally {
            candidate.wipe();
          }
        },
      }),
    );
    if (!options.confirmMessage) return first;
    const second = new Secret(await prompter.password({ message: options.confirmMessage, mask: '*' }));
    const same = first.equals(second);
    second.wipe();
    if (same) return first;
    first.wipe();
    if (attempt >= attempts) throw new InputError('the two entries did not match');
    defaultWarn('The two entries did not match; please type them again.');
  }
}

export interface SecretSource {
  /** What the secret is: "share password", "unlock secret". */
  what: string;
  /** Path from the --*-file option, when given. */
  file?: string;
  /** The option's name for messages: "--password-file". */
  fileOption: string;
  /** The environment variable to read. */
  envVar: string;
  env?: NodeJS.ProcessEnv;
  /** Whether a prompt may be shown; default: stdin and stderr are terminals. */
  interactive?: boolean;
  /** The question to ask when prompting. */
  promptMessage?: string;
  confirmMessage?: string;
  validate?: (secret: Secret) => true | string;
  prompter?: PasswordPrompter;
  warn?: (message: string) => void;
}

/**
 * Gets a secret from the first source that has it: the file option, the environment variable, then a prompt
 * (only on a terminal). Secrets read from a file or variable are checked with `validate` too.
 */
export async function getSecret(source: SecretSource): Promise<Secret> {
  const check = (secret: Secret, origin: string): Secret => {
    const verdict = source.validate?.(secret) ?? true;
    if (verdict !== true) {
      secret.wipe();
      throw new InputError(`${origin}: ${verdict}`);
    }
    return secret;
  };
  if (source.file !== undefined) {
    const fileOptions: SecretFileOptions = { what: source.what };
    if (source.warn) fileOptions.warn = source.warn;
    return check(await readSecretFile(source.file, fileOptions), source.file);
  }
  const envOptions: SecretEnvOptions = { what: source.what };
  if (source.env) envOptions.env = source.env;
  const fromEnv = readSecretEnv(source.envVar, envOptions);
  if (fromEnv) return check(fromEnv, source.envVar);
  const interactive = source.interactive ?? Boolean(process.stdin.isTTY && process.stderr.isTTY);
  if (!interactive) {
    throw new InputError(
      `no ${source.what} given`,
      `Give it with ${source.fileOption} FILE or the ${source.envVar} environment variable, or run in a terminal to be asked (secrets are never taken from the command line).`,
    );
  }
  const promptOptions: PromptSecretOptions = {};
  if (source.confirmMessage) promptOptions.confirmMessage = source.confirmMessage;
  if (source.validate) promptOptions.validate = source.validate;
  if (source.prompter) promptOptions.prompter = source.prompter;
  return promptSecret(source.promptMessage ?? `${capitalise(source.what)}:`, promptOptions);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function defaultWarn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}
