/**
 * The project's error types. Every error a user can meet carries the exit code the CLI should use and, where there
 * is one, a hint saying what to do next. Modules throw these; only src/cli turns them into messages and exit codes.
 */
import { HintedError } from './util/hinted-error.js';

export abstract class LifeboatError extends HintedError {
  abstract readonly exitCode: 1 | 2 | 3 | 130;
}

/** Bad usage or bad input (a file, a field, an argument): exit code 2. The message names the file or field. */
export class InputError extends LifeboatError {
  readonly exitCode = 2 as const;
}

/** The job itself failed (a tool crashed, a device went away, a verification mismatch): exit code 1. */
export class JobError extends LifeboatError {
  readonly exitCode = 1 as const;
}

/** The person pressed Ctrl+C at a prompt: exit code 130 (128 + SIGINT), one line, no stack trace. */
export class InterruptedError extends LifeboatError {
  readonly exitCode = 130 as const;
}
