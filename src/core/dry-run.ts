/**
 * A dry run: the very pass of a real run (`syncSource` over `syncDocument`) with a collection that
 * reads the store but keeps its writes in memory, and an embedder that counts what it would embed
 * (inputs and tokens) instead of embedding. Its summary is the plan: the counts the real run would
 * report, with nothing written and nothing embedded.
 */
import { RagsyncError } from './errors.js';
import type { Collection } from './store.js';
import { type DocSyncResult, type Known, type SyncDeps, syncDocument } from './sync-document.js';
import { type SyncSourceOptions, type SyncSummary, syncSource } from './sync-source.js';
import type { CachedVector, ChunkRef, CollectionInfo, DocChange, DocRecord, Embedder, SearchHit, SearchQuery } from './types.js';

/** What a dry run adds to a pass's summary. */
export interface Plan {
  /** Documents the index does not hold yet (no record, no rows), of `docs.changed`. */
  added: number;
  /** Indexed documents that would be rewritten, of `docs.changed`. */
  updated: number;
  /** Tokens of the texts to embed (`embeddings.computed` counts texts and images). */
  tokens: number;
  /** Images to embed. */
  images: number;
}

/** The summary of a dry run: the keys of a real pass's summary, and the plan. */
export type PlanSummary = SyncSummary & { dryRun: true; plan: Plan };

/**
 * Plans one pass of the source: runs it as `syncSource` would, every write recorded instead of
 * written, every embedding counted instead of computed. `prepare` runs first on the recording
 * collection (what a command does before its pass, such as `audit --repair` clearing documents).
 */
export async function planSource(
  deps: SyncDeps,
  opts: Omit<SyncSourceOptions, 'execute'>,
  prepare?: (collection: Collection) => Promise<void>,
): Promise<PlanSummary> {
  const embedder = new CountingEmbedder(deps.embedder);
  const collection = new PlanCollection(deps.collection);
  const plan = { ...deps, embedder, collection };
  await prepare?.(collection);
  const counts = { added: 0, updated: 0 };
  const execute = async (ref: { source: string; path: string }, known: Known): Promise<DocSyncResult> => {
    const r = await syncDocument(ref, plan, known);
    if (r.status === 'changed') counts[known.record || r.updated + r.deleted + r.unchanged > 0 ? 'updated' : 'added']++;
    return r;
  };
  const summary = await syncSource(plan, { ...opts, execute });
  return { ...summary, dryRun: true, plan: { ...counts, tokens: embedder.tokens, images: embedder.images } };
}

/** An embedder that embeds nothing: it counts inputs and their tokens and returns zero vectors. */
class CountingEmbedder implements Embedder {
  tokens = 0;
  images = 0;
  readonly embedImages?: (images: Buffer[]) => Promise<number[][]>;
  private readonly zero: number[];

  constructor(private readonly inner: Embedder) {
    this.zero = new Array<number>(inner.dim).fill(0);
    if (inner.embedImages) {
      this.embedImages = async (images) => {
        this.images += images.length;
        return images.map(() => this.zero);
      };
    }
  }

  get fingerprint() {
    return this.inner.fingerprint;
  }

  get dim() {
    return this.inner.dim;
  }

  get maxTokens() {
    return this.inner.maxTokens;
  }

  countTokens(text: string): number {
    return this.inner.countTokens(text);
  }

  async embedTexts(texts: string[]): Promise<number[][]> {
    for (const t of texts) this.tokens += this.inner.countTokens(t);
    return texts.map(() => this.zero);
  }
}

/** A document as the recording collection holds it: its rows and record now, and what the store had. */
interface Overlay {
  source: string;
  before: { rows: number; record: boolean };
  rows: Map<string, ChunkRef>;
  record: DocRecord | null;
}

/**
 * A collection that reads `base` and records writes instead of making them: reads see the
 * recorded writes (as a real collection's reads see its own), the store is never written.
 * Vectors of rows it recorded read as zero vectors; search answers from the store as it is.
 */
class PlanCollection implements Collection {
  readonly info: CollectionInfo;
  private readonly docs = new Map<string, Promise<Overlay>>();
  private readonly written = new Set<string>();
  private readonly zero: number[];

  constructor(private readonly base: Collection) {
    this.info = base.info;
    this.zero = new Array<number>(base.info.fingerprint.dim).fill(0);
  }

  async commitDocument(change: DocChange): Promise<void> {
    const doc = await this.overlay(change.record.docId);
    for (const r of change.rows) {
      doc.rows.set(r.id, { id: r.id, hash: r.hash, key: r.key });
      this.written.add(r.key);
    }
    for (const id of change.staleIds) doc.rows.delete(id);
    for (const key of change.retiredKeys ?? []) this.written.add(key);
    doc.record = change.record;
  }

