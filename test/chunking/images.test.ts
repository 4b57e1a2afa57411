import path from 'node:path';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { beforeEach, describe, expect, it } from 'vitest';
import { chunking } from '../../src/chunking/index.js';
import { approximateTokens } from '../../src/core/tokens.js';
import type { ChunkLimits, ContentType, Document } from '../../src/core/types.js';
import { contentHash, docId } from '../../src/ids/index.js';
// @ts-expect-error: a plain ESM script without type declarations
import { quadrants, writeHugePng, writePdfWithImage } from '../../scripts/hostile-files.mjs';
import { tempDir } from '../helpers.js';

const limits: ChunkLimits = {
  maxTokens: 40,
  countTokens: approximateTokens,
  imageSize: 32,
  maxImagePixels: 100_000_000,
  pdfImages: { minSide: 128, max: 32 },
};

function doc(bytes: Buffer, file: string, contentType: ContentType): Document {
  return { source: 'docs', path: file, docId: docId('docs', file), contentType, bytes, size: bytes.length, mtimeMs: 0 };
}

let dir: string;
beforeEach(async () => {
  dir = await tempDir('ragsync-images-');
});

const picture = quadrants(160) as { rgb: Buffer; width: number; height: number };

describe('images decoded small', () => {
  it('refuses an image over maxImagePixels from its header, naming the file and the limit', async () => {
    const file = path.join(dir, 'huge.png');
    await writeHugePng(file, 16_000);
    const err = await chunking.chunk(doc(await readFile(file), 'huge.png', 'image'), limits).catch((e: unknown) => e);
    expect((err as Error).message).toBe('huge.png: the image is 16000 × 16000 (256 MP), over 100 MP (limit maxImagePixels)');
  });

  it("shrinks a large image on load to the model's input size (shortest side)", async () => {
    const big = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#c03030' } })
      .jpeg()
      .toBuffer();
    const { chunks } = await chunking.chunk(doc(big, 'photo.jpg', 'image'), limits);
    const meta = await sharp(chunks[0]!.image!).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([64, 32, 'jpeg']);
  });

  it('keeps the bytes of an image already about the input size', async () => {
    const small = await sharp({ create: { width: 30, height: 20, channels: 3, background: '#3030c0' } })
      .png()
      .toBuffer();
    const { chunks } = await chunking.chunk(doc(small, 'small.png', 'image'), limits);
    expect(chunks[0]!.image!.equals(small)).toBe(true);
  });
});

describe('pdf pages and images', () => {
  it('gives text chunks their page, and a raster image an image chunk of its page, decoded small', async () => {
    const file = path.join(dir, 'figure.pdf');
    await writePdfWithImage(file, picture);
    const { chunks, textless } = await chunking.chunk(doc(await readFile(file), 'figure.pdf', 'pdf'), limits);
    expect(textless).toBeUndefined();
    expect(chunks.map((c) => [c.id, c.modality, c.page])).toEqual([
      ['docs:figure.pdf#p1/0', 'text', 1],
      ['docs:figure.pdf#p1/img/0', 'image', 1],
    ]);
    expect(chunks[0]!.text).toContain('Figure one shows the test pattern.');
    const meta = await sharp(chunks[1]!.image!).metadata();
    expect([meta.width, meta.height]).toEqual([32, 32]);
  });

  it('skips images at or under the size threshold and stops at the cap', async () => {
    const file = path.join(dir, 'figure.pdf');
    await writePdfWithImage(file, picture);
    const bytes = await readFile(file);
    const skip = await chunking.chunk(doc(bytes, 'f.pdf', 'pdf'), { ...limits, pdfImages: { minSide: 160, max: 32 } });
    const none = await chunking.chunk(doc(bytes, 'f.pdf', 'pdf'), { ...limits, pdfImages: { minSide: 0, max: 0 } });
    expect(skip.chunks.filter((c) => c.modality === 'image')).toEqual([]);
    expect(none.chunks.filter((c) => c.modality === 'image')).toEqual([]);
  });

  it('marks a PDF without any text as textless (a scan), its image still indexed', async () => {
    const file = path.join(dir, 'scan.pdf');
    await writePdfWithImage(file, { ...picture, text: '' });
    const { chunks, textless } = await chunking.chunk(doc(await readFile(file), 'scan.pdf', 'pdf'), limits);
    expect(textless).toBe(true);
    expect(chunks.map((c) => c.id)).toEqual(['docs:scan.pdf#p1/img/0']);
  });

  it('changes the hash of a chunk whose page changed, not its text', async () => {
    const file = path.join(dir, 'figure.pdf');
    await writePdfWithImage(file, picture);
    const { chunks } = await chunking.chunk(doc(await readFile(file), 'figure.pdf', 'pdf'), limits);
    expect(chunks[0]!.hash).not.toBe(contentHash(chunks[0]!.text, 'pdf@2'));
  });
});
