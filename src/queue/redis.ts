/** Redis connections for BullMQ, and error messages without credentials. */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RagsyncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/**
 * A connection for BullMQ (`maxRetriesPerRequest: null`, which its blocking commands need).
 * Password, user and TLS come from the URL (`rediss://user:pass@host:port/db`). It reconnects by
 * itself; while Redis is away, `redisWarnings` says so once, then once a minute.
 */
export function redisConnection(url: string, log?: Logger, name = 'ragsync'): Redis {
  const conn = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: name, lazyConnect: false });
  watchOutage(conn, conn, log);
  return conn;
}

/** Another connection like `conn` (BullMQ workers and event listeners need their own), sharing its warnings. */
export function duplicateConnection(conn: Redis, log?: Logger): Redis {
  const dup = conn.duplicate();
  watchOutage(dup, conn, log);
  return dup;
}

/** How often a Redis that stays unreachable is mentioned again. */
export const OUTAGE_WARN_MS = 60_000;

/**
 * The warnings of one Redis (a connection and its duplicates, and what uses them): at most one
 * a minute, whatever reports the error (a connection retrying, a BullMQ worker), saying how long
 * the connections have been away; and one line when every connection that went away is back.
 * ioredis retries every few hundred milliseconds; one line per retry would bury everything else.
 * Errors before the first connection are not an outage: the command checks Redis first
 * (`checkRedis`) and fails with one line.
 */
class OutageLog {
  private since: number | undefined;
  private warnedAt = -Infinity;
  private connected = false;
  private readonly down = new Set<Redis>();
  constructor(private readonly log: Logger | undefined) {}

  /** An error of `conn`, or (without) of something using the connections, such as a BullMQ worker. */
  error(message: string, conn?: Redis): void {
    if (!this.connected) return;
    const now = Date.now();
    if (conn) {
      this.down.add(conn);
      this.since ??= now;
    }
    if (now - this.warnedAt < OUTAGE_WARN_MS) return;
    this.warnedAt = now;
    const text = redactRedis(message);
    const away = this.since === undefined ? 0 : Math.round((now - this.since) / 1000);
    this.log?.warn(
      { stage: 'queue' },
      away > 0 ? `redis: unreachable for ${away} s, still retrying: ${text}` : `redis: ${text} (retrying)`,
    );
  }

  /** `conn` is ready again; `ended`: closed for good (no longer counted). */
  ready(conn: Redis, ended = false): void {
    this.down.delete(conn);
    if (ended) return;
    this.connected = true;
    if (this.since === undefined || this.down.size > 0) return;
    this.log?.info({ stage: 'queue' }, `redis: reachable again after ${Math.round((Date.now() - this.since) / 1000)} s`);
    this.since = undefined;
  }
}

const outages = new WeakMap<Redis, OutageLog>();

/** The outage warnings of the Redis `conn` talks to (shared by its duplicates). */
export function redisWarnings(conn: Redis, log?: Logger): OutageLog {
  let o = outages.get(conn);
  if (!o) outages.set(conn, (o = new OutageLog(log)));
  return o;
}

function watchOutage(conn: Redis, root: Redis, log?: Logger): void {
  const o = redisWarnings(root, log);
  outages.set(conn, o);
  conn.on('error', (err: Error) => o.error(err.message, conn));
  conn.on('ready', () => o.ready(conn));
  conn.on('end', () => o.ready(conn, true));
}

/** Strips what ioredis may put in an error: AUTH arguments and credentials in URLs. */
export function redactRedis(text: string): string {
  return text
    .replace(/\b(AUTH|HELLO\s+\d+\s+AUTH)\b(\s+\S+){1,2}/gi, '$1 [redacted]')
    .replace(/(rediss?:\/\/)[^@/\s]*@/gi, '$1[redacted]@')
    .replace(/("?(?:password|pass|auth)"?\s*[:=]\s*)("[^"]*"|\S+)/gi, '$1[redacted]');
}

/**
 * Resolves once Redis answers a PING; every command and daemon calls it first, so that an
 * unreachable or refusing server is one clear error (credentials hidden), at once when the
 * connection is refused, instead of a process that waits or retries in silence. (Once running, a
 * daemon keeps retrying while Redis restarts.)
 */
export async function checkRedis(conn: Redis, url: string, timeoutMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  let refused: ((err: Error) => void) | undefined;
  // Nothing listens there, or the name does not resolve: retrying for the rest of the timeout
  // would only make the one line later.
  const onError = (err: Error & { code?: string }) => {
    last = err.message;
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND') refused?.(err);
  };
  conn.on('error', onError);
  try {
    await Promise.race([
      conn.ping(),
      new Promise((_, reject) => {
        refused = reject;
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
