/**
 * The sections of a Markdown body and their blocks, from markdown-it's top-level tokens: each
 * block's source text (what a reader sees of it where it holds HTML, entities or `data:` URIs)
 * and its source lines. Linear in the body.
 */
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';
import { SlugCounter } from '../ids/index.js';
import { htmlToText } from './html.js';
import type { Block } from './pack.js';
import { readerText } from './reader.js';

const md = new MarkdownIt('commonmark').enable('table');

export interface Section {
  path: string;
  /** Titles of the section's heading and its parents, outermost first: each chunk's first line. */
  trail: string[];
  blocks: Block[];
}

interface Frame {
  level: number;
  slug: string;
  title: string;
  children: SlugCounter;
}

/** Walks the top-level blocks and groups their text by heading section. */
export function sections(body: string): Section[] {
  const lines = body.split(/\r?\n/);
  const tokens = md.parse(body, {});
  const root = new SlugCounter();
  const stack: Frame[] = [];
  const out: Section[] = [{ path: '', trail: [], blocks: [] }];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok.level !== 0 || !tok.map || tok.nesting === -1) continue;
    const last = closing(tokens, i);
    if (tok.type === 'heading_open') {
      const level = Number(tok.tag.slice(1));
      const raw = (tokens[i + 1]?.content ?? '').trim();
      const title = needsReader(tokens, i, last) ? readerText(raw).replace(/\s+/g, ' ').trim() : raw;
      while (stack.length > 0 && stack[stack.length - 1]!.level >= level) stack.pop();
      const siblings = stack.length > 0 ? stack[stack.length - 1]!.children : root;
      stack.push({ level, slug: siblings.next(raw), title, children: new SlugCounter() });
      out.push({ path: stack.map((f) => f.slug).join('/'), trail: stack.map((f) => f.title), blocks: [] });
    } else {
      const block = blockOf(tokens, i, last, lines);
      if (block) out[out.length - 1]!.blocks.push(block);
    }
    i = last;
  }
  return out;
}

/** The block of the top-level token `i` (its last token `last`), or none when it shows no text. */
function blockOf(tokens: Token[], i: number, last: number, lines: string[]): Block | undefined {
  const tok = tokens[i]!;
  const [from, to] = tok.map!;
  const own = lines.slice(from, to);
  const source = own.join('\n').trimEnd();
  if (source === '') return undefined;
  const kind = blockKind(tok.type);
  const lastLine = from + source.split('\n').length;
  if (kind === 'fence' || !needsReader(tokens, i, last)) return { text: source, kind, line: from + 1 };
  const text =
    tok.type === 'html_block'
      ? htmlToText(source)
      : readerText(source, codeRanges(tokens, i, last, own), kind === 'table' ? ' ' : '\n').trimEnd();
  if (text.trim() === '') return undefined;
  return { text, kind, line: from + 1, verbatim: false, lastLine };
}

/** Index of the token that closes the top-level token `i` (itself when it opens nothing). */
function closing(tokens: Token[], i: number): number {
  if (tokens[i]!.nesting !== 1) return i;
  let j = i + 1;
  while (j < tokens.length && !(tokens[j]!.level === 0 && tokens[j]!.nesting === -1)) j++;
  return Math.min(j, tokens.length - 1);
}

/** True when the tokens `i..last` hold raw HTML, an entity reference or a `data:` URI. */
function needsReader(tokens: Token[], i: number, last: number): boolean {
  for (let j = i; j <= last; j++) {
    const t = tokens[j]!;
    if (t.type === 'html_block') return true;
    if (t.type === 'inline' && (t.content.includes('data:') || t.children?.some(isHtml))) return true;
  }
  return false;
}

const isHtml = (t: Token): boolean => t.type === 'html_inline' || (t.type === 'text_special' && t.info === 'entity');

/** Character ranges, in the block's text, of the code fences and indented code nested in it. */
function codeRanges(tokens: Token[], i: number, last: number, own: string[]): Array<[number, number]> {
  const base = tokens[i]!.map![0];
  const starts = [0];
  for (const line of own) starts.push(starts[starts.length - 1]! + line.length + 1);
  const out: Array<[number, number]> = [];
  for (let j = i + 1; j < last; j++) {
    const t = tokens[j]!;
    if ((t.type === 'fence' || t.type === 'code_block') && t.map) {
      out.push([starts[t.map[0] - base]!, starts[Math.min(t.map[1] - base, own.length)]! - 1]);
    }
  }
  return out;
}

function blockKind(type: string): Block['kind'] {
  if (type === 'fence' || type === 'code_block') return 'fence';
  if (type === 'table_open') return 'table';
  if (type === 'paragraph_open' || type === 'blockquote_open') return 'prose';
  return 'lines';
}
