import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chunking } from '../../src/chunking/index.js';
import { approximateTokens } from '../../src/core/tokens.js';
import { RagsyncError } from '../../src/core/errors.js';
import type { ChunkLimits, ContentType, Document, Embedder } from '../../src/core/types.js';
import { chunkLimits } from '../../src/app/embedders.js';
import { docId } from '../../src/ids/index.js';
import { FIXTURES, tinyEmbedder } from '../helpers.js';

const chunkDocument = (doc: Document, limits: ChunkLimits) => chunking.chunk(doc, limits);

const approx: ChunkLimits = { maxTokens: 40, countTokens: approximateTokens };

function doc(content: string | Buffer, file: string, contentType: ContentType): Document {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  return { source: 'docs', path: file, docId: docId('docs', file), contentType, bytes, size: bytes.length, mtimeMs: 0 };
}

describe('markdown', () => {
  it('keeps front matter as metadata, not as chunk text', async () => {
    const { chunks, metadata } = await chunkDocument(
      doc('---\ntitle: Hello\ntags: [a, b]\n---\n# Title\n\nBody.\n', 'a.md', 'markdown'),
      approx,
    );
    expect(metadata).toEqual({ title: 'Hello', tags: ['a', 'b'] });
    expect(chunks.map((c) => c.text).join('\n')).not.toContain('tags:');
    expect(chunks[0]!.id).toBe('docs:a.md#title/0');
  });

  it('reports invalid front matter as a parse error naming the file', async () => {
    await expect(chunkDocument(doc('---\n: [unclosed\n---\nbody\n', 'bad.md', 'markdown'), approx)).rejects.toThrow(
      /bad\.md: invalid YAML front matter/,
    );
  });

  it('nests headings into section paths and puts text before the first heading in no section', async () => {
    const { chunks } = await chunkDocument(
      doc('Intro text.\n\n# Guide\n\n## Install\n\n### Linux\n\nApt.\n\n## Use\n\nRun it.\n', 'g.md', 'markdown'),
      approx,
    );
    expect(chunks.map((c) => c.id)).toEqual(['docs:g.md#0', 'docs:g.md#guide/install/linux/0', 'docs:g.md#guide/use/0']);
    expect(chunks[1]!.text).toContain('Guide > Install');
  });

  it('never splits a code fence or a table line in the middle, and re-wraps split fences', async () => {
    const code = Array.from({ length: 60 }, (_, i) => `let value${i} = compute(${i});`).join('\n');
    const rows = Array.from({ length: 40 }, (_, i) => `| row ${i} | value ${i} |`).join('\n');
    const text = `# Code\n\n\`\`\`js\n${code}\n\`\`\`\n\n# Table\n\n| name | value |\n|------|-------|\n${rows}\n`;
    const { chunks } = await chunkDocument(doc(text, 'c.md', 'markdown'), approx);
    const codeChunks = chunks.filter((c) => c.section === 'code');
    const tableChunks = chunks.filter((c) => c.section === 'table');
    expect(codeChunks.length).toBeGreaterThan(1);
    for (const c of codeChunks) {
      const fences = c.text.match(/^```/gm) ?? [];
      expect(fences.length % 2, c.text).toBe(0);
      for (const line of c.text.split('\n')) if (line.startsWith('let ')) expect(line).toMatch(/^let value\d+ = compute\(\d+\);$/);
    }
    const allCode = codeChunks.flatMap((c) => c.text.split('\n').filter((l) => l.startsWith('let ')));
    expect(allCode).toEqual(code.split('\n'));
    expect(tableChunks.length).toBeGreaterThan(1);
    for (const c of tableChunks) {
      expect(c.text).toContain('| name | value |\n|------|-------|');
      for (const line of c.text.split('\n').filter((l) => l.startsWith('| row'))) expect(line).toMatch(/^\| row \d+ \| value \d+ \|$/);
    }
  });

  it('does not take a # line inside a code fence for a heading', async () => {
    const { chunks } = await chunkDocument(doc('# Real\n\n```sh\n# not a heading\necho hi\n```\n', 'f.md', 'markdown'), approx);
    expect(chunks.map((c) => c.section)).toEqual(['real']);
    expect(chunks[0]!.text).toContain('# not a heading');
  });

  it('refuses binary content named .md with an error naming the file', async () => {
    const err = await chunkDocument(doc(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 1, 2]), 'prog.md', 'markdown'), approx).catch((e) => e);
    expect(err).toBeInstanceOf(RagsyncError);
    expect((err as RagsyncError).message).toBe('prog.md: binary content in a markdown file');
    expect((err as RagsyncError).retryable).toBe(false);
  });
});

