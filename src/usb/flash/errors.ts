/**
 * Typed errors of flashing. Each carries what went wrong where (the byte offset, and for a mismatch both sides), so
 * the CLI can print a plain sentence and --json can report the details. All are JobError (exit 1) except a block
 * map that does not match its image, which is bad input (exit 2).
 */
import { InputError, JobError } from '../../errors.js';

export type FlashPhase = 'write' | 'flush' | 'verify';

/** The read-back differs from what was written. */
export class VerifyMismatchError extends JobError {
  constructor(
    /** First byte (absolute offset on the target) that differs; the range start when the difference vanished on re-reading. */
    readonly offset: number,
    readonly range: { start: number; length: number },
    readonly expectedSha256: string,
    readonly actualSha256: string,
    /** The bytes read at `offset` on the stick and in the image (when located). */
    readonly actualByte?: number,
    readonly expectedByte?: number,
    /** False when a second read returned the right data: the stick is unreliable rather than wrong. */
    readonly reproducible = true,
  ) {
    super(
      `the stick returned different data at byte ${offset}: replace the stick`,
      reproducible
        ? `Range ${range.start}+${range.length}: SHA-256 ${actualSha256.slice(0, 16)}… read back, ${expectedSha256.slice(0, 16)}… written. The stick does not keep what is written to it (worn out or fake capacity).`
        : `Range ${range.start}+${range.length} read back wrong once and right the second time: the stick (or its port) is unreliable.`,
    );
  }
}

/** The device went away (unplugged, reset, removed by the kernel). */
export class DeviceGoneError extends JobError {
  constructor(
    readonly offset: number,
    readonly phase: FlashPhase,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the stick went away during ${phase === 'verify' ? 'the read-back' : phase === 'flush' ? 'the final flush' : 'writing'} at byte ${offset} (${code})`,
      'It was unplugged or stopped answering; what is on it cannot be trusted. Plug it in again and flash again, or replace the stick.',
      options,
    );
  }
}

/** The device reported an I/O error. */
export class DeviceIoError extends JobError {
  constructor(
    readonly offset: number,
    readonly phase: FlashPhase,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${phase === 'verify' ? 'read' : phase === 'flush' ? 'flush' : 'write'} error at byte ${offset} (${code}): replace the stick`,
      code === 'ENOSPC' || code === 'EFBIG'
        ? 'The stick holds less than it claims (a fake-capacity stick) or is too small.'
        : 'The stick is failing. Try another stick (and another USB port if it happens again).',
      options,
    );
  }
}

/** The device accepted fewer bytes than given and then no more. */
export class ShortWriteError extends JobError {
  constructor(
    readonly offset: number,
    readonly requested: number,
    readonly written: number,
  ) {
    super(
      `the stick accepted only ${written} of ${requested} bytes at byte ${offset - written} and then nothing more: replace the stick`,
      'A stick that stops accepting data is full (fake capacity) or failing.',
    );
  }
}

/** The stick (or file) ended before the image did on reading back. */
export class ShortReadError extends JobError {
  constructor(readonly offset: number) {
    super(`the stick ended at byte ${offset} while reading back: replace the stick`, 'It holds less than the image (fake capacity, or the wrong device).');
  }
}

/** The image's bytes differ from its block map: the map is stale or the image was changed or damaged. */
export class BlockMapMismatchError extends InputError {
  constructor(
    readonly range: { start: number; length: number },
    readonly expectedSha256: string,
    readonly actualSha256: string,
    imagePath: string,
  ) {
    super(
      `the image ${imagePath} does not match its block map at byte ${range.start} (range of ${range.length} bytes): the stick is now incomplete`,
      'The image changed after it was built or its .blockmap.json is stale: rebuild with `lifeboat build`, or delete the .blockmap.json to let flash scan the image.',
    );
  }
}

const GONE_CODES = new Set(['ENXIO', 'ENODEV', 'ENOENT', 'ESHUTDOWN', 'ENOMEDIUM', 'EBADF']);

/** Turns an error from the target into the typed error a user should see. */
export function targetError(err: unknown, offset: number, phase: FlashPhase): JobError {
  if (err instanceof JobError) return err;
  const code = String((err as { code?: unknown } | null)?.code ?? 'EIO');
  if (GONE_CODES.has(code)) return new DeviceGoneError(offset, phase, code, { cause: err });
  return new DeviceIoError(offset, phase, code, { cause: err });
}
