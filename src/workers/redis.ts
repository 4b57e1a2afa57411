/** Redis connections for BullMQ, and error messages without credentials. */
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';

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

/** The URL with its credentials replaced, for logs and messages. */
export function safeRedisUrl(url: string): string {
  return redactRedis(url);
}
