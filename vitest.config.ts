import { defineConfig } from 'vitest/config';

/**
 * Tests that need the global setup: the built CLI (run as a child process), a Redis server or a
 * Milvus Lite server (both started once for the run by `test/global-setup.ts`).
 */
const INTEGRATION = [
  'test/app/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/core/bad-input.test.ts',
  'test/mcp/mcp.test.ts',
  'test/queue/queues.test.ts',
  'test/core/delete-guard.test.ts',
  'test/core/dry-run.test.ts',
  'test/core/sync-source.test.ts',
  'test/core/vector-cache.test.ts',
  'test/sink/lock.test.ts',
  'test/sink/milvus.test.ts',
  'test/sink/milvus-outage.test.ts',
  'test/serve/**/*.test.ts',
];

export default defineConfig({
  test: {
    // LanceDB and onnxruntime are native addons: separate processes keep them apart.
    pool: 'forks',
    maxWorkers: 2,
    env: { LANCEDB_LOG: 'error' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      // Real files, a real LanceDB directory, the tiny model, an in-process stand-in for hosted
      // embedding APIs: no server, no build, no network, no apt or pip.
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: INTEGRATION } },
      { extends: true, test: { name: 'integration', include: INTEGRATION, globalSetup: ['test/global-setup.ts'] } },
    ],
  },
});
