/**
 * The vector cache of a LanceDB collection (`vectors_<name>`): vectors of rows that were deleted
 * or rewritten with other content, by key (`embedKey`), with the time they were retired. A
 * restored file, a reverted edit or a moved folder finds its vectors here; `prune` bounds it.
 */
import * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import type { CachedVector } from '../../core/types.js';
import { sqlIn } from './sql.js';
import { guard } from './tables.js';

const IN_BATCH = 500;

export class VectorCache {
  private schema: Promise<Schema> | undefined;

  constructor(private readonly table: lancedb.Table) {}

  /** The cached vectors of these keys (absent keys are not in the map). */
  async find(keys: string[]): Promise<Map<string, number[]>> {
    const found = new Map<string, number[]>();
    for (let i = 0; i < keys.length; i += IN_BATCH) {
      const where = sqlIn('key', keys.slice(i, i + IN_BATCH));
      const rows = await guard('read cached vectors', () => this.table.query().where(where).select(['key', 'vector']).toArray());
      for (const r of rows) found.set(String(r.key), Array.from(r.vector as Float32Array));
    }
    return found;
  }

  /** Keeps these vectors (a key held already gets the new retirement time); runs inside the write lock. */
  async put(entries: CachedVector[], now: number): Promise<void> {
    const latest = new Map(entries.map((e) => [e.key, e.vector]));
    if (latest.size === 0) return;
    this.schema ??= this.table.schema();
    const rows = [...latest].map(([key, vector]) => ({ key, vector, retired_at: now }));
    const data = lancedb.makeArrowTable(rows, { schema: await this.schema });
    await guard('cache vectors', () => this.table.mergeInsert('key').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data));
  }

  /** Drops entries retired before `now - maxAgeMs`, then the oldest beyond `maxEntries`; runs inside the write lock. */
  async prune(limits: { maxAgeMs: number; maxEntries: number; now?: number }): Promise<{ dropped: number; entries: number }> {
    const now = limits.now ?? Date.now();
    const before = await this.count();
    if (before === 0) return { dropped: 0, entries: 0 };
    await guard('prune cached vectors', () => this.table.delete(`retired_at < ${now - limits.maxAgeMs}`));
    let entries = await this.count();
    if (entries > limits.maxEntries) {
      // The retirement time of the entry at the limit, newest first: everything older goes.
      const times: number[] = [];
      for await (const batch of this.table.query().select(['retired_at']))
        for (const v of batch.getChild('retired_at')!) times.push(Number(v));
      times.sort((a, b) => b - a);
      const cutoff = times[Math.max(0, limits.maxEntries)] ?? -Infinity;
      await guard('prune cached vectors', () => this.table.delete(`retired_at <= ${cutoff}`));
      entries = await this.count();
    }
    return { dropped: before - entries, entries };
  }

  count(): Promise<number> {
    return guard('count cached vectors', () => this.table.countRows());
  }

  /** Compacts the table; runs inside the write lock. */
  async optimize(): Promise<void> {
    await guard('optimize', () => this.table.optimize({ cleanupOlderThan: new Date(Date.now() - 60_000) }));
  }

  close(): void {
    this.table.close();
  }
}
