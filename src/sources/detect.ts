/**
 * Content types by file extension, checked against the file's first bytes (magic numbers for
 * PDF, PNG, JPEG, WebP). Hand-written: four signatures do not warrant a dependency.
 */
import type { ContentType } from '../core/types.js';

export const EXTENSIONS: Readonly<Record<string, ContentType>> = {
  md: 'markdown',
  markdown: 'markdown',
  mdx: 'markdown',
  txt: 'text',
  text: 'text',
  pdf: 'pdf',
  png: 'image',
  jpg: 'image',
  jpeg: 'image',
  webp: 'image',
};

/** The content type a file name claims, or null for an extension ragsync does not index. */
export function typeFromName(name: string): ContentType | null {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return null;
  return EXTENSIONS[name.slice(dot + 1).toLowerCase()] ?? null;
}

/**
 * Why the bytes do not match the claimed type, or null when they do. Empty files match any
 * type. Text types are checked when decoded (binary content is refused there).
 */
export function contentMismatch(type: ContentType, bytes: Buffer, name: string): string | null {
  if (bytes.length === 0 || type === 'markdown' || type === 'text') return null;
  if (type === 'pdf') {
    return bytes.subarray(0, 1024).includes('%PDF-') ? null : 'not a PDF (no %PDF- header)';
  }
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  const isPng = bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const isJpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const isWebp = bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP';
  if (isPng || isJpeg || isWebp) return null;
  return `not a ${ext.toUpperCase()} image (unknown image signature)`;
}
