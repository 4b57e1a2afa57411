/** What a search request carries, checked the same way by the CLI, the HTTP API and MCP: filters and an image. */
import { RagsyncError } from './errors.js';
import type { SearchFilter } from './search-types.js';

/** `--filter` / `filter=` keys and the hit field each matches exactly. */
const FILTER_KEYS = { source: 'source', modality: 'modality', doc: 'docId', path: 'path' } as const;

/**
 * `key=value` items as a filter (values are data only: the sinks pass them as parameters);
 * undefined for none. A bad item is a `USAGE` error naming it (the caller says which flag or field).
 */
export function parseFilters(items: readonly string[]): SearchFilter | undefined {
  if (items.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    const key = item.slice(0, eq) as keyof typeof FILTER_KEYS;
    if (eq <= 0 || !(key in FILTER_KEYS)) {
      throw usage(`${JSON.stringify(item)}: expected KEY=VALUE with KEY one of ${Object.keys(FILTER_KEYS).join(', ')}`);
    }
    const value = item.slice(eq + 1);
    if (key === 'modality' && value !== 'text' && value !== 'image') throw usage(`modality=${value}: expected text or image`);
    out[FILTER_KEYS[key]] = value;
  }
  return out as SearchFilter;
}

function usage(message: string): RagsyncError {
  return new RagsyncError('USAGE', message, { stage: 'config' });
}

// PNG, JPEG, GIF, WebP (RIFF), BMP: the formats the image decoder reads.
const IMAGE_MAGIC = [
  [0x89, 0x50, 0x4e, 0x47],
  [0xff, 0xd8, 0xff],
  [0x47, 0x49, 0x46],
  [0x52, 0x49, 0x46, 0x46],
  [0x42, 0x4d],
];

/** Whether `bytes` start as an image the decoder reads (PNG, JPEG, GIF, WebP or BMP). */
export function looksLikeImage(bytes: Uint8Array): boolean {
  return IMAGE_MAGIC.some((m) => m.every((b, i) => bytes[i] === b));
}
