/**
 * The vector cache of a Milvus collection pair (`<prefix>_vectors_<name>`): vectors of rows that
 * were deleted or rewritten with other content, by key (`embedKey`), with the time they were
 * retired. A restored file, a reverted edit or a moved folder finds its vectors here.
 */
import type { CachedVector } from '../../core/types.js';
import { type MilvusConnection, QUERY_LIMIT, STRONG, bucketOf } from './client.js';
import { type MilvusFilter, filter, render } from './filter.js';

const IN_BATCH = 256;
const WRITE_BATCH = 256;

export class MilvusVectorCache {
  constructor(
    private readonly conn: MilvusConnection,
    private readonly collection: string,
  ) {}

  async load(): Promise<void> {
    await this.conn.call('load the vector cache', (c) => c.loadCollection({ collection_name: this.collection }));
  }

  /** The cached vectors of these keys (absent keys are not in the map). */
  async find(keys: string[]): Promise<Map<string, number[]>> {
    const found = new Map<string, number[]>();
    for (let i = 0; i < keys.length; i += IN_BATCH) {
      const f = render(filter('key in {keys}', { keys: keys.slice(i, i + IN_BATCH) }), this.conn.templates);
      const res = await this.conn.call('read cached vectors', (c) =>
        c.query({
          collection_name: this.collection,
          ...f,
          output_fields: ['key', 'vector'],
          limit: QUERY_LIMIT,
          consistency_level: STRONG,
        }),
      );
      for (const r of res.data) found.set(String(r.key), (r.vector as number[]).map(Number));
    }
    return found;
  }

  /** Keeps these vectors (a key held already gets the new retirement time). */
  async put(entries: CachedVector[], now: number): Promise<void> {
    const rows = [...new Map(entries.map((e) => [e.key, e.vector]))].map(([key, vector]) => ({
      key,
      vector,
      retired_at: now,
      bucket: bucketOf(key),
    }));
    for (let i = 0; i < rows.length; i += WRITE_BATCH) {
      const data = rows.slice(i, i + WRITE_BATCH);
      await this.conn.call('cache vectors', (c) => c.upsert({ collection_name: this.collection, data }));
    }
  }

  /** Drops entries retired before `now - maxAgeMs`, then the oldest beyond `maxEntries`. */
  async prune(limits: { maxAgeMs: number; maxEntries: number; now?: number }): Promise<{ dropped: number; entries: number }> {
    const now = limits.now ?? Date.now();
    const before = await this.count();
    if (before === 0) return { dropped: 0, entries: 0 };
    await this.drop(filter('retired_at < {t}', { t: now - limits.maxAgeMs }));
    let entries = await this.count();
    if (entries > limits.maxEntries) {
      const times = (await this.conn.queryAll(this.collection, filter(''), ['retired_at'])).map((r) => Number(r.retired_at));
      times.sort((a, b) => b - a);
      await this.drop(filter('retired_at <= {t}', { t: times[Math.max(0, limits.maxEntries)] ?? -1 }));
      entries = await this.count();
    }
    return { dropped: before - entries, entries };
  }

  count(): Promise<number> {
    return this.conn.count(this.collection, filter(''));
  }

  private async drop(f: MilvusFilter): Promise<void> {
    await this.conn.call('prune cached vectors', (c) => c.delete({ collection_name: this.collection, ...render(f, this.conn.templates) }));
  }
}
