// The peer a user would pick instead of ragsync: LangChain.js's indexing API (`index()` from
// @langchain/core/indexing) with a SQLite record manager (what a single-machine user would use;
// it persists between runs) and LangChain's Milvus vector store, on the same Milvus server.
// (LangChain's LanceDB store has no `delete` and ignores ids, so `index()` with cleanup cannot run
// on LanceDB: the comparison is made on Milvus.)
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Document } from '@langchain/core/documents';
import { Embeddings } from '@langchain/core/embeddings';
import { index } from '@langchain/core/indexing';
import { SQLiteRecordManager } from '@langchain/community/indexes/sqlite';
import { Milvus } from '@langchain/community/vectorstores/milvus';
import { MarkdownTextSplitter } from '@langchain/textsplitters';
// The very function ragsync's fixed-cost embedder uses: both tools get equal vectors for equal text.
import { vectorOf } from '../../dist/embed/fixed.js';

/** The same fixed-cost embedder as ragsync's benchmark one: hash-derived vectors, a sleep per batch. */
export class FixedCostEmbeddings extends Embeddings {
  constructor({ dim = 64, delayMs = 10, batchSize = 16 } = {}) {
    super({});
    Object.assign(this, { dim, delayMs, batchSize, computed: 0 });
  }
  async embedDocuments(texts) {
    const out = [];
    for (let i = 0; i < texts.length; i += this.batchSize) {
      await new Promise((r) => setTimeout(r, this.delayMs));
      for (const t of texts.slice(i, i + this.batchSize)) out.push(vectorOf(Buffer.from(t), this.dim));
    }
    this.computed += texts.length;
    return out;
  }
  async embedQuery(text) {
    return vectorOf(Buffer.from(text), this.dim);
  }
}

async function* walk(dir, root = dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p, root);
    else if (e.name.endsWith('.md')) yield path.relative(root, p);
  }
}

/** Opens the peer on one folder: a record manager in `recordDb`, a Milvus collection. */
export async function openLangChain({ address, collection, recordDb, embeddings, chunkChars = 2000 }) {
  const recordManager = new SQLiteRecordManager(collection, { localPath: recordDb, tableName: 'upsertion_record' });
  await recordManager.createSchema();
  const vectorStore = new Milvus(embeddings, {
    url: address,
    collectionName: collection,
    autoId: false,
    primaryField: 'langchain_id',
    textFieldMaxLength: 65535,
  });
  const splitter = new MarkdownTextSplitter({ chunkSize: chunkChars, chunkOverlap: 0 });
  return {
    /** One `index()` pass over the folder: load every file, split, hash, sync with cleanup "incremental". */
    async indexFolder(dir) {
      const docs = [];
      for await (const rel of walk(dir)) {
        docs.push(new Document({ pageContent: await readFile(path.join(dir, rel), 'utf8'), metadata: { source: rel } }));
      }
      const chunks = await splitter.splitDocuments(docs);
      return index({
        docsSource: chunks,
        recordManager,
        vectorStore,
        options: { cleanup: 'incremental', sourceIdKey: 'source', batchSize: 100 },
      });
    },
  };
}
