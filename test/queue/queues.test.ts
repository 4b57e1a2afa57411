/** The queue contract on both queues: the local one, and BullMQ on the test run's real Redis. */
import path from 'node:path';
import { inject } from 'vitest';
import { createLogger } from '../../src/core/log.js';
import { RedisQueue } from '../../src/queue/bullmq.js';
import { LocalQueue } from '../../src/queue/local.js';
import { SyncQueue } from '../../src/queue/queue.js';
import { redisConnection } from '../../src/queue/redis.js';
import { tempDir } from '../helpers.js';
import { BACKOFF_MS, queueContract } from './conformance.js';

const backoff = (attempts: number) => BACKOFF_MS * attempts;
let n = 0;

let file = '';
queueContract('local', {
  open: async ({ attempts, reopen }) => {
    if (!reopen) file = path.join(await tempDir('ragsync-queue-'), 'queue', 'docs.json');
    return LocalQueue.open({ source: 'docs', file, attempts, backoff });
  },
});

let prefix = '';
queueContract('BullMQ on Redis', {
  open: ({ attempts, reopen }) => {
    if (!reopen) prefix = `c${process.pid}x${Date.now().toString(36)}x${n++}`;
    const url = inject('redisUrl');
    const conn = redisConnection(url);
    const log = createLogger('silent');
    return Promise.resolve(new RedisQueue(new SyncQueue('docs', conn, prefix, attempts), conn, { url, lockMs: 5000, log, backoff }));
  },
});
