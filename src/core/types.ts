/**
 * The contracts every stage of ragsync implements. Sources produce document references, chunkers
 * turn a document into chunks, embedders turn chunk content into vectors, sinks store rows and
 * answer queries (`store.ts`). The core (`sync-document.ts`) composes them; nothing here does I/O.
 */

export type { CachedVector, ChunkRef } from './refs.js';
export type { SearchFilter, SearchHit, SearchMode, SearchQuery } from './search-types.js';
export { fetchGrouped, hitMetadata } from './search-types.js';

/** What kind of content a document or a chunk holds. */
export type Modality = 'text' | 'image';

/** Content types ragsync knows how to chunk. */
export type ContentType = 'markdown' | 'text' | 'pdf' | 'image';

/** A reference to a document in a source: never its content (jobs carry only this). */
export interface DocRef {
  /** The source name (the part of `doc_id` before the colon). */
  source: string;
  /** POSIX path relative to the source root, as the file is named on disk (doc IDs are NFC). */
  path: string;
}

/** A document as read from its source at one moment. */
export interface Document extends DocRef {
  docId: string;
  contentType: ContentType;
  bytes: Buffer;
  size: number;
  mtimeMs: number;
}

/** A chunk: one unit that is embedded and stored as one row. */
export interface Chunk {
  /** Hierarchical, deterministic ID: `<doc_id>#<section path>/<n>` (see `ids/`). */
  id: string;
  /** Section path inside the document (`intro/setup`, `p3`, or `` for none). */
  section: string;
  /** Index of this chunk inside its section, from 0. */
  index: number;
  modality: Modality;
  /** Text to embed and to index for keyword search (for images: a caption such as the file name). */
  text: string;
  /** Image bytes, only for image chunks. */
  image?: Buffer;
  /** sha-256 of the chunk's text, location and chunker version (`ids/contentHash`): a row whose hash moved is rewritten. */
  hash: string;
  /** Where the chunk is: first and last source line (1-based; Markdown, text), PDF page, its section's heading text. */
  lines?: readonly [number, number];
  page?: number;
  heading?: string;
}

/** Metadata a chunker extracted from the document (e.g. Markdown front matter). */
export type DocMetadata = Record<string, unknown>;

export type { ChunkLimits, TokenizerSpec } from './limits.js';
import type { ChunkLimits, TokenizerSpec } from './limits.js';

/** What chunking a document gives; `textless`: a PDF with no extractable text at all (likely a scan). */
export type ChunkOutput = { chunks: Chunk[]; metadata: DocMetadata; textless?: true };

/** Turns one document into chunks. Pure: no I/O beyond the document it is given. */
export interface Chunker {
  /** Part of every content hash; bump it when the chunks this chunker produces change. */
  readonly version: string;
  supports(contentType: ContentType): boolean;
  /**
   * Returns the chunks in document order; the same document and limits always give the same
   * chunks. Throws a `RagsyncError` with stage `parse` (not retryable) for content it cannot read.
   */
  chunk(doc: Document, limits: ChunkLimits): Promise<ChunkOutput>;
}

/**
 * Every chunker of a build, behind one face: what the core calls (it imports no chunker itself).
 */
export interface Chunking {
  /** Chunks a document with the chunker for its content type (see `Chunker.chunk`). */
  chunk(doc: Document, limits: ChunkLimits): Promise<ChunkOutput>;
  /**
   * What a document's chunks depend on besides its bytes (chunker version, token limit); stored
   * in its record: when it changes, the document is chunked again.
   */
  signature(type: ContentType, limits: ChunkLimits): string;
}

/** The weight variants a local model may ship (ONNX files `model.onnx`, `model_fp16.onnx`, `model_quantized.onnx`, ...). */
export const DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'bnb4', 'q4f16'] as const;
export type Dtype = (typeof DTYPES)[number];

/** Identifies a vector space: two embedders with equal fingerprints give comparable vectors. */
export interface Fingerprint {
  model: string;
  revision: string;
  dim: number;
  dtype: string;
  pooling: string;
}

/** Turns content into vectors of one vector space. */
export interface Embedder {
  readonly fingerprint: Fingerprint;
  readonly dim: number;
  /** Maximum tokens of one input, special tokens excluded. */
  readonly maxTokens: number;
  /** Counts tokens with the model's own tokenizer. */
  countTokens(text: string): number;
  /** `countTokens` as data, for a parse child process (see `TokenizerSpec`). */
  readonly tokenizer?: TokenizerSpec;
  /** The model's image input size (shortest side, pixels), for embedders of images. */
  readonly imageSize?: number;
  /** Embeds texts; results are in input order, one vector per input, L2-normalised. */
  embedTexts(texts: string[]): Promise<number[][]>;
  /** Embeds encoded images (png, jpg, webp); absent for text-only embedders. */
  embedImages?(images: Buffer[]): Promise<number[][]>;
}

/**
 * A source's document records by doc ID. `duplicates` names the documents the store holds more
 * than one record of, with how many: only concurrent writers of an older version left such
 * stores (a sync pass rewrites those documents, `audit` reports `duplicate-record`).
 */
export type DocRecords = Map<string, DocRecord> & { duplicates?: ReadonlyMap<string, number> };

