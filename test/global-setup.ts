import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
// @ts-expect-error: a plain ESM script without type declarations
import { startMilvusLite } from '../scripts/milvus-lite.mjs';
// @ts-expect-error: a plain ESM script without type declarations
import { startRedis } from '../scripts/redis-server.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    milvusAddress: string;
    redisUrl: string;
  }
}

/**
 * Builds the CLI (tests run `bin/ragsync.js` as a child process) and starts one Milvus Lite
 * server and one redis-server on free loopback ports for the whole run; both stop at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  const milvus = await startMilvusLite();
  const redis = await startRedis();
  project.provide('milvusAddress', milvus.address);
  project.provide('redisUrl', redis.url);
  return async () => {
    await milvus.stop();
    await redis.stop();
  };
}
