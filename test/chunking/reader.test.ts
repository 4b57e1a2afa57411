// Chunks hold what a reader sees (issue 15 item 5) and say where they are (item 6).
import { describe, expect, it } from 'vitest';
import { chunking } from '../../src/chunking/index.js';
import { approximateTokens } from '../../src/core/tokens.js';
import type { ChunkLimits, ContentType, Document } from '../../src/core/types.js';
import { docId } from '../../src/ids/index.js';

const limits: ChunkLimits = { maxTokens: 512, countTokens: approximateTokens };

function doc(content: string, file: string, contentType: ContentType = 'markdown'): Document {
  const bytes = Buffer.from(content);
  return { source: 'docs', path: file, docId: docId('docs', file), contentType, bytes, size: bytes.length, mtimeMs: 0 };
}

const chunk = async (content: string, file = 'a.md', type: ContentType = 'markdown') =>
  (await chunking.chunk(doc(content, file, type), limits)).chunks;

const HTML_DOC = [
  '# Install',
  '',
  '<div class="language-python">',
  '<pre><code>x = 1 &lt; 2',
  'print(x)</code></pre>',
  '</div>',
  '',
  'Some <b>bold</b> and <span class="k">marked</span> text<br>on a new line &amp; more &copy; <!-- a note -->end.',
  'Inline code stays: `<div>code</div>` and `a &amp; b`.',
  '',
  '<!-- a comment block -->',
  '',
  '<table>',
  '  <tr><th>Name</th><th>Port</th></tr>',
  '  <tr><td>proxy</td><td>19530 &gt; 0</td></tr>',
  '</table>',
  '',
  '```html',
  '<div class="fence">kept</div>',
  '```',
  '',
  '- item <em>one</em>',
  '',
  '  ```',
  '  <i>nested fence</i>',
  '  ```',
  '',
].join('\n');

describe('Markdown raw HTML', () => {
  it('is reduced to its text: no tags or comments, words, code and table cells kept, entities decoded', async () => {
    const chunks = await chunk(HTML_DOC);
    expect(chunks).toHaveLength(1);
    const text = chunks[0]!.text;
    expect(text).toBe(
      [
        'Install',
        '',
        'x = 1 < 2',
        'print(x)',
        '',
        'Some bold and marked text',
        'on a new line & more © end.',
        'Inline code stays: `<div>code</div>` and `a &amp; b`.',
        '',
        'Name | Port',
        'proxy | 19530 > 0',
        '',
        '```html',
        '<div class="fence">kept</div>',
        '```',
        '',
        '- item one',
        '',
        '  ```',
        '  <i>nested fence</i>',
        '  ```',
      ].join('\n'),
    );
    const outsideCode = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`]*`/g, '');
    expect(outsideCode).not.toMatch(/<\/?[a-z][^>]*>|<!--/i);
  });

  it('leaves a document without HTML exactly as written', async () => {
    const md = '# Guide\n\nA *styled* [link](https://example.com) with `code` and a > b.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n';
    const chunks = await chunk(md);
    expect(chunks.map((c) => c.text)).toEqual([
      'Guide\n\nA *styled* [link](https://example.com) with `code` and a > b.\n\n| a | b |\n|---|---|\n| 1 | 2 |',
    ]);
  });

  it('strips HTML from the heading trail but keeps the ID of the raw heading', async () => {
    const chunks = await chunk('## <a name="setup"></a>Setup &amp; run\n\nBody.\n');
    expect(chunks[0]).toMatchObject({
      id: 'docs:a.md#a-name-setup-asetup-amp-run/0',
      heading: 'Setup & run',
      text: 'Setup & run\n\nBody.',
    });
  });
});

describe('where a chunk is', () => {
  const md = [
    '---',
    'title: Bread',
    'tags: [a]',
    '---',
    'Intro line.',
    '',
    '# Bread',
    '',
    '## Proofing and baking',
    '',
    'Proof it.',
    'Then bake.',
    '',
    '```',
    'oven 220',
    '```',
    '',
  ].join('\r\n');

  it('gives Markdown chunks their source lines (front matter counted, CRLF) and their section heading', async () => {
    const chunks = await chunk(md, 'bread.md');
    expect(chunks.map((c) => [c.id, c.lines, c.heading])).toEqual([
      ['docs:bread.md#0', [5, 5], undefined],
      ['docs:bread.md#bread/proofing-and-baking/0', [11, 16], 'Proofing and baking'],
    ]);
    expect(chunks[1]!.text).toBe('Bread > Proofing and baking\n\nProof it.\nThen bake.\n\n```\noven 220\n```');
  });

  it('gives the lines of each piece of a split block', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i} holds a handful of words to fill it up`);
    const log = doc(`# Log\n\n\`\`\`\n${lines.join('\n')}\n\`\`\`\n`, 'log.md');
    const { chunks } = await chunking.chunk(log, { maxTokens: 64, countTokens: approximateTokens });
    expect(chunks.length).toBeGreaterThan(2);
    let next = 4;
    for (const c of chunks) {
      const inner = c.text.split('\n').filter((l) => l.startsWith('line '));
      expect(c.lines).toEqual([next, next + inner.length - 1]);
      next += inner.length;
    }
    expect(next).toBe(34);
  });

  it('gives text chunks their lines', async () => {
    const chunks = await (
      await chunking.chunk(doc('\r\n\r\nFirst para\r\non two lines.\r\n \r\n\r\nSecond.\r\n', 'n.txt', 'text'), {
        maxTokens: 4,
        countTokens: approximateTokens,
      })
    ).chunks;
    expect(chunks.map((c) => [c.text, c.lines])).toEqual([
      ['First para', [3, 3]],
      ['on two lines.', [4, 4]],
      ['Second.', [7, 7]],
    ]);
  });

  it('hashes the lines and the heading with the text: a moved chunk is rewritten, its text unchanged', async () => {
    const before = await chunk('# A\n\nSame text.\n', 'm.md');
    const moved = await chunk('\n\n# A\n\nSame text.\n', 'm.md');
    expect(moved[0]).toMatchObject({ id: before[0]!.id, text: before[0]!.text, lines: [5, 5] });
    expect(moved[0]!.hash).not.toBe(before[0]!.hash);
    expect((await chunk('# A\n\nSame text.\n', 'm.md'))[0]!.hash).toBe(before[0]!.hash);
  });
});
