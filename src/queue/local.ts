/**
 * The local queue: the sync queue in this process's memory, for a daemon that is the only writer
 * of its source (`ragsync watch DIR` without `--redis`). It keeps the contract of
 * `core/job-queue.ts` the way the BullMQ queue does: one pending job per document, one follow-up
 * for a change while it runs, the same capped backoff, failed jobs kept.
 *
 * What it keeps on disk, in its state file (JSON, replaced atomically): the failed jobs, so that
 * they survive a restart, and counts for `ragsync jobs` in another process. Waiting jobs are not
 * kept: after a crash or a stop the daemon's first reconcile enqueues every document the store
 * does not match (the store is the truth). `ragsync jobs --retry` asks a running daemon to retry
 * its failed jobs through a request file beside the state file (`<state>.retry`), which the daemon
 * looks for every `RETRY_POLL_MS`.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RagsyncError, asRagsyncError, errorMessage } from '../core/errors.js';
import type { FailedJob, JobCounts, JobProcessor, JobQueue, SyncJob } from '../core/job-queue.js';
import type { DocRef } from '../core/types.js';
import { docId } from '../ids/index.js';
import { BOOT, type LocalQueueState, newestFirst, readLocalQueue, requestedIds, retryRequests } from './local-state.js';
import { retryDelay } from './queue.js';

/** Failed jobs kept (one per document), the oldest dropped first. */
const FAILED_KEPT = 10_000;
/** How often the daemon looks for a retry request. */
const RETRY_POLL_MS = 1000;
/** The state file is written at most this often while jobs run (failures are written as soon). */
const SAVE_EVERY_MS = 1000;

interface Entry {
  job: SyncJob;
  state: 'waiting' | 'active' | 'delayed';
  /** Tries already made (0 before the first). */
  attempts: number;
  /** A change that arrived while the job ran: the job to run after it. */
  followUp?: SyncJob;
  timer?: NodeJS.Timeout;
}

export interface LocalQueueOptions {
  source: string;
  /** The state file (created with its directory). */
  file: string;
  attempts: number;
  /** The delay before retry number `attempts` (default: `retryDelay`, as on Redis). */
  backoff?: (attempts: number) => number;
  onError?: (message: string) => void;
}

