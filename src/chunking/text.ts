/** Plain-text chunker: paragraphs (split at blank lines) packed into token-bounded chunks, no sections. */
import type { Chunk, ChunkLimits, Chunker, Document } from '../core/types.js';
import { chunkId, contentHash } from '../ids/index.js';
import { decodeText } from './decode.js';
import { packBlocks } from './pack.js';

const VERSION = 'text@1';

export const textChunker: Chunker = {
  version: VERSION,
  supports: (type) => type === 'text',
  async chunk(doc: Document, limits: ChunkLimits) {
    const text = decodeText(doc).replace(/^\uFEFF/, '');
    const chunks: Chunk[] = paragraphChunks(text, limits).map((t, n) => ({
      id: chunkId(doc.docId, '', n),
      section: '',
      index: n,
      modality: 'text',
      text: t,
      hash: contentHash(t, VERSION),
    }));
    return { chunks, metadata: {} };
  },
};

/** Splits text into paragraphs at blank lines and packs them; shared with the PDF chunker. */
export function paragraphChunks(text: string, limits: ChunkLimits): string[] {
  const paragraphs = text
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  return packBlocks(
    paragraphs.map((p) => ({ text: p, kind: 'prose' as const })),
    limits,
  );
}
