import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addOptions, flagsLayer } from '../../src/cli/options.js';
import { embedderChosen, embedderKeysSet, resolveConfig } from '../../src/config/index.js';
import { RagsyncError } from '../../src/core/errors.js';

function configError(fn: () => unknown): RagsyncError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RagsyncError);
    expect((err as RagsyncError).code).toBe('CONFIG');
    return err as RagsyncError;
  }
  throw new Error('expected a config error');
}

describe('config', () => {
  it('has defaults a new user can run with', () => {
    const c = resolveConfig({});
    expect(c.sink).toEqual({ kind: 'lancedb', path: '.ragsync' });
    expect(c.embedder).toMatchObject({ kind: 'jina-clip', model: 'jinaai/jina-clip-v1', dtype: 'fp32', offline: false });
    expect(c.chunkTokens).toBe(512);
    expect(c.concurrency).toBe(128);
  });

  it("tells which embedder settings a layer set (none: commands use the store's recorded embedder)", () => {
    expect(embedderKeysSet(resolveConfig({}))).toEqual([]);
    expect(embedderChosen(resolveConfig({ env: { PATH: '/bin', RAGSYNC_STORE: 's' }, flags: { chunkTokens: 100 } }))).toBe(false);
    const c = resolveConfig({
      file: { name: 'f.json', data: { embedder: { batchSize: 8 } } },
      env: { RAGSYNC_MODEL_DIR: '/models/clip' },
      flags: { embedder: { kind: 'jina-clip', modelDir: undefined } },
    });
    expect(embedderKeysSet(c)).toEqual(['embedder.batchSize', 'embedder.modelDir', 'embedder.kind']);
    expect(embedderChosen(c)).toBe(true);
    expect(embedderKeysSet({ ...c })).toEqual(embedderKeysSet(c));
    expect(JSON.stringify(c)).not.toMatch(/embedderKeys/);
  });

  it('applies file, then environment, then flags', () => {
    const c = resolveConfig({
      file: { name: 'f.json', data: { chunkTokens: 100, concurrency: 2, embedder: { dtype: 'q8', batchSize: 8 } } },
      env: { RAGSYNC_CHUNK_TOKENS: '200', RAGSYNC_MODEL_DIR: '/models/clip', RAGSYNC_OFFLINE: 'true', PATH: '/bin' },
      flags: { chunkTokens: 300, sink: { path: 'store' } },
    });
    expect(c.chunkTokens).toBe(300);
    expect(c.concurrency).toBe(2);
    expect(c.embedder).toMatchObject({ dtype: 'q8', batchSize: 8, modelDir: '/models/clip', offline: true });
    expect(c.sink.path).toBe('store');
  });

  it('guards against mass deletion by default; the guard is set key by key and --allow-delete lifts it', () => {
    expect(resolveConfig({})).toMatchObject({ allowDelete: false, deleteGuard: { share: 0.5, min: 10 } });
    const c = resolveConfig({
      file: { name: 'f.yaml', data: { deleteGuard: { share: 0.8 } } },
      env: { RAGSYNC_ALLOW_DELETE: 'true' },
      flags: { deleteGuard: { min: 100 } },
    });
    expect(c).toMatchObject({ allowDelete: true, deleteGuard: { share: 0.8, min: 100 } });
    expect(configError(() => resolveConfig({ file: { name: 'f.json', data: { deleteGuard: { share: 1.5 } } } })).message).toMatch(
      /^config file f\.json: deleteGuard\.share: /,
    );
  });

  it('merges every group of settings key by key across file, environment and flags (vectorCache, serve too)', () => {
    const c = resolveConfig({
      file: { name: 'f.yaml', data: { vectorCache: { days: 7 }, serve: { host: '127.0.0.2' } } },
      env: { RAGSYNC_VECTOR_CACHE_MB: '64', RAGSYNC_MAX_UPLOAD_BYTES: '20000' },
      flags: { serve: { port: 0 } },
    });
    expect(c.vectorCache).toEqual({ days: 7, mb: 64 });
    expect(c.serve).toEqual({ host: '127.0.0.2', port: 0, maxUploadBytes: 20000, freshTimeoutMs: 10_000 });
    expect(configError(() => resolveConfig({ env: { RAGSYNC_TOKEN: 'short' } })).message).toMatch(/RAGSYNC_TOKEN: at least 16 characters/);
  });

  it('hashes only what stat shows may have changed by default; rehash is a config key, RAGSYNC_REHASH and --rehash', () => {
    expect(resolveConfig({}).rehash).toBe(false);
    expect(resolveConfig({ file: { name: 'f.yaml', data: { rehash: true } } }).rehash).toBe(true);
    expect(resolveConfig({ env: { RAGSYNC_REHASH: 'true' } }).rehash).toBe(true);
  });

  it('watches by polling as --poll [ms] (alone: 1000 ms; 0: never), watch.pollMs or RAGSYNC_POLL_MS; unset is auto', () => {
    const flags = (...args: string[]) => {
      const cmd = addOptions(
        new Command('watch')
          .argument('<dir>')
          .exitOverride()
          .configureOutput({ writeErr: () => {} }),
        'watch',
      );
      return flagsLayer('watch', cmd.parse(args, { from: 'user' }).opts()).watch?.pollMs;
    };
    expect(flags('docs')).toBeUndefined();
    expect(flags('docs', '--poll')).toBe(1000);
    expect(flags('--poll', '250', 'docs')).toBe(250);
    expect(flags('docs', '--poll', '0')).toBe(0);
    expect(() => flags('--poll', 'docs')).toThrow(/--poll must be a whole number \(it takes the word after it/);
    expect(resolveConfig({}).watch.pollMs).toBeUndefined();
    expect(resolveConfig({ file: { name: 'f.yaml', data: { watch: { pollMs: 2000 } } } }).watch.pollMs).toBe(2000);
    expect(resolveConfig({ env: { RAGSYNC_POLL_MS: '0' } }).watch.pollMs).toBe(0);
    expect(configError(() => resolveConfig({ env: { RAGSYNC_POLL_MS: '-1' } })).message).toMatch(/RAGSYNC_POLL_MS/);
  });

  it('offers the fixed-cost benchmark embedder, refusing model options on it', () => {
    expect(resolveConfig({ flags: { embedder: { kind: 'fixed', delayMs: 5 } } }).embedder).toEqual({
      kind: 'fixed',
      dim: 64,
      delayMs: 5,
      batchSize: 16,
    });
    expect(configError(() => resolveConfig({ flags: { embedder: { kind: 'fixed', modelDir: '/m' } } })).message).toMatch(
      /unknown key embedder\.modelDir/,
    );
  });

  it('configures the hosted API embedders from file and environment, refusing local model options and bad dimensions', () => {
    const jina = resolveConfig({ env: { RAGSYNC_EMBEDDER: 'jina-api', RAGSYNC_EMBEDDER_DIMENSIONS: '512' } });
    expect(jina.embedder).toEqual({
      kind: 'jina-api',
      model: 'jina-clip-v2',
      url: 'https://api.jina.ai/v1/embeddings',
      dimensions: 512,
      apiKeyEnv: 'JINA_API_KEY',
      batchSize: 64,
      maxTokens: 8192,
      timeoutMs: 60_000,
      maxRetries: 6,
    });
    const ollama = resolveConfig({
      file: {
        name: 'c.yaml',
        data: { embedder: { kind: 'openai', model: 'nomic-embed-text', url: 'http://127.0.0.1:11434/v1/embeddings' } },
      },
    });
    expect(ollama.embedder).toMatchObject({ kind: 'openai', model: 'nomic-embed-text', apiKeyEnv: 'OPENAI_API_KEY' });
    expect(configError(() => resolveConfig({ flags: { embedder: { kind: 'jina-api', dtype: 'q8' } } })).message).toMatch(/embedder/);
    expect(configError(() => resolveConfig({ flags: { embedder: { kind: 'jina-api', dimensions: 2048 } } })).message).toMatch(/dimensions/);
    expect(configError(() => resolveConfig({ flags: { embedder: { kind: 'openai', url: 'ftp://x/embeddings' } } })).message).toMatch(
      /embedder\.url/,
    );
  });

  it('carries over only the settings the new kind has when a later layer names another embedder kind', () => {
    const c = resolveConfig({
      file: { name: 'c.yaml', data: { embedder: { kind: 'jina-clip', model: 'jinaai/jina-clip-v1', dtype: 'q8', batchSize: 8 } } },
      flags: { embedder: { kind: 'jina-api', dimensions: 256 } },
    });
    expect(c.embedder).toMatchObject({ kind: 'jina-api', model: 'jina-clip-v2', dimensions: 256, batchSize: 8 });
    expect(c.embedder).not.toHaveProperty('dtype');
    const same = resolveConfig({
      file: { name: 'c.yaml', data: { embedder: { kind: 'jina-api', dimensions: 512 } } },
      flags: { embedder: { kind: 'jina-api' } },
    });
    expect(same.embedder).toMatchObject({ dimensions: 512 });
    // Settings the new kind has carry over: a key in the environment stays for --embedder jina-api.
    const key = resolveConfig({
      env: { RAGSYNC_EMBEDDER_API_KEY: 'k-123', RAGSYNC_BATCH_SIZE: '32' },
      flags: { embedder: { kind: 'jina-api' } },
    });
    expect(key.embedder).toMatchObject({ kind: 'jina-api', apiKey: 'k-123', batchSize: 32, model: 'jina-clip-v2' });
    expect(
      configError(() => resolveConfig({ flags: { embedder: { kind: 'openai', url: 'https://user:secret@example.com/v1/embeddings' } } }))
        .message,
    ).toMatch(/credentials do not belong in the URL/);
  });

  it('refuses unknown keys, naming them and the file', () => {
    expect(configError(() => resolveConfig({ file: { name: 'r.yaml', data: { chunkTokns: 5 } } })).message).toBe(
      'config file r.yaml: unknown key chunkTokns',
    );
    expect(configError(() => resolveConfig({ file: { name: 'r.yaml', data: { embedder: { modle: 'x' } } } })).message).toBe(
      'config file r.yaml: unknown key embedder.modle',
    );
  });

  it('refuses bad values, naming the field', () => {
    expect(configError(() => resolveConfig({ file: { name: 'r.json', data: { embedder: { dtype: 'fp64' } } } })).message).toMatch(
      /^config file r\.json: embedder\.dtype: /,
    );
    expect(configError(() => resolveConfig({ flags: { concurrency: 0 } })).message).toMatch(/^command line: concurrency: /);
    expect(configError(() => resolveConfig({ flags: { source: 'has space' } })).message).toMatch(/^command line: source: letters, digits/);
    expect(configError(() => resolveConfig({ file: { name: 'r.json', data: { sink: { kind: 'pinecone' } } } })).message).toMatch(
      /sink\.kind/,
    );
  });

  it('selects Milvus when a Milvus setting is given, and refuses Milvus settings on LanceDB', () => {
    const c = resolveConfig({ env: { RAGSYNC_MILVUS_ADDRESS: 'milvus.internal:19530', RAGSYNC_MILVUS_TOKEN: 's3cret' } });
    expect(c.sink).toMatchObject({
      kind: 'milvus',
      address: 'milvus.internal:19530',
      token: 's3cret',
      collection: 'ragsync',
      partitionKey: false,
    });
    expect(configError(() => resolveConfig({ flags: { sink: { kind: 'lancedb', address: 'x:1' } } })).message).toMatch(
      /unknown key sink\.address/,
    );
    expect(configError(() => resolveConfig({ flags: { sink: { collection: 'bad-name' } } })).message).toMatch(
      /^command line: sink\.collection: /,
    );
  });

  it('reads .gitignore files unless gitignore is false (file or RAGSYNC_GITIGNORE), and refuses brace patterns', () => {
    expect(resolveConfig({}).gitignore).toBe(true);
    expect(resolveConfig({ env: { RAGSYNC_GITIGNORE: 'false' } }).gitignore).toBe(false);
    expect(resolveConfig({ file: { name: 'f.yaml', data: { gitignore: false } }, env: { RAGSYNC_GITIGNORE: 'yes' } }).gitignore).toBe(true);
    expect(configError(() => resolveConfig({ flags: { include: ['**/*.{md,txt}'] } })).message).toMatch(
      /^command line: include\.0: braces are not \.gitignore syntax/,
    );
    expect(configError(() => resolveConfig({ env: { RAGSYNC_EXCLUDE: 'a/*.{png,jpg}' } })).message).toMatch(/^RAGSYNC_EXCLUDE: braces/);
    expect(resolveConfig({ flags: { include: ['\\{literal\\}.md'] } }).include).toEqual(['\\{literal\\}.md']);
  });

  it('refuses unknown or malformed RAGSYNC_* variables, naming the variable', () => {
    expect(configError(() => resolveConfig({ env: { RAGSYNC_STOER: 'x' } })).message).toMatch(
      /^unknown environment variable RAGSYNC_STOER/,
    );
    expect(configError(() => resolveConfig({ env: { RAGSYNC_OFFLINE: 'maybe' } })).message).toBe(
      'RAGSYNC_OFFLINE: expected true or false, got "maybe"',
    );
    expect(configError(() => resolveConfig({ env: { RAGSYNC_DTYPE: 'fp64' } })).message).toMatch(/^RAGSYNC_DTYPE: /);
    expect(resolveConfig({ env: { RAGSYNC_CONFIG: 'x.json', RAGSYNC_EXCLUDE: 'a/**, b/**' } }).exclude).toEqual(['a/**', 'b/**']);
  });
});
