/** Redis connections for BullMQ, and error messages without credentials. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RagsyncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/**
 * A connection for BullMQ (`maxRetriesPerRequest: null`, which its blocking commands need).
 * Password, user and TLS come from the URL (`rediss://user:pass@host:port/db`).
 */
export function redisConnection(url: string, log?: Logger, name = 'ragsync'): Redis {
  const conn = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: name, lazyConnect: false });
  conn.on('error', (err: Error) => log?.warn({ stage: 'queue' }, `redis: ${redactRedis(err.message)}`));
  return conn;
}

/** Another connection like `conn` (BullMQ workers and event listeners need their own), with error logging. */
export function duplicateConnection(conn: Redis, log?: Logger): Redis {
  const dup = conn.duplicate();
  dup.on('error', (err: Error) => log?.warn({ stage: 'queue' }, `redis: ${redactRedis(err.message)}`));
  return dup;
}

/** Strips what ioredis may put in an error: AUTH arguments and credentials in URLs. */
export function redactRedis(text: string): string {
  return text
    .replace(/\b(AUTH|HELLO\s+\d+\s+AUTH)\b(\s+\S+){1,2}/gi, '$1 [redacted]')
    .replace(/(rediss?:\/\/)[^@/\s]*@/gi, '$1[redacted]@')
    .replace(/("?(?:password|pass|auth)"?\s*[:=]\s*)("[^"]*"|\S+)/gi, '$1[redacted]');
}

/**
 * Resolves once Redis answers a PING; a one-shot command calls it first, so that an unreachable or
 * refusing server is one clear error (credentials hidden) instead of a run that waits forever.
 * Daemons do not: they keep retrying while Redis restarts.
 */
export async function checkRedis(conn: Redis, url: string, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  const onError = (err: Error) => (last = err.message);
  conn.on('error', onError);
  try {
    await Promise.race([
      conn.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(last || `no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw new RagsyncError('SINK', `cannot reach Redis at ${redactRedis(url)}: ${redactRedis((err as Error).message)}`, {
      stage: 'sink',
      cause: err,
    });
  } finally {
    clearTimeout(timer);
    conn.off('error', onError);
  }
}

/** The key of the marker that tells whether Redis kept its data (see `redisEpoch`). */
function epochKey(prefix: string): string {
  return `${prefix}:ragsync:epoch`;
}

/**
 * What changes when Redis may have lost queued jobs: a marker key set once (by the first daemon
 * to ask) and the server's `run_id`, which is new after every restart and on a failover to a
 * replica. A marker that is gone means the data went (restarted empty, flushed); a new `run_id`
 * with the marker kept means it came back from a snapshot or a replica that may be behind (the
 * last writes lost). Either way the jobs queued lately may be gone; a dropped connection to the
 * same running server changes neither.
 */
export async function redisEpoch(conn: Redis, prefix: string): Promise<string> {
  await conn.set(epochKey(prefix), randomUUID(), 'NX');
  const marker = (await conn.get(epochKey(prefix))) ?? '';
  const runId = /^run_id:(\w+)/m.exec(await conn.info('server'))?.[1] ?? '';
  return `${marker}/${runId}`;
}
