/**
 * Which queue a daemon works with: the BullMQ queue when a Redis URL is configured (many workers,
 * many machines), else the local queue in the daemon's own process, whose state file (failed
 * jobs, counts) lives beside the store. BullMQ and ioredis are imported only for a Redis queue.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/index.js';
import type { JobQueue } from '../core/job-queue.js';
import type { Logger } from '../core/log.js';
import { LocalQueue } from '../queue/local.js';

/**
 * The local queue's state file of a source: in a LanceDB store's directory (`queue/<source>.json`),
 * for a Milvus store under the user's state directory, one folder per store.
 */
export function localQueueFile(config: Config, source: string): string {
  return stateFile(config, 'queue', source);
}

/**
 * A file of this machine's state about one source of the store (`queue`: the local queue's,
 * `audit`: the last audit's). The local queue's of a LanceDB store lives in its directory
 * (`queue/<source>.json`: it goes where the store goes); the rest under the user's state directory
 * (`$XDG_STATE_HOME/ragsync/<folder>/<store>/<source>.json`, one folder per store), so that an
 * audit leaves the store's directory as it was.
 */
export function stateFile(config: Config, folder: 'queue' | 'audit', source: string): string {
  const name = `${encodeURIComponent(source)}.json`;
  const sink = config.sink;
  if (sink.kind === 'lancedb' && folder === 'queue') return path.resolve(sink.path, folder, name);
  const state = process.env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  const where = sink.kind === 'lancedb' ? path.resolve(sink.path) : `${sink.address}\0${sink.database ?? ''}\0${sink.collection}`;
  const store = createHash('sha256').update(where).digest('hex').slice(0, 16);
  return path.join(state, 'ragsync', folder, store, name);
}

/** Opens the source's queue for a daemon (Redis must answer within seconds: see `openQueue`). */
export async function openJobQueue(config: Config, source: string, log: Logger): Promise<JobQueue> {
  if (config.redis.url) return (await import('./through-queue.js')).openRedisQueue(config, source, log, 'ragsync');
  const onError = (message: string) => log.warn({ stage: 'queue' }, message);
  return LocalQueue.open({ source, file: localQueueFile(config, source), attempts: config.worker.attempts, onError });
}
