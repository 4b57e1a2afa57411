import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { children } from '../children.js';
import { TINY_MODEL, tempDir } from '../helpers.js';

const { cli } = children();

/** A usage error: one line naming the command, one line pointing to its help, exit 2, nothing on stdout. */
function expectUsage(res: { code: number; stdout: string; stderr: string }, cmd: string, message: RegExp): void {
  expect(res.code, res.stderr).toBe(2);
  expect(res.stdout).toBe('');
  const lines = res.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(new RegExp(`^ragsync ${cmd}: `));
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toBe(`see 'ragsync ${cmd} --help'`);
}

describe('usage errors', () => {
  it('an unknown option, a bad number, a bad choice, a missing argument: one line and the help to see, exit 2', async () => {
    expectUsage(await cli(['index', '--modeldir', 'x', '.']), 'index', /unknown option '--modeldir'.*Did you mean --model-dir\?/);
    expectUsage(await cli(['search', '-k', 'abc', 'q']), 'search', /must be a whole number/);
    expectUsage(await cli(['search', '--mode', 'semantic', 'q']), 'search', /Allowed choices are hybrid, keyword, dense/);
    expectUsage(await cli(['audit']), 'audit', /missing required argument 'dir'/);
  });
});

describe('arguments are checked before anything is created', () => {
  it('index of a file or a missing folder is exit 2 naming it; no store, no model loaded', async () => {
    const work = await tempDir();
    const file = path.join(work, 'README.md');
    await writeFile(file, '# Hi\n');
    const store = path.join(work, 'store');
    // A model dir that does not exist: a model load would be exit 3, so exit 2 shows the check came first.
    const flags = ['--store', store, '--model-dir', path.join(work, 'no-model')];
    for (const [dir, said] of [
      [file, /README\.md is not a directory/],
      [path.join(work, 'missing'), /no such directory: .*missing/],
    ] as const) {
      const res = await cli(['index', dir, ...flags]);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr.trim()).toMatch(said);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(store)).toBe(false);
    }
    for (const cmd of ['audit', 'watch', 'reembed']) {
      const res = await cli([cmd, file, ...flags]);
      expect(res.code, `${cmd}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toMatch(new RegExp(`ragsync ${cmd}: .*README\\.md is not a directory`));
    }
    expect(existsSync(store)).toBe(false);
  });

  it('search: --top-k 0, an --image that is missing or not an image are exit 2; an empty store says it holds no index', async () => {
    const work = await tempDir();
    const store = path.join(work, 'store');
    const text = path.join(work, 'notes.txt');
    await writeFile(text, 'not an image');
    const flags = ['--store', store, '--model-dir', TINY_MODEL];
    let res = await cli(['search', 'q', '--top-k', '0', ...flags]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--top-k must be at least 1/);
    res = await cli(['search', '--image', text, ...flags]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/notes\.txt is not an image/);
    res = await cli(['search', '--image', path.join(work, 'gone.png'), ...flags]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/cannot read .*gone\.png/);
    res = await cli(['search', 'hello', ...flags]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toMatch(/holds no index yet: run `ragsync index DIR` first$/);
    expect(existsSync(path.join(store, 'queue'))).toBe(false);
  });
});

describe('jobs', () => {
  it('exit 1 when failed jobs are listed (local queue), exit 0 when there are none', async () => {
    const work = await tempDir();
    const store = path.join(work, 'store');
    const docs = path.join(work, 'docs');
    await mkdir(path.join(store, 'queue'), { recursive: true });
    await mkdir(docs);
    const state = {
      version: 1,
      pid: 999_999_999,
      host: 'elsewhere',
      updatedAt: new Date().toISOString(),
      running: false,
      counts: { waiting: 0, active: 0, delayed: 0, completed: 3, failed: 1 },
      failed: [{ id: 'docs:bad.pdf', path: 'bad.pdf', reason: 'encrypted', attempts: 3, failedAt: new Date().toISOString() }],
    };
    await writeFile(path.join(store, 'queue', 'docs.json'), JSON.stringify(state));
    let res = await cli(['jobs', docs, '--store', store, '--json']);
    expect(res.code, res.stderr).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({ source: 'docs', queue: 'local', failed: [{ path: 'bad.pdf', reason: 'encrypted' }] });
    await writeFile(
      path.join(store, 'queue', 'docs.json'),
      JSON.stringify({ ...state, failed: [], counts: { ...state.counts, failed: 0 } }),
    );
    res = await cli(['jobs', docs, '--store', store]);
    expect(res.code, res.stderr).toBe(0);
  });
});

describe('help', () => {
  it('shows every default in one style, --top-k, and examples', async () => {
    const res = await cli(['search', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/-k, --top-k <n>.*\(default: 5/);
    expect(res.stdout).not.toMatch(/\(default [^:]/);
    // Choices and defaults in our one style, not commander's `(choices: "a", "b", default: "a")`.
    expect(res.stdout).not.toMatch(/\(choices:|default: "/);
    expect(res.stdout.replace(/\s+/g, ' ')).toContain('dense unless a mode is given) (one of: hybrid, keyword, dense; default: hybrid)');
    expect(res.stdout).toMatch(/Examples:\n {2}\$ ragsync search/);
    const index = (await cli(['index', '--help'])).stdout;
    for (const flag of ['--dtype', '--log-level', '--chunk-tokens', '--max-file-bytes']) {
      const line = index.split('\n').find((l) => l.trimStart().startsWith(flag)) ?? '';
      const rest = index.slice(index.indexOf(line)).split(/\n {2}-/)[0];
      expect(rest, flag).toMatch(/(\(|; )default: /);
    }
    expect(index).toMatch(/Examples:\n {2}\$ ragsync index/);
  });
});
