/** Plain-text chunker: paragraphs (split at blank lines) packed into token-bounded chunks, no sections. */
import type { Chunk, ChunkLimits, Chunker, Document } from '../core/types.js';
import { chunkId } from '../ids/index.js';
import { decodeText } from './decode.js';
import { chunkHash } from './hash.js';
import { type Block, type Packed, packBlocks } from './pack.js';

const VERSION = 'text@2';

export const textChunker: Chunker = {
  version: VERSION,
  supports: (type) => type === 'text',
  async chunk(doc: Document, limits: ChunkLimits) {
    const text = decodeText(doc).replace(/^\uFEFF/, '');
    const chunks: Chunk[] = packBlocks(paragraphs(text), limits).map((p, n) => ({
      id: chunkId(doc.docId, '', n),
      section: '',
      index: n,
      modality: 'text',
      text: p.text,
      ...where(p),
      hash: chunkHash(p.text, VERSION, p.lines),
    }));
    return { chunks, metadata: {} };
  },
};

/** Splits text into paragraphs at blank lines and packs them; shared with the PDF chunker. */
export function paragraphChunks(text: string, limits: ChunkLimits): string[] {
  return packBlocks(paragraphs(text), limits).map((p) => p.text);
}

/** The paragraphs of a text (split at blank lines, trimmed), each with its first source line; one linear scan. */
function paragraphs(text: string): Block[] {
  const normal = text.replace(/\r\n?/g, '\n');
  const out: Block[] = [];
  const gap = /\n[ \t]*\n/g;
  let start = 0;
  let line = 1;
  for (;;) {
    const m = gap.exec(normal);
    const end = m ? m.index : normal.length;
    const raw = normal.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const p = raw.trim();
    if (p !== '') out.push({ text: p, kind: 'prose', line: line + count(raw, '\n', lead) });
    if (!m) return out;
    line += count(raw, '\n', raw.length) + count(m[0], '\n', m[0].length);
    start = m.index + m[0].length;
    gap.lastIndex = start;
  }
}

function count(text: string, ch: string, upTo: number): number {
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1 && i < upTo; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

function where(p: Packed): Pick<Chunk, 'lines'> {
  return p.lines ? { lines: p.lines } : {};
}
