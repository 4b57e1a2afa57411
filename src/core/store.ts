/**
 * Where rows live, in two halves. A `Store` is the administration of one storage location (a
 * LanceDB directory, a Milvus database and prefix): which collections it holds, which is live,
 * the blue/green moves of a re-embed, and the lease. A `Collection` is one vector space in it
 * (one embedder's rows and document records): writes, reads and search. Every method is real on
 * every backend. Errors thrown are `RagsyncError`s with stage `sink`; `retryable` says whether
 * trying again can help.
 */
import type {
  CachedVector,
  ChunkRef,
  CollectionInfo,
  DocChange,
  DocRecord,
  DocRecords,
  Fingerprint,
  Lease,
  SearchHit,
  SearchQuery,
  SourceRecord,
  StoreLayout,
} from './types.js';

export interface Store {
  readonly kind: string;
  /** Human-readable location (directory or address), without credentials. */
  readonly location: string;
  /** Which collections are live, pending and previous. */
  layout(): Promise<StoreLayout>;
  /**
   * The live collection, to be written with this fingerprint; in an empty store it is created
   * (recording `embedder`, how to load the embedder, without secrets). Refuses (code
   * `FINGERPRINT_MISMATCH`, naming both) a store whose live collection has another fingerprint.
   */
  openLive(fingerprint: Fingerprint, embedder?: Record<string, unknown>): Promise<Collection>;
  /** The live collection, for reading; null when the store holds none yet. */
  live(): Promise<Collection | null>;
  /**
   * An existing collection (live, pending, previous or unreferenced) by its fingerprint, for
   * reading and writing: a re-embed and its dual writes use it. Throws when there is none. The
   * same store returns the same object for the same collection.
   */
  collection(fingerprint: Fingerprint): Promise<Collection>;
  /**
   * Marks the collection of this fingerprint as the pending target of a re-embed, creating it
   * when absent (an existing one, such as the previous live, is reused as it is). Refuses a
   * fingerprint that is live (`USAGE`), and any while another one is pending (`BUSY`).
   */
  preparePending(fingerprint: Fingerprint, embedder: Record<string, unknown>): Promise<CollectionInfo>;
  /** Atomically makes the pending collection live; the old live one becomes `previous`. */
  promotePending(): Promise<void>;
  /** Forgets the pending mark; drops the pending collection unless it is the previous one. */
  abortPending(): Promise<void>;
  /** Drops a collection that is neither live nor pending (`USAGE` for those). */
  dropCollection(name: string): Promise<void>;
  /** Takes the store's re-embed lease, waiting up to `waitMs` for a dead holder (see `sink/lease.ts`). */
  acquireLease(waitMs?: number): Promise<Lease>;
  /** The sources the store records (its source registry), in no particular order; reading creates nothing. */
  sources(): Promise<SourceRecord[]>;
  /**
   * Changes one source's record atomically for this store's writers (a LanceDB store's write
   * lock; on Milvus a read then a write): `change` gets the record as it is now (null: none) and
   * returns the record to write, or null to leave it. Returns the record as it is after.
   */
  updateSource(name: string, change: (current: SourceRecord | null) => SourceRecord | null): Promise<SourceRecord | null>;
  /** Forgets a source's record (absent: nothing happens); its rows are the collections' (`deleteSource`). */
  removeSource(name: string): Promise<void>;
  /** Waits for every write of its collections, then closes them and the connection. */
  close(): Promise<void>;
}

/**
 * One collection: rows and document records of one embedder. Writes are idempotent: committing
 * the same change twice, or deleting an absent document, leaves the same state. Reads see every
 * earlier write of this object.
 */
export interface Collection {
  readonly info: CollectionInfo;
  /**
   * One document's changes in the order that converges after a crash: its rows upserted (by ID;
   * the last of duplicate IDs wins), its stale rows deleted (absent IDs ignored), then its record
   * (the commit marker), the record only if the rows were written. Changes of several documents
   * may be written together, in that order per step; one document's bad rows fail only its own
   * call.
   */
  commitDocument(change: DocChange): Promise<void>;
  /** Deletes every row and the record of one document; `retired` (its rows' vectors) go to the vector cache. */
  deleteDoc(docId: string, retired?: CachedVector[]): Promise<void>;
  /** The `{id, hash, key}` of every row of a document. */
  listDocChunks(docId: string): Promise<ChunkRef[]>;
  /**
   * Vectors by key (`embedKey`): from rows holding the key, else from the vector cache (vectors of
   * deleted or rewritten rows); missing keys are absent.
   */
  findVectors(keys: string[]): Promise<Map<string, number[]>>;
  /**
   * Drops cached vectors retired longer than `maxAgeMs` ago, then the oldest beyond `maxEntries`;
   * returns how many it dropped and how many stay.
   */
  pruneVectors(limits: { maxAgeMs: number; maxEntries: number; now?: number }): Promise<{ dropped: number; entries: number }>;
  /** How many vectors the vector cache holds. */
  countCachedVectors(): Promise<number>;
  /** Number of rows of a source. */
  countChunks(source: string): Promise<number>;
  /** Number of document records of a source (a filtered count: no record is read). */
  countDocs(source: string): Promise<number>;
  /** The sources that have document records, in no particular order (one bounded query per source). */
  listSources(): Promise<string[]>;
  /** Deletes every row and record of a source (its rows first, then its records); idempotent. */
  deleteSource(source: string): Promise<void>;
  /** Rows per doc ID of a source (scans the source's doc IDs: use when `countChunks` disagrees). */
  countRowsByDoc(source: string): Promise<Map<string, number>>;
  getDocRecord(docId: string): Promise<DocRecord | null>;
  /** Records of every document of a source, by doc ID, with any document recorded twice in `duplicates`. */
  listDocRecords(source: string): Promise<DocRecords>;
  search(query: SearchQuery): Promise<SearchHit[]>;
  stats(): Promise<{ docs: number; chunks: number }>;
  /** Compacts storage and refreshes indexes; safe to call at any time. */
  optimize(): Promise<void>;
}
