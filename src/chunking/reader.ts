/**
 * What a reader sees of a Markdown block's source, leaving all other Markdown syntax as written:
 * inline HTML tags and comments removed (`<br>` a line break, `<img>` its alt text), entity
 * references decoded, images and links whose target is a `data:` URI reduced to their alt text
 * or link text (`[image]` for an image without alt). Code spans and the given code lines are
 * copied untouched. One pass over the text; tags are recognised with markdown-it's own pattern.
 */
import { HTML_TAG_RE } from 'markdown-it/lib/common/html_re.mjs';
import { decodeEntities, htmlToText } from './html.js';

const TAG = new RegExp(HTML_TAG_RE.source.slice(1), 'y');
const ENTITY = /&(?:#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});/y;
const DATA_LINK = /(!?)\[([^\]\n]*)\]\(\s*<?data:[^)\s>]*>?(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)/y;
const SPECIAL = /[\\`<&![]/g;

/**
 * The reader's text of `text`; `code` lists `[start, end)` character ranges (code fences, indented
 * code) to copy as they are, in order; `<br>` becomes `lineBreak` (a space in a table row).
 */
export function readerText(text: string, code: ReadonlyArray<readonly [number, number]> = [], lineBreak = '\n'): string {
  const closers = backtickRuns(text);
  let out = '';
  let i = 0;
  let k = 0;
  while (i < text.length) {
    const range = code[k];
    if (range && i >= range[0]) {
      out += text.slice(i, range[1]);
      i = Math.max(i, range[1]);
      k++;
      continue;
    }
    SPECIAL.lastIndex = i;
    const next = SPECIAL.exec(text)?.index ?? text.length;
    const stop = Math.min(next, range ? range[0] : text.length);
    if (stop > i) {
      out += text.slice(i, stop);
      i = stop;
      continue;
    }
    const [piece, end] = special(text, i, closers, lineBreak);
    out += piece;
    i = end;
  }
  return out;
}

/** The replacement of the construct at `i` (a special character) and where it ends. */
function special(text: string, i: number, closers: Closers, lineBreak: string): [string, number] {
  const c = text[i]!;
  if (c === '\\') return [text.slice(i, i + 2), i + 2];
  if (c === '`') {
    const run = runLength(text, i);
    const close = closers.after(run, i + run);
    return close === undefined ? [text.slice(i, i + run), i + run] : [text.slice(i, close + run), close + run];
  }
  const m = matchAt(c === '<' ? TAG : c === '&' ? ENTITY : DATA_LINK, text, i);
  if (!m) return [c, i + 1];
  if (c === '<') return [inlineTag(m[0], lineBreak), i + m[0].length];
  if (c === '&') return [decodeEntities(m[0]), i + m[0].length];
  const alt = m[2]!.trim();
  return [m[1] ? alt || '[image]' : alt, i + m[0].length];
}

function matchAt(re: RegExp, text: string, i: number): RegExpExecArray | null {
  re.lastIndex = i;
  return re.exec(text);
}

/** An inline tag as text: a line break for `<br>`, the alt text of an image, nothing for the rest. */
function inlineTag(tag: string, lineBreak: string): string {
  if (/^<br\b/i.test(tag)) return lineBreak;
  if (/^<img\b/i.test(tag)) return htmlToText(tag);
  return '';
}

function runLength(text: string, i: number): number {
  let j = i;
  while (text[j] === '`') j++;
  return j - i;
}

interface Closers {
  /** Start of the first backtick run of exactly `len` backticks at or after `from`. */
  after(len: number, from: number): number | undefined;
}

/** Every backtick run of the text by length, found once, so closing a code span never rescans. */
function backtickRuns(text: string): Closers {
  const runs = new Map<number, number[]>();
  const cursor = new Map<number, number>();
  for (let i = text.indexOf('`'); i !== -1;) {
    const len = runLength(text, i);
    let list = runs.get(len);
    if (!list) runs.set(len, (list = []));
    list.push(i);
    i = text.indexOf('`', i + len);
  }
  return {
    after(len, from) {
      const list = runs.get(len);
      if (!list) return undefined;
      let c = cursor.get(len) ?? 0;
      while (c < list.length && list[c]! < from) c++;
      cursor.set(len, c);
      return list[c];
    },
  };
}