describe('plain text', () => {
  it('packs paragraphs into chunks with no section', async () => {
    const paras = Array.from({ length: 12 }, (_, i) => `Paragraph ${i} has some words in it to fill space.`).join('\n\n');
    const { chunks } = await chunkDocument(doc(paras, 'n.txt', 'text'), approx);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.map((c) => c.id)).toEqual(chunks.map((_, i) => `docs:n.txt#${i}`));
    expect(chunks.every((c) => approximateTokens(c.text) <= approx.maxTokens)).toBe(true);
  });

  it('reads text that is not valid UTF-8 as Windows-1252', async () => {
    const { chunks } = await chunkDocument(doc(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x80]), 'latin.txt', 'text'), approx);
    expect(chunks[0]!.text).toBe('café €');
  });

  it('gives no chunks for an empty file', async () => {
    expect((await chunkDocument(doc('', 'empty.txt', 'text'), approx)).chunks).toEqual([]);
  });
});

describe('pdf', () => {
  it('chunks the text of each page into its own section', async () => {
    const bytes = await readFile(path.join(FIXTURES, 'files', 'two-pages.pdf'));
    const { chunks } = await chunkDocument(doc(bytes, 'two.pdf', 'pdf'), approx);
    expect(chunks.map((c) => c.id)).toEqual(['docs:two.pdf#p1/0', 'docs:two.pdf#p2/0']);
    expect(chunks[0]!.text).toContain('apples');
    expect(chunks[1]!.text).toContain('rivers');
  });

  it.each([
    ['encrypted.pdf', /encrypted\.pdf: the PDF is encrypted/],
    ['corrupt.pdf', /corrupt\.pdf: (not a valid PDF|cannot read the PDF)/],
  ])('fails %s with a parse error naming the file and cause', async (file, message) => {
    const bytes = await readFile(path.join(FIXTURES, 'files', file));
    const err = await chunkDocument(doc(bytes, file, 'pdf'), approx).catch((e) => e);
    expect(err).toBeInstanceOf(RagsyncError);
    expect((err as RagsyncError).code).toBe('PARSE');
    expect((err as RagsyncError).message).toMatch(message);
  });
});

describe('images', () => {
  it('make one image chunk holding the bytes', async () => {
    const bytes = await readFile(path.join(FIXTURES, 'files', 'blue.png'));
    const { chunks } = await chunkDocument(doc(bytes, 'img/blue.png', 'image'), approx);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ id: 'docs:img/blue.png#0', modality: 'image', text: 'blue.png' });
    expect(chunks[0]!.image!.equals(bytes)).toBe(true);
  });
});

describe('token limits measured with the model tokenizer', () => {
  let embedder: Embedder;
  beforeAll(async () => {
    embedder = await tinyEmbedder();
  });

  it('keeps every chunk, context line included, within the limit', async () => {
    const limits = chunkLimits(embedder, 48);
    const body = Array.from({ length: 40 }, (_, i) => `The river number ${i} flows to the sea past the old mill.`).join(' ');
    const { chunks } = await chunkDocument(doc(`# Rivers\n\n## Long section\n\n${body}\n`, 'r.md', 'markdown'), limits);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(embedder.countTokens(c.text)).toBeLessThanOrEqual(48);
  });
});
