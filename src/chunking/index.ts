import { RagsyncError } from '../core/errors.js';
import type { ChunkLimits, Chunker, ContentType, Document } from '../core/types.js';
import { imageChunker } from './image.js';
import { markdownChunker } from './markdown.js';
import { pdfChunker } from './pdf.js';
import { textChunker } from './text.js';

export { approximateTokens } from './pack.js';

/** Every chunker, one per content type. */
export const CHUNKERS: readonly Chunker[] = [markdownChunker, textChunker, pdfChunker, imageChunker];

/** The chunker for a content type. */
export function chunkerFor(type: ContentType): Chunker {
  const chunker = CHUNKERS.find((c) => c.supports(type));
  if (!chunker) throw new RagsyncError('UNSUPPORTED', `no chunker for ${type}`, { stage: 'parse' });
  return chunker;
}

/**
 * What a document's chunks depend on besides its bytes: the chunker version and the token limit.
 * Stored in the document record; when it changes, the document is chunked again.
 */
export function chunkingSignature(type: ContentType, limits: ChunkLimits): string {
  return `${chunkerFor(type).version};max=${limits.maxTokens}`;
}

/** Chunks a document with the chunker for its content type. */
export function chunkDocument(doc: Document, limits: ChunkLimits) {
  return chunkerFor(doc.contentType).chunk(doc, limits);
}
