/** The worker-thread SHA-256 pool gives the same digests as node:crypto, for shared and copied chunks, many streams at once. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { HashPool, sharedBuffer } from '../../src/util/hash-pool.js';
import { pseudoRandomBytes } from '../helpers/tools.js';

const sha = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

describe('HashPool', () => {
  const pool = new HashPool(2);
  after(() => pool.close());

  test('shared chunks: hashed in place, the buffer reusable once update resolves', async () => {
    const buf = sharedBuffer(1 << 20);
    const parts = [pseudoRandomBytes('p1', 1 << 20), pseudoRandomBytes('p2', 1 << 20), pseudoRandomBytes('p3', 12345)];
    const h = pool.hash();
    for (const p of parts) {
      p.copy(buf);
      await h.update(buf.subarray(0, p.length)); // the next copy overwrites buf: the worker must be done with it
    }
    assert.equal(await h.digest(), sha(...parts));
  });

  test('unshared chunks are copied: the caller may overwrite them at once', async () => {
    const buf = Buffer.alloc(4096, 1);
    const h = pool.hash();
    const p = h.update(buf);
    buf.fill(2);
    await p;
    assert.equal(await h.digest(), sha(Buffer.alloc(4096, 1)));
    assert.equal(buf[0], 2, 'the caller\'s buffer is not detached or changed');
  });

  test('many streams at once over the workers, each in order; an empty stream', async () => {
    const inputs = Array.from({ length: 9 }, (_, i) => [pseudoRandomBytes(`s${i}a`, 70_000 + i), pseudoRandomBytes(`s${i}b`, 3 + i)]);
    const digests = await Promise.all(inputs.map(async (parts) => {
      const h = pool.hash();
      await Promise.all(parts.map((p) => h.update(p)));
      return h.digest();
    }));
    assert.deepEqual(digests, inputs.map((parts) => sha(...parts)));
    assert.equal(await pool.hash().digest(), sha());
  });

  test('a closed pool rejects instead of hanging', async () => {
    const p = new HashPool(1);
    await p.close();
    await assert.rejects(p.hash().digest(), /closed|exited/);
  });
});
