/**
 * What crosses the process boundary between the parse pool and a parse child: a document and
 * its limits without functions (the tokenizer travels as a `TokenizerSpec`), and back the chunk
 * output or the error. Sent with Node's `advanced` IPC serialization: buffers arrive as
 * `Uint8Array`s.
 */
import type { ErrorCode, Stage } from '../core/errors.js';
import type { ChunkLimits, ChunkOutput, Document, TokenizerSpec } from '../core/types.js';

/** Chunk limits as data: everything but `countTokens`, which the child rebuilds from `tokenizer`. */
export type WireLimits = Omit<ChunkLimits, 'countTokens' | 'tokenizer'> & { tokenizer: TokenizerSpec };

/** One job: chunk this document with these limits. */
export interface ParseRequest {
  id: number;
  doc: Document;
  limits: WireLimits;
}

/** A job's answers: `started` when the child begins the document (its time limit starts), then the result. */
export type ParseReply =
  | { id: number; started: true }
  | { id: number; ok: true; out: ChunkOutput }
  | { id: number; ok: false; error: { code: ErrorCode; stage: Stage; message: string; retryable: boolean } };

/** A buffer that crossed the channel (a `Uint8Array`) as a `Buffer` again, without a copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
