/**
 * Markdown chunker. The heading hierarchy gives the section path (one slug per level, siblings
 * disambiguated); top-level blocks (paragraphs, lists, code fences, tables, quotes) are packed
 * into token-bounded chunks inside their section and never cross a section boundary. Each chunk
 * starts with its heading trail (`Guide > Install`), so every chunk says where it is, and carries
 * its source lines and its section's heading. Raw HTML and `data:` URIs are reduced to what a
 * reader sees (`blocks.ts`, `reader.ts`). Front matter (YAML between `---` lines at the top) becomes document
 * metadata, not chunk text.
 */
import { parse as parseYaml } from 'yaml';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { Chunk, ChunkLimits, Chunker, DocMetadata, Document } from '../core/types.js';
import { chunkId } from '../ids/index.js';
import { type Section, sections } from './blocks.js';
import { decodeText } from './decode.js';
import { chunkHash } from './hash.js';
import { maxChars, packBlocks } from './pack.js';
import { cutChars } from './segment.js';

const VERSION = 'markdown@2';
const FRONT_MATTER = /^---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;

export const markdownChunker: Chunker = {
  version: VERSION,
  supports: (type) => type === 'markdown',
  async chunk(doc: Document, limits: ChunkLimits) {
    const source = decodeText(doc).replace(/^\uFEFF/, '');
    const { metadata, body } = splitFrontMatter(source, doc);
    const chunks: Chunk[] = [];
    for (const section of sections(body)) {
      if (section.blocks.length > 0) chunks.push(...sectionChunks(doc, section, limits));
    }
    return { chunks, metadata };
  },
};

function sectionChunks(doc: Document, section: Section, limits: ChunkLimits): Chunk[] {
  const context = trailLine(section.trail, limits);
  const budget = Math.max(16, limits.maxTokens - (context ? limits.countTokens(`${context}\n\n`) : 0));
  const heading = section.trail[section.trail.length - 1];
  return packBlocks(section.blocks, limits, budget).map((p, n) => {
    const text = context ? `${context}\n\n${p.text}` : p.text;
    return {
      id: chunkId(doc.docId, section.path, n),
      section: section.path,
      index: n,
      modality: 'text',
      text,
      ...(p.lines ? { lines: p.lines } : {}),
      ...(heading !== undefined ? { heading } : {}),
      hash: chunkHash(text, VERSION, p.lines, heading),
    };
  });
}

/** The heading trail a chunk starts with (`Guide > Install`), cut to half the token limit when headings are huge. */
function trailLine(trail: string[], limits: ChunkLimits): string {
  const line = trail.join(' > ');
  const half = Math.max(1, Math.floor(limits.maxTokens / 2));
  if (line.length <= maxChars(half) && limits.countTokens(`${line}\n\n`) <= half) return line;
  for (const piece of cutChars(line.slice(0, maxChars(half)), limits, half - 1, maxChars(half))) return piece.text.trim();
  return '';
}

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
  // Keep line numbers of the body unchanged so markdown-it's line maps are the file's lines.
  const blank = '\n'.repeat(m[0].split('\n').length - 1);
  return { metadata, body: blank + source.slice(m[0].length) };
}
