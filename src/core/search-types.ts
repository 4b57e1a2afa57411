/** What a search asks and what it finds (re-exported by `types.ts`). */

export type SearchMode = 'dense' | 'keyword' | 'hybrid';

/** Metadata filter of a search: every given field must match exactly. Values are data, never syntax. */
export interface SearchFilter {
  source?: string;
  modality?: 'text' | 'image';
  docId?: string;
  path?: string;
}

export interface SearchQuery {
  mode: SearchMode;
  k: number;
  filter?: SearchFilter;
  /** Query vector (dense and hybrid). */
  vector?: number[];
  /** Query text (keyword and hybrid). */
  text?: string;
  /** At most this many hits of one document (0 or absent: no limit); the sink fetches enough candidates for `k` after grouping. */
  perDoc?: number;
  /** See every write committed before the query (a read-your-writes search): Milvus searches at Strong consistency then, not its default Bounded; LanceDB always does. */
  strong?: boolean;
}

export interface SearchHit {
  id: string;
  docId: string;
  path: string;
  section: string;
  modality: 'text' | 'image';
  text: string;
  /** Higher is better. Dense: cosine similarity; keyword: BM25; hybrid: reciprocal rank fusion. */
  score: number;
  lines?: readonly [number, number];
  page?: number;
  heading?: string;
  /** The document's metadata (Markdown front matter), when it has any. */
  metadata?: Record<string, unknown>;
}

/** The most candidates a grouped search fetches before it settles for fewer than `k` hits. */
const MAX_CANDIDATES = 4096;

/**
 * Runs `fetch(limit)` (best first) with a growing limit until `k` hits remain after keeping at most
 * `perDoc` of each document, or the sink has no more candidates; returns at most `k` hits, best first.
 */
export async function fetchGrouped(
  k: number,
  perDoc: number | undefined,
  fetch: (limit: number) => Promise<SearchHit[]>,
): Promise<SearchHit[]> {
  // A few more than asked, put in a fixed order: hits of equal score come in the same order from
  // every process (the sink's order of ties is its own), and one tied at the k-th place is the same.
  if (!perDoc || perDoc <= 0) return ordered(await fetch(Math.min(MAX_CANDIDATES, k + TIE_MARGIN))).slice(0, k);
  let limit = Math.min(MAX_CANDIDATES, Math.max(k * perDoc * 4, 20));
  for (;;) {
    const candidates = ordered(await fetch(limit));
    const grouped = groupHits(candidates, k, perDoc);
    if (grouped.length >= k || candidates.length < limit || limit >= MAX_CANDIDATES) return grouped;
    limit = Math.min(MAX_CANDIDATES, limit * 4);
  }
}

/** Candidates fetched beyond `k` so that hits tied at the k-th place are decided by ID, not by the sink. */
const TIE_MARGIN = 10;

/** Best first; equal scores by ID. */
function ordered(hits: SearchHit[]): SearchHit[] {
  return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The first `k` hits, in order, keeping at most `perDoc` of each document. */
export function groupHits(hits: readonly SearchHit[], k: number, perDoc: number): SearchHit[] {
  const seen = new Map<string, number>();
  const out: SearchHit[] = [];
  for (const h of hits) {
    if (out.length >= k) break;
    const n = seen.get(h.docId) ?? 0;
    if (n >= perDoc) continue;
    seen.set(h.docId, n + 1);
    out.push(h);
  }
  return out;
}

/** The document metadata stored on a row (JSON text), as an object; undefined when empty or not an object. */
export function hitMetadata(raw: unknown): Pick<SearchHit, 'metadata'> {
  if (typeof raw !== 'string' || raw === '') return {};
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 ? { metadata: v as Record<string, unknown> } : {};
  } catch {
    return {};
  }
}
