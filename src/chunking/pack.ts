/** Packing of text blocks into token-bounded chunks, shared by the text chunkers. */
import type { ChunkLimits } from '../core/types.js';

/** A unit of text that is kept whole when it fits; `kind` says how to split it when it does not. */
export interface Block {
  text: string;
  kind: 'prose' | 'fence' | 'table' | 'lines';
}

const sentences = new Intl.Segmenter('en', { granularity: 'sentence' });
const words = new Intl.Segmenter('en', { granularity: 'word' });

/**
 * Greedily packs blocks, in order, into chunk texts of at most `limits.maxTokens` tokens each
 * (blocks joined by a blank line). A block over the limit is split first (`splitBlock`).
 */
export function packBlocks(blocks: Block[], limits: ChunkLimits, budget = limits.maxTokens): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let used = 0;
  const flush = (): void => {
    if (current.length > 0) out.push(current.join('\n\n'));
    current = [];
    used = 0;
  };
  for (const block of blocks) {
    const tokens = limits.countTokens(block.text);
    const pieces = tokens > budget ? splitBlock(block, limits, budget) : [{ text: block.text, tokens }];
    for (const piece of pieces) {
      if (used + piece.tokens > budget) flush();
      current.push(piece.text);
      used += piece.tokens;
    }
  }
  flush();
  return out;
}

/**
 * Splits one over-long block into pieces that each fit. Code fences and tables are split only
 * between lines, and every piece is re-wrapped in the fence (or keeps the table header), so no
 * piece holds half a line or an unterminated fence. Prose is split between sentences, then words.
 */
export function splitBlock(block: Block, limits: ChunkLimits, budget: number): Array<{ text: string; tokens: number }> {
  const lines = block.text.split('\n');
  if (block.kind === 'fence' && lines.length >= 2) {
    const open = lines[0]!;
    const close = lines[lines.length - 1]!;
    const frame = limits.countTokens(`${open}\n${close}`);
    return groupUnits(lines.slice(1, -1), '\n', limits, budget - frame).map((g) => ({
      text: `${open}\n${g.text}\n${close}`,
      tokens: g.tokens + frame,
    }));
  }
  if (block.kind === 'table' && lines.length >= 3) {
    const head = `${lines[0]}\n${lines[1]}`;
    const frame = limits.countTokens(head);
    return groupUnits(lines.slice(2), '\n', limits, budget - frame).map((g) => ({
      text: `${head}\n${g.text}`,
      tokens: g.tokens + frame,
    }));
  }
  if (block.kind === 'lines') return groupUnits(lines, '\n', limits, budget);
  const units = [...sentences.segment(block.text)].map((s) => s.segment.trim()).filter(Boolean);
  return groupUnits(units, ' ', limits, budget);
}

/** Groups units joined by `sep` up to the budget; a single unit over it is cut between words. */
function groupUnits(units: string[], sep: string, limits: ChunkLimits, budget: number): Array<{ text: string; tokens: number }> {
  const room = Math.max(1, budget);
  const out: Array<{ text: string; tokens: number }> = [];
  let cur: string[] = [];
  let used = 0;
  const push = (text: string, tokens: number): void => {
    if (used + tokens > room && cur.length > 0) {
      out.push({ text: cur.join(sep), tokens: used });
      cur = [];
      used = 0;
    }
    cur.push(text);
    used += tokens;
  };
  for (const unit of units) {
    const tokens = limits.countTokens(unit);
    if (tokens <= room) {
      push(unit, tokens);
      continue;
    }
    for (const piece of cutWords(unit, limits, room)) push(piece.text, piece.tokens);
  }
  if (cur.length > 0) out.push({ text: cur.join(sep), tokens: used });
  return out;
}

/** Cuts a text with no usable sentence boundary between words (or characters, as a last resort). */
function cutWords(text: string, limits: ChunkLimits, room: number): Array<{ text: string; tokens: number }> {
  const out: Array<{ text: string; tokens: number }> = [];
  let cur = '';
  let used = 0;
  for (const { segment } of words.segment(text)) {
    const tokens = limits.countTokens(segment);
    if (used + tokens > room && cur.trim() !== '') {
      out.push({ text: cur.trim(), tokens: used });
      cur = '';
      used = 0;
    }
    cur += segment;
    used += tokens;
  }
  if (cur.trim() !== '') out.push({ text: cur.trim(), tokens: used });
  return out;
}
