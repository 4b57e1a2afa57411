/**
 * Packing of text blocks into token-bounded chunks, shared by the text chunkers. Linear in the
 * input: the tokenizer only ever counts strings of at most `maxChars(budget)` characters (a longer
 * block or line is split before it is counted), and every chunk is counted once more as a whole
 * before it is emitted, so each fits its budget as `countTokens` counts it.
 */
import type { ChunkLimits } from '../core/types.js';
import { type Span, cutChars, sentenceSpans } from './segment.js';
import { cutWords } from './words.js';

/** A unit of text that is kept whole when it fits; `kind` says how to split it when it does not. */
export interface Block {
  text: string;
  kind: 'prose' | 'fence' | 'table' | 'lines';
  /** Source line (1-based) of the block's first line. */
  line?: number;
  /** False when `text` is not the source verbatim (its line breaks do not map to source lines). */
  verbatim?: boolean;
  /** Last source line of the block, when `text` is not verbatim. */
  lastLine?: number;
}

/** A chunk's text and, when its blocks have lines, the first and last source line it holds. */
export interface Packed {
  text: string;
  lines?: [number, number];
}

/** A piece of a block: its text, its token count (`exact` when counted as a whole), its offsets in the block's text. */
interface Piece {
  text: string;
  tokens: number;
  start: number;
  end: number;
  exact: boolean;
}

/** A piece in a chunk being packed; `exact` when its count is of its whole text. */
interface Entry {
  text: string;
  lines?: [number, number] | undefined;
  exact: boolean;
}

/** The longest string a chunk (or anything counted) may be: about 32 characters a token. */
export function maxChars(budget: number): number {
  return Math.max(2048, budget * 32);
}

/**
 * Greedily packs blocks, in order, into chunk texts of at most `budget` tokens each (blocks
 * joined by a blank line). A block over the limit is split first (`splitBlock`).
 */
export function packBlocks(blocks: Block[], limits: ChunkLimits, budget = limits.maxTokens): Packed[] {
  const cap = maxChars(budget);
  const out: Packed[] = [];
  let current: Entry[] = [];
  let used = 0;
  let chars = 0;
  const flush = (): void => {
    if (current.length > 0) emit(out, current, limits, budget);
    current = [];
    used = 0;
    chars = 0;
  };
  for (const block of blocks) {
    const tokens = block.text.length <= cap ? limits.countTokens(block.text) : Infinity;
    const pieces =
      tokens > budget ? splitBlock(block, limits, budget) : [{ text: block.text, tokens, start: 0, end: block.text.length, exact: true }];
    const lineOf = lineFinder(block);
    for (const piece of pieces) {
      if (used + piece.tokens > budget || chars + piece.text.length + 2 > cap) flush();
      current.push({ text: piece.text, lines: lineOf(piece), exact: piece.exact });
      used += piece.tokens;
      chars += piece.text.length + 2;
    }
  }
  flush();
  return out;
}

/** Emits one chunk of pieces; in the rare case the whole counts over the budget, cuts it to fit. */
function emit(out: Packed[], pieces: Entry[], limits: ChunkLimits, budget: number): void {
  const text = pieces.map((p) => p.text).join('\n\n');
  const first = pieces[0]!.lines;
  const last = pieces[pieces.length - 1]!.lines;
  const lines: [number, number] | undefined = first && last ? [first[0], last[1]] : undefined;
  if ((pieces.length === 1 && pieces[0]!.exact) || limits.countTokens(text) <= budget) {
    out.push(lines ? { text, lines } : { text });
    return;
  }
  for (const cut of cutChars(text, limits, budget, maxChars(budget))) {
    const t = cut.text.trim();
    if (t !== '') out.push(lines ? { text: t, lines } : { text: t });
  }
}

