import { RagsyncError } from './errors.js';
import type { ChunkRow, Fingerprint } from './types.js';
import { sha256 } from '../ids/index.js';

/** One line that identifies a vector space: `model@revision dim=… dtype=… pooling=…`. */
export function fingerprintKey(fp: Fingerprint): string {
  return `${fp.model}@${fp.revision} dim=${fp.dim} dtype=${fp.dtype} pooling=${fp.pooling}`;
}

/** A short, name-safe form of the fingerprint, used in physical collection and table names. */
export function physicalName(fp: Fingerprint): string {
  return `v${sha256(fingerprintKey(fp)).slice(0, 10)}`;
}

/** The error for writing with an embedder whose fingerprint differs from the store's. */
export function fingerprintMismatch(stored: Fingerprint, wanted: Fingerprint, where: string): RagsyncError {
  return new RagsyncError(
    'FINGERPRINT_MISMATCH',
    `${where} holds vectors of ${fingerprintKey(stored)}, but the embedder is ${fingerprintKey(wanted)}; ` +
      'vectors of two models cannot share an index: use the model the store holds (`ragsync status` shows it), ' +
      'or move the store to the new model with `ragsync reembed DIR --embedder ...` (search keeps working meanwhile)',
    { stage: 'sink' },
  );
}

/** Refuses rows whose vectors do not have the store's dimension (Arrow would not complain). */
export function checkDims(rows: ChunkRow[], dim: number): void {
  const bad = rows.find((r) => r.vector.length !== dim || r.vector.some((x) => !Number.isFinite(x)));
  if (bad) {
    throw new RagsyncError('SINK', `row ${bad.id}: a vector of ${bad.vector.length} finite numbers is required to have ${dim}`, {
      stage: 'sink',
      docId: bad.docId,
    });
  }
}

/** Refuses a re-embed target that is already live, or a second target while one is pending. */
export function checkPending(live: Fingerprint | null, pending: Fingerprint | null, wanted: Fingerprint, where: string): void {
  if (live && fingerprintKey(live) === fingerprintKey(wanted)) {
    throw new RagsyncError('USAGE', `${where} already uses ${fingerprintKey(wanted)}: nothing to re-embed`, { stage: 'sink' });
  }
  if (pending && fingerprintKey(pending) !== fingerprintKey(wanted)) {
    throw new RagsyncError(
      'BUSY',
      `${where}: a re-embed to ${fingerprintKey(pending)} is pending; finish it (run reembed again with that embedder) or cancel it (\`ragsync reembed --abort\`) first`,
      { stage: 'sink' },
    );
  }
}
