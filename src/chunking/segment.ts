/**
 * Bounded segmentation. `Intl.Segmenter` costs time per segment in proportion to the whole string
 * it segments (a 400 KB line cut into words took 143 s, 100 KB 1.7 s), and a tokenizer is slow
 * on a long string: so neither ever sees more than a window of characters at once, and a run with
 * no boundary at all is cut between characters. Everything here is linear in its input.
 */
import type { ChunkLimits } from '../core/types.js';

/** A piece of a text with its offset in that text. */
export interface Span {
  text: string;
  start: number;
}

/** The most characters handed to `Intl.Segmenter` at once. */
export const WINDOW = 8192;
/** How far from a window's end a sentence boundary must be to be trusted (ICU looks ahead). */
const MARGIN = 256;

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });

/**
 * The sentences of `text` (trimmed, non-empty) with their offsets. A text of at most `WINDOW`
 * characters is segmented whole; a longer one a window at a time, trusting only boundaries that
 * lie `MARGIN` before the window's end. A sentence longer than a window comes in window-sized
 * spans cut at whitespace (or between characters when it has none).
 */
export function* sentenceSpans(text: string): Generator<Span> {
  let pos = 0;
  while (pos < text.length) {
    const end = Math.min(text.length, pos + WINDOW);
    const window = text.slice(pos, end);
    const last = end === text.length;
    let next = pos;
    for (const s of sentences.segment(window)) {
      const stop = pos + s.index + s.segment.length;
      if (!last && stop > end - MARGIN) break;
      yield* trimmed(s.segment, pos + s.index);
      next = stop;
    }
    if (next === pos) {
      next = cutPoint(text, pos, end);
      yield* trimmed(text.slice(pos, next), pos);
    }
    pos = next;
  }
}

/**
 * Cuts a text with no usable boundary between characters (never inside a surrogate pair) into
 * pieces of at most `maxChars` characters that each count at most `room` tokens (a single
 * character over the room is a piece of its own). Each piece is counted as it is emitted.
 */
export function* cutChars(text: string, limits: ChunkLimits, room: number, maxChars: number): Generator<Span & { tokens: number }> {
  let pos = 0;
  let guess = Math.min(maxChars, Math.max(16, room * 4));
  while (pos < text.length) {
    let len = fitCodePoints(text, pos, Math.min(guess, text.length - pos));
    let tokens = limits.countTokens(text.slice(pos, pos + len));
    while (tokens > room && len > 1) {
      const shrunk = Math.min(len - 1, Math.floor((len * room * 0.9) / tokens));
      len = fitCodePoints(text, pos, Math.max(1, shrunk));
      tokens = limits.countTokens(text.slice(pos, pos + len));
    }
    yield { text: text.slice(pos, pos + len), start: pos, tokens };
    pos += len;
    guess = Math.min(maxChars, Math.ceil(len * 1.5) + 1);
  }
}

/** `len` moved back (or forward, when it would be 0) so that text[pos+len] does not split a surrogate pair. */
function fitCodePoints(text: string, pos: number, len: number): number {
  const at = pos + len;
  if (at < text.length && isLowSurrogate(text.charCodeAt(at)) && isHighSurrogate(text.charCodeAt(at - 1))) {
    return len > 1 ? len - 1 : len + 1;
  }
  return len;
}

/** Where to end a window `[pos, end)`: just after its last whitespace, else at `end` (not inside a surrogate pair). */
function cutPoint(text: string, pos: number, end: number): number {
  if (end >= text.length) return text.length;
  for (let i = end - 1; i > pos; i--) if (isSpace(text.charCodeAt(i))) return i + 1;
  return pos + fitCodePoints(text, pos, end - pos);
}

function* trimmed(segment: string, start: number): Generator<Span> {
  const t = segment.trim();
  if (t !== '') yield { text: t, start: start + segment.indexOf(t[0]!) };
}

/** Whitespace as `String.prototype.trim` sees it. */
export function isSpace(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0xfeff ||
    c === 0x1680 ||
    c === 0x3000 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f
  );
}
const isHighSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;