/** Maps a piece of a block to its source lines (the block's own range when its text is not verbatim). */
function lineFinder(block: Block): (piece: { start: number; end: number }) => [number, number] | undefined {
  if (block.line === undefined) return () => undefined;
  const first = block.line;
  if (block.verbatim === false) return () => [first, block.lastLine ?? first];
  let breaks: number[] | undefined;
  const lineAt = (offset: number): number => {
    breaks ??= newlines(block.text);
    let lo = 0;
    let hi = breaks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (breaks[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return first + lo;
  };
  return (p) => [lineAt(p.start), lineAt(Math.max(p.start, p.end - 1))];
}

function newlines(text: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) out.push(i);
  return out;
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/;

/**
 * Splits one over-long block into pieces that each fit. Code fences and tables are split only
 * between lines, and every piece is re-wrapped in the fence (or keeps the table header), so no
 * piece holds half a line or an unterminated fence. Prose is split between sentences, then words.
 */
export function splitBlock(block: Block, limits: ChunkLimits, budget: number): Piece[] {
  const lines = lineSpans(block.text);
  // (Indented code has no fence lines to repeat: its first and last lines are code.)
  if (block.kind === 'fence' && lines.length >= 2 && FENCE_OPEN.test(lines[0]!.text)) {
    const open = lines[0]!.text;
    const close = lines[lines.length - 1]!.text;
    const frame = countBounded(`${open}\n${close}`, limits, budget);
    // A frame that leaves less than a quarter of the budget is not repeated (as a table header).
    if (budget - frame < budget / 4) return groupUnits(lines, '\n', limits, budget);
    return groupUnits(lines.slice(1, -1), '\n', limits, budget - frame).map((g) => ({
      ...g,
      text: `${open}\n${g.text}\n${close}`,
      tokens: g.tokens + frame,
      exact: false,
    }));
  }
  if (block.kind === 'table' && lines.length >= 3) {
    const head = `${lines[0]!.text}\n${lines[1]!.text}`;
    const frame = countBounded(head, limits, budget);
    // A header that leaves less than a quarter of the budget is not repeated: its rows would be cut to crumbs.
    if (budget - frame < budget / 4) return groupUnits(lines, '\n', limits, budget);
    return groupUnits(lines.slice(2), '\n', limits, budget - frame).map((g) => ({
      ...g,
      text: `${head}\n${g.text}`,
      tokens: g.tokens + frame,
      exact: false,
    }));
  }
  if (block.kind === 'lines' || block.kind === 'fence') return groupUnits(lines, '\n', limits, budget);
  return groupUnits(sentenceSpans(block.text), ' ', limits, budget);
}

/** A frame (fence lines, table header) too long to count is taken as the whole budget (its rows then cut to one token each). */
function countBounded(text: string, limits: ChunkLimits, budget: number): number {
  return text.length <= maxChars(budget) ? Math.min(limits.countTokens(text), budget - 1) : budget - 1;
}

function lineSpans(text: string): Span[] {
  const out: Span[] = [];
  let start = 0;
  for (const nl of newlines(text)) {
    out.push({ text: text.slice(start, nl), start });
    start = nl + 1;
  }
  out.push({ text: text.slice(start), start });
  return out;
}

/** Groups units joined by `sep` up to the budget; a single unit over it is cut between words. */
function groupUnits(units: Iterable<Span>, sep: string, limits: ChunkLimits, budget: number): Piece[] {
  const room = Math.max(1, budget);
  const cap = maxChars(room);
  const out: Piece[] = [];
  let cur: Piece[] = [];
  let used = 0;
  let chars = 0;
  const flush = (): void => {
    if (cur.length > 0)
      out.push({
        text: cur.map((c) => c.text).join(sep),
        tokens: used,
        start: cur[0]!.start,
        end: cur[cur.length - 1]!.end,
        exact: cur.length === 1 && cur[0]!.exact,
      });
    cur = [];
    used = 0;
    chars = 0;
  };
  const push = (piece: Piece): void => {
    if ((used + piece.tokens > room || chars + piece.text.length + sep.length > cap) && cur.length > 0) flush();
    cur.push(piece);
    used += piece.tokens;
    chars += piece.text.length + sep.length;
  };
  for (const unit of units) {
    // A unit of more than 8 characters a token almost never fits: it goes to `cutWords` uncounted.
    const tokens = unit.text.length <= room * 8 ? limits.countTokens(unit.text) : Infinity;
    if (tokens <= room) push({ ...unit, tokens, end: unit.start + unit.text.length, exact: true });
    else {
      for (const c of cutWords(unit.text, limits, room, cap)) {
        const start = unit.start + c.start;
        push({ text: c.text, tokens: c.tokens, start, end: start + c.text.length, exact: true });
      }
    }
  }
  flush();
  return out;
}
