/**
 * When a written chunk may be read back, so the read-back can run beside the writes that follow it.
 *
 * A read-back must compare what the target holds, never a copy in the page cache. So chunk k is handed to the
 * verify pass (`flushed`) only once an fdatasync that was *started after chunk k's write had returned* has itself
 * returned: fdatasync writes back every page of the file still dirty at that moment (with O_DIRECT writes there are
 * none) and then makes the device commit its write cache, so from then on the target holds chunk k. The verify pass
 * reads it through the target's O_DIRECT handle, which reads the device and never a cached copy
 * (FlashTarget.directRead; where the file system has no O_DIRECT the CLI says that the read-back may have come from
 * the page cache, as before).
 *
 * The writer reports each chunk as its write returns (`wrote`, in order). A flush starts when `every` chunks are
 * unflushed and none is running: the device is flushed every few chunks, not after each one (a flush costs a cache
 * commit on the stick), while the writing goes on. `finish` is the final flush, after the last write.
 *
 * It also keeps the job's first failure (`fail`: from a flush, the write pass or the verify pass); each pass stops
 * at its next step once there is one, and everything waiting on `flushed` is woken with it.
 */
import { targetError } from './errors.js';
import { Frontier } from '../../util/frontier.js';
import type { FlashTarget } from './target.js';

export class Checkpoints {
  /** Chunks that may be read back: each was written before an fdatasync that has returned. */
  readonly flushed = new Frontier();
  /** Chunks [0, written) have been written (their write calls returned). */
  private written = 0;
  private running: Promise<void> | undefined;
  private flushedOnce = false;
  private firstFailure: unknown;
  private hasFailed = false;

  /**
   * @param every chunks written between two flushes
   * @param endOf the target offset just past the first `count` chunks (named by a flush error)
   * @param onFail told of the job's first failure (to wake other waiters)
   */
  constructor(
    private readonly target: FlashTarget,
    private readonly every: number,
    private readonly endOf: (count: number) => number,
    private readonly onFail: (e: unknown) => void = () => undefined,
  ) {}

  get failed(): boolean {
    return this.hasFailed;
  }

  /** The job's first failure (meaningful when `failed`). */
  get failure(): unknown {
    return this.firstFailure;
  }

  /** Records the job's first failure; later ones are its consequences and are dropped. */
  fail(e: unknown): void {
    if (this.hasFailed) return;
    this.hasFailed = true;
    this.firstFailure = e;
    this.flushed.fail(e);
    this.onFail(e);
  }

  /** Chunk `chunk` (the next one in order) has been written. */
  wrote(chunk: number): void {
    this.written = chunk + 1;
    if (!this.running && !this.hasFailed && this.written - this.flushed.count >= this.every) this.running = this.checkpoint(this.written);
  }

  /** The final flush, once every chunk is written: afterwards all of them may be read back. */
  async finish(): Promise<void> {
    while (this.running) await this.running; // a checkpoint starts the next one when writes piled up meanwhile
    if (this.hasFailed) throw this.firstFailure;
    // a checkpoint that started after the last write had returned already covers everything
    if (this.flushed.count < this.written || !this.flushedOnce) await this.flush(this.written);
  }

  /** A flush while writing. It never rejects: a failure is the job's (a failed fdatasync is final, never retried). */
  private async checkpoint(upTo: number): Promise<void> {
    try {
      await this.flush(upTo);
    } catch {
      this.running = undefined;
      return;
    }
    this.running = !this.hasFailed && this.written - this.flushed.count >= this.every ? this.checkpoint(this.written) : undefined;
  }

  /** fdatasync; then chunks [0, upTo), all written before it started, may be read back. */
  private async flush(upTo: number): Promise<void> {
    if (this.hasFailed) throw this.firstFailure;
    try {
      await this.target.flush();
    } catch (e) {
      const error = targetError(e, this.endOf(upTo), 'flush');
      this.fail(error);
      throw error;
    }
    this.flushedOnce = true;
    this.flushed.advanceTo(upTo);
  }
}
