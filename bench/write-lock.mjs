// The cost of the LanceDB store's write lock (src/sink/lancedb/lock.ts) per write, uncontended.
//   npm run build && node bench/write-lock.mjs [--writes 2000]
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { WriteLock } = await import(path.join(root, 'dist/sink/lancedb/lock.js'));
const i = process.argv.indexOf('--writes');
const writes = i > 0 ? Number(process.argv[i + 1]) : 2000;
const dir = await mkdtemp(path.join(os.tmpdir(), 'ragsync-lock-'));
const lock = new WriteLock(path.join(dir, 'write.lock'));
const started = performance.now();
for (let n = 0; n < writes; n++) await lock.run(async () => undefined);
const us = ((performance.now() - started) / writes) * 1000;
console.log(`uncontended: ${us.toFixed(0)} µs per write (${writes} writes, ${dir})`);
await rm(dir, { recursive: true, force: true });
