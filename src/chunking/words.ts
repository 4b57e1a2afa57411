/**
 * Cutting a text with no usable sentence boundary into pieces that fit a token budget: between
 * words (at whitespace), and a word too long for the budget between characters. `Intl.Segmenter`
 * (word granularity) is not used: it costs about 1 µs a word and, on a long string, time per word
 * in proportion to the string. Instead a piece is found by counting a few candidate prefixes of
 * at most `maxChars` characters (estimated from the text's characters per token, then corrected),
 * so the tokenizer sees each character a few times, never an unbounded string.
 */
import type { ChunkLimits } from '../core/types.js';
import { type Span, cutChars, isSpace } from './segment.js';

/** A piece of text, its offset in the text it was cut from, and its exact token count. */
export type Counted = Span & { tokens: number };

const TRIES = 6;

/** Pieces of `text` (each trimmed, non-empty, at most `room` tokens and `cap` characters) in order. */
export function* cutWords(text: string, limits: ChunkLimits, room: number, cap: number): Generator<Counted> {
  let pos = skipSpace(text, 0);
  let ratio = 4;
  while (pos < text.length) {
    const piece =
      fitWords(text, pos, limits, room, Math.min(cap, Math.max(16, Math.ceil(room * ratio * 0.95))), cap) ??
      cutWord(text, pos, limits, room, cap);
    yield piece;
    ratio = Math.max(1, piece.text.length / Math.max(1, piece.tokens));
    pos = skipSpace(text, piece.start + piece.text.length);
  }
}

/**
 * The longest run of whole words from `pos` that fits, found in at most `TRIES` counts starting
 * from a guess of `len` characters; undefined when the first word alone is longer than the guesses.
 */
function fitWords(text: string, pos: number, limits: ChunkLimits, room: number, len: number, cap: number): Counted | undefined {
  let best: Counted | undefined;
  let lo = 0;
  let hi = Infinity;
  for (let t = 0; t < TRIES; t++) {
    const end = wordEnd(text, pos, pos + len);
    if (end === -1) break;
    const piece = text.slice(pos, end);
    const tokens = limits.countTokens(piece);
    if (tokens <= room) {
      best = { text: piece, start: pos, tokens };
      lo = len;
      if (end >= text.length || tokens >= room * 0.9 || len >= cap) break;
      len = Math.min(cap, hi - 1, Math.floor((len * room) / Math.max(1, tokens)));
    } else {
      hi = len;
      len = Math.floor(((len * room) / tokens) * 0.95);
    }
    if (len <= lo || len >= hi) break;
  }
  return best;
}

/** The first word from `pos` as a piece when it fits, else its first piece cut between characters. */
function cutWord(text: string, pos: number, limits: ChunkLimits, room: number, cap: number): Counted {
  let stop = pos;
  while (stop < text.length && stop - pos <= cap && !isSpace(text.charCodeAt(stop))) stop++;
  const word = text.slice(pos, stop);
  if (stop - pos <= cap) {
    const tokens = limits.countTokens(word);
    if (tokens <= room) return { text: word, start: pos, tokens };
  }
  for (const c of cutChars(word.slice(0, cap), limits, room, cap)) return { ...c, start: pos };
  throw new Error('unreachable: a non-empty word has a first piece');
}

/** End of the last whole word in `[pos, limit)` (the text end when `limit` reaches it), or -1 when there is none. */
function wordEnd(text: string, pos: number, limit: number): number {
  let i = Math.min(limit, text.length);
  if (i < text.length) while (i > pos && !isSpace(text.charCodeAt(i))) i--;
  while (i > pos && isSpace(text.charCodeAt(i - 1))) i--;
  return i > pos ? i : -1;
}

function skipSpace(text: string, pos: number): number {
  while (pos < text.length && isSpace(text.charCodeAt(pos))) pos++;
  return pos;
}
