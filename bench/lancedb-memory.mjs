// LanceDB's own memory, outside ragsync (issue 18 item 3): one process appends many small commits
// to a table with the indexes ragsync keeps (FTS on text, btree on id and doc_id), reads by doc_id
// before each commit and compacts every 64 commits, as ragsync's write cycle does. It prints RSS
// and the JS heap as the table grows: the heap stays flat, RSS grows with the number of commits.
//   node bench/lancedb-memory.mjs [--commits 2000] [--rows 50] [--no-fts]
//   MALLOC_ARENA_MAX=2 node bench/lancedb-memory.mjs          # glibc's per-thread arenas capped
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Schema, Utf8 } from 'apache-arrow';
import { arg } from './report.mjs';

const commits = arg('commits', 2000);
const perCommit = arg('rows', 50);
const dir = await mkdtemp(path.join(os.tmpdir(), 'lancedb-memory-'));
const db = await lancedb.connect(dir, { readConsistencyInterval: 0, session: new lancedb.Session(32n << 20n, 16n << 20n) });
const str = (name) => new Field(name, new Utf8(), false);
const schema = new Schema([
  str('id'),
  str('doc_id'),
  str('text'),
  new Field('vector', new FixedSizeList(64, new Field('item', new Float32(), true)), false),
]);
const table = await db.createEmptyTable('chunks', schema);
if (!process.argv.includes('--no-fts')) await table.createIndex('text', { config: lancedb.Index.fts() });
await table.createIndex('id', { config: lancedb.Index.btree() });
await table.createIndex('doc_id', { config: lancedb.Index.btree() });
const mb = (b) => Math.round(b / 1048576);
let n = 0;
try {
  for (let c = 1; c <= commits; c++) {
    const docs = Array.from({ length: perCommit }, () => `docs:n${n++}.md`);
    await table
      .query()
      .where(`doc_id IN (${docs.map((d) => `'${d}'`).join(',')})`)
      .select(['id'])
      .toArray();
    const rows = docs.map((d, i) => ({
      id: `${d}#/0`,
      doc_id: d,
      text: `A short note, ${d}, about nothing much.`,
      vector: Array.from({ length: 64 }, (_, k) => Math.sin(i + k)),
    }));
    await table.add(lancedb.makeArrowTable(rows, { schema }));
    if (c % 64 === 0) await table.optimize({ cleanupOlderThan: new Date(Date.now() - 60_000) });
    if (c % 200 === 0 || c === commits) {
      const m = process.memoryUsage();
      console.log(`${c} commits, ${n} rows: RSS ${mb(m.rss)} MB, JS heap ${mb(m.heapTotal)} MB`);
    }
  }
} finally {
  table.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
}
