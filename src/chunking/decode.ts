import { RagsyncError } from '../core/errors.js';
import type { Document } from '../core/types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
// Windows-1252 differs from Latin-1 only in 0x80-0x9F (Node's TextDecoder reads it as Latin-1).
const CP1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

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
    return decodeCp1252(doc.bytes);
  }
}

/** Decodes Windows-1252 bytes. */
export function decodeCp1252(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[\u0080-\u009f]/g, (ch) => CP1252_HIGH[ch.charCodeAt(0) - 0x80]!);
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
