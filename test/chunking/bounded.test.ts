// Hostile inputs chunked in bounded time and memory (issue 15 item 4): one huge line, a huge
// data URI, 100 000 headings. Checks are on the output (coverage, limits), never on timing.
import { beforeAll, describe, expect, it } from 'vitest';
import { chunkLimits } from '../../src/app/embedders.js';
import { chunking } from '../../src/chunking/index.js';
import { approximateTokens } from '../../src/core/tokens.js';
import type { Chunk, ChunkLimits, ContentType, Document, Embedder } from '../../src/core/types.js';
import { docId } from '../../src/ids/index.js';
import { tinyEmbedder } from '../helpers.js';

function doc(content: string, file: string, contentType: ContentType): Document {
  const bytes = Buffer.from(content);
  return { source: 'docs', path: file, docId: docId('docs', file), contentType, bytes, size: bytes.length, mtimeMs: 0 };
}

const squeeze = (s: string): string => s.replace(/\s+/g, '');

/** Every non-space character of `input` in the chunks, in order, nothing else; every chunk within the limit. */
function expectCover(chunks: Chunk[], input: string, limits: ChunkLimits, strip: (c: Chunk) => string = (c) => c.text): void {
  for (const c of chunks) expect(limits.countTokens(c.text), c.id).toBeLessThanOrEqual(limits.maxTokens);
  const got = chunks.map((c) => squeeze(strip(c))).join('');
  expect(got.length).toBe(squeeze(input).length);
  expect(got === squeeze(input)).toBe(true);
}

/** About `size` characters of words (some long, base64-like) on one line, with a 200 KB run that has no boundary at all. */
function oneLine(size: number): string {
  const words = ['river', 'flows', 'past', 'the', 'old', 'mill,', 'and', 'on', 'to', 'sea', 'aB3+/x9Qz', 'naïve', '日本語', '😀'];
  const parts: string[] = [];
  let n = 0;
  for (let i = 0; n < size; i++) {
    const w = i === 1000 ? 'x'.repeat(200_000) : words[(i * 7) % words.length]!;
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(' ');
}

describe('linear-time chunking with the tiny model tokenizer', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await tinyEmbedder();
  });

  it('chunks a 10 MB single-line text file: chunks cover the text in order, each within the limit', async () => {
    const limits = chunkLimits(embedder, 512);
    const input = oneLine(10 * 2 ** 20);
    const { chunks } = await chunking.chunk(doc(input, 'long.txt', 'text'), limits);
    expect(chunks.length).toBeGreaterThan(1000);
    expectCover(chunks, input, limits);
    expect(chunks.every((c) => c.lines?.[0] === 1 && c.lines[1] === 1)).toBe(true);
  }, 240_000);

  it('chunks a document of 100 000 headings, every heading a section of its own', async () => {
    const limits = chunkLimits(embedder, 64);
    const n = 100_000;
    const input = Array.from({ length: n }, (_, i) => `## Step ${i}\n\nStir pot ${i} well.\n`).join('\n');
    const { chunks } = await chunking.chunk(doc(input, 'steps.md', 'markdown'), limits);
    expect(chunks).toHaveLength(n);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(n);
    expect(chunks[n - 1]).toMatchObject({ id: `docs:steps.md#step-${n - 1}/0`, heading: `Step ${n - 1}`, lines: [4 * n - 1, 4 * n - 1] });
    const bodies = input.replace(/^## Step \d+$/gm, '');
    expectCover(chunks, bodies, limits, (c) => c.text.slice(c.text.indexOf('\n\n')));
  }, 240_000);

  it('splits indented code with long lines once: its first and last lines are code, not a fence to repeat in every piece', async () => {
    const limits = chunkLimits(embedder, 128);
    const long = (n: number) => `    {'score': '0.${n}', 'content': '${'the agents study the society of minds '.repeat(40)}'}`;
    const code = ['    Original Query:', '    {What is it}', long(1), long(2), long(3)].join('\n');
    const input = `# Run\n\nThe output:\n\n${code}\n`;
    const { chunks } = await chunking.chunk(doc(input, 'run.md', 'markdown'), limits);
    // Each chunk repeats only the heading trail; together they hold the input once.
    expectCover(chunks, input.replace('# Run', ''), limits, (c) => c.text.replace(/^Run\n\n/, ''));
    expect(chunks.filter((c) => c.text.includes('Original Query:'))).toHaveLength(1);
  });

  it('keeps the alt text of a 1 MB data URI image and embeds none of its base64', async () => {
    const limits = chunkLimits(embedder, 512);
    const b64 = Buffer.alloc(768 * 1024, 7)
      .toString('base64')
      .replace(/^.{8}/, 'iVBORw0K');
    const input = [
      '# Oven',
      '',
      `Preheat the oven ![a hot oven](data:image/png;base64,${b64} "oven") then wait.`,
      '',
      `![](data:image/png;base64,${b64})`,
      '',
      `See [the diagram](data:image/png;base64,${b64}) and <img alt="a tray" src="data:image/png;base64,${b64}">.`,
      '',
      `<p><img src="data:image/png;base64,${b64}"></p>`,
      '',
    ].join('\n');
    expect(input.length).toBeGreaterThan(4 * 2 ** 20);
    const { chunks } = await chunking.chunk(doc(input, 'oven.md', 'markdown'), limits);
    const text = chunks.map((c) => c.text).join('\n');
    expect(text).not.toContain('iVBORw0K');
    expect(text).not.toContain('data:');
    expect(text).toBe('Oven\n\nPreheat the oven a hot oven then wait.\n\n[image]\n\nSee the diagram and a tray.\n\n[image]');
  });
});

describe('linear-time chunking with the approximate counter', () => {
  it('cuts a run with no boundary between characters, never as one over-long piece', async () => {
    const limits: ChunkLimits = { maxTokens: 40, countTokens: approximateTokens };
    const input = `start ${'q'.repeat(50_000)} end`;
    const { chunks } = await chunking.chunk(doc(input, 'run.txt', 'text'), limits);
    expect(chunks.length).toBeGreaterThanOrEqual(50_000 / 160);
    expectCover(chunks, input, limits);
  });

  it('cuts a huge heading trail to fit and keeps the body', async () => {
    const limits: ChunkLimits = { maxTokens: 64, countTokens: approximateTokens };
    const { chunks } = await chunking.chunk(doc(`# ${'Title '.repeat(100_000)}\n\nThe body.\n`, 'h.md', 'markdown'), limits);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text.endsWith('\n\nThe body.')).toBe(true);
    expect(approximateTokens(chunks[0]!.text)).toBeLessThanOrEqual(64);
  });
});
