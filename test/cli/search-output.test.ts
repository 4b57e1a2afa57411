import { execFile } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { ROOT, TINY_MODEL, tempDir } from '../helpers.js';

const exec = promisify(execFile);
const BIN = path.join(ROOT, 'bin', 'ragsync.js');
const model = ['--model-dir', TINY_MODEL];

async function ragsync(args: string[]) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const filler = 'Each shard keeps its rows in order and the planner reads only what the query names. ';
const section = (title: string) => `## ${title}\n\n${filler.repeat(2)}A zeppelin zeppelin zeppelin holds rows. ${filler.repeat(2)}\n`;

/** A guide whose four sections all match `zeppelin` better than the other document, and a PDF. */
async function corpus(): Promise<string> {
  const dir = await tempDir();
  const guide = ['---', 'title: Partition Guide', '---', '', '# Partitions', ''];
  for (const t of ['Create partitions', 'Drop partitions', 'List partitions', 'Load partitions']) guide.push(section(t));
  await writeFile(path.join(dir, 'guide.md'), guide.join('\n'));
  await writeFile(path.join(dir, 'other.md'), `# Other\n\n${filler.repeat(3)}It mentions a zeppelin once. ${filler.repeat(3)}\n`);
  await copyFile(path.join(ROOT, 'examples/corpus/espresso-guide.pdf'), path.join(dir, 'espresso-guide.pdf'));
  return dir;
}

type Hit = {
  rank: number;
  path: string;
  heading?: string;
  lines?: [number, number];
  page?: number;
  title?: string;
  snippet: string;
  text: string;
};

async function checks(sink: string[]) {
  const dir = await corpus();
  expect((await ragsync(['index', dir, ...sink, ...model])).code).toBe(0);
  const json = async (...args: string[]): Promise<Hit[]> => {
    const res = await ragsync(['search', 'zeppelin', '--mode', 'keyword', '-k', '3', '--json', ...args, ...sink, ...model]);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout);
  };
  // Without grouping the guide fills the top 3; by default (2 per document) the other document gets in.
  expect((await json('--per-doc', '0')).map((h) => h.path)).toEqual(['guide.md', 'guide.md', 'guide.md']);
  const grouped = await json();
  expect(grouped.map((h) => h.path).sort()).toEqual(['guide.md', 'guide.md', 'other.md']);
  expect((await json('--per-doc', '1')).map((h) => h.path).sort()).toEqual(['guide.md', 'other.md']);
  return { dir, grouped };
}

describe('search output (child process)', () => {
  it('LanceDB: heading and file:line, grouping per document, word-boundary snippets, scores on request, --json with title', async () => {
    const store = path.join(await tempDir(), 'store');
    const { grouped } = await checks(['--store', store]);
    const first = grouped.find((h) => h.path === 'guide.md')!;
    expect(first).toMatchObject({ rank: 1, title: 'Partition Guide' });
    expect(first.heading).toMatch(/partitions$/);
    expect(first.lines?.[0]).toBeGreaterThan(4);
    for (const h of grouped) {
      const words = h.text.replace(/\s+/g, ' ').trim().split(' ');
      const inner = h.snippet.replace(/^…/, '').replace(/…$/, '').split(' ');
      expect(h.snippet).toMatch(/^…/);
      expect(h.snippet).toMatch(/…$/);
      expect(h.snippet.toLowerCase()).toContain('zeppelin');
      expect(words).toContain(inner[0]);
      expect(words).toContain(inner.at(-1));
    }
    const human = await ragsync(['search', 'zeppelin', '--mode', 'keyword', '-k', '3', '--store', store, ...model]);
    expect(human.stdout).toMatch(/^1\. \w+ partitions — guide\.md:\d+(-\d+)?\n {3}…\S/);
    expect(human.stdout).toMatch(/^3\. /m);
    expect(human.stdout).not.toMatch(/score|create-partitions/);
    const scored = await ragsync(['search', 'zeppelin', '--mode', 'keyword', '-k', '3', '--scores', '--store', store, ...model]);
    expect(scored.stdout).toMatch(/^1\. .* \(score \d/);
    const pdf = await ragsync(['search', 'purge the steam wand', '--mode', 'keyword', '-k', '1', '--store', store, ...model]);
    expect(pdf.stdout).toMatch(/espresso-guide\.pdf p\.2/);
  });

  it('a short section: the whole text after its heading, without the heading trail the chunk starts with', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'herons.md'), '# Herons\n\n## Nesting\n\nHerons nest in colonies by the river.\n');
    const store = path.join(await tempDir(), 'store');
    expect((await ragsync(['index', dir, '--store', store, ...model])).code).toBe(0);
    const res = await ragsync(['search', 'colonies', '--mode', 'keyword', '-k', '1', '--store', store, ...model]);
    expect(res.stdout).toBe('1. Nesting — herons.md:5\n   Herons nest in colonies by the river.\n');
    const [hit] = JSON.parse(
      (await ragsync(['search', 'colonies', '--mode', 'keyword', '-k', '1', '--json', '--store', store, ...model])).stdout,
    ) as Hit[];
    expect(hit).toMatchObject({ heading: 'Nesting', snippet: 'Herons nest in colonies by the river.' });
    expect(hit!.text).toMatch(/^Herons > Nesting\n\n/);
  });

  it('Milvus: the same grouping', async () => {
    const collection = `out_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
    const { grouped } = await checks(['--milvus-address', inject('milvusAddress'), '--milvus-collection', collection]);
    expect(grouped.find((h) => h.path === 'guide.md')).toMatchObject({ title: 'Partition Guide' });
  });
});
