/**
 * A full pass over one source: scan, sync each document that stat shows may have changed (over
 * a bounded pool), and delete the documents of this source that no longer exist. This is the
 * one-shot `ragsync index` and the daemon's reconcile.
 */
import pMap from 'p-map';
import { checkRows, isUnder } from './compare.js';
import { type DeleteGuard, type HeldDeletions, heldDeletions } from './delete-guard.js';
import { errorMessage, RagsyncError } from './errors.js';
import type { DocRecord, DocRef, SourceEntry } from './types.js';
import { type DocSyncResult, type Known, type SyncDeps, deleteDocument, isCurrent, syncDocument } from './sync-document.js';

export interface SyncSummary {
  docs: { scanned: number; changed: number; unchanged: number; deleted: number; failed: number; textless?: number };
  chunks: { upserted: number; deleted: number; unchanged: number };
  embeddings: { computed: number; reused: number };
  failures: Array<{ path: string; error: string }>;
  durationMs: number;
  /**
   * Set when the pass was stopped (`signal`): documents not reached are not counted; stopped
   * during the scan, nothing was deleted (an unfinished scan cannot tell a gone file from an unseen
   * one); stopped after it, the deletions not started were left for the next run.
   */
  interrupted?: true;
  /** Set when the mass-deletion guard held the pass's deletions (`deleteGuard`): nothing was deleted. */
  held?: HeldDeletions;
}

export interface SyncSourceOptions {
  concurrency: number;
  /**
   * The mass-deletion guard: a pass whose complete scan would delete more of the source than it
   * allows holds every deletion (and says so in `held`); null lets the pass delete whatever the
   * scan no longer finds. Every caller chooses (scan-driven passes take the configured one).
   */
  deleteGuard: DeleteGuard | null;
  /** Called after each document with the counts so far and how many documents were found. */
  onProgress?: (done: number, found: number, last: DocSyncResult | null) => void;
  /** The scan found another document: `found` so far (before any of them may be done). */
  onFound?: (found: number) => void;
  /** The scan ended (not stopped): `found` documents in all. */
  onScanned?: (found: number) => void;
  /** Called for each failed document (for logging). */
  onFailure?: (path: string, err: RagsyncError) => void;
  /** Called for a problem that fails no document (for logging). */
  onWarning?: (message: string) => void;
  /**
   * Runs the sync of one document that may have changed or be gone (default: `syncDocument`
   * in-process), with what the pass knows of it. The queue mode enqueues a job and resolves with
   * its result.
   */
  execute?: (ref: DocRef, known: Known) => Promise<DocSyncResult>;
  /**
   * Stops the pass: no document or deletion starts after it fires, those already started finish
   * (a record is written after its rows, so even a hard stop loses nothing), and no deletion runs
   * at all when it fires during the scan.
   */
  signal?: AbortSignal;
}

export function emptySummary(): SyncSummary {
  return {
    docs: { scanned: 0, changed: 0, unchanged: 0, deleted: 0, failed: 0 },
    chunks: { upserted: 0, deleted: 0, unchanged: 0 },
    embeddings: { computed: 0, reused: 0 },
    failures: [],
    durationMs: 0,
  };
}

/** Adds one document's result to a summary. */
export function addResult(sum: SyncSummary, r: DocSyncResult): void {
  if (r.status === 'changed') sum.docs.changed++;
  else if (r.status === 'deleted') sum.docs.deleted++;
  else sum.docs.unchanged++;
  sum.chunks.upserted += r.added + r.updated;
  sum.chunks.deleted += r.deleted;
  sum.chunks.unchanged += r.unchanged;
  sum.embeddings.computed += r.embedded;
  sum.embeddings.reused += r.reused;
  if (r.textless) sum.docs.textless = (sum.docs.textless ?? 0) + 1;
}

/**
 * Syncs every document of the source. A document that fails is counted and listed in
 * `failures` and keeps its rows; the pass goes on. Deletions run only after a complete scan, and
 * not at all when `deleteGuard` holds them (`held`). Throws only when the source itself cannot be
 * read, after the documents already started have finished and before anything was deleted.
 */
