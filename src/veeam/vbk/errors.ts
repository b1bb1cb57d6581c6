/** Errors of the backup file reader: what is wrong, in which file, and where. */
import { InputError, JobError } from '../../errors.js';

/** Not a Veeam backup file, a version or feature we do not read, or metadata that makes no sense: exit 2. */
export class VbkFormatError extends InputError {
  constructor(readonly file: string, message: string, hint?: string) {
    super(`${file}: ${message}`, hint);
  }
}

export interface DamageLocation {
  /** The backup file. */
  readonly file: string;
  /** What is damaged, in words: "block 3 of internal file X", "metadata bank 1 (slot 0)". */
  readonly what: string;
  readonly internalFile?: string;
  readonly blockIndex?: number;
  /** Byte offset of the block inside the internal file. */
  readonly internalOffset?: number;
  /** Byte offset in the backup file where the damaged data lies. */
  readonly fileOffset?: number;
  readonly reason: string;
}

/** A checksum or digest that does not match, or data that is missing: the backup is damaged (exit 1). */
export class VbkDamageError extends JobError {
  constructor(readonly damage: DamageLocation) {
    super(
      `${damage.file}: ${damage.what} is damaged: ${damage.reason}`,
      'Restore from another restore point or copy; run "lifeboat backup verify" on it to be sure it is intact.',
    );
  }
}
