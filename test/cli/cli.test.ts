import { execFile } from 'node:child_process';
import net from 'node:net';
import { copyFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { FIXTURES, ROOT, TINY_MODEL, tempDir } from '../helpers.js';

const exec = promisify(execFile);
const BIN = path.join(ROOT, 'bin', 'ragsync.js');

async function ragsync(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const model = ['--model-dir', TINY_MODEL];

describe('ragsync CLI (child process)', () => {
  it('secrets given to Milvus (flags or environment) appear in no output, log or --json, also on failure', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const milvus = ['--milvus-address', `127.0.0.1:${port}`, '--milvus-user', 'me', '--log-level', 'debug'];
    const runs = [
      await ragsync([
        'index',
        'examples/corpus',
        ...model,
        ...milvus,
        '--milvus-token',
        'TOKEN-S3CRET',
        '--milvus-password',
        'PW-S3CRET',
        '--json',
      ]),
      await ragsync(['status', ...milvus, '--json'], {
        env: { RAGSYNC_MILVUS_TOKEN: 'TOKEN-S3CRET', RAGSYNC_MILVUS_PASSWORD: 'PW-S3CRET' },
      }),
      await ragsync(['search', 'bread', ...milvus, '--json'], { env: { RAGSYNC_MILVUS_TOKEN: 'TOKEN-S3CRET' } }),
      await ragsync(['audit', 'examples/corpus', ...model, ...milvus, '--json'], { env: { RAGSYNC_MILVUS_PASSWORD: 'PW-S3CRET' } }),
    ];
    for (const r of runs) {
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`cannot reach Milvus at 127\\.0\\.0\\.1:${port}`));
      expect(r.stdout + r.stderr).not.toMatch(/S3CRET/);
    }
  });

  it('index --redis with Redis unreachable: one clear line without the password, exit 3, no raw stacks', async () => {
    const store = await tempDir();
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const res = await ragsync([
      'index',
      'examples/corpus',
      '--store',
      store,
      ...model,
      '--redis',
      `redis://user:S3CRET-pw@127.0.0.1:${port}`,
    ]);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(`ragsync: cannot reach Redis at redis://[redacted]@127.0.0.1:${port}: connect ECONNREFUSED`);
    expect(res.stdout + res.stderr).not.toContain('S3CRET');
    expect(res.stderr).not.toMatch(/^\s+at /m);
  });

  it('audit: exit 0 with no drift; exit 1 listing each drifted file; --repair --json fixes it and reports before and after', async () => {
    const store = await tempDir();
    const dir = await tempDir();
    await cp(path.join(ROOT, 'examples', 'corpus'), dir, { recursive: true });
    expect((await ragsync(['index', dir, '--store', store, ...model])).code).toBe(0);
    const clean = await ragsync(['audit', dir, '--store', store, ...model]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/^7 documents, \d+ rows: no drift; /m);

    await writeFile(path.join(dir, 'new.md'), '# New\n\nA new note.\n');
    await writeFile(path.join(dir, 'sourdough-bread.md'), '# Sourdough bread\n\nRewritten.\n');
    await rm(path.join(dir, 'meeting-notes.txt'));
    const drift = await ragsync(['audit', dir, '--store', store, ...model]);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain('missing: new.md: not indexed');
    expect(drift.stdout).toContain('stale: sourdough-bread.md: the file changed since it was indexed');
    expect(drift.stdout).toMatch(/^orphaned: meeting-notes\.txt: \d+ rows and a record, no file$/m);
    expect(drift.stdout).toMatch(/^\d+ documents, \d+ rows: drift in 3 documents \(1 orphaned, 1 missing, 1 stale\); /m);

    const repaired = await ragsync(['audit', dir, '--store', store, ...model, '--repair', '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const out = JSON.parse(repaired.stdout);
    expect(out.before.drift.map((d: { kind: string }) => d.kind).sort()).toEqual(['missing', 'orphaned', 'stale']);
    expect(out.repair.docs).toMatchObject({ changed: 2, deleted: 1, failed: 0 });
    expect(out.report.drift).toEqual([]);
    expect((await ragsync(['audit', dir, '--store', store, ...model])).code).toBe(0);

    // The same source options as index: what --include/--exclude left out is not drift.
    const narrow = await tempDir();
    const only = ['--include', '**/*.md', '--exclude', 'sourdough-bread.md'];
    expect((await ragsync(['index', dir, '--store', narrow, ...model, ...only])).code).toBe(0);
    const same = await ragsync(['audit', dir, '--store', narrow, ...model, ...only]);
    expect(same.code, same.stdout).toBe(0);
    const wider = await ragsync(['audit', dir, '--store', narrow, ...model]);
    expect(wider.code).toBe(1);
    expect(wider.stdout).toContain('missing: sourdough-bread.md: not indexed');

    // A file over --max-file-bytes: index reports it, audit says why it is not indexed.
    await writeFile(
      path.join(dir, 'big.md'),
      `# Big

${'word '.repeat(400)}
`,
    );
    const limit = ['--max-file-bytes', '1000'];
    expect((await ragsync(['index', dir, '--store', store, ...model, ...limit])).stderr).toContain(
      'error: big.md: 2008 bytes is over the limit of 1000 (maxFileBytes)',
    );
    const big = await ragsync(['audit', dir, '--store', store, ...model, ...limit]);
    expect(big.code).toBe(1);
    expect(big.stdout).toContain('missing: big.md: not indexed: 2008 bytes is over the limit of 1000 (maxFileBytes)');
  });

  it('index --json prints exactly the summary keys; a re-run is a no-op; exit 0', async () => {
    const store = await tempDir();
    const first = await ragsync(['index', 'examples/corpus', '--store', store, ...model, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const sum = JSON.parse(first.stdout);
    expect(Object.keys(sum)).toEqual(['docs', 'chunks', 'embeddings', 'failures', 'durationMs']);
    expect(Object.keys(sum.docs)).toEqual(['scanned', 'changed', 'unchanged', 'deleted', 'failed']);
    expect(Object.keys(sum.chunks)).toEqual(['upserted', 'deleted', 'unchanged']);
    expect(Object.keys(sum.embeddings)).toEqual(['computed', 'reused']);
    expect(sum.docs).toEqual({ scanned: 7, changed: 7, unchanged: 0, deleted: 0, failed: 0 });
    expect(typeof sum.durationMs).toBe('number');

    const again = JSON.parse((await ragsync(['index', 'examples/corpus', '--store', store, ...model, '--json'])).stdout);
    expect(again.embeddings.computed).toBe(0);
    expect(again.chunks).toMatchObject({ upserted: 0, deleted: 0 });

    const status = JSON.parse((await ragsync(['status', '--store', store, '--json'])).stdout);
    expect(status).toMatchObject({ store, sink: 'lancedb', docs: 7, chunks: sum.chunks.upserted });
    expect(status.fingerprint.model).toBe('ragsync/tiny-clip-test');
  });

  it("index --include '*.md' indexes nested Markdown and skips what .gitignore lists; --no-gitignore or RAGSYNC_GITIGNORE=false reads none", async () => {
    const dir = await tempDir();
    const store = await tempDir();
    const files: Record<string, string> = {
      '.gitignore': 'secret.md\nbuild/\n',
      'top.md': '# Top\n\nalpacas\n',
      'guides/deep/nested.md': '# Nested\n\nwalruses\n',
      'notes.txt': 'pelicans\n',
      'secret.md': '# Secret\n\nthe password\n',
      'build/generated.md': '# Generated\n\nflamingos\n',
    };
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
      await writeFile(path.join(dir, rel), text);
    }
    const index = async (more: string[] = [], env: Record<string, string> = {}) => {
      const res = await ragsync(['index', dir, '--store', store, ...model, '--include', '*.md', '--json', ...more], { env });
      expect(res.code, res.stderr).toBe(0);
      return JSON.parse(res.stdout).docs;
    };
    const indexed = async () => {
      const res = await ragsync([
        'search',
        'anything',
        '--store',
        store,
        ...model,
        '--mode',
        'dense',
        '-k',
        '50',
        '--per-doc',
        '0',
        '--json',
      ]);
      return [...new Set((JSON.parse(res.stdout) as Array<{ path: string }>).map((h) => h.path))].sort();
    };
    expect(await index()).toEqual({ scanned: 2, changed: 2, unchanged: 0, deleted: 0, failed: 0 });
    expect(await indexed()).toEqual(['guides/deep/nested.md', 'top.md']);
    expect(await index(['--no-gitignore'])).toMatchObject({ scanned: 4, changed: 2, deleted: 0 });
    expect(await indexed()).toEqual(['build/generated.md', 'guides/deep/nested.md', 'secret.md', 'top.md']);
    // No --no-gitignore on the command line leaves the variable's false alone.
    expect(await index([], { RAGSYNC_GITIGNORE: 'false' })).toMatchObject({ scanned: 4, changed: 0, deleted: 0 });
    expect(await index()).toMatchObject({ scanned: 2, changed: 0, deleted: 2 });
    expect(await indexed()).toEqual(['guides/deep/nested.md', 'top.md']);

    const help = await ragsync(['watch', '--help']);
    expect(help.stdout).toMatch(/--include <pattern>/);
    expect(help.stdout).toContain('--no-gitignore');
    const braces = await ragsync(['index', dir, '--include', '*.{md,txt}']);
    expect(braces.code).toBe(2);
    expect(braces.stderr).toContain('braces are not .gitignore syntax');
  });

  it("the README's search finds the expected file first, in every mode", async () => {
    const store = await tempDir();
    await ragsync(['index', 'examples/corpus', '--store', store, ...model]);
    const cases: Array<[string, string]> = [
      ['how do I shape and proof the loaf', 'sourdough-bread.md'],
      ['append only file fsync', 'redis-persistence.md'],
      ['inverter battery for the roof panels', 'guides/solar-panels.md'],
      ['espresso shot pressure and grind', 'espresso-guide.pdf'],
    ];
    for (const [query, file] of cases) {
      for (const mode of ['hybrid', 'keyword', 'dense']) {
        const res = await ragsync(['search', query, '--store', store, ...model, '--mode', mode, '-k', '3', '--json']);
        expect(res.code, res.stderr).toBe(0);
        const hits = JSON.parse(res.stdout);
        expect(hits[0].path, `${mode}: ${query}`).toBe(file);
        for (const key of ['id', 'docId', 'path', 'section', 'modality', 'score']) expect(hits[0]).toHaveProperty(key);
      }
    }
    // The README's command, verbatim but for the store.
    const human = await ragsync(['search', 'how do I shape and proof the loaf', '--store', store, ...model]);
    expect(human.stdout).toMatch(/^1\. Proofing and baking — sourdough-bread\.md:23-25\n   \S/);
    // Where each hit is: lines and heading of Markdown, the page of a PDF.
    const json = async (q: string) =>
      JSON.parse((await ragsync(['search', q, '--store', store, ...model, '--mode', 'keyword', '-k', '1', '--json'])).stdout)[0];
    expect(await json('shape the loaf basket')).toMatchObject({
      path: 'sourdough-bread.md',
      lines: [23, 25],
      heading: 'Proofing and baking',
    });
    const pdf = await json('purge the steam wand');
    expect(pdf).toMatchObject({ path: 'espresso-guide.pdf', page: 2 });
    expect(pdf).not.toHaveProperty('lines');
  });

  it('keeps the vectors of a deleted file: status shows them, restoring it embeds nothing; a vector cache of 0 MB keeps none', async () => {
    const dir = await tempDir();
    const store = await tempDir();
    await cp(path.join(ROOT, 'examples/corpus'), dir, { recursive: true });
    const index = async (env: Record<string, string> = {}) => {
      const res = await ragsync(['index', dir, '--store', store, ...model, '--json'], { env });
      expect(res.code, res.stderr).toBe(0);
      return JSON.parse(res.stdout);
    };
    const cache = async () => {
      const res = await ragsync(['status', '--store', store, '--json']);
      return JSON.parse(res.stdout).vectorCache.entries as number;
    };
    const first = await index();
    const bread = path.join(dir, 'sourdough-bread.md');
    const text = await readFile(bread);
    await rm(bread);
    expect((await index()).docs.deleted).toBe(1);
    const kept = await cache();
    expect(kept).toBeGreaterThan(0);
    expect((await ragsync(['status', '--store', store])).stdout).toMatch(
      new RegExp(`vector cache: ${kept} vectors of deleted or edited chunks`),
    );
    await writeFile(bread, text);
    const back = await index();
    expect([back.docs.changed, back.embeddings.computed, back.embeddings.reused]).toEqual([1, 0, kept]);
    expect(back.chunks.upserted).toBe(kept);

    await rm(bread);
    await index({ RAGSYNC_VECTOR_CACHE_MB: '0' });
    expect(await cache()).toBe(0);
    await writeFile(bread, text);
    expect((await index()).embeddings.computed).toBe(kept);
    expect(first.embeddings.computed).toBeGreaterThan(kept);
  });

  it('searches by image', async () => {
    const store = await tempDir();
    await ragsync(['index', 'examples/corpus', '--store', store, ...model]);
    const res = await ragsync([
      'search',
      '--image',
      path.join(ROOT, 'examples/corpus/images/red-square.png'),
      '--store',
      store,
      ...model,
      '--json',
    ]);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)[0]).toMatchObject({ path: 'images/red-square.png', modality: 'image' });
  });

  it('exits 1 when some files fail, naming each, and indexes the rest', async () => {
    const dir = await tempDir();
    const store = await tempDir();
    await cp(path.join(ROOT, 'examples/corpus'), dir, { recursive: true });
    await copyFile(path.join(FIXTURES, 'files', 'encrypted.pdf'), path.join(dir, 'locked.pdf'));
    await writeFile(path.join(dir, 'binary.md'), Buffer.from([0, 1, 2, 3, 0xff]));
    const res = await ragsync(['index', dir, '--store', store, ...model]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('error: binary.md: binary content in a markdown file');
    expect(res.stderr).toContain('error: locked.pdf: the PDF is encrypted');
    expect(res.stdout).toMatch(/9 documents scanned: 7 changed, 0 unchanged, 0 deleted, 2 failed/);
    const json = JSON.parse((await ragsync(['index', dir, '--store', store, ...model, '--json'])).stdout);
    expect(json.failures.map((f: { path: string }) => f.path)).toEqual(['binary.md', 'locked.pdf']);
  });

  it('exits 2 on usage and configuration errors, with one line naming the field', async () => {
    const cwd = await tempDir();
    const bad = await ragsync(['index', 'x', '--concurrency', 'many'], { cwd });
    expect(bad.code).toBe(2);
    await writeFile(path.join(cwd, 'ragsync.config.json'), JSON.stringify({ chunkTokens: 512, colour: 'blue' }));
    const unknown = await ragsync(['status'], { cwd });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toBe('ragsync: config file ragsync.config.json: unknown key colour');
    await rm(path.join(cwd, 'ragsync.config.json'));
    const env = await ragsync(['status'], { cwd, env: { RAGSYNC_CHUNK_TOKENS: 'lots' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('RAGSYNC_CHUNK_TOKENS: expected a whole number');
    const missing = await ragsync(['index', path.join(cwd, 'nope'), ...model], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such directory');
  });

  it('exits 3 with one clear line when the model cannot be had', async () => {
    const cwd = await tempDir();
    await mkdir(path.join(cwd, 'docs'));
    await writeFile(path.join(cwd, 'docs', 'a.md'), '# A\n\ntext');
    const res = await ragsync(['index', 'docs', '--offline'], { cwd, env: { RAGSYNC_MODEL_CACHE: path.join(cwd, 'cache') } });
    expect(res.code).toBe(3);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ragsync: cannot load the embedding model jinaai\/jina-clip-v1: .*--model-dir/);
  });

  it('refuses to write with another model, naming both fingerprints (exit 2)', async () => {
    const store = await tempDir();
    await ragsync(['index', 'examples/corpus', '--store', store, ...model]);
    const other = await ragsync(['index', 'examples/corpus', '--store', store, '--model-dir', path.join(FIXTURES, 'tiny-clip-b')]);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('ragsync/tiny-clip-test@');
    expect(other.stderr).toContain('ragsync/tiny-clip-test-b@');
  });
});

describe('ragsync CLI on Milvus Lite', () => {
  const milvus = () => [
    '--milvus-address',
    inject('milvusAddress'),
    '--milvus-collection',
    `cli_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`,
  ];

  it('hybrid search finds a keyword-only match that dense search with the tiny model ranks lower', async () => {
    const dir = await tempDir();
    await cp(path.join(ROOT, 'examples/corpus'), dir, { recursive: true });
    await writeFile(
      path.join(dir, 'incident.md'),
      '# Incident log\n\nThe nightly job stopped with code KX4471Q after the disk filled up.\n',
    );
    const sink = milvus();
    const indexed = await ragsync(['index', dir, ...sink, ...model, '--json']);
    expect(indexed.code, indexed.stderr).toBe(0);
    const top = async (mode: string) => {
      const res = await ragsync(['search', 'KX4471Q', '--mode', mode, '-k', '3', '--json', ...sink, ...model]);
      expect(res.code, res.stderr).toBe(0);
      return JSON.parse(res.stdout)[0]?.path;
    };
    expect(await top('dense')).not.toBe('incident.md');
    expect(await top('keyword')).toBe('incident.md');
    expect(await top('hybrid')).toBe('incident.md');
    const status = JSON.parse((await ragsync(['status', ...sink, '--json'])).stdout);
    expect(status).toMatchObject({ sink: 'milvus', docs: 8 });
  });

  it('re-indexing an unchanged corpus writes nothing; an unknown server is one clear line, exit 3', async () => {
    const sink = milvus();
    await ragsync(['index', 'examples/corpus', ...sink, ...model]);
    const again = JSON.parse((await ragsync(['index', 'examples/corpus', ...sink, ...model, '--json'])).stdout);
    expect(again.chunks).toMatchObject({ upserted: 0, deleted: 0 });
    expect(again.embeddings.computed).toBe(0);
    const down = await ragsync(['index', 'examples/corpus', '--milvus-address', '127.0.0.1:9', ...model]);
    expect(down.code).toBe(3);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/^ragsync: cannot reach Milvus at 127\.0\.0\.1:9/);
  });
});

describe.each([['LanceDB'], ['Milvus Lite']])('search --filter on %s', (name) => {
  it('keeps only hits whose fields equal the values, and refuses other keys', async () => {
    const sink =
      name === 'LanceDB'
        ? ['--store', await tempDir()]
        : ['--milvus-address', inject('milvusAddress'), '--milvus-collection', `flt_${Date.now().toString(36)}`];
    await ragsync(['index', 'examples/corpus', ...sink, ...model]);
    const search = async (...args: string[]) =>
      JSON.parse((await ragsync(['search', 'bread and coffee', '-k', '10', '--json', ...sink, ...model, ...args])).stdout);
    const images = await search('--filter', 'modality=image');
    expect(images.map((h: { path: string }) => h.path)).toEqual(['images/red-square.png']);
    const one = await search('--filter', 'path=sourdough-bread.md', '--mode', 'keyword');
    expect(one.length).toBeGreaterThan(0);
    expect(new Set(one.map((h: { path: string }) => h.path))).toEqual(new Set(['sourdough-bread.md']));
    const hostile = await search('--filter', 'path=x" or id != "', '--mode', 'hybrid');
    expect(hostile).toEqual([]);
    const none = await search('--filter', 'source=elsewhere', '--mode', 'dense');
    expect(none).toEqual([]);
    const bad = await ragsync(['search', 'x', '--filter', 'text=1', ...sink]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--filter "text=1": expected KEY=VALUE with KEY one of source, modality, doc, path');
  });
});
