/** Which rows a batch of document changes deletes, decided inside the write lock from what the store holds. */
import type { DocChange } from '../../core/types.js';
import type { ChunkRefs } from '../batch.js';

/** The IDs that occur more than once. */
export function duplicates(ids: string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const id of ids) (seen.has(id) ? twice : seen).add(id);
  return [...twice];
}

/**
 * The rows a batch of changes deletes: each change's stale IDs, and, for a document whose change
 * gives its complete ID set, every row of it the store holds outside that set. A row one change
 * drops and a later change of the same document writes again stays.
 */
export function staleIds(changes: DocChange[], held: Map<string, ChunkRefs>): string[] {
  const last = new Map<string, 'row' | 'stale'>();
  const complete = new Map<string, Set<string>>();
  for (const c of changes) {
    for (const r of c.rows) last.set(r.id, 'row');
    for (const id of c.staleIds) last.set(id, 'stale');
    if (c.ids) complete.set(c.record.docId, new Set(c.ids));
  }
  for (const [docId, keep] of complete) {
    for (const { id } of held.get(docId) ?? []) if (!keep.has(id)) last.set(id, 'stale');
  }
  return [...last].filter(([, what]) => what === 'stale').map(([id]) => id);
}
