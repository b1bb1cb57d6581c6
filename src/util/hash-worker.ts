/**
 * SHA-256 of a file in a worker thread, so hashing a large input overlaps with the main thread's work instead of
 * taking its turn on it.
 */
import { Worker } from 'node:worker_threads';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const hash = createHash('sha256');
createReadStream(workerData, { highWaterMark: 1 << 20 })
  .on('data', (chunk) => hash.update(chunk))
  .on('error', (e) => parentPort.postMessage({ error: String(e && e.message || e) }))
  .on('end', () => parentPort.postMessage({ sha256: hash.digest('hex') }));
`;

export function sha256FileInWorker(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: path });
    worker.once('message', (m: { sha256?: string; error?: string }) => {
      void worker.terminate();
      if (m.sha256) resolve(m.sha256);
      else reject(new Error(`cannot hash "${path}": ${m.error}`));
    });
    worker.once('error', reject);
  });
}
