/** Dense, keyword (the server's BM25) and hybrid (reciprocal rank fusion) search of a chunk alias. */
import { type SearchFilter, type SearchHit, type SearchQuery, fetchGrouped, hitMetadata } from '../../core/types.js';
import { locationOf } from '../records.js';
import { type MilvusConnection, STRONG } from './client.js';
import { type MilvusFilter, and, filter, render } from './filter.js';

const BASE_FIELDS = ['id', 'doc_id', 'path', 'section', 'modality', 'text'];
const LOCATION_FIELDS = ['heading', 'line_start', 'line_end', 'page', 'metadata'];

/**
 * Searches a chunk collection for the `k` best hits, at most `q.perDoc` of one document (grouped here over
 * a growing over-fetch, the same way in every mode and as the embedded sink does).
 * `fields` are the collection's (one an older build made has no location fields).
 */
export async function searchCollection(
  conn: MilvusConnection,
  collection: string,
  q: SearchQuery,
  fields: ReadonlySet<string>,
): Promise<SearchHit[]> {
  return fetchGrouped(q.k, q.perDoc, (limit) => searchOnce(conn, collection, { ...q, k: limit }, fields));
}

async function searchOnce(conn: MilvusConnection, collection: string, q: SearchQuery, fields: ReadonlySet<string>): Promise<SearchHit[]> {
  const hitFields = [...BASE_FIELDS, ...LOCATION_FIELDS.filter((f) => fields.has(f))];
  const where = searchFilter(q.filter);
  const rendered = where.template ? render(where, conn.templates) : undefined;
  const consistency = q.strong ? { consistency_level: STRONG } : {};
  const common = { collection_name: collection, output_fields: hitFields, limit: q.k, ...consistency, ...(rendered ?? {}) };
  const wide = Math.max(q.k * 4, 20);
  // Sub-requests of a hybrid search take the filter as `expr`.
  const sub = rendered ? { expr: rendered.filter, ...(rendered.exprValues ? { exprValues: rendered.exprValues } : {}) } : {};
  // The SDK's request types cannot express a text query for a BM25 field; the wire format can.
  const res = await conn.call('search', (c): Promise<{ results: unknown[] }> => {
    if (q.mode === 'dense') return c.search({ ...common, data: [q.vector!], anns_field: 'vector', metric_type: 'COSINE' });
    if (q.mode === 'keyword') return c.search({ ...common, data: [q.text ?? ''] as never, anns_field: 'sparse', metric_type: 'BM25' });
    return c.hybridSearch({
      collection_name: collection,
      ...consistency,
      output_fields: hitFields,
      limit: q.k,
      data: [
        { data: [q.vector!], anns_field: 'vector', params: { metric_type: 'COSINE' }, limit: wide, ...sub },
        { data: [q.text ?? ''], anns_field: 'sparse', params: { metric_type: 'BM25' }, limit: wide, ...sub },
      ] as never,
      rerank: { strategy: 'rrf', params: { k: 60 } },
    });
  });
  const hits = (res.results as Array<Record<string, unknown>>).flat() as Array<Record<string, unknown>>;
  return hits.map((h) => ({
    id: String(h.id),
    docId: String(h.doc_id),
    path: String(h.path),
    section: String(h.section),
    modality: h.modality === 'image' ? 'image' : 'text',
    text: String(h.text),
    ...locationOf(h),
    ...hitMetadata(h.metadata),
    score: q.mode === 'keyword' ? Math.abs(Number(h.score)) : Number(h.score),
  }));
}

function searchFilter(f: SearchFilter | undefined): MilvusFilter {
  const parts: MilvusFilter[] = [];
  if (f?.source !== undefined) parts.push(filter('source == {v}', { v: f.source }));
  if (f?.modality !== undefined) parts.push(filter('modality == {v}', { v: f.modality }));
  if (f?.docId !== undefined) parts.push(filter('doc_id == {v}', { v: f.docId }));
  if (f?.path !== undefined) parts.push(filter('path == {v}', { v: f.path }));
  return and(parts);
}
