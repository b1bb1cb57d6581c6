/**
 * SHA-256 off the main thread: a small pool of worker threads, each hashing the streams given to it. A stream's
 * chunks go to one worker in order (SHA-256 is sequential); different streams are spread over the workers, so
 * independent inputs (the ranges of a block map, the files of a build) are hashed on all cores while the main
 * thread keeps the I/O going. Chunks whose memory is a SharedArrayBuffer are hashed in place (`update` resolves
 * when the worker is done with them, so the buffer can be reused); other chunks are copied to the worker.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = streams.get(m.stream);
    if (!h) streams.set(m.stream, (h = createHash('sha256')));
    h.update(m.data);
    parentPort.postMessage({ id: m.id });
  } else if (m.op === 'digest') {
    const h = streams.get(m.stream) || createHash('sha256');
    streams.delete(m.stream);
    parentPort.postMessage({ id: m.id, sha256: h.digest('hex') });
  }
});
`;

interface Pending {
  resolve: (sha256: string | undefined) => void;
  reject: (e: Error) => void;
}

class PoolWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  /** terminate() was called: the worker keeps the process alive until it has stopped. */
  private closing = false;
  /** Outstanding requests: the pool gives new streams to the least busy worker. */
  load = 0;
  /** Streams given to this worker and not digested yet (among equally busy workers, the one with fewest). */
  streams = 0;

  constructor() {
    this.worker = new Worker(WORKER, { eval: true });
    // an idle pool does not keep the process alive; a worker with requests outstanding does
    this.worker.unref();
    this.worker.on('message', (m: { id: number; sha256?: string }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (--this.load === 0 && !this.closing) this.worker.unref();
      p?.resolve(m.sha256);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`hash worker exited (${code})`)));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  request(id: number, message: { op: 'update' | 'digest'; stream: number; data?: Uint8Array }, transfer: ArrayBuffer[] = []): Promise<string | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.load++ === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  async terminate(): Promise<void> {
    this.failure ??= new Error('hash pool closed');
    // an idle worker is unref'd, and a reply arriving now would unref it again: without `closing`, a process with
    // nothing else left to do exits (its error unprinted) while it waits here for the worker to stop
    this.closing = true;
    this.worker.ref();
    await this.worker.terminate();
  }
}

/** One SHA-256 in the pool. */
export interface PooledHash {
  /** Hands `data` to the worker; resolves when the worker no longer needs it (then `data` may be reused). */
  update(data: Uint8Array): Promise<void>;
  /** The hex digest of everything given to `update`. */
  digest(): Promise<string>;
}

export class HashPool {
  private readonly workers: PoolWorker[];
  private nextId = 1;
  private nextStream = 1;

  /** `size` workers (default: the machine's cores, at most 4). Workers start now, in the background. */
  constructor(size = Math.min(4, Math.max(1, availableParallelism()))) {
    this.workers = Array.from({ length: size }, () => new PoolWorker());
  }

  /**
   * A new hash, on the worker with the fewest outstanding requests, then the fewest open streams: two streams made
   * one after the other (an image's hash and its first range's) go to different workers.
   */
  hash(): PooledHash {
    const worker = this.workers.reduce((a, b) => (b.load < a.load || (b.load === a.load && b.streams < a.streams) ? b : a));
    worker.streams++;
    const stream = this.nextStream++;
    return {
      update: async (data) => {
        if (data.buffer instanceof SharedArrayBuffer) {
          await worker.request(this.nextId++, { op: 'update', stream, data });
          return;
        }
        // not shared memory: a tight copy is handed over (transferred), so the caller may reuse `data` at once
        const copy = new Uint8Array(data); // a copy (Buffer#slice would share the memory)
        worker.request(this.nextId++, { op: 'update', stream, data: copy }, [copy.buffer as ArrayBuffer]).catch(() => undefined);
      },
      digest: async () => {
        worker.streams--;
        return (await worker.request(this.nextId++, { op: 'digest', stream }))!;
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A Buffer of `length` bytes in shared memory (hashed in place by the pool). */
export function sharedBuffer(length: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(length));
}
