/** PDF chunker (pdf-parse v2): the text of each page, pages as sections `p1`, `p2`, ... */
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { Chunk, ChunkLimits, Chunker, Document } from '../core/types.js';
import { chunkId, contentHash } from '../ids/index.js';
import { paragraphChunks } from './text.js';

const VERSION = 'pdf@1';

export const pdfChunker: Chunker = {
  version: VERSION,
  supports: (type) => type === 'pdf',
  async chunk(doc: Document, limits: ChunkLimits) {
    const pages = await readPages(doc);
    const chunks: Chunk[] = [];
    for (const page of pages) {
      const section = `p${page.num}`;
      paragraphChunks(page.text, limits).forEach((text, n) => {
        chunks.push({
          id: chunkId(doc.docId, section, n),
          section,
          index: n,
          modality: 'text',
          text,
          hash: contentHash(text, VERSION),
        });
      });
    }
    return { chunks, metadata: {} };
  },
};

async function readPages(doc: Document): Promise<Array<{ num: number; text: string }>> {
  // Loaded with the first PDF (pdf.js is ~30 MB of memory a Markdown-only run does not need).
  const { PDFParse } = await import('pdf-parse');
  const parser = new PDFParse({ data: new Uint8Array(doc.bytes) });
  try {
    const result = await parser.getText();
    return result.pages.map((p) => ({ num: p.num, text: p.text }));
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    const cause =
      name === 'PasswordException'
        ? 'the PDF is encrypted (password protected)'
        : name === 'InvalidPDFException'
          ? `not a valid PDF (${errorMessage(err)})`
          : `cannot read the PDF: ${errorMessage(err)}`;
    throw new RagsyncError('PARSE', `${doc.path}: ${cause}`, { stage: 'parse', docId: doc.docId, cause: err });
  } finally {
    await parser.destroy().catch(() => undefined);
  }
}
