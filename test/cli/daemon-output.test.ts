/** Daemon output: readable lines on a terminal, JSON lines piped; `--log-level warn` hides per-file lines; counts add up. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, until } from '../children.js';
import { tempDir } from '../helpers.js';

const hasScript = spawnSync('script', ['--version']).status === 0;

/** Runs `watch` (on a pseudo-terminal with `script` when `tty`), edits two files and adds a bad one; returns its output. */
async function watchOutput(tty: boolean, extra: string[] = []): Promise<string> {
  const work = await tempDir();
  const dir = path.join(work, 'docs');
  await mkdir(dir);
  const args = [BIN, 'watch', dir, '--store', path.join(work, 'store'), '--embedder', 'fixed:0', ...extra];
  const command = [process.execPath, ...args].map((a) => `'${a}'`).join(' ');
  const child = tty ? spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] }) : spawn(process.execPath, args);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('watching'), 30_000);
  await writeFile(path.join(dir, 'one.md'), '# One\n\nkingfishers dive\n');
  await writeFile(path.join(dir, 'two.md'), '# Two\n\nherons wait\n');
  await writeFile(path.join(dir, 'bad.pdf'), '%PDF-1.4 broken');
  const quiet = extra.includes('warn');
  const done = () => out.includes('bad.pdf') && (quiet || (out.includes('two.md') && out.includes('one.md')));
  await until(done, 20_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGINT');
  await new Promise((r) => child.on('close', r));
  return out;
}

describe('watch output (CLI, local queue)', () => {
  it('on a terminal: one ✓ line per synced file and a ✗ line for a bad file, no JSON', async (ctx) => {
    if (!hasScript) return ctx.skip('util-linux `script` (a pseudo-terminal) is not installed');
    const out = await watchOutput(true);
    expect(out).toMatch(/✓ one\.md {2}1 written, 1 embedded, \d+ ms/);
    expect(out).toMatch(/✓ two\.md {2}1 written, 1 embedded, \d+ ms/);
    expect(out).toMatch(/✗ bad\.pdf: not a valid PDF/);
    expect(out).toMatch(/\d\d:\d\d:\d\d info {2}watching/);
    expect(out).not.toMatch(/"level":/);
  }, 60_000);

  it('piped: JSON lines, a synced record with counts', async () => {
    const out = await watchOutput(false);
    const records = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const synced = records.filter((r) => r.msg === 'document synced');
    expect(synced.map((r) => r.doc).sort()).toEqual(['one.md', 'two.md']);
    expect(synced[0]).toMatchObject({ written: 1, embedded: 1, reused: 0, deleted: 0 });
    expect(typeof synced[0]!.ms).toBe('number');
    expect(records.some((r) => r.msg === 'sync job failed' && r.doc === 'bad.pdf')).toBe(true);
  }, 60_000);

  it('--log-level warn hides the per-file lines, in both modes', async (ctx) => {
    const piped = await watchOutput(false, ['--log-level', 'warn']);
    expect(piped).not.toMatch(/document synced/);
    expect(piped).toMatch(/sync job failed/);
    if (!hasScript) return ctx.skip('util-linux `script` (a pseudo-terminal) is not installed');
    const tty = await watchOutput(true, ['--log-level', 'warn']);
    expect(tty).not.toMatch(/✓/);
    expect(tty).toMatch(/✗ bad\.pdf/);
  }, 90_000);
});

describe('counts add up (CLI, index --json)', () => {
  it('a document with duplicate chunks: written = computed + reused', async () => {
    const work = await tempDir();
    const dir = path.join(work, 'docs');
    await mkdir(dir);
    const same = 'the same paragraph, word for word, in three sections';
    await writeFile(path.join(dir, 'dup.txt'), [same, same, same].join('\n\n'));
    await writeFile(path.join(dir, 'dup.md'), `# A\n\n${same}\n\n# A\n\n${same}\n`);
    const r = spawnSync(
      process.execPath,
      [BIN, 'index', dir, '--store', path.join(work, 'store'), '--embedder', 'fixed:0', '--chunk-tokens', '16', '--json'],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { chunks: { upserted: number }; embeddings: { computed: number; reused: number } };
    const written = s.chunks.upserted;
    expect(written).toBeGreaterThan(0);
    expect(s.embeddings.computed + s.embeddings.reused).toBe(written);
    expect(s.embeddings.reused).toBeGreaterThan(0);
  }, 60_000);
});
