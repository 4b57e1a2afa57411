/**
 * The write lock of a LanceDB store (`write.lock` in its directory). Every write of every process
 * (a commit of rows and records, a deletion, a compaction, a table or manifest change) runs inside
 * it, one at a time per store.
 *
 * Why: LanceDB's writes are optimistic, and two of them that touch no common fragment both
 * commit. Two processes that `mergeInsert` the same new key both insert it (duplicate IDs and
 * records: lance-format/lance#4585, lancedb/lancedb#3377, whose upstream advice is to serialize
 * writers), two first runs both create the same table ("already exists"), and two manifest
 * updates lose one. Under the lock each write sees every earlier one.
 *
 * It is held for one write (milliseconds), never for a pass: an `index`, a daemon and a re-embed
 * write one store together, their writes interleaved. The file holds its holder (PID, host, PID
 * namespace) and its mtime is a heartbeat while a long write (a compaction) runs; a holder that
 * died is taken over: at once when it was a process of this host, after `LEASE_STALE_MS` without a
 * heartbeat otherwise (`sink/lease.ts`).
 */
import { randomUUID } from 'node:crypto';
import { link, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { SerialWriter } from '../batch.js';
import { type LeaseOwner, NS, fileLease, isStale } from '../lease.js';

const HEARTBEAT_MS = 5_000;
/** First and longest pause between two tries while another process holds the lock. */
const RETRY_MIN_MS = 2;
const RETRY_MAX_MS = 50;

export class WriteLock {
  private readonly lease;
  /** This process's writes, one at a time, in call order (the file is taken once per write). */
  private readonly local = new SerialWriter();
  private readonly owner: LeaseOwner;

  constructor(readonly file: string) {
    this.lease = fileLease(file);
    this.owner = { id: randomUUID(), host: os.hostname(), ns: NS, pid: process.pid, startedAt: new Date().toISOString() };
  }

  /** Runs `fn` holding the lock: after this process's earlier writes, and while no other process writes. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.local.run(async () => {
      await this.acquire();
      const beat = setInterval(
        () => void this.lease.heartbeat({ owner: this.owner, heartbeatAt: Date.now() }).catch(() => undefined),
        HEARTBEAT_MS,
      );
      beat.unref();
      try {
        return await fn();
      } finally {
        clearInterval(beat);
        await this.release();
      }
    });
  }

  private async acquire(): Promise<void> {
    let pause = RETRY_MIN_MS;
    for (;;) {
      if (await this.tryCreate()) return;
      const holder = await this.lease.read();
      // A holder that died: its record is removed, if it is still the one read (a new holder's is not).
      if (holder && isStale(holder)) {
        const again = await this.lease.read();
        if (again?.owner.id === holder.owner.id) await this.lease.remove();
        continue;
      }
      if (!holder) continue;
      await sleep(pause * (0.5 + Math.random()));
      pause = Math.min(RETRY_MAX_MS, pause * 2);
    }
  }

  /**
   * Creates the lock file with its holder in one step: written aside, then hard-linked into place
   * (a link fails when the name exists), so no reader ever sees a lock file without its holder.
   */
  private async tryCreate(): Promise<boolean> {
    const aside = `${this.file}.${this.owner.id}`;
    await writeFile(aside, JSON.stringify(this.owner));
    try {
      await link(aside, this.file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await unlink(aside).catch(() => undefined);
    }
  }

  private async release(): Promise<void> {
    const current = await this.lease.read().catch(() => null);
    if (current?.owner.id === this.owner.id) await this.lease.remove();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
