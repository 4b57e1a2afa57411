/**
 * A lease: at most one holder at a time per store, for work that must not run twice at once (a
 * re-embed). The record lives in the store itself (a lock file beside a LanceDB store, a marker
 * collection in Milvus), so it works without Redis and across machines. The holder refreshes a
 * heartbeat; a record whose heartbeat is older than `LEASE_STALE_MS`, or whose holder is a dead
 * process on this host, is taken over. Creating the record is atomic on both backends; taking
 * over a stale one is checked by reading it back, which leaves only a sub-second window in which
 * two processes that both found the same stale record could both proceed.
 */
import { readlinkSync } from 'node:fs';
import { readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { RagsyncError } from '../core/errors.js';
import type { Lease } from '../core/types.js';

export interface LeaseOwner {
  id: string;
  host: string;
  /** The PID namespace: two containers can share a host name and reuse each other's PIDs. */
  ns?: string;
  pid: number;
  startedAt: string;
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}
/** This process's PID namespace (empty where /proc does not tell). */
export const NS = pidNamespace();

export interface LeaseRecord {
  owner: LeaseOwner;
  heartbeatAt: number;
}

/** Where a lease record is kept. */
export interface LeaseBackend {
  /** Creates the record atomically; false when one exists. */
  tryCreate(record: LeaseRecord): Promise<boolean>;
  read(): Promise<LeaseRecord | null>;
  heartbeat(record: LeaseRecord): Promise<void>;
  remove(): Promise<void>;
}

export const LEASE_STALE_MS = 15_000;
const HEARTBEAT_MS = 5_000;

/** True when nobody holds this record any more. */
export function isStale(record: LeaseRecord, now = Date.now()): boolean {
  if (now - record.heartbeatAt > LEASE_STALE_MS) return true;
  // Only a process in this host and PID namespace can be looked up by its PID.
  if (record.owner.host !== os.hostname() || (record.owner.ns ?? '') !== NS || !NS) return false;
  try {
    process.kill(record.owner.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Takes the lease, waiting up to `waitMs` for a holder that may be dead to go stale; throws a
 * `BUSY` error naming the holder otherwise.
 */
export async function acquireLease(backend: LeaseBackend, what: string, waitMs = LEASE_STALE_MS + 5_000): Promise<Lease> {
  const owner: LeaseOwner = { id: randomUUID(), host: os.hostname(), ns: NS, pid: process.pid, startedAt: new Date().toISOString() };
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await backend.tryCreate({ owner, heartbeatAt: Date.now() })) {
      await sleep(250);
      const check = await backend.read();
      if (check?.owner.id === owner.id) return hold(backend, owner);
      continue;
    }
    const current = await backend.read();
    if (!current) continue;
    if (isStale(current)) {
      await backend.remove();
      continue;
    }
    if (Date.now() >= deadline) {
      const ago = Math.round((Date.now() - current.heartbeatAt) / 1000);
      throw new RagsyncError(
        'BUSY',
        `${what} is already running (pid ${current.owner.pid} on ${current.owner.host}, since ${current.owner.startedAt}, last seen ${ago} s ago); ` +
          `only one may run per store at a time (a holder that stops is taken over after ${LEASE_STALE_MS / 1000} s)`,
        { stage: 'sink' },
      );
    }
    await sleep(1000);
  }
}

function hold(backend: LeaseBackend, owner: LeaseOwner): Lease {
  let lost: LeaseRecord | null = null;
  // The heartbeat renews only a record that is still ours; one taken over is left alone.
  const beat = async () => {
    const current = await backend.read();
    if (current?.owner.id !== owner.id) lost = current ?? { owner: { id: '', host: '?', pid: 0, startedAt: '' }, heartbeatAt: 0 };
    else await backend.heartbeat({ owner, heartbeatAt: Date.now() });
  };
  const timer = setInterval(() => void beat().catch(() => undefined), HEARTBEAT_MS);
  timer.unref();
  let released = false;
  return {
    owner,
    check: async () => {
      const current = await backend.read();
      if (current?.owner.id === owner.id && !lost) return;
      const by = current ?? lost;
      throw new RagsyncError(
        'BUSY',
        `lost the lease${by?.owner.host ? ` to pid ${by.owner.pid} on ${by.owner.host}` : ''} (no heartbeat was seen for ${LEASE_STALE_MS / 1000} s): stopping`,
        {
          stage: 'sink',
        },
      );
    },
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(timer);
      const current = await backend.read().catch(() => null);
      if (current?.owner.id === owner.id) await backend.remove();
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lease record in a file: created with O_EXCL, the heartbeat is its mtime. */
export function fileLease(file: string): LeaseBackend {
  return {
    async tryCreate(record) {
      try {
        await writeFile(file, JSON.stringify(record.owner), { flag: 'wx' });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    },
    async read() {
      try {
        const [text, st] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
        return { owner: JSON.parse(text) as LeaseOwner, heartbeatAt: st.mtimeMs };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        // A half-written record (its writer died mid-write) counts as stale.
        if (err instanceof SyntaxError) return { owner: { id: '', host: '', pid: 0, startedAt: '' }, heartbeatAt: 0 };
        throw err;
      }
    },
    async heartbeat() {
      const now = new Date();
      await utimes(file, now, now);
    },
    async remove() {
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
  };
}
