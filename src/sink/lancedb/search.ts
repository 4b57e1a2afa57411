/** Dense, keyword (full-text, BM25) and hybrid (reciprocal rank fusion) search of a chunk table. */
import * as lancedb from '@lancedb/lancedb';
import { type SearchFilter, type SearchHit, type SearchQuery, fetchGrouped, hitMetadata } from '../../core/types.js';
import { locationOf } from '../records.js';
import { sqlEq } from './sql.js';
import { guard } from './tables.js';

// (A collection is opened only once its tables have every column: `LanceDbCollection.open` upgrades older ones.)
const columns = ['id', 'doc_id', 'path', 'section', 'modality', 'text', 'heading', 'line_start', 'line_end', 'page', 'metadata'];

/** The `k` best hits, at most `q.perDoc` of one document. */
export async function searchTable(table: lancedb.Table, q: SearchQuery): Promise<SearchHit[]> {
  return fetchGrouped(q.k, q.perDoc, (limit) => searchRows(table, q, limit));
}

async function searchRows(table: lancedb.Table, q: SearchQuery, limit: number): Promise<SearchHit[]> {
  const where = searchWhere(q.filter);
  const rows = await guard('search', async () => {
    if (q.mode === 'keyword') {
      const query = table
        .query()
        .fullTextSearch(q.text ?? '')
        .select([...columns, '_score'])
        .limit(limit);
      return (where ? query.where(where) : query).toArray();
    }
    if (q.mode === 'dense') {
      const query = table
        .vectorSearch(q.vector!)
        .distanceType('cosine')
        .select([...columns, '_distance'])
        .limit(limit);
      return (where ? query.where(where) : query).toArray();
    }
    // Fuse more candidates than asked for, so a hit ranked low by one side can still rise.
    const reranker = await lancedb.rerankers.RRFReranker.create();
    const query = table.vectorSearch(q.vector!);
    return (where ? query.where(where) : query)
      .distanceType('cosine')
      .select(columns)
      .fullTextSearch(q.text ?? '')
      .limit(Math.max(limit * 4, 20))
      .rerank(reranker)
      .toArray();
  });
  return rows.slice(0, limit).map((r) => ({
    id: String(r.id),
    docId: String(r.doc_id),
    path: String(r.path),
    section: String(r.section),
    modality: r.modality === 'image' ? 'image' : 'text',
    text: String(r.text),
    ...locationOf(r),
    ...hitMetadata(r.metadata),
    score: q.mode === 'dense' ? 1 - Number(r._distance) : Number(r._relevance_score ?? r._score),
  }));
}

/** The SQL condition of a search filter, every value escaped; undefined for none. */
function searchWhere(f: SearchFilter | undefined): string | undefined {
  if (!f) return undefined;
  const parts = [
    f.source !== undefined ? sqlEq('source', f.source) : '',
    f.modality !== undefined ? sqlEq('modality', f.modality) : '',
    f.docId !== undefined ? sqlEq('doc_id', f.docId) : '',
    f.path !== undefined ? sqlEq('path', f.path) : '',
  ].filter(Boolean);
  return parts.length > 0 ? parts.join(' AND ') : undefined;
}