/** One document's writes: its changed rows, the IDs of its rows that are gone, its new record. */
export interface DocChange {
  /** Rows to upsert (those whose ID or content moved). */
  rows: ChunkRow[];
  /** Rows to delete (the document's rows, as read, that it no longer has). */
  staleIds: string[];
  record: DocRecord;
  /**
   * Every chunk ID of the new version (absent when only the record changes): where the backend
   * commits under a write lock (LanceDB) any other row of the document found then is stale too.
   */
  ids?: string[];
  /**
   * Keys (`embedKey`) of the rows this change deletes or overwrites with other content, whose
   * vectors the collection itself reads from those rows before it writes (no read of the caller's)
   * and keeps in the vector cache. A key no row holds any more is skipped.
   */
  retiredKeys?: string[];
  /**
   * The writer's pass found no row and no record of this document when it began (`Known.noRows`).
   * A backend that can tell no other process wrote since (LanceDB: its table versions) need not
   * read what it holds of the document before it writes.
   */
  fresh?: true;
}

/** One stored chunk row. */
export interface ChunkRow {
  id: string;
  docId: string;
  source: string;
  path: string;
  section: string;
  chunkIndex: number;
  modality: Modality;
  hash: string;
  /** What the vector was made of (`embedKey`: the modality and the exact embedder input, hashed): the vector cache's key. */
  key: string;
  text: string;
  vector: number[];
  /** JSON of the document metadata (front matter), same on every row of a document. */
  metadata: string;
  updatedAt: number;
  /** Where the chunk is (see `Chunk`). */
  lines?: readonly [number, number];
  page?: number;
  heading?: string;
}

/** The per-document record: the commit marker of a document and the cheap no-op check. */
export interface DocRecord {
  docId: string;
  source: string;
  path: string;
  size: number;
  mtimeMs: number;
  /** sha-256 of the file bytes. */
  fileHash: string;
  /** sha-256 of the document metadata (front matter) stored on its rows. */
  metaHash: string;
  chunkCount: number;
  /** Chunker version and limits the chunks were made with; a change re-chunks the document. */
  chunking: string;
  /** `fingerprintKey()` of the embedder that wrote the rows. */
  fingerprint: string;
  updatedAt: number;
}

/** One physical collection (table pair) of a store: the vectors of one embedder. */
export interface CollectionInfo {
  /** Physical name suffix, derived from the fingerprint (`v<hash>`). */
  name: string;
  fingerprint: Fingerprint;
  /** The embedder configuration that writes it, without secrets; null when unknown. */
  embedder: Record<string, unknown> | null;
}

/**
 * Which collections of a store play which part. Queries go to `live`. During a re-embed, every
 * writer writes `live` and `pending`; a swap makes `pending` live and keeps the old live as
 * `previous` (for rollback) until it is dropped.
 */
export interface StoreLayout {
  live: CollectionInfo | null;
  pending: CollectionInfo | null;
  previous: CollectionInfo | null;
  /** Every collection the store holds, including unreferenced ones. */
  all: CollectionInfo[];
}

/** A held lease: at most one holder per store at a time (see `sink/lease.ts`). */
export interface Lease {
  readonly owner: { id: string; host: string; pid: number; startedAt: string };
  /** Throws (`BUSY`) when another process has taken the lease over. */
  check(): Promise<void>;
  release(): Promise<void>;
}

/**
 * A source as its store records it (store-level: it outlives a re-embed's swap). Its name is the
 * prefix of its doc IDs; `root` tells two folders of one name apart, so a second folder indexed
 * under a recorded name is refused instead of deleting the first one's documents.
 */
export interface SourceRecord {
  name: string;
  /** The root directory's real path (`fs.realpath`: symlinks resolved) on the machine that indexed it. */
  root: string;
  include: string[];
  exclude: string[];
  gitignore: boolean;
  /** ISO time the source was first recorded. */
  createdAt: string;
  /** ISO time the last complete full pass (`index`, a daemon's reconcile) ended; null before one. */
  lastSyncAt: string | null;
}

/** A document found by a scan, with what `stat` says of it (enough for the no-op check). */
export interface SourceEntry extends DocRef {
  docId: string;
  contentType: ContentType;
  size: number;
  mtimeMs: number;
  /**
   * When the inode last changed (ms; a write, `chmod`, `touch`, a rename onto it). A same-size
   * edit with its mtime restored (`touch -r`, `rsync -t`, tar) still moves it. Absent: unknown.
   */
  ctimeMs?: number;
}

/** Where documents come from. Only `sources/` touches the file system or watchers. */
export interface Source {
  /** Source name: the prefix of every doc ID of this source. */
  readonly name: string;
  /** Human-readable location (a directory). */
  readonly location: string;
  /** Documents larger than this many bytes are not read (a failure of the document), when set. */
  readonly maxFileBytes?: number;
  /**
   * Yields every document the source holds now, each once, in no particular order. Files that
   * vanish mid-scan are skipped. Throws `RagsyncError` (stage `source`) only when the source as a
   * whole cannot be read (a missing root): then nothing may be deleted.
   */
  scan(): AsyncIterable<SourceEntry>;
  /**
   * Files and directories (relative, POSIX) that the last `scan()` could not read, with the
   * cause; documents at or under them must not be taken as deleted.
   */
  unreadable(): ReadonlyArray<{ path: string; error: string }>;
  /** Stats a document; null when it no longer exists (or is no longer included). */
  stat(ref: DocRef): Promise<SourceEntry | null>;
  /**
   * Reads a document as it is now; null when it no longer exists. Throws `RagsyncError` for a
   * document that exists but cannot be used (too large, content does not match its type).
   */
  read(ref: DocRef): Promise<Document | null>;
}
