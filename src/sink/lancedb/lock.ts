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
 * namespace) and its mtime is a heartbeat while a long write (a compaction) runs. A holder that
 * died is taken over: a process of this host (and PID namespace) as soon as its PID is gone (its
 * heartbeat is not asked: a parse that blocks the event loop stops the timer, not the write),
 * one of another host after `LEASE_STALE_MS` without a heartbeat. Only one waiter at a time may
 * remove a dead holder's file (`write.lock.break`): two that both found it dead would otherwise
 * both take the lock, the second removing the first one's.
 */
import { randomUUID } from 'node:crypto';
import { link, readFile, readdir, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RagsyncError, errorMessage } from '../../core/errors.js';
import { SerialWriter } from '../batch.js';
import { LEASE_STALE_MS, type LeaseOwner, NS } from '../lease.js';

const HEARTBEAT_MS = 5_000;
/** First and longest pause between two tries while another process holds the lock. */
const RETRY_MIN_MS = 2;
const RETRY_MAX_MS = 50;
/** A break file this old was left by a waiter that died while removing a dead holder's lock. */
const BREAK_STALE_MS = 10_000;
/** Files written aside (`write.lock.<id>`) by a process killed before it removed them. */
const LITTER_MS = 60_000;

interface Holder {
  owner: LeaseOwner;
  /** The file's mtime: when it was created or last heartbeat. */
  heartbeatAt: number;
}

export class WriteLock {
  /** This process's writes, one at a time, in call order (the file is taken once per write). */
  private readonly local = new SerialWriter();
  private readonly owner: LeaseOwner;
  private readonly breakFile: string;

  constructor(readonly file: string) {
    this.owner = { id: randomUUID(), host: os.hostname(), ns: NS, pid: process.pid, startedAt: new Date().toISOString() };
    this.breakFile = `${file}.break`;
  }

  /** Runs `fn` holding the lock: after this process's earlier writes, and while no other process writes. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.local.run(async () => {
      await this.guarded('take', () => this.acquire());
      const beat = setInterval(() => {
        const now = new Date();
        void utimes(this.file, now, now).catch(() => undefined);
      }, HEARTBEAT_MS);
      beat.unref();
      try {
        return await fn();
      } finally {
        clearInterval(beat);
        await this.guarded('release', () => this.release());
      }
    });
  }

  private async acquire(): Promise<void> {
    let pause = RETRY_MIN_MS;
    for (;;) {
      if (await this.tryCreate(this.file)) return;
      const holder = await this.read(this.file);
      if (!holder) continue;
      if (gone(holder)) {
        await this.breakDead(holder);
        continue;
      }
      await sleep(pause * (0.5 + Math.random()));
      pause = Math.min(RETRY_MAX_MS, pause * 2);
    }
  }

  /** Removes a dead holder's lock file, if it is still that holder's, while holding the break file. */
  private async breakDead(holder: Holder): Promise<void> {
    if (!(await this.tryCreate(this.breakFile))) {
      const st = await stat(this.breakFile).catch(() => null);
      if (st && Date.now() - st.mtimeMs > BREAK_STALE_MS) await unlink(this.breakFile).catch(() => undefined);
      await sleep(RETRY_MAX_MS * Math.random());
      return;
    }
    try {
      const again = await this.read(this.file);
      if (again?.owner.id === holder.owner.id) await unlink(this.file).catch(() => undefined);
      await this.sweepLitter();
    } finally {
      await unlink(this.breakFile).catch(() => undefined);
    }
  }

  /**
   * Creates `target` holding this process's owner record in one step: written aside, then
   * hard-linked into place (a link fails when the name exists), so no reader sees the file
   * without its holder. Where hard links are not supported, an exclusive create (a reader that
   * finds it still empty waits, its mtime being new).
   */
  private async tryCreate(target: string): Promise<boolean> {
    const body = JSON.stringify(this.owner);
    const aside = `${this.file}.${this.owner.id}`;
    await writeFile(aside, body);
    try {
      await link(aside, target);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      return writeFile(target, body, { flag: 'wx' }).then(
        () => true,
        (e: NodeJS.ErrnoException) => (e.code === 'EEXIST' ? false : Promise.reject(e)),
      );
    } finally {
      await unlink(aside).catch(() => undefined);
    }
  }

  /** The holder of a lock file; null when there is none. A record that cannot be parsed ages by its mtime. */
  private async read(target: string): Promise<Holder | null> {
    try {
      const [text, st] = await Promise.all([readFile(target, 'utf8'), stat(target)]);
      try {
        return { owner: JSON.parse(text) as LeaseOwner, heartbeatAt: st.mtimeMs };
      } catch {
        return { owner: { id: '', host: '', pid: 0, startedAt: '' }, heartbeatAt: st.mtimeMs };
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private async release(): Promise<void> {
    const current = await this.read(this.file).catch(() => null);
    if (current?.owner.id === this.owner.id) await unlink(this.file).catch(() => undefined);
  }

  /** Removes files written aside by processes killed before they removed them. */
  private async sweepLitter(): Promise<void> {
    const dir = path.dirname(this.file);
    const prefix = `${path.basename(this.file)}.`;
    for (const name of await readdir(dir).catch(() => [])) {
      if (!name.startsWith(prefix) || name === path.basename(this.breakFile)) continue;
      const st = await stat(path.join(dir, name)).catch(() => null);
      if (st && Date.now() - st.mtimeMs > LITTER_MS) await unlink(path.join(dir, name)).catch(() => undefined);
    }
  }

  /** A lock-file failure (a read-only or full disk) as a retryable sink error naming the file. */
  private async guarded<T>(what: 'take' | 'release', fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new RagsyncError('SINK', `cannot ${what} the store's write lock ${this.file}: ${errorMessage(err)}`, {
        stage: 'sink',
        retryable: true,
        cause: err,
      });
    }
  }
}

/**
 * True when a holder is gone: a process of this host and PID namespace when its PID no longer
 * runs, any other when its heartbeat is older than `LEASE_STALE_MS`.
 */
function gone(holder: Holder): boolean {
  const local = holder.owner.host === os.hostname() && (holder.owner.ns ?? '') === NS && NS !== '';
  if (!local || holder.owner.pid <= 0) return Date.now() - holder.heartbeatAt > LEASE_STALE_MS;
  try {
    process.kill(holder.owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
