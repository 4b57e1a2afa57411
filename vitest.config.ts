import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // LanceDB and onnxruntime are native addons: separate processes keep them apart.
    pool: 'forks',
    maxWorkers: 2,
    env: { LANCEDB_LOG: 'error' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