  async deleteDoc(docId: string, retired?: CachedVector[]): Promise<void> {
    const doc = await this.overlay(docId);
    for (const v of retired ?? []) this.written.add(v.key);
    doc.rows.clear();
    doc.record = null;
  }

  async listDocChunks(docId: string): Promise<ChunkRef[]> {
    const doc = this.docs.get(docId);
    return doc ? [...(await doc).rows.values()] : this.base.listDocChunks(docId);
  }

  async findVectors(keys: string[]): Promise<Map<string, number[]>> {
    const found = await this.base.findVectors(keys.filter((k) => !this.written.has(k)));
    for (const k of keys) if (this.written.has(k)) found.set(k, this.zero);
    return found;
  }

  async pruneVectors(): Promise<{ dropped: number; entries: number }> {
    return { dropped: 0, entries: await this.base.countCachedVectors() };
  }

  countCachedVectors(): Promise<number> {
    return this.base.countCachedVectors();
  }

  async countChunks(source: string): Promise<number> {
    let n = await this.base.countChunks(source);
    for (const [, d] of await this.touched(source)) n += d.rows.size - d.before.rows;
    return n;
  }

  async countDocs(source: string): Promise<number> {
    let n = await this.base.countDocs(source);
    for (const [, d] of await this.touched(source)) n += Number(d.record !== null) - Number(d.before.record);
    return n;
  }

  async listSources(): Promise<string[]> {
    const touched = await Promise.all([...this.docs.values()]);
    return [...new Set([...(await this.base.listSources()), ...touched.filter((d) => d.record).map((d) => d.source)])];
  }

  async deleteSource(source: string): Promise<void> {
    for (const docId of (await this.listDocRecords(source)).keys()) await this.deleteDoc(docId);
  }

  async countRowsByDoc(source: string): Promise<Map<string, number>> {
    const counts = await this.base.countRowsByDoc(source);
    for (const [id, d] of await this.touched(source)) {
      if (d.rows.size > 0) counts.set(id, d.rows.size);
      else counts.delete(id);
    }
    return counts;
  }

  async getDocRecord(docId: string): Promise<DocRecord | null> {
    const doc = this.docs.get(docId);
    return doc ? (await doc).record : this.base.getDocRecord(docId);
  }

  async listDocRecords(source: string): Promise<Map<string, DocRecord>> {
    const records = await this.base.listDocRecords(source);
    for (const [id, d] of await this.touched(source)) {
      if (d.record) records.set(id, d.record);
      else records.delete(id);
    }
    return records;
  }

  search(query: SearchQuery): Promise<SearchHit[]> {
    return this.base.search(query);
  }

  async stats(): Promise<{ docs: number; chunks: number }> {
    const s = { ...(await this.base.stats()) };
    for (const d of await Promise.all(this.docs.values())) {
      s.chunks += d.rows.size - d.before.rows;
      s.docs += Number(d.record !== null) - Number(d.before.record);
    }
    return s;
  }

  async optimize(): Promise<void> {}

  /** The recorded state of a document, read from the store on its first write. */
  private overlay(docId: string): Promise<Overlay> {
    let doc = this.docs.get(docId);
    if (!doc) {
      doc = Promise.all([this.base.listDocChunks(docId), this.base.getDocRecord(docId)]).then(([rows, record]) => ({
        source: docId.slice(0, docId.indexOf(':')),
        before: { rows: rows.length, record: record !== null },
        rows: new Map(rows.map((r) => [r.id, r])),
        record,
      }));
      doc.catch(() => this.docs.delete(docId));
      this.docs.set(docId, doc);
    }
    return doc;
  }

  private async touched(source: string): Promise<Array<[string, Overlay]>> {
    const all = await Promise.all([...this.docs].map(async ([id, d]) => [id, await d] as [string, Overlay]));
    return all.filter(([, d]) => d.source === source);
  }
}

/**
 * The collection of a store that holds none yet, for a command that must not create one (a dry
 * run, an audit): empty, and read-only (a write is a `USAGE` error).
 */
export function emptyCollection(info: CollectionInfo): Collection {
  const readOnly = async (): Promise<never> => {
    throw new RagsyncError('USAGE', `collection ${info.name} does not exist and is opened read-only`, { stage: 'sink' });
  };
  return {
    info,
    commitDocument: readOnly,
    deleteDoc: readOnly,
    listDocChunks: async () => [],
    findVectors: async () => new Map(),
    pruneVectors: async () => ({ dropped: 0, entries: 0 }),
    countCachedVectors: async () => 0,
    countChunks: async () => 0,
    countDocs: async () => 0,
    listSources: async () => [],
    deleteSource: readOnly,
    countRowsByDoc: async () => new Map(),
    getDocRecord: async () => null,
    listDocRecords: async () => new Map(),
    search: async () => [],
    stats: async () => ({ docs: 0, chunks: 0 }),
    optimize: async () => undefined,
  };
}
