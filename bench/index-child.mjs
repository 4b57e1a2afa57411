// Indexes one folder into a LanceDB store with the fixed-cost embedder and prints
// {durationMs, chunks, rssMb} (this process's peak RSS): bench/compare.mjs runs it apart.
//   node bench/index-child.mjs DIR STORE DELAY_MS
import path from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.LANCEDB_LOG ??= 'error';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { indexDirectory } = await import(path.join(root, 'dist/app/index.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config/index.js'));
const [dir, store, delayMs] = process.argv.slice(2);
const config = resolveConfig({ flags: { sink: { path: store }, embedder: { kind: 'fixed', dim: 64, delayMs: Number(delayMs) } } });
const sum = await indexDirectory(config, dir);
if (sum.docs.failed > 0) throw new Error(`${sum.docs.failed} documents failed`);
process.stdout.write(
  JSON.stringify({ durationMs: sum.durationMs, chunks: sum.chunks.upserted, rssMb: Math.round(process.resourceUsage().maxRSS / 1024) }),
);
