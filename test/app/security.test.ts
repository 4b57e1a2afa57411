/**
 * Hostile file names through every path that builds a filter or deletes, on both sinks, with the
 * real CLI: index, search filters, an edit (stale chunks deleted by ID), a deletion, audit, repair,
 * re-embed into a new collection, rollback. Each name is data that would change a filter's meaning
 * if it were pasted into one unescaped; none may touch another document's rows.
 */
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { search } from '../../src/app/index.js';
import { resolveConfig } from '../../src/config/index.js';
import type { SearchMode } from '../../src/core/types.js';
import { docId } from '../../src/ids/index.js';
import { API_KEY, startEmbeddingApi } from '../embedding-api-server.js';
import { TINY_MODEL, TINY_MODEL_B, tempDir } from '../helpers.js';
import { type SinkKind, children, until } from '../children.js';

const { cli, daemon, hits, status, setup } = children();

const HOSTILE = [
  `q" or id != ".md`,
  `a' OR 1=1 --.md`,
  `back\\slash\\".md`,
  `new\nline.md`,
  `cr\rreturn.md`,
  `%_wild*[x].md`,
  `tpl {doc} {ids_0}.md`,
  `semi; drop table chunks.md`,
  `\`tick\` $(echo).md`,
  'caf\u00e9.md',
  'cafe\u0301.md',
  `a" || doc_id like "%.md`,
];
const word = (i: number) => `xylophage${String.fromCharCode(97 + i)}`;

describe.each<SinkKind>(['LanceDB', 'Milvus Lite'])('hostile names on %s', (kind) => {
  it('index, filter, edit, delete, audit, repair and re-embed touch only the named document', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    for (const [i, name] of HOSTILE.entries())
      await writeFile(path.join(dir, name), `# Doc ${i}\n\nthe word ${word(i)} is in it\n\n## Second\n\nsecond part of ${i}\n`);
    await writeFile(path.join(dir, 'innocent.md'), '# Innocent\n\nthe word bystander is here\n');
    const e = setup(kind, path.join(work, 'store'));
    const A = ['--model-dir', TINY_MODEL];
    const B = ['--model-dir', TINY_MODEL_B];
    // Searches run in-process through the function the CLI's `search` calls (a child process per
    // query would make this test minutes long on Milvus); everything else runs the real CLI.
    const paths = async (q: string, filter: Record<string, string> = {}, model = TINY_MODEL, mode: SearchMode = 'keyword') => {
      const sink =
        kind === 'LanceDB'
          ? { kind: 'lancedb', path: path.join(work, 'store') }
          : { kind: 'milvus', address: inject('milvusAddress'), collection: e.sink[3] };
      const config = resolveConfig({ flags: { sink, embedder: { kind: 'jina-clip', modelDir: model } } });
      return (await search(config, { mode, k: 50, text: q, filter })).map((h) => h.path);
    };

    const first = await cli(['index', dir, ...e.sink, ...A, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).docs).toMatchObject({ scanned: HOSTILE.length + 1, changed: HOSTILE.length + 1, failed: 0 });
    const total = (await status(e)).chunks;
    expect(total).toBe(HOSTILE.length * 2 + 1);

    // Search filters: a hostile value matches exactly its own document, in every mode.
    const modes = ['keyword', 'dense', 'hybrid'] as const;
    await Promise.all(
      HOSTILE.map(async (name, i) => {
        expect(await paths(word(i))).toEqual([name]);
        const got = await paths('second part', { path: name }, TINY_MODEL, modes[i % 3]);
        expect(got.length).toBeGreaterThan(0);
        expect(new Set(got)).toEqual(new Set([name]));
        // (An NFD name's doc ID carries a suffix that keeps it apart from its NFC twin.)
        expect(new Set(await paths('second part', { docId: docId('docs', name) }, TINY_MODEL, modes[(i + 1) % 3]))).toEqual(
          new Set([name]),
        );
      }),
    );
    // A filter value that is a filter's syntax matches nothing.
    for (const v of [`x" or id != "`, `x' or '1'='1`, `*`, `%`])
      expect(await paths('second part', { path: v }, TINY_MODEL, 'hybrid')).toEqual([]);

    // An edit of one section: its stale chunk is deleted by ID, the others stay.
    await appendFile(path.join(dir, HOSTILE[0]!), '\n## Third\n\nthe word quillwort was added\n');
    await writeFile(path.join(dir, HOSTILE[1]!), `# Doc 1\n\nthe word ${word(1)} is in it\n\n## Second\n\nrewritten second part\n`);
    const edit = await cli(['index', dir, ...e.sink, ...A, '--json']);
    expect(JSON.parse(edit.stdout).docs).toMatchObject({ changed: 2, unchanged: HOSTILE.length - 1, failed: 0 });
    expect(await paths('quillwort')).toEqual([HOSTILE[0]]);
    expect(await paths('rewritten')).toEqual([HOSTILE[1]]);
    expect((await status(e)).chunks).toBe(total + 1);

    // Deleting a file deletes its rows only: NFD goes, its NFC twin stays; the filter-lookalikes go.
    for (const name of ['cafe\u0301.md', HOSTILE[0]!, HOSTILE[11]!, HOSTILE[6]!]) await rm(path.join(dir, name));
    const del = await cli(['index', dir, ...e.sink, ...A, '--json']);
    expect(JSON.parse(del.stdout).docs).toMatchObject({ deleted: 4, failed: 0 });
    expect((await status(e)).chunks).toBe(total + 1 - 3 - 2 - 2 - 2);
    expect(await paths(word(9))).toEqual(['caf\u00e9.md']);
    expect(await paths(word(10))).toEqual([]);
    expect(await paths('bystander')).toEqual(['innocent.md']);

    // Audit reads every document's rows and records by filter: no drift.
    const audit = await cli(['audit', dir, ...e.sink, ...A, '--json']);
    expect(audit.code, audit.stdout).toBe(0);
    const left = HOSTILE.length + 1 - 4;
    expect(JSON.parse(audit.stdout).report).toMatchObject({ documents: left, drift: [] });

    // Drift on a hostile name is found and repaired through the same paths.
    await writeFile(path.join(dir, HOSTILE[2]!), '# Changed\n\nthe word marshmallow\n');
    const repair = await cli(['audit', dir, ...e.sink, ...A, '--repair', '--json']);
    expect(repair.code, repair.stdout).toBe(0);
    const r = JSON.parse(repair.stdout);
    expect(r.before.drift.map((d: { kind: string; path: string }) => `${d.kind} ${d.path}`)).toEqual([`stale ${HOSTILE[2]}`]);
    expect(r.report.drift).toEqual([]);
    expect(await paths('marshmallow')).toEqual([HOSTILE[2]]);

    // Re-embed copies nothing by pasting names: the new collection holds the same documents and
    // rows, filters still isolate each name, and a rollback brings back the old one intact.
    const before = await status(e);
    const re = await cli(['reembed', dir, ...e.sink, ...B, '--no-progress']);
    expect(re.code, re.stderr).toBe(0);
    const after = await status(e);
    expect(after).toMatchObject({ docs: before.docs, chunks: before.chunks });
    expect(await paths(word(3), { path: HOSTILE[3]! }, TINY_MODEL_B)).toEqual([HOSTILE[3]]);
    expect((await cli(['audit', dir, ...e.sink, ...B])).code).toBe(0);
    expect((await cli(['reembed', dir, ...e.sink, '--rollback', '--no-progress'])).code).toBe(0);
    expect(await status(e)).toMatchObject({ docs: before.docs, chunks: before.chunks });
    expect((await cli(['audit', dir, ...e.sink, ...A])).code).toBe(0);
    expect(await hits(e, 'bystander')).toHaveLength(1);
  }, 240_000);
});

