/**
 * LanceDB commits optimistically: a commit that races another process's commit on the same table
 * fails with "Retryable commit conflict" and nothing of it is written. Every write of this sink is
 * idempotent (merge-inserts by key, deletes by filter, compaction), so it is simply run again.
 */
import { errorMessage } from '../../core/errors.js';

/** Attempts of a write that keeps meeting commit conflicts; the delays double from `baseMs`, with jitter. */
export const CONFLICT_ATTEMPTS = 8;

/** True for LanceDB's "another commit won, try again" error. */
export function isCommitConflict(err: unknown): boolean {
  return /retryable commit conflict|commit conflict/i.test(errorMessage(err));
}

/**
 * Runs `fn`, running it again after a short, growing, jittered delay while it fails with a commit
 * conflict (at most `attempts` runs, under 5 s of waiting in all at the defaults); any other
 * error, and the last conflict, is thrown as it is.
 */
export async function retryCommitConflicts<T>(fn: () => Promise<T>, attempts = CONFLICT_ATTEMPTS, baseMs = 25): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isCommitConflict(err)) throw err;
      const delay = baseMs * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay));
    }
  }
}
