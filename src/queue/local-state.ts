/**
 * The local queue's state file (`local.ts`): written by the daemon, read by `ragsync jobs` in
 * another process, and the request file through which `jobs --retry` asks the daemon to retry.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import type { FailedJob, JobCounts } from '../core/job-queue.js';

/** What the state file holds. */
export interface LocalQueueState {
  version: 1;
  pid: number;
  host: string;
  /** The boot of the host it was written in (Linux's boot_id): a PID of an earlier boot is not that process. */
  boot?: string;
  updatedAt: string;
  /** True while the daemon that wrote it runs (it writes false when it stops). */
  running: boolean;
  counts: JobCounts;
  failed: FailedJob[];
}

export function newestFirst(jobs: FailedJob[]): FailedJob[] {
  return jobs.sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? ''));
}

function retryFile(file: string): string {
  return `${file}.retry`;
}

/** The retry requests waiting for the daemon of `file`: one file each (`<file>.retry`, `<file>.retry.<id>`), so two at once are both kept. */
export async function retryRequests(file: string): Promise<string[]> {
  const base = path.basename(retryFile(file));
  const names = await readdir(path.dirname(file)).catch(() => [] as string[]);
  return names.filter((n) => n === base || n.startsWith(`${base}.`)).map((n) => path.join(path.dirname(file), n));
}

/** The state a local queue wrote (null: none yet); `running` is corrected when its process is gone. */
export async function readLocalQueue(file: string): Promise<LocalQueueState | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let state: LocalQueueState;
  try {
    state = JSON.parse(text) as LocalQueueState;
  } catch {
    return null; // Not ours to read (the daemon writes it whole, by rename): the next one rewrites it.
  }
  if (state.running && !alive(state)) state.running = false;
  return state;
}

/** This boot of this host, on Linux; undefined elsewhere. */
export const BOOT = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
})();

/**
 * Whether the process that wrote a state runs: a process of another host counts as running; a
 * PID of an earlier boot (the file survived a reboot, the PID may be another program's now) does not.
 */
function alive(state: LocalQueueState): boolean {
  if (state.host !== os.hostname()) return true;
  if (state.boot && BOOT && state.boot !== BOOT) return false;
  try {
    process.kill(state.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The job IDs a retry request names; undefined: every failed job (a request of an older version holds a time). */
export function requestedIds(text: string): string[] | undefined {
  try {
    const ids = (JSON.parse(text) as { ids?: unknown }).ids;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks the daemon of a local queue to retry its failed jobs and waits up to `waitMs` for it to
 * take the request. Without a running daemon the request stays, and the next one retries them
 * at start (its first reconcile enqueues them in any case). `ids`: only those jobs. Returns whether a daemon took it.
 */
export async function requestRetry(file: string, waitMs = 5000, ids?: readonly string[]): Promise<boolean> {
  const request = `${retryFile(file)}.${randomUUID()}`;
  // Written whole, then renamed: the daemon never reads half a request.
  await writeFile(`${path.dirname(file)}/.${path.basename(request)}`, JSON.stringify(ids ? { ids } : { at: new Date().toISOString() }));
  await rename(`${path.dirname(file)}/.${path.basename(request)}`, request);
  const state = await readLocalQueue(file);
  if (!state?.running) return false;
  for (const until = Date.now() + waitMs; Date.now() < until;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const taken = await stat(request).then(
      () => false,
      () => true,
    );
    if (taken) return true;
  }
  return false;
}