export class LocalQueue implements JobQueue {
  readonly kind = 'local';
  readonly durable = false;
  readonly location: string;
  private readonly entries = new Map<string, Entry>();
  private readonly ready: string[] = [];
  private failedJobs = new Map<string, FailedJob>();
  private processor: JobProcessor | undefined;
  private concurrency = 1;
  private active = 0;
  private completed = 0;
  private stopped = false;
  private idle: Array<() => void> = [];
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly o: LocalQueueOptions) {
    this.location = o.file;
  }

  /**
   * Opens the queue: the failed jobs of an earlier run are read back. Refuses (`BUSY`) while
   * another process's local queue of the source runs: two would each do all the work and
   * overwrite each other's state file.
   */
  static async open(o: LocalQueueOptions): Promise<LocalQueue> {
    const q = new LocalQueue(o);
    await mkdir(path.dirname(o.file), { recursive: true });
    const state = await readLocalQueue(o.file);
    if (state?.running && !(state.pid === process.pid && state.host === os.hostname())) {
      const who = `process ${state.pid} on ${state.host}`;
      throw new RagsyncError(
        'BUSY',
        `another \`ragsync watch\` (${who}) runs the local queue of source ${o.source}: stop it first, or share the work through Redis (--redis)`,
        { stage: 'source' },
      );
    }
    for (const f of state?.failed ?? []) q.failedJobs.set(docId(o.source, f.path), f);
    // A retry asked while no daemon ran is done now (the reconcile would enqueue them anyway).
    for (const request of await retryRequests(o.file)) await unlink(request).catch(() => undefined);
    await q.save();
    return q;
  }

  enqueue(ref: DocRef, at = Date.now()): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const id = docId(ref.source, ref.path);
    const job = { source: ref.source, path: ref.path, at };
    const entry = this.entries.get(id);
    if (!entry) {
      this.entries.set(id, { job, state: 'waiting', attempts: 0 });
      this.ready.push(id);
      this.dispatch();
    } else if (entry.state === 'active') {
      // Like BullMQ's `keepLastIfActive`: the last change's job runs after the active one.
      entry.followUp = job;
    }
    // Waiting or in a retry's backoff: that job reads the document as it is then.
    return Promise.resolve();
  }

  work(processor: JobProcessor, opts: { concurrency: number }): void {
    if (this.processor) throw new Error('this queue already has a worker');
    this.processor = processor;
    this.concurrency = Math.max(1, opts.concurrency);
    this.retryTimer = setInterval(() => void this.retryRequested(), RETRY_POLL_MS);
    this.retryTimer.unref();
    this.dispatch();
  }

  async drain(waitMs: number): Promise<'drained' | 'timeout'> {
    this.stopped = true;
    clearInterval(this.retryTimer);
    for (const e of this.entries.values()) clearTimeout(e.timer);
    if (this.active === 0) return 'drained';
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      new Promise<'drained'>((resolve) => this.idle.push(() => resolve('drained'))),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs))),
    ]);
    clearTimeout(timer);
    return outcome;
  }

  counts(): Promise<JobCounts> {
    const counts: JobCounts = { waiting: 0, active: 0, delayed: 0, completed: this.completed, failed: this.failedJobs.size };
    for (const e of this.entries.values()) counts[e.state]! += 1;
    return Promise.resolve(counts);
  }

  failed(limit = 100): Promise<FailedJob[]> {
    return Promise.resolve(newestFirst([...this.failedJobs.values()]).slice(0, limit));
  }

  async retryFailed(ids?: readonly string[]): Promise<number> {
    const failed = ids ? ids.flatMap((id) => this.failedJobs.get(id) ?? []) : [...this.failedJobs.values()];
    for (const f of failed) this.failedJobs.delete(f.id);
    for (const f of failed) await this.enqueue({ source: this.o.source, path: f.path });
    this.scheduleSave(0);
    return failed.length;
  }

  healthy(): Promise<boolean> {
    return Promise.resolve(!this.stopped);
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.retryTimer);
    clearTimeout(this.saveTimer);
    for (const e of this.entries.values()) clearTimeout(e.timer);
    await this.saving;
    await this.save(false);
  }

  private dispatch(): void {
    while (!this.stopped && this.processor && this.active < this.concurrency && this.ready.length > 0) {
      const id = this.ready.shift()!;
      const entry = this.entries.get(id);
      if (!entry || entry.state !== 'waiting') continue;
      entry.state = 'active';
      this.active++;
      void this.run(id, entry);
    }
  }

  private async run(id: string, entry: Entry): Promise<void> {
    const job = entry.job;
    let error: unknown;
    try {
      await this.processor!(job, entry.attempts + 1);
    } catch (err) {
      error = err;
    }
    entry.attempts++;
    this.active--;
    if (error === undefined) this.succeeded(id, entry);
    else this.failedTry(id, entry, error);
    this.scheduleSave(SAVE_EVERY_MS);
    if (this.active === 0 && this.stopped) for (const resolve of this.idle.splice(0)) resolve();
    this.dispatch();
  }

  private succeeded(id: string, entry: Entry): void {
    this.completed++;
    if (this.failedJobs.delete(id)) this.scheduleSave(0);
    this.next(id, entry);
  }

  private failedTry(id: string, entry: Entry, error: unknown): void {
    const e = asRagsyncError(error, 'IO', 'source', undefined, true);
    if (e.retryable && entry.attempts < this.o.attempts) {
      // The follow-up (if any) takes the retry's place: it reads the newer version anyway.
      if (entry.followUp) entry.job = entry.followUp;
      entry.followUp = undefined;
      entry.state = 'delayed';
      entry.timer = setTimeout(
        () => {
          entry.timer = undefined;
          if (this.stopped) return;
          entry.state = 'waiting';
          this.ready.push(id);
          this.dispatch();
        },
        (this.o.backoff ?? retryDelay)(entry.attempts),
      );
      return;
    }
    this.failedJobs.delete(id);
    this.failedJobs.set(id, {
      id,
      path: entry.job.path,
      reason: e.message,
      attempts: entry.attempts,
      failedAt: new Date().toISOString(),
    });
    while (this.failedJobs.size > FAILED_KEPT) this.failedJobs.delete(this.failedJobs.keys().next().value!);
    this.scheduleSave(0);
    this.next(id, entry);
  }

  /** The document's follow-up job, if a change came while it ran; else it leaves the queue. */
  private next(id: string, entry: Entry): void {
    if (!entry.followUp) {
      this.entries.delete(id);
      return;
    }
    this.entries.set(id, { job: entry.followUp, state: 'waiting', attempts: 0 });
    this.ready.push(id);
  }

  private async retryRequested(): Promise<void> {
    for (const file of await retryRequests(this.o.file)) {
      let ids: string[] | undefined;
      try {
        ids = requestedIds(await readFile(file, 'utf8'));
        await unlink(file);
      } catch {
        continue; // taken meanwhile
      }
      await this.retryFailed(ids);
    }
  }

  private scheduleSave(delayMs: number): void {
    if (this.saveTimer && delayMs > 0) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.saving = this.saving.then(() => this.save());
    }, delayMs);
    this.saveTimer.unref();
  }

  private async save(running = !this.stopped): Promise<void> {
    const state: LocalQueueState = {
      version: 1,
      pid: process.pid,
      host: os.hostname(),
      boot: BOOT,
      updatedAt: new Date().toISOString(),
      running,
      counts: await this.counts(),
      failed: newestFirst([...this.failedJobs.values()]),
    };
    const tmp = `${this.o.file}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(state));
      await rename(tmp, this.o.file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      this.o.onError?.(`cannot write the queue's state file ${this.o.file}: ${errorMessage(err)}`);
    }
  }
}
