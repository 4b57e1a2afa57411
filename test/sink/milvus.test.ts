import { DataType, FunctionType, MilvusClient } from '@zilliz/milvus2-sdk-node';
import { describe, expect, inject, it } from 'vitest';
import { physicalName } from '../../src/core/fingerprint.js';
import { sha256 } from '../../src/ids/index.js';
import { and, filter, milvusLiteral, render } from '../../src/sink/milvus/filter.js';
import { milvusStore } from '../../src/sink/milvus/index.js';
import { checkServerVersion, isLite } from '../../src/sink/milvus/version.js';
import { milvusOptions, milvusTestStore } from '../helpers.js';
import { FP, put, row, storeContract } from './contract.js';

// One collection prefix per test: the factory is called again in a test to reopen the same store.
let current: { test: string; name: string } | undefined;
storeContract('Milvus Lite', async () => {
  const test = expect.getState().currentTestName ?? '';
  if (!current || current.test !== test) current = { test, name: milvusOptions().collection };
  return milvusTestStore(current.name);
});

describe('Milvus filters', () => {
  it('render literals that hold exactly the value', () => {
    expect(milvusLiteral('plain')).toBe('"plain"');
    expect(milvusLiteral('x" or id != "')).toBe('"x\\" or id != \\""');
    expect(milvusLiteral('back\\slash')).toBe('"back\\\\slash"');
    expect(milvusLiteral('new\nline\r')).toBe('"new\\nline\\r"');
    expect(milvusLiteral("it's {x}")).toBe('"it\'s {x}"');
    expect(milvusLiteral(['a', 'b"'])).toBe('["a", "b\\""]');
    expect(() => milvusLiteral('nul\0')).toThrow();
  });

  it('pass templates and values apart to servers that take templates', () => {
    const f = and([filter('doc_id == {doc}', { doc: 'a"b' }), filter('id in {ids}', { ids: ['x', 'y'] })]);
    expect(render(f, true)).toEqual({ filter: '(doc_id == {doc_0}) and (id in {ids_1})', exprValues: { doc_0: 'a"b', ids_1: ['x', 'y'] } });
    expect(render(f, false)).toEqual({ filter: '(doc_id == "a\\"b") and (id in ["x", "y"])' });
    expect(() => filter('id == {missing}', {})).toThrow(/no value/);
  });
});

/** The fields of a collection with an INVERTED (scalar) index, as the server describes them. */
async function scalarIndexes(client: MilvusClient, collection: string): Promise<string[]> {
  const res = await client.describeIndex({ collection_name: collection });
  const inverted = res.index_descriptions.filter((d) => d.params.find((p) => p.key === 'index_type')?.value === 'INVERTED');
  return inverted.map((d) => d.field_name).sort();
}