describe('API keys', () => {
  it('appear in no output, debug log, error or --json of index, search, status, audit, jobs or the daemon', async () => {
    const api = await startEmbeddingApi();
    try {
      const work = await tempDir();
      const dir = path.join(work, 'docs');
      await mkdir(dir);
      await writeFile(path.join(dir, 'a.md'), '# A\n\nthe word keystone is here\n');
      const e = setup('LanceDB', path.join(work, 'store'));
      const apiArgs = ['--embedder', 'jina-api', '--embedder-url', api.url, '--dimensions', '128', '--log-level', 'debug'];
      const key = { JINA_API_KEY: API_KEY };
      const outputs: string[] = [];
      const keep = (r: { code: number; stdout: string; stderr: string }) => (outputs.push(r.stdout + r.stderr), r);

      expect(keep(await cli(['index', dir, ...e.sink, ...apiArgs, '--json'], key)).code).toBe(0);
      expect(keep(await cli(['search', 'keystone', '--mode', 'hybrid', '--json', ...e.sink, ...apiArgs], key)).code).toBe(0);
      expect(keep(await cli(['status', '--json', ...e.sink, ...apiArgs], key)).code).toBe(0);
      expect(keep(await cli(['audit', dir, '--json', ...e.sink, ...apiArgs], key)).code).toBe(0);
      // The key given in the environment variable RAGSYNC_EMBEDDER_API_KEY, and a refused one.
      const wrong = keep(
        await cli(['search', 'keystone', '--mode', 'dense', ...e.sink, ...apiArgs], { RAGSYNC_EMBEDDER_API_KEY: 'wrong-S3CRET-key' }),
      );
      expect(wrong.code).toBe(3);
      expect(wrong.stderr).toMatch(/401|unauthori[sz]ed|refused the key/i);
      await writeFile(path.join(dir, 'b.md'), '# B\n\nthe word lodestar is new\n');
      const d = await daemon(['watch', dir, ...e.sink, ...e.queue, ...apiArgs], undefined, { RAGSYNC_EMBEDDER_API_KEY: API_KEY });
      await until(async () => (await hits(e, 'lodestar')).length === 1, 30_000);
      keep(await cli(['jobs', dir, ...e.queue, '--json']));
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(143);
      outputs.push(d.output());
      expect(api.requests.every((r) => r.auth === `Bearer ${API_KEY}` || r.auth === 'Bearer wrong-S3CRET-key')).toBe(true);
      for (const out of outputs) {
        expect(out).not.toContain(API_KEY);
        expect(out).not.toContain('S3CRET');
      }
      expect(outputs.join('\n')).toMatch(/document synced/);
    } finally {
      await api.close();
    }
  }, 120_000);
});
