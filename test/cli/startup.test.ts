/**
 * What a command loads at start-up (issue 18): `--version` and help load no package but
 * commander; `status` and a keyword search on a LanceDB store load no model runtime, parser,
 * queue or Milvus client. The CLI runs as a child process with a preload that records every
 * module it resolves (ESM loader hook) or requires (CommonJS cache at exit). Timings are in
 * bench/startup.mjs, not here.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { children } from '../children.js';
import { tempDir } from '../helpers.js';

const { cli } = children();

/** Runs in the loader thread: appends each resolved URL to the file the preload names. */
const HOOKS = `import { appendFileSync } from 'node:fs';
let out;
export async function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(out, result.url + '\\n');
  return result;
}
`;

/** The preload: registers the hooks, and at exit adds the CommonJS modules (required from CommonJS, which the hooks do not see). */
const PRELOAD = `import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
const out = process.env.STARTUP_TEST_LOADED;
register(new URL('./hooks.mjs', import.meta.url), { data: { out } });
const require = createRequire(import.meta.url);
process.on('exit', () => appendFileSync(out, Object.keys(require.cache).map((f) => pathToFileURL(f).href + '\\n').join('')));
`;

/** The npm packages a module URL belongs to: the name after its last `node_modules/`. */
function packageOf(url: string): string | undefined {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(url);
  return m?.[1];
}

/** Runs `ragsync args` and returns its exit code and the set of packages it loaded. */
async function packagesLoaded(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string; packages: Set<string> }> {
  const dir = await tempDir('ragsync-startup-');
  await writeFile(path.join(dir, 'hooks.mjs'), HOOKS);
  await writeFile(path.join(dir, 'preload.mjs'), PRELOAD);
  const out = path.join(dir, 'loaded.txt');
  await writeFile(out, '');
  const res = await cli(args, { ...env, NODE_OPTIONS: `--import=${path.join(dir, 'preload.mjs')}`, STARTUP_TEST_LOADED: out });
  const urls = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(urls.map(packageOf).filter((p): p is string => p !== undefined));
  return { code: res.code, stderr: res.stderr, packages };
}

/** What `status` and a keyword search must not load: model runtimes, image and PDF decoders, the queue, the Milvus client. */
const HEAVY = [
  'onnxruntime-node',
  'onnxruntime-common',
  '@huggingface/transformers',
  'sharp',
  'pdf-parse',
  'pdfjs-dist',
  'bullmq',
  'ioredis',
  '@zilliz/milvus2-sdk-node',
  '@grpc/grpc-js',
  'prom-client',
  'chokidar',
];

describe('start-up loads what the command uses', () => {
  it('--version, --help and a command help load no package but commander', async () => {
    for (const args of [['--version'], ['-V'], ['--help'], ['status', '--help'], ['index', '--help'], ['help', 'search']]) {
      const { code, stderr, packages } = await packagesLoaded(args);
      expect(code, stderr).toBe(0);
      expect(
        [...packages].filter((p) => p !== 'commander'),
        args.join(' '),
      ).toEqual([]);
    }
  });

  it('status and a keyword search on a LanceDB store load LanceDB, and no model runtime, parser, queue or Milvus client', async () => {
    const work = await tempDir();
    const docs = path.join(work, 'docs');
    await mkdir(docs);
    await writeFile(path.join(docs, 'a.md'), '# Heron\n\nThe heron waits by the river.\n');
    const env = { RAGSYNC_STORE: path.join(work, 'store') };
    const indexed = await cli(['index', docs, '--embedder', 'fixed:0', '--json'], env);
    expect(indexed.code, indexed.stderr).toBe(0);
    for (const args of [['status'], ['status', '--json'], ['search', '--mode', 'keyword', 'heron']]) {
      const { code, stderr, packages } = await packagesLoaded(args, env);
      expect(code, stderr).toBe(0);
      // The recorder sees the store's own packages: an empty set would prove nothing.
      expect(packages, args.join(' ')).toContain('@lancedb/lancedb');
      expect(
        HEAVY.filter((p) => packages.has(p)),
        args.join(' '),
      ).toEqual([]);
    }
  });
});
