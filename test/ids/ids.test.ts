import { describe, expect, it } from 'vitest';
import { markdownChunker } from '../../src/chunking/markdown.js';
import { approximateTokens } from '../../src/core/tokens.js';
import type { ChunkLimits, Document } from '../../src/core/types.js';
import { MAX_CHUNK_ID_BYTES, SlugCounter, boundId, chunkId, contentHash, docId, normalizeRelPath, slugify } from '../../src/ids/index.js';

const limits: ChunkLimits = { maxTokens: 64, countTokens: approximateTokens };

function mdDoc(text: string, path = 'guide.md'): Document {
  const bytes = Buffer.from(text);
  return { source: 'docs', path, docId: docId('docs', path), contentType: 'markdown', bytes, size: bytes.length, mtimeMs: 0 };
}

async function ids(text: string): Promise<Map<string, string>> {
  const { chunks } = await markdownChunker.chunk(mdDoc(text), limits);
  return new Map(chunks.map((c) => [c.id, c.hash]));
}

function sections(n: number, edit?: { at: number; body: string }, insertAfter?: number): string {
  const parts: string[] = ['# Handbook', ''];
  for (let i = 0; i < n; i++) {
    parts.push(`## Topic ${i}`, '', edit?.at === i ? edit.body : `Body of topic ${i}, with a few words.`, '');
    if (insertAfter === i) parts.push('## A brand new topic', '', 'Inserted text.', '');
  }
  return parts.join('\n');
}

describe('doc IDs', () => {
  it('are <source>:<posix relative path>', () => {
    expect(docId('docs', 'a/b/c.md')).toBe('docs:a/b/c.md');
  });

  it('are NFC; a name stored in another form gets a suffix, so both files keep their own ID', () => {
    const nfc = 'caf\u00e9.md';
    const nfd = 'cafe\u0301.md';
    expect(docId('docs', nfc)).toBe(`docs:${nfc}`);
    const other = docId('docs', nfd);
    expect(other).not.toBe(docId('docs', nfc));
    expect(other.startsWith(`docs:${nfc}~u`)).toBe(true);
    expect(other.normalize('NFC')).toBe(other);
    expect(docId('docs', nfd)).toBe(other);
  });

  it('refuse paths that leave the root or are not relative', () => {
    for (const bad of ['../x.md', 'a/../../x.md', '/etc/passwd', '', 'a//b.md', './a.md']) {
      expect(() => normalizeRelPath(bad), bad).toThrow();
    }
    expect(() => docId('bad name', 'a.md')).toThrow(/source name/);
  });

  it('keep quotes, backslashes, spaces and newlines of file names as they are', () => {
    const name = `we"ird 'name'\\with\nnewline.md`;
    expect(docId('docs', name)).toBe(`docs:${name}`);
  });
});