export async function syncSource(deps: SyncDeps, opts: SyncSourceOptions): Promise<SyncSummary> {
  const started = performance.now();
  const pass = new Pass(deps, opts);
  const { records, orphans } = await checkedRecords(deps, opts);
  // p-map pulls the next entry only when a slot is free: the scan runs at most a pool ahead of
  // the work (a tree of 100 000 files does not become 100 000 queued tasks), and after a stop
  // nothing new starts while the documents in flight finish.
  let scanError: unknown;
  const entries = pass.untilStopped(deps.source.scan(), (err) => (scanError = err));
  const concurrency = Math.max(1, opts.concurrency);
  // A new source (the bulk path) keeps more documents in flight, so that each write cycle carries
  // many (fewer, larger commits: faster, and less native memory per document in LanceDB), within
  // a budget of file bytes in flight.
  const bulk = records.size === 0 && orphans.size === 0;
  const budget = bulk ? new ByteBudget(BULK_BYTES) : null;
  // What the pass knows of a document spares it reads: its record, its stat, and, for a document
  // with no record and no orphan rows, that it has no rows. (Vectors are still looked up: a text
  // repeated across documents, a copied file, is embedded once.)
  const knownOf = (entry: SourceEntry): Known => {
    const record = records.get(entry.docId) ?? null;
    return record || orphans.has(entry.docId) ? { record, entry } : { record, entry, noRows: true };
  };
  // A file over the size limit is refused before it is read: it costs nothing.
  const cost = (entry: SourceEntry) => (entry.size > (deps.source.maxFileBytes ?? Infinity) ? 0 : entry.size);
  const run = (entry: SourceEntry) => pass.document(entry, knownOf(entry));
  await pMap(entries, (entry) => (budget ? budget.run(cost(entry), () => run(entry)) : run(entry)), {
    concurrency: bulk ? concurrency * BULK_FACTOR : concurrency,
  });
  if (scanError !== undefined) throw scanError;
  if (pass.stopped()) return ended(pass.sum, started, true);

  const unreadable = deps.source.unreadable();
  for (const u of unreadable)
    pass.fail(u.path || '.', new RagsyncError('IO', `${u.path || '.'}: ${u.error}`, { stage: 'source', retryable: true }));
  const indexed = new Set([...records.keys(), ...orphans]);
  const gone = [...indexed]
    .filter((id) => !pass.seen.has(id))
    .map((id) => ({ id, path: records.get(id)?.path ?? id.slice(deps.source.name.length + 1) }))
    .filter((g) => !isUnder(unreadable, g.path));
  const counts = { deletions: gone.length, indexed: indexed.size, found: pass.seen.size };
  const held = heldDeletions(opts.deleteGuard ?? null, counts, deps.source);
  if (held) pass.sum.held = held;
  await pMap(
    held ? [] : gone,
    // The scan was complete: stopping here leaves the deletions not yet started to the next run.
    async ({ id, path }) => (pass.stopped() ? undefined : pass.remove(id, path, records.get(id) ?? null)),
    { concurrency },
  );
  return ended(pass.sum, started, pass.stopped());
}

/** On the bulk path: documents in flight, as a multiple of `concurrency`, and their file bytes at most. */
const BULK_FACTOR = 8;
const BULK_BYTES = 64 << 20;

/**
 * A budget of bytes, first come first served: `run` waits until its cost fits beside what runs
 * (a task over the whole budget runs alone), and no task overtakes one that waits.
 */
class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ cost: number; start: () => void }> = [];

  constructor(private readonly limit: number) {}

  async run<T>(cost: number, fn: () => Promise<T>): Promise<T> {
    if (this.waiting.length > 0 || !this.fits(cost)) await new Promise<void>((start) => this.waiting.push({ cost, start }));
    else this.used += cost;
    try {
      return await fn();
    } finally {
      this.used -= cost;
      while (this.waiting.length > 0 && this.fits(this.waiting[0]!.cost)) {
        const next = this.waiting.shift()!;
        this.used += next.cost;
        next.start();
      }
    }
  }

  private fits(cost: number): boolean {
    return this.used === 0 || this.used + cost <= this.limit;
  }
}

/** The running state of one pass: its counts, what the scan saw, and how a document is run. */
class Pass {
  readonly sum = emptySummary();
  readonly seen = new Set<string>();
  private done = 0;
  private readonly execute: (ref: DocRef, known: Known) => Promise<DocSyncResult>;

