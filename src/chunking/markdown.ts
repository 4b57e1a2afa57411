/**
 * Markdown chunker. The heading hierarchy gives the section path (one slug per level, siblings
 * disambiguated); top-level blocks (paragraphs, lists, code fences, tables, quotes) are packed
 * into token-bounded chunks inside their section and never cross a section boundary. Each chunk
 * starts with its heading trail (`Guide > Install`), so every chunk says where it is. Front
 * matter (YAML between `---` lines at the top) becomes document metadata, not chunk text.
 */
import MarkdownIt from 'markdown-it';
import { parse as parseYaml } from 'yaml';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { Chunk, ChunkLimits, Chunker, DocMetadata, Document } from '../core/types.js';
import { SlugCounter, chunkId, contentHash } from '../ids/index.js';
import { decodeText } from './decode.js';
import { type Block, packBlocks } from './pack.js';

const VERSION = 'markdown@1';
const md = new MarkdownIt('commonmark').enable('table');
const FRONT_MATTER = /^---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;

interface Section {
  path: string;
  /** Titles of the section's heading and its parents, outermost first: each chunk's first line. */
  trail: string[];
  blocks: Block[];
  hasBody: boolean;
}

interface Frame {
  level: number;
  slug: string;
  title: string;
  children: SlugCounter;
}

export const markdownChunker: Chunker = {
  version: VERSION,
  supports: (type) => type === 'markdown',
  async chunk(doc: Document, limits: ChunkLimits) {
    const source = decodeText(doc).replace(/^\uFEFF/, '');
    const { metadata, body } = splitFrontMatter(source, doc);
    const chunks: Chunk[] = [];
    for (const section of sections(body)) {
      if (!section.hasBody) continue;
      const context = section.trail.join(' > ');
      const budget = Math.max(16, limits.maxTokens - (context ? limits.countTokens(context) : 0));
      packBlocks(section.blocks, limits, budget).forEach((text, n) => {
        const embedText = context ? `${context}\n\n${text}` : text;
        chunks.push({
          id: chunkId(doc.docId, section.path, n),
          section: section.path,
          index: n,
          modality: 'text',
          text: embedText,
          hash: contentHash(embedText, VERSION),
        });
      });
    }
    return { chunks, metadata };
  },
};

function splitFrontMatter(source: string, doc: Document): { metadata: DocMetadata; body: string } {
  const m = FRONT_MATTER.exec(source);
  if (!m) return { metadata: {}, body: source };
  let data: unknown;
  try {
    data = parseYaml(m[1] ?? '');
  } catch (err) {
    throw new RagsyncError('PARSE', `${doc.path}: invalid YAML front matter: ${errorMessage(err)}`, {
      stage: 'parse',
      docId: doc.docId,
      cause: err,
    });
  }
  const metadata = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as DocMetadata) : {};
  // Keep line numbers of the body unchanged so markdown-it's line maps index into `lines`.
  const blank = '\n'.repeat(m[0].split('\n').length - 1);
  return { metadata, body: blank + source.slice(m[0].length) };
}

/** Walks the top-level blocks and groups their source text by heading section. */
function sections(body: string): Section[] {
  const lines = body.split(/\r?\n/);
  const tokens = md.parse(body, {});
  const root = new SlugCounter();
  const stack: Frame[] = [];
  const out: Section[] = [{ path: '', trail: [], blocks: [], hasBody: false }];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok.level !== 0 || !tok.map || tok.nesting === -1) continue;
    const text = lines.slice(tok.map[0], tok.map[1]).join('\n').replace(/\s+$/, '');
    if (tok.type === 'heading_open') {
      const level = Number(tok.tag.slice(1));
      const title = (tokens[i + 1]?.content ?? '').trim();
      while (stack.length > 0 && stack[stack.length - 1]!.level >= level) stack.pop();
      const siblings = stack.length > 0 ? stack[stack.length - 1]!.children : root;
      stack.push({ level, slug: siblings.next(title), title, children: new SlugCounter() });
      out.push({ path: stack.map((f) => f.slug).join('/'), trail: stack.map((f) => f.title), blocks: [], hasBody: false });
      continue;
    }
    if (text === '') continue;
    const current = out[out.length - 1]!;
    current.blocks.push({ text, kind: blockKind(tok.type) });
    current.hasBody = true;
  }
  return out;
}

function blockKind(type: string): Block['kind'] {
  if (type === 'fence' || type === 'code_block') return 'fence';
  if (type === 'table_open') return 'table';
  if (type === 'paragraph_open' || type === 'blockquote_open') return 'prose';
  return 'lines';
}
