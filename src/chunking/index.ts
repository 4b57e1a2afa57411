/** The chunkers of this build, one per content type, behind the `Chunking` face the core calls. */
import { RagsyncError } from '../core/errors.js';
import type { Chunker, Chunking, ContentType } from '../core/types.js';
import { imageChunker } from './image.js';
import { markdownChunker } from './markdown.js';
import { pdfChunker } from './pdf.js';
import { textChunker } from './text.js';

const CHUNKERS: readonly Chunker[] = [markdownChunker, textChunker, pdfChunker, imageChunker];

function chunkerFor(type: ContentType): Chunker {
  const chunker = CHUNKERS.find((c) => c.supports(type));
  if (!chunker) throw new RagsyncError('UNSUPPORTED', `no chunker for ${type}`, { stage: 'parse' });
  return chunker;
}

/** Chunks a document with the chunker for its content type; the signature is that chunker's version and the token limit. */
export const chunking: Chunking = {
  chunk: (doc, limits) => chunkerFor(doc.contentType).chunk(doc, limits),
  signature: (type, limits) => {
    const base = `${chunkerFor(type).version};max=${limits.maxTokens}`;
    if (type === 'image') return `${base};img=${limits.imageSize ?? 0}`;
    if (type !== 'pdf') return base;
    const { minSide = 0, max = 0 } = limits.pdfImages ?? {};
    return `${base};img=${limits.imageSize ?? 0},${minSide},${max}`;
  },
};
