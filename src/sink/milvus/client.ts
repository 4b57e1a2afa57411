/**
 * The connection to a Milvus server (Standalone, Distributed, Zilliz Cloud, Milvus Lite 3)
 * through @zilliz/milvus2-sdk-node: every call goes through `call`, which turns a thrown error
 * or a failed status into a retryable sink error without credentials.
 */
import type { ConsistencyLevelEnum, MilvusClient } from '@zilliz/milvus2-sdk-node';
import { RagsyncError, errorMessage } from '../../core/errors.js';
import { sha256 } from '../../ids/index.js';
import { type MilvusFilter, and, filter, render } from './filter.js';
import { checkServerVersion, isLite } from './version.js';

export interface MilvusOptions {
  address: string;
  token?: string;
  username?: string;
  password?: string;
  database?: string;
  ssl?: boolean;
  caPath?: string;
  /** Prefix of collection and alias names. */
  collection: string;
  /** Partition key on `source`: many sources or tenants in one collection. */
  partitionKey: boolean;
  timeoutMs: number;
  /** Rows one query may return (Milvus allows 16 384); lower only in tests of the split path. */
  queryLimit?: number;
}

export const STRONG = 0 as ConsistencyLevelEnum.Strong;
export const QUERY_LIMIT = 16_384;
/** Rows carry `bucket`, 48 bits of the sha-256 of their key, to split large reads. */
const BUCKETS = 2 ** 48;
export const bucketOf = (key: string): number => parseInt(sha256(key).slice(0, 12), 16);

interface Status {
  error_code?: string | number;
  code?: number;
  reason?: string;
}

/** The SDK, loaded with the first connection: gRPC and protobuf cost ~40 MB a LanceDB-only process does not need. */
export let sdk: typeof import('@zilliz/milvus2-sdk-node');

export class MilvusConnection {
  private client: Promise<MilvusClient> | undefined;
  /** Milvus Lite keeps unflushed rows in memory and scans them on every query (see `flushLite`). */
  lite = false;
  /** Whether the server takes filter templates (`exprValues`); Milvus Lite 3 does not. */
  templates = false;

  /** Human-readable location, without credentials. */
  readonly location: string;

  constructor(readonly opts: MilvusOptions) {
    this.location = `milvus://${opts.address}/${opts.database ?? 'default'}/${opts.collection}_chunks`;
  }

  /** Runs an SDK call; a thrown error or a failed status becomes a retryable sink error. */
  async call<T>(what: string, fn: (c: MilvusClient) => Promise<T>): Promise<T> {
    let res: T;
    try {
      res = await fn(await this.connect());
    } catch (err) {
      throw sinkError(what, this.opts.address, err);
    }
    const r = res as { status?: Status } & Status;
    const status: Status = r.status ?? r;
    if (!isSuccess(status)) throw sinkError(what, this.opts.address, new Error(status.reason || `error ${String(status.error_code)}`));
    return res;
  }

  /** The number of rows matching a filter. */
  async count(collection: string, f: MilvusFilter): Promise<number> {
    const res = await this.call('count rows', (c) =>
      c.query({ collection_name: collection, ...render(f, this.templates), output_fields: ['count(*)'], consistency_level: STRONG }),
    );
    return Number(res.data[0]?.['count(*)'] ?? 0);
  }

  /**
   * All rows matching a filter. One query when they fit in a query's limit; else the `bucket`
   * range (48 bits of the sha-256 of the row's key, uniform and distinct per row) is halved until
   * every part fits. (Milvus Lite's query iterator repeats and skips rows, so it is not used.)
   */
  async queryAll(collection: string, f: MilvusFilter, fields: string[], lo = 0, hi = BUCKETS): Promise<Array<Record<string, unknown>>> {
    const range = filter('bucket >= {lo} and bucket < {hi}', { lo, hi });
    const part = lo === 0 && hi === BUCKETS ? f : and(f.template ? [f, range] : [range]);
    const limit = this.opts.queryLimit ?? QUERY_LIMIT;
    const res = await this.call('query', (c) =>
      c.query({ collection_name: collection, ...render(part, this.templates), output_fields: fields, limit, consistency_level: STRONG }),
    );
    if (res.data.length < limit) return res.data;
    if (hi - lo <= 1) throw new RagsyncError('SINK', `Milvus: more than ${limit} rows in bucket ${lo}`, { stage: 'sink' });
    const mid = Math.floor((lo + hi) / 2);
    return [...(await this.queryAll(collection, f, fields, lo, mid)), ...(await this.queryAll(collection, f, fields, mid, hi))];
  }

  /** Whether a collection exists. */
  async exists(collection: string): Promise<boolean> {
    return Boolean((await this.call('look up a collection', (c) => c.hasCollection({ collection_name: collection }))).value);
  }

  /** Loads a collection pair and finds out whether the server takes filter templates. */
  async load(chunks: string, docs: string): Promise<void> {
    await this.call('load the collection', (c) => c.loadCollection({ collection_name: chunks }));
    await this.call('load the document collection', (c) => c.loadCollection({ collection_name: docs }));
    const client = await this.connect();
    const res = await client.query({
      collection_name: docs,
      filter: 'doc_id == {probe}',
      exprValues: { probe: '' },
      output_fields: ['doc_id'],
      limit: 1,
    });
    this.templates = isSuccess(res.status);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await (await client?.catch(() => undefined))?.closeConnection().catch(() => undefined);
  }

  connect(): Promise<MilvusClient> {
    this.client ??= this.open();
    this.client.catch(() => (this.client = undefined));
    return this.client;
  }

  private async open(): Promise<MilvusClient> {
    const o = this.opts;
    sdk ??= await import('@zilliz/milvus2-sdk-node');
    const client = new sdk.MilvusClient({
      address: o.address,
      token: o.token,
      username: o.username,
      password: o.password,
      database: o.database,
      ssl: o.ssl ?? Boolean(o.caPath),
      tls: o.caPath ? { rootCertPath: o.caPath } : undefined,
      timeout: o.timeoutMs,
      maxRetries: 2,
      logLevel: 'error',
    });
    const checked = async <T>(what: string, fn: () => Promise<T>) => {
      try {
        return await fn();
      } catch (err) {
        throw sinkError(what, o.address, err);
      }
    };
    await checked('connect', () => client.checkHealth());
    const { version } = await checked('read the server version', () => client.getVersion());
    try {
      checkServerVersion(String(version), o.address);
    } catch (err) {
      await client.closeConnection().catch(() => undefined);
      throw err;
    }
    this.lite = isLite(String(version));
    return client;
  }
}

export function isSuccess(status: Status | undefined): boolean {
  if (!status) return true;
  if (status.error_code === undefined && status.code === undefined) return true;
  return status.error_code === 'Success' || status.error_code === 0 || (status.error_code === undefined && status.code === 0);
}

export function sinkError(what: string, address: string, err: unknown): RagsyncError {
  if (err instanceof RagsyncError) return err;
  const msg = errorMessage(err).replace(/(token|password)=\S+/gi, '$1=[redacted]');
  const unreachable = /UNAVAILABLE|ECONNREFUSED|No connection established|DEADLINE_EXCEEDED/i.test(msg);
  const text = unreachable ? `cannot reach Milvus at ${address} (${what}): ${msg}` : `Milvus: cannot ${what}: ${msg}`;
  return new RagsyncError('SINK', text, { stage: 'sink', retryable: true, cause: err });
}
