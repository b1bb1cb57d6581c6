/**
 * SHA-256 of a file, or of a file given as pieces (stretches of files and bytes, in order), in a worker thread, so
 * hashing a large input overlaps with the main thread's work instead of taking its turn on it.
 */
import { Worker } from 'node:worker_threads';
import type { Piece } from './patched-file.js';

/** What the worker hashes, in order: a whole file (no extents), extents of a file, or bytes. */
type Part = { path: string; extents?: readonly { offset: number; length: number }[] } | { data: Uint8Array };

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const hash = createHash('sha256');
const buf = Buffer.allocUnsafe(1 << 20);
function hashRange(fd, path, offset, length) {
  for (let done = 0; done < length;) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, length - done), offset + done);
    if (n === 0) throw new Error(path + ' ends before byte ' + (offset + done) + ' (it changed while it was read)');
    hash.update(buf.subarray(0, n));
    done += n;
  }
}
try {
  for (const part of workerData) {
    if (part.data) {
      hash.update(part.data);
      continue;
    }
    const fd = openSync(part.path, 'r');
    try {
      if (part.extents) for (const e of part.extents) hashRange(fd, part.path, e.offset, e.length);
      else for (let pos = 0, n; (n = readSync(fd, buf, 0, buf.length, pos)) > 0; pos += n) hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  parentPort.postMessage({ sha256: hash.digest('hex') });
} catch (e) {
  parentPort.postMessage({ error: String((e && e.message) || e) });
}
`;

function hashInWorker(parts: readonly Part[], name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: parts });
    worker.once('message', (m: { sha256?: string; error?: string }) => {
      void worker.terminate();
      if (m.sha256) resolve(m.sha256);
      else reject(new Error(`cannot hash "${name}": ${m.error}`));
    });
    worker.once('error', reject);
  });
}

export function sha256FileInWorker(path: string): Promise<string> {
  return hashInWorker([{ path }], path);
}

/** The SHA-256 of the pieces one after another; `name` names them in a failure. */
export function sha256PiecesInWorker(pieces: readonly Piece[], name: string): Promise<string> {
  return hashInWorker(pieces.map((p) => ('data' in p ? { data: p.data } : { path: p.path, extents: p.extents })), name);
}
