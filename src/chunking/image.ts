/**
 * Image chunker: one image chunk per file; its text is the file name, for display and keyword
 * search. The image is decoded small (sharp): refused from its header when it has more pixels than
 * `maxImagePixels`, else shrunk on load to the model's input size, so the chunk holds bytes the
 * embedder decodes cheaply whatever the file's dimensions.
 */
import path from 'node:path';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { ChunkLimits, Chunker, Document } from '../core/types.js';
import { chunkId, contentHash } from '../ids/index.js';

const VERSION = 'image@2';

/** Formats the embedder decodes as they are; others are re-encoded. */
const KEPT = new Set(['jpeg', 'png', 'webp']);

export const imageChunker: Chunker = {
  version: VERSION,
  supports: (type) => type === 'image',
  async chunk(doc: Document, limits: ChunkLimits) {
    if (doc.size === 0) return { chunks: [], metadata: {} };
    const image = await smallImage(doc.bytes, limits, doc.path);
    return {
      chunks: [
        {
          id: chunkId(doc.docId, '', 0),
          section: '',
          index: 0,
          modality: 'image' as const,
          text: path.posix.basename(doc.path),
          image,
          hash: contentHash(image, VERSION),
        },
      ],
      metadata: {},
    };
  },
};

type Sharp = (typeof import('sharp'))['default'];
let loaded: Promise<Sharp> | undefined;

/** sharp, loaded with the first image; one libvips thread and no cache (one parse process per core at most). */
function sharpLib(): Promise<Sharp> {
  loaded ??= import('sharp').then((m) => {
    const sharp = m.default;
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  });
  return loaded;
}

/**
 * The image as the embedder should get it: the same bytes when it is already about the model's
 * input size (`limits.imageSize`, shortest side) in a format it decodes, else decoded with
 * shrink-on-load and re-encoded with its shortest side at that size. Throws a `PARSE` error
 * naming `what` for an image over `limits.maxImagePixels` (read from its header, before any
 * decoding) or one that cannot be decoded.
 */
export async function smallImage(bytes: Buffer, limits: ChunkLimits, what: string): Promise<Buffer> {
  const sharp = await sharpLib();
  const max = limits.maxImagePixels ?? 0x3fff * 0x3fff;
  const fail = (why: string, cause?: unknown) => new RagsyncError('PARSE', `${what}: ${why}`, { stage: 'parse', cause });
  let meta;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw fail(`cannot decode the image: ${errorMessage(err)}`, err);
  }
  const { width = 0, height = 0, format = '' } = meta;
  if (width * height > max) {
    const mp = (n: number) => `${Math.round(n / 1e5) / 10} MP`;
    throw fail(`the image is ${width} × ${height} (${mp(width * height)}), over ${mp(max)} (limit maxImagePixels)`);
  }
  const size = limits.imageSize;
  if (!size || (Math.min(width, height) <= size && KEPT.has(format))) return bytes;
  try {
    const img = sharp(bytes, { limitInputPixels: max, sequentialRead: true }).resize({
      width: size,
      height: size,
      fit: 'outside',
      withoutEnlargement: true,
    });
    return await (format === 'jpeg' ? img.jpeg({ quality: 90 }) : img.png()).toBuffer();
  } catch (err) {
    throw fail(`cannot decode the image: ${errorMessage(err)}`, err);
  }
}
