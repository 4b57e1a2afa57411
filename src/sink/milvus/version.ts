/**
 * Which Milvus servers ragsync works with, decided from the version string the server reports
 * (`GetVersion`): Milvus `v2.5.4`, `2.6.0-rc1`, ...; Milvus Lite `milvus_lite-3.2.2`.
 */
import { RagsyncError } from '../../core/errors.js';

/**
 * The oldest Milvus with everything ragsync uses: BM25 functions and analyzers (the keyword half
 * of search, 2.5.0), collection property deletion (the source registry, 2.5.0), sparse vectors
 * and hybrid search (2.4), upsert (2.3), partition keys (2.2.9).
 */
const MIN_MILVUS = [2, 5] as const;
/** The oldest Milvus Lite known to serve every call ragsync makes, INVERTED scalar indexes included (tested: 3.2.2). */
const MIN_LITE = [3, 2] as const;
const LITE_PREFIX = 'milvus_lite-';

/** Whether the server is Milvus Lite (it keeps unflushed rows in memory and parses no filter templates). */
export function isLite(version: string): boolean {
  return version.startsWith(LITE_PREFIX);
}

/**
 * Refuses, with one line, a server older than ragsync needs: a RagsyncError `SINK` that is not
 * retryable (another attempt meets the same server), so the CLI exits 3 ("could not run").
 * A version string it cannot read (a development build, a managed service's own wording) is
 * accepted: refusing it would shut out a server that may well work, with no way around, while
 * accepting it costs at worst the first unsupported call's own error.
 */
export function checkServerVersion(version: string, address: string): void {
  const lite = isLite(version);
  const found = /(\d+)\.(\d+)/.exec(lite ? version.slice(LITE_PREFIX.length) : version);
  if (!found) return;
  const [major, minor] = [Number(found[1]), Number(found[2])];
  const [minMajor, minMinor] = lite ? MIN_LITE : MIN_MILVUS;
  if (major > minMajor || (major === minMajor && minor >= minMinor)) return;
  const need = lite ? `Milvus Lite ${MIN_LITE.join('.')} or later` : `Milvus ${MIN_MILVUS.join('.')} or later (BM25 full-text search)`;
  throw new RagsyncError('SINK', `Milvus at ${address} reports version ${version}: ragsync needs ${need}`, { stage: 'sink' });
}
