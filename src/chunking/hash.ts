import { contentHash } from '../ids/index.js';

/**
 * The content hash of a text chunk: its text, where it is (source lines, section heading) and the
 * chunker version, so that a row whose text stayed but whose lines moved is rewritten too.
 */
export function chunkHash(text: string, version: string, lines?: readonly [number, number], heading?: string): string {
  return contentHash(text, JSON.stringify([version, lines ?? null, heading ?? null]));
}
