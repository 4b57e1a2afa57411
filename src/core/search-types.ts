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
}
