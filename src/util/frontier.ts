/**
 * How far an in-order pass has got: positions [0, count) are past (flash: chunks flushed or verified; a build: bytes
 * of the ISO written). Other passes wait for a position with `reached`; a failure of the job wakes every waiter.
 */
interface Waiter {
  chunk: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class Frontier {
  private passed = 0;
  private waiters: Waiter[] = [];
  private failed = false;
  private failure: unknown;

  /** Chunks [0, count) are past. */
  get count(): number {
    return this.passed;
  }

  /** Chunks [0, count) are past (a smaller count than before changes nothing). */
  advanceTo(count: number): void {
    if (count <= this.passed) return;
    this.passed = count;
    const ready = this.waiters.filter((w) => w.chunk < count);
    this.waiters = this.waiters.filter((w) => w.chunk >= count);
    for (const w of ready) w.resolve();
  }

  /** Resolves once chunk `chunk` is past; rejects when the job fails first. */
  reached(chunk: number): Promise<void> {
    if (chunk < this.passed) return Promise.resolve();
    if (this.failed) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ chunk, resolve, reject }));
  }

  /** The job failed: every waiter, now and later, gets `e` (the first failure is kept). */
  fail(e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = e;
    for (const w of this.waiters) w.reject(e);
    this.waiters = [];
  }
}