describe('chunk IDs', () => {
  it('are <doc_id>#<section path>/<n>, or <doc_id>#<n> outside any section', () => {
    expect(chunkId('docs:a.md', 'intro/setup', 2)).toBe('docs:a.md#intro/setup/2');
    expect(chunkId('docs:a.txt', '', 0)).toBe('docs:a.txt#0');
    expect(() => chunkId('docs:a.md', '', -1)).toThrow();
  });

  it('are bounded: a readable prefix and a hash when too long, still unique', () => {
    const long = `docs:${'deep/'.repeat(200)}file.md`;
    const a = chunkId(long, 'x', 0);
    const b = chunkId(long, 'x', 1);
    expect(Buffer.byteLength(a)).toBeLessThanOrEqual(MAX_CHUNK_ID_BYTES);
    expect(a.startsWith('docs:deep/deep/')).toBe(true);
    expect(a).toMatch(/~[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
    expect(chunkId(long, 'x', 0)).toBe(a);
  });

  it('never cut a multi-byte character when bounding', () => {
    const id = boundId('é'.repeat(400), 101);
    expect(Buffer.byteLength(id)).toBeLessThanOrEqual(101);
    expect(id).not.toContain('\ufffd');
    expect(Buffer.from(id, 'utf8').toString('utf8')).toBe(id);
  });
});

describe('slugs', () => {
  it('are lower-case words of any script joined by dashes', () => {
    expect(slugify('Getting Started: `npm ci`!')).toBe('getting-started-npm-ci');
    expect(slugify('Über größe')).toBe('über-größe');
    expect(slugify('!!!')).toBe('section');
  });

  it('disambiguate duplicate sibling headings in order', () => {
    const s = new SlugCounter();
    expect([s.next('Usage'), s.next('Usage'), s.next('Other'), s.next('usage')]).toEqual(['usage', 'usage-2', 'other', 'usage-3']);
  });

  it('never hand out a slug twice, even when a heading looks like a disambiguated one', () => {
    const s = new SlugCounter();
    const got = ['Foo', 'Foo', 'Foo 2', 'Foo', 'foo-3', 'Foo'].map((h) => s.next(h));
    expect(got).toEqual(['foo', 'foo-2', 'foo-2-2', 'foo-3', 'foo-3-2', 'foo-4']);
    expect(new Set(got).size).toBe(got.length);
  });

  it('cut long headings between characters, never inside one', () => {
    const slug = slugify(`a${String.fromCodePoint(0x20000).repeat(100)}`);
    expect(Array.from(slug)).toHaveLength(80);
    expect(/\p{Surrogate}/u.test(slug)).toBe(false);
    expect(() => chunkId('docs:a.md', '\ud800', 0)).toThrow(/ill-formed/);
  });

  it('disambiguate only among siblings: the same heading under two parents keeps its slug', async () => {
    const got = await ids('# A\n\n## Usage\n\ntext a\n\n# B\n\n## Usage\n\ntext b\n');
    expect([...got.keys()]).toEqual(['docs:guide.md#a/usage/0', 'docs:guide.md#b/usage/0']);
  });
});

describe('ID stability', () => {
  it('the same input gives the same IDs and hashes on every run', async () => {
    const text = sections(10);
    expect([...(await ids(text))]).toEqual([...(await ids(text))]);
  });

  it('editing the body of one section changes no ID or hash outside it', async () => {
    const before = await ids(sections(40));
    const after = await ids(sections(40, { at: 17, body: 'A completely different body for topic seventeen.' }));
    expect([...after.keys()]).toEqual([...before.keys()]);
    const changed = [...after].filter(([id, hash]) => before.get(id) !== hash).map(([id]) => id);
    expect(changed).toEqual(['docs:guide.md#handbook/topic-17/0']);
  });

  it('adding a section in the middle changes no ID in other sections', async () => {
    const before = await ids(sections(10));
    const after = await ids(sections(10, undefined, 4));
    const added = [...after.keys()].filter((id) => !before.has(id));
    expect(added).toEqual(['docs:guide.md#handbook/a-brand-new-topic/0']);
    // The hash covers the chunk's lines: sections before the insertion keep theirs, later ones moved down.
    const kept = [...before].filter(([id, hash]) => after.get(id) === hash).map(([id]) => id);
    expect(kept).toEqual([...before.keys()].filter((id) => !/topic-([5-9])\//.test(id)));
  });

  it('growing one section into more chunks adds IDs only in that section', async () => {
    const long = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} makes this section longer.`).join(' ');
    const before = await ids(sections(5));
    const after = await ids(sections(5, { at: 2, body: long }));
    const touched = [...after.keys()].filter((id) => before.get(id) !== after.get(id));
    expect(touched.length).toBeGreaterThan(1);
    expect(touched.every((id) => id.includes('#handbook/topic-2/'))).toBe(true);
  });
});

describe('content hash', () => {
  it('covers normalised content and the chunker version', () => {
    expect(contentHash('a \r\nb', 'text@1')).toBe(contentHash('a\nb', 'text@1'));
    expect(contentHash('cafe\u0301', 'text@1')).toBe(contentHash('caf\u00e9', 'text@1'));
    expect(contentHash('a', 'text@1')).not.toBe(contentHash('a', 'text@2'));
    expect(contentHash('a', 'text@1')).not.toBe(contentHash('b', 'text@1'));
    expect(contentHash('a', 'text@1')).toMatch(/^[0-9a-f]{64}$/);
  });
});
