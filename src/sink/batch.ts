import type { ChunkRef, DocRecord } from '../core/types.js';

/**
 * Write ordering for an embedded store: writes run one at a time in call order, and concurrent
 * upserts that wait behind a running write are merged into one commit (fewer table versions,
 * same result: each caller's promise settles when its own rows are committed).
 */
export class SerialWriter {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every write queued before it. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Merges the items of calls made while a flush is queued into a single `flush(items)`. */
export class Coalescer<T> {
  private pending: Array<{ items: T[]; resolve: () => void; reject: (err: unknown) => void }> = [];

  constructor(
    private readonly writer: SerialWriter,
    private readonly flush: (items: T[]) => Promise<void>,
  ) {}

  add(items: T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ items, resolve, reject });
      if (this.pending.length > 1) return;
      void this.writer.run(async () => {
        const batch = this.pending;
        this.pending = [];
        try {
          await this.flush(batch.flatMap((b) => b.items));
          for (const b of batch) b.resolve();
        } catch (err) {
          if (batch.length === 1) return batch[0]!.reject(err);
          // One caller's bad rows must not fail the others: retry each on its own.
          for (const b of batch) await this.flush(b.items).then(b.resolve, b.reject);
        }
      });
    });
  }
}

/**
 * Read batching for a remote store: the first `load` goes out at once; loads that arrive while a
 * fetch is in flight wait and go out together in the next one. Each caller gets the values of
 * its own keys, in order (`missing` for keys the store does not have).
 */
export class BusyBatcher<K, R> {
  private queue: Array<{ keys: K[]; resolve: (r: R[]) => void; reject: (err: unknown) => void }> = [];
  private busy = false;

  constructor(
    private readonly fetch: (keys: K[]) => Promise<Map<K, R>>,
    private readonly missing: () => R,
  ) {}

  load(keys: K[]): Promise<R[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ keys, resolve, reject });
      void this.pump();
    });
  }

  /** The values the store has for these keys, by key (keys it lacks are absent). */
  async loadFound(keys: K[]): Promise<Map<K, NonNullable<R>>> {
    const unique = [...new Set(keys)];
    const values = await this.load(unique);
    const found = new Map<K, NonNullable<R>>();
    unique.forEach((k, i) => {
      if (values[i] !== undefined && values[i] !== null) found.set(k, values[i]!);
    });
    return found;
  }

  private async pump(): Promise<void> {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    const batch = this.queue;
    this.queue = [];
    try {
      const found = await this.fetch([...new Set(batch.flatMap((b) => b.keys))]);
      for (const b of batch) b.resolve(b.keys.map((k) => (found.has(k) ? found.get(k)! : this.missing())));
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.busy = false;
      void this.pump();
    }
  }
}

/** A document's rows as reads return them: ID, content hash and vector key. */
export type ChunkRefs = ChunkRef[];

/**
 * The reads of a collection that concurrent documents share: one fetch of each kind in flight,
 * the keys of calls made meanwhile batched into the next (a query has a fixed cost that one
 * `IN (...)` pays once for many documents). A backend implements the three fetches.
 */
export abstract class BatchedReads {
  private readonly docChunks = new BusyBatcher<string, ChunkRefs>(
    (ids) => this.fetchDocChunks(ids),
    () => [],
  );
  private readonly vectors = new BusyBatcher<string, number[] | undefined>(
    (keys) => this.fetchVectors(keys),
    () => undefined,
  );
  private readonly records = new BusyBatcher<string, DocRecord | null>(
    (ids) => this.fetchRecords(ids),
    () => null,
  );

  async listDocChunks(docId: string): Promise<ChunkRefs> {
    const [rows] = await this.docChunks.load([docId]);
    return [...rows!];
  }

  findVectors(keys: string[]): Promise<Map<string, number[]>> {
    return this.vectors.loadFound(keys.filter((k) => k !== ''));
  }

  async getDocRecord(docId: string): Promise<DocRecord | null> {
    const [record] = await this.records.load([docId]);
    return record ?? null;
  }

  /** The rows of these documents, by doc ID (documents without rows absent). */
  protected abstract fetchDocChunks(docIds: string[]): Promise<Map<string, ChunkRefs>>;
  /** A vector for each of these keys some row or the vector cache holds. */
  protected abstract fetchVectors(keys: string[]): Promise<Map<string, number[]>>;
  /** The records of these documents, by doc ID. */
  protected abstract fetchRecords(docIds: string[]): Promise<Map<string, DocRecord>>;
}
