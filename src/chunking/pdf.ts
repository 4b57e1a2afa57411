/**
 * PDF chunker (pdf-parse v2): the text of each page, pages as sections `p1`, `p2`, ...; each
 * chunk carries its page. Raster images of a page with both sides over `pdfImages.minSide` become
 * image chunks of the section `p<page>/img` (`<doc>#p3/img/0`), decoded small as image files are,
 * at most `pdfImages.max` per PDF. A PDF with no text on any page is marked `textless`.
 */
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { Chunk, ChunkLimits, ChunkOutput, Chunker, Document } from '../core/types.js';
import { chunkId, contentHash } from '../ids/index.js';
import { smallImage } from './image.js';
import { paragraphChunks } from './text.js';

const VERSION = 'pdf@2';

type Parser = InstanceType<(typeof import('pdf-parse'))['PDFParse']>;

export const pdfChunker: Chunker = {
  version: VERSION,
  supports: (type) => type === 'pdf',
  async chunk(doc: Document, limits: ChunkLimits): Promise<ChunkOutput> {
    return withParser(doc, async (parser) => {
      const pages = (await parser.getText()).pages;
      const chunks: Chunk[] = [];
      for (const { num: page, text: pageText } of pages) {
        const section = `p${page}`;
        paragraphChunks(pageText, limits).forEach((text, n) => {
          const hash = contentHash(text, `${VERSION}\0page=${page}`);
          chunks.push({ id: chunkId(doc.docId, section, n), section, index: n, modality: 'text', text, hash, page });
        });
      }
      const textless = chunks.length === 0 && pages.length > 0;
      chunks.push(...(await imageChunks(doc, parser, pages.length, limits)));
      return { chunks, metadata: {}, ...(textless ? { textless: true as const } : {}) };
    });
  },
};

/** The image chunks of a PDF, page by page, stopping at the cap (a page's images are decoded only while under it). */
async function imageChunks(doc: Document, parser: Parser, pages: number, limits: ChunkLimits): Promise<Chunk[]> {
  const max = limits.pdfImages?.max ?? 0;
  const out: Chunk[] = [];
  for (let page = 1; page <= pages && out.length < max; page++) {
    const params = { partial: [page], imageThreshold: limits.pdfImages?.minSide ?? 0, imageDataUrl: false, imageBuffer: true };
    const found = (await parser.getImage(params)).pages[0]?.images ?? [];
    const section = `p${page}/img`;
    for (const [n, img] of found.entries()) {
      if (out.length >= max) break;
      const image = await smallImage(Buffer.from(img.data), limits, `${doc.path} (page ${page}, image ${n + 1})`);
      const text = `${doc.path.split('/').pop()} p. ${page}, image ${n + 1}`;
      const hash = contentHash(image, `${VERSION}\0page=${page}`);
      out.push({ id: chunkId(doc.docId, section, n), section, index: n, modality: 'image', text, image, hash, page });
    }
  }
  return out;
}

async function withParser<T>(doc: Document, use: (parser: Parser) => Promise<T>): Promise<T> {
  // Loaded with the first PDF (pdf.js is ~30 MB of memory a Markdown-only run does not need).
  const { PDFParse } = await import('pdf-parse');
  const parser = new PDFParse({ data: new Uint8Array(doc.bytes) });
  try {
    return await use(parser);
  } catch (err) {
    if (err instanceof RagsyncError) throw err;
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
