/**
 * The libraries (src/iso, the shared writer in src/util) throw errors without exit codes; this is where the CLI
 * gives them one: what the user can fix is bad input (exit 2), an I/O failure nobody can explain is the job failing
 * (exit 1).
 */
import { InputError, JobError, LifeboatError } from '../errors.js';
import { IsoError } from '../iso/errors.js';
import { IoError } from '../util/io-errors.js';

export function asLifeboatError(e: unknown): unknown {
  if (e instanceof LifeboatError) return e;
  if (e instanceof IsoError) return new InputError(e.message, e.hint, { cause: e });
  if (e instanceof IoError) return e.fixableByUser ? new InputError(e.message, e.hint, { cause: e }) : new JobError(e.message, e.hint, { cause: e });
  return e;
}