describe('Milvus store', () => {
  it('indexes the fields the per-document reads filter on (INVERTED), with and without a partition key, and reads through them', async () => {
    const client = new MilvusClient({ address: inject('milvusAddress'), logLevel: 'error' });
    for (const partitionKey of [false, true]) {
      const name = `idx${partitionKey ? 'p' : ''}_${Date.now().toString(36)}`;
      const store = milvusStore({ address: inject('milvusAddress'), collection: name, partitionKey, timeoutMs: 15_000 });
      const sink = await store.openLive(FP);
      const r = row('docs:a.md', 0, 'indexed row', { key: 'k-indexed' });
      await put(sink, [r, row('other:b.md', 0, 'another source')]);
      expect(await scalarIndexes(client, `${name}_chunks_${physicalName(FP)}`)).toEqual(['doc_id', 'key', 'source']);
      expect(await scalarIndexes(client, `${name}_docs_${physicalName(FP)}`)).toEqual(['source']);
      // Milvus Lite answers filters on flushed segments from these indexes.
      await sink.optimize();
      expect(await sink.listDocChunks('docs:a.md')).toEqual([{ id: r.id, hash: r.hash, key: 'k-indexed' }]);
      expect(await sink.countDocs('docs')).toBe(1);
      expect([...(await sink.findVectors(['k-indexed'])).keys()]).toEqual(['k-indexed']);
      await store.close();
    }
    await client.closeConnection();
  });

  it('accepts the Milvus Lite it runs against by the version the server reports', async () => {
    const client = new MilvusClient({ address: inject('milvusAddress'), logLevel: 'error' });
    const { version } = await client.getVersion();
    await client.closeConnection();
    expect(isLite(version)).toBe(true);
    expect(() => checkServerVersion(version, inject('milvusAddress'))).not.toThrow();
  });

  it('stores the fingerprint in the collection properties and serves reads through the alias', async () => {
    const name = `alias_${Date.now().toString(36)}`;
    const a = milvusTestStore(name);
    await put(await a.openLive(FP), [row('docs:a.md', 0, 'hello world')]);
    await a.close();
    const b = milvusTestStore(name);
    expect((await b.live())?.info.fingerprint).toEqual(FP);
    expect(await (await b.live())!.stats()).toEqual({ docs: 1, chunks: 1 });
    expect(b.location).toMatch(new RegExp(`/${name}_chunks$`));
    const client = new MilvusClient({ address: inject('milvusAddress'), logLevel: 'error' });
    const byAlias = await client.query({ collection_name: `${name}_chunks`, filter: 'id != ""', output_fields: ['text'], limit: 10 });
    expect(byAlias.data.map((r) => r.text)).toEqual(['hello world']);
    await client.closeConnection();
    await b.close();
  });

  it('completes a collection pair that an interrupted re-embed left half-made, and swaps the docs alias before the chunk alias', async () => {
    const name = `half_${Date.now().toString(36)}`;
    const live = milvusTestStore(name);
    await live.openLive(FP);
    const next = { ...FP, model: 'next/model', dim: 4 };
    await live.preparePending(next, { kind: 'fixed' });
    // As if the process had died after creating the chunk collection: no indexes, no docs collection.
    const client = new MilvusClient({ address: inject('milvusAddress'), logLevel: 'error' });
    const chunks = `${name}_chunks_${physicalName(next)}`;
    const docs = `${name}_docs_${physicalName(next)}`;
    await client.releaseCollection({ collection_name: chunks });
    for (const field of ['vector', 'sparse']) await client.dropIndex({ collection_name: chunks, field_name: field });
    await client.dropCollection({ collection_name: docs });
    // Running the re-embed again completes the pair.
    await live.preparePending(next, { kind: 'fixed' });
    const writer = milvusTestStore(name);
    await put(await writer.collection(next), [{ ...row('docs:a.md', 0, 'brand new row'), vector: [1, 0, 0, 0] }]);
    await live.promotePending();
    const docAlias = await client.describeAlias({ alias: `${name}_docs`, collection_name: `${name}_docs` });
    expect(docAlias.collection).toBe(docs);
    const reader = milvusTestStore(name);
    expect((await reader.live())?.info.fingerprint).toEqual(next);
    expect((await (await reader.live())!.search({ mode: 'keyword', k: 3, text: 'brand new' })).map((h) => h.text)).toEqual([
      'brand new row',
    ]);
    for (const x of [live, writer, reader]) await x.close();
    await client.closeConnection();
  });

  it('keeps serving a collection pair an older build made (no key or location fields, no scalar indexes; Milvus cannot add fields): indexes, rows, search, vector cache', async () => {
    const name = `old_${Date.now().toString(36)}`;
    const first = milvusTestStore(name);
    await first.openLive(FP);
    await first.close();
    // The chunk collection as an older build made it, and no vector cache.
    const client = new MilvusClient({ address: inject('milvusAddress'), logLevel: 'error' });
    const chunks = `${name}_chunks_${physicalName(FP)}`;
    const desc = await client.describeCollection({ collection_name: chunks });
    const str = (n: string, max: number, extra = {}) => ({ name: n, data_type: DataType.VarChar, max_length: max, ...extra });
    await client.dropCollection({ collection_name: chunks });
    await client.dropCollection({ collection_name: `${name}_vectors_${physicalName(FP)}` });
    const docs = `${name}_docs_${physicalName(FP)}`;
    await client.releaseCollection({ collection_name: docs });
    await client.dropIndex({ collection_name: docs, field_name: 'source' });
    await client.createCollection({
      collection_name: chunks,
      fields: [
        str('id', 1024, { is_primary_key: true }),
        ...['doc_id', 'source', 'path', 'section', 'modality', 'hash', 'metadata'].map((n) => str(n, 1024)),
        str('text', 65_535, { enable_analyzer: true, analyzer_params: { type: 'standard' } }),
        { name: 'chunk_index', data_type: DataType.Int32 },
        { name: 'updated_at', data_type: DataType.Int64 },
        { name: 'bucket', data_type: DataType.Int64 },
        { name: 'vector', data_type: DataType.FloatVector, dim: FP.dim },
        { name: 'sparse', data_type: DataType.SparseFloatVector },
      ],
      functions: [{ name: 'text_bm25', type: FunctionType.BM25, input_field_names: ['text'], output_field_names: ['sparse'], params: {} }],
      index_params: [
        { field_name: 'vector', index_type: 'AUTOINDEX', metric_type: 'COSINE' },
        { field_name: 'sparse', index_type: 'SPARSE_INVERTED_INDEX', metric_type: 'BM25' },
      ],
      properties: Object.fromEntries(desc.properties.map((p) => [p.key, p.value])),
    });
    const store = milvusTestStore(name);
    try {
      const sink = await store.openLive(FP);
      // The scalar indexes it lacked are added on open (none on `key`, which it has not).
      expect(await scalarIndexes(client, chunks)).toEqual(['doc_id', 'source']);
      expect(await scalarIndexes(client, docs)).toEqual(['source']);
      const r = { ...row('docs:a.md', 0, 'an older row'), lines: [3, 5] as const, heading: 'Older' };
      await put(sink, [r]);
      expect(await sink.listDocChunks('docs:a.md')).toEqual([{ id: r.id, hash: r.hash, key: '' }]);
      const [hit] = await sink.search({ mode: 'keyword', k: 1, text: 'older' });
      expect(hit).toMatchObject({ id: r.id, text: 'an older row' });
      expect(hit).not.toHaveProperty('lines');
      await sink.deleteDoc('docs:a.md', [{ key: 'k-x', vector: r.vector }]);
      expect([...(await sink.findVectors(['k-x'])).keys()]).toEqual(['k-x']);
    } finally {
      await store.close();
      await client.closeConnection();
    }
  });

  it('fails fast with one clear line when the server cannot be reached', async () => {
    const sink = milvusTestStore('unreachable', '127.0.0.1:9');
    const err = await sink.openLive(FP).catch((e) => e);
    expect(err.code).toBe('SINK');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^cannot reach Milvus at 127\.0\.0\.1:9 \(/);
    expect(err.message).not.toContain('\n');
    await sink.close();
  });

  it('reads every row when a query would return more than its limit, even rows sharing a hash', async () => {
    const name = `split_${Date.now().toString(36)}`;
    const store = milvusStore({
      address: inject('milvusAddress'),
      collection: name,
      partitionKey: false,
      timeoutMs: 15_000,
      queryLimit: 40,
    });
    const sink = await store.openLive(FP);
    const rows = Array.from({ length: 600 }, (_, i) => row(`docs:d${i % 3}.md`, i, `t${i}`, { hash: i < 300 ? 'same' : sha256(`h${i}`) }));
    await put(sink, rows);
    expect([...(await sink.countRowsByDoc('docs'))].sort()).toEqual([
      ['docs:d0.md', 200],
      ['docs:d1.md', 200],
      ['docs:d2.md', 200],
    ]);
    const one = await sink.listDocChunks('docs:d1.md');
    expect(one).toHaveLength(200);
    expect(new Set(one.map((r) => r.id)).size).toBe(200);
    await store.close();
  });

  it('upserts large batches split below the message limit', async () => {
    const store = milvusTestStore();
    const sink = await store.openLive(FP);
    const big = 'x'.repeat(60_000);
    // One document of 300 rows: one commit, split into several upserts.
    const rows = Array.from({ length: 300 }, (_, i) => row('docs:big.md', i, `${big}${i}`, { hash: `big-${i}`, key: `big-${i}` }));
    await put(sink, rows);
    expect((await sink.stats()).chunks).toBe(300);
    await store.close();
  });
});
