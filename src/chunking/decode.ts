import { RagsyncError } from '../core/errors.js';
import type { Document } from '../core/types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const cp1252 = new TextDecoder('windows-1252');

/**
 * Decodes a text document. UTF-8 (a BOM is dropped); bytes that are not valid UTF-8 are read as
 * Windows-1252 (a superset of Latin-1), the usual encoding of older text files. Content with NUL
 * bytes or mostly control characters is binary, not text: that is a parse error naming the file.
 */
export function decodeText(doc: Document): string {
  if (looksBinary(doc.bytes)) {
    throw new RagsyncError('PARSE', `${doc.path}: binary content in a ${doc.contentType} file`, {
      stage: 'parse',
      docId: doc.docId,
    });
  }
  try {
    return utf8.decode(doc.bytes);
  } catch {
    return cp1252.decode(doc.bytes);
  }
}

/** True when the first 8 KiB hold a NUL byte or more than 10% control characters. */
export function looksBinary(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 8192);
  let control = 0;
  for (const b of head) {
    if (b === 0) return true;
    if (b < 9 || (b > 13 && b < 32)) control++;
  }
  return head.length > 0 && control / head.length > 0.1;
}