  constructor(
    private readonly deps: SyncDeps,
    private readonly opts: SyncSourceOptions,
  ) {
    this.execute = opts.execute ?? ((ref, known) => syncDocument(ref, deps, known));
  }

  stopped(): boolean {
    return this.opts.signal?.aborted === true;
  }

  /** The scan's entries until the pass is stopped; a scan that throws ends, its error kept for later. */
  async *untilStopped(scan: AsyncIterable<SourceEntry>, onError: (err: unknown) => void): AsyncGenerator<SourceEntry> {
    try {
      for await (const entry of scan) {
        if (this.stopped()) return;
        this.sum.docs.scanned++;
        this.opts.onFound?.(this.sum.docs.scanned);
        this.seen.add(entry.docId);
        yield entry;
      }
      if (!this.stopped()) this.opts.onScanned?.(this.sum.docs.scanned);
    } catch (err) {
      onError(err);
    }
  }

  async document(entry: SourceEntry, known: Known): Promise<void> {
    const { record } = known;
    if (record && isCurrent(record, entry, this.deps)) {
      return this.finish({ ...noChange(entry.docId, entry.path), unchanged: record.chunkCount });
    }
    // An entry taken from the scan just as the pass was stopped is skipped, uncounted.
    if (this.stopped()) return void this.sum.docs.scanned--;
    await this.execute(entry, known).then(
      (r) => this.finish(r),
      (err) => (this.stopped() && isAbort(err) ? void this.sum.docs.scanned-- : this.fail(entry.path, err)),
    );
  }

  async remove(id: string, path: string, record: DocRecord | null): Promise<void> {
    const run = this.opts.execute
      ? this.opts.execute({ source: this.deps.source.name, path }, { record })
      : deleteDocument(id, path, this.deps);
    await run.then(
      (r) => this.finish(r),
      (err) => (this.stopped() && isAbort(err) ? undefined : this.fail(path, err)),
    );
  }

  finish(r: DocSyncResult): void {
    addResult(this.sum, r);
    this.opts.onProgress?.(++this.done, this.sum.docs.scanned, r);
  }

  fail(path: string, err: unknown): void {
    const e = err instanceof RagsyncError ? err : new RagsyncError('IO', errorMessage(err), { stage: 'source', cause: err });
    this.sum.docs.failed++;
    this.sum.failures.push({ path, error: e.message.startsWith(path) ? e.message : `${path}: ${e.message}` });
    this.opts.onFailure?.(path, e);
    this.opts.onProgress?.(++this.done, this.sum.docs.scanned, null);
  }
}

/** The result of a document that needed no work. */
export function noChange(docId: string, path: string): DocSyncResult {
  return { docId, path, status: 'unchanged', added: 0, updated: 0, deleted: 0, unchanged: 0, embedded: 0, reused: 0 };
}

function ended(sum: SyncSummary, started: number, interrupted: boolean): SyncSummary {
  if (interrupted) sum.interrupted = true;
  sum.failures.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  sum.durationMs = Math.round(performance.now() - started);
  return sum;
}

/** An `execute` that gave up waiting because the pass was stopped (its work may still be done elsewhere). */
function isAbort(err: unknown): boolean {
  // An embedding batch refused after the stop reaches here wrapped (a RagsyncError whose cause is the AbortError).
  for (let e = err as { name?: string; cause?: unknown } | null, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.name === 'AbortError') return true;
  }
  return false;
}

/**
 * The source's document records, checked against the rows (`checkRows`): a record that
 * disagrees with its rows is dropped (the document is synced again), and documents with rows but
 * no record are returned as orphans (deleted unless the scan finds them).
 */
async function checkedRecords(deps: SyncDeps, opts: SyncSourceOptions) {
  const { collection, source } = deps;
  const records = await collection.listDocRecords(source.name);
  const { disagree, orphans } = await checkRows(collection, source.name, records);
  for (const id of disagree) records.delete(id);
  if (disagree.length > 0)
    opts.onWarning?.(`${disagree.length} document records disagree with the rows in the store: those documents are synced again`);
  return { records, orphans: new Set([...orphans, ...disagree]) };
}
