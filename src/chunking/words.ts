/**
 * Cutting a text with no usable sentence boundary into pieces that fit a token budget: between
 * words, and a word too long for the budget between characters. A piece takes words while their
 * counts add up to the budget (each distinct word counted once, from a cache), the word that
 * overflows may be cut at an `Intl.Segmenter` boundary (`mill` of `mill,`), and the piece is then
 * counted whole; where the tokenizer's counts do not add up, the piece is shortened until it fits.
 * `Intl.Segmenter` is not run over the text (it costs about 1 µs a word and, on a long string,
 * time per word in proportion to the string) and the tokenizer never sees more than `cap`
 * characters at once: linear in the text.
 */
import type { ChunkLimits } from '../core/types.js';
import { type Span, cutChars, isSpace } from './segment.js';

/** A piece of text, its offset in the text it was cut from, and its exact token count. */
export type Counted = Span & { tokens: number };

/** Words longer than this are not cut at segment boundaries when they overflow (nor cached). */
const LONG_WORD = 256;
const CACHE_SIZE = 50_000;
const wordSegments = new Intl.Segmenter('en', { granularity: 'word' });

/** Pieces of `text` (each trimmed, non-empty, at most `room` tokens and `cap` characters) in order. */
export function* cutWords(text: string, limits: ChunkLimits, room: number, cap: number): Generator<Counted> {
  const count = cachedCounter(limits);
  let pos = skipSpace(text, 0);
  while (pos < text.length) {
    const end = takeWords(text, pos, count, room, cap);
    const piece = end > pos ? shorten(text, pos, end, limits, room) : undefined;
    const out = piece ?? firstPiece(text, pos, limits, room, cap);
    yield out;
    pos = skipSpace(text, out.start + out.text.length);
  }
}

/** Where a piece from `pos` ends when words are added while their counts fit (`pos` when the first word does not fit). */
function takeWords(text: string, pos: number, count: (s: string) => number, room: number, cap: number): number {
  let end = pos;
  let used = 0;
  for (;;) {
    const start = skipSpace(text, end);
    if (start >= text.length) return end;
    const stop = wordStop(text, start, pos + cap + 1);
    if (stop - pos > cap) return end;
    const tokens = count(text.slice(start, stop));
    if (used + tokens <= room) {
      used += tokens;
      end = stop;
      continue;
    }
    if (stop - start > LONG_WORD) return end;
    // The overflowing word: keep the longest run of its segments that still fits.
    let inner = start;
    for (const s of wordSegments.segment(text.slice(start, stop))) {
      const t = count(s.segment);
      if (used + t > room) break;
      used += t;
      inner = start + s.index + s.segment.length;
    }
    return inner > start ? inner : end;
  }
}

/** The piece `[pos, end)`, counted whole, shortened at word ends until it fits; undefined when no word end fits. */
function shorten(text: string, pos: number, end: number, limits: ChunkLimits, room: number): Counted | undefined {
  for (let e = end; e > pos;) {
    const piece = text.slice(pos, e).trimEnd();
    const tokens = limits.countTokens(piece);
    if (tokens <= room) return { text: piece, start: pos, tokens };
    const target = pos + Math.floor(((e - pos) * room * 0.95) / tokens);
    e = Math.min(e - 1, wordEndBefore(text, pos, target));
  }
  return undefined;
}

/** A first word too long for the room (or for `cap`): its first piece, cut between characters. */
function firstPiece(text: string, pos: number, limits: ChunkLimits, room: number, cap: number): Counted {
  const stop = wordStop(text, pos, pos + cap);
  for (const c of cutChars(text.slice(pos, Math.max(stop, pos + 1)), limits, room, cap)) return { ...c, start: pos };
  throw new Error('unreachable: a non-empty word has a first piece');
}

/** Counts words with a bounded cache: a text's words repeat, and each tokenizer call has a fixed cost. */
function cachedCounter(limits: ChunkLimits): (word: string) => number {
  const cache = new Map<string, number>();
  return (word) => {
    if (word.length > LONG_WORD) return limits.countTokens(word);
    let n = cache.get(word);
    if (n === undefined) {
      if (cache.size >= CACHE_SIZE) cache.clear();
      n = limits.countTokens(word);
      cache.set(word, n);
    }
    return n;
  };
}

/** End of the word starting at `start` (the next whitespace), or `limit` when it reaches that far. */
function wordStop(text: string, start: number, limit: number): number {
  let i = start;
  const max = Math.min(text.length, limit);
  while (i < max && !isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** End of the last whole word that ends at or before `limit` (after `pos`), or `pos` when there is none. */
function wordEndBefore(text: string, pos: number, limit: number): number {
  let i = Math.max(pos, Math.min(limit, text.length));
  if (i < text.length) while (i > pos && !isSpace(text.charCodeAt(i))) i--;
  while (i > pos && isSpace(text.charCodeAt(i - 1))) i--;
  return i;
}

function skipSpace(text: string, pos: number): number {
  while (pos < text.length && isSpace(text.charCodeAt(pos))) pos++;
  return pos;
}
