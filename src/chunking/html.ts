/**
 * HTML reduced to the text a reader sees, with htmlparser2's streaming parser (its tokenizer and
 * entity decoding; the few lines of layout below are ours): tags and comments gone, text kept,
 * `<pre>` verbatim, `<br>` and block elements a line break, a table row as its cells joined by
 * ` | `, an image as its alt text (`[image]` for a `data:` image without one), scripts and styles
 * dropped. Linear in the input.
 */
import { Parser } from 'htmlparser2';

const BLOCK = new Set(
  'address article aside blockquote caption dd details dialog div dl dt fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody tfoot thead ul'.split(
    ' ',
  ),
);
const HIDDEN = new Set(['script', 'style', 'template', 'head', 'title']);

/** The text of an HTML fragment (see the file comment); '' for one with no text. */
export function htmlToText(html: string): string {
  let out = '';
  let cell: string | undefined;
  let row: string[] | undefined;
  let hidden = 0;
  let pre = 0;
  const write = (s: string): void => {
    if (cell !== undefined) cell += s;
    else out += s;
  };
  const lineBreak = (): void => {
    if (cell !== undefined) cell += ' ';
    else if (out !== '' && !out.endsWith('\n')) out += '\n';
  };
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (HIDDEN.has(name)) hidden++;
        if (name === 'pre') pre++;
        if (name === 'br') write(cell !== undefined ? ' ' : '\n');
        else if (name === 'img') write(attrs.alt?.trim() || (attrs.src?.trim().startsWith('data:') ? '[image]' : ''));
        else if (name === 'tr') {
          lineBreak();
          row = [];
        } else if (name === 'td' || name === 'th') cell = '';
        else if (BLOCK.has(name)) lineBreak();
      },
      ontext(text) {
        if (hidden > 0) return;
        if (pre > 0) return write(text);
        const flat = text.replace(/\s+/g, ' ');
        write(cell === undefined && (out === '' || out.endsWith('\n')) ? flat.trimStart() : flat);
      },
      onclosetag(name) {
        if (HIDDEN.has(name)) hidden = Math.max(0, hidden - 1);
        if (name === 'pre') pre = Math.max(0, pre - 1);
        if ((name === 'td' || name === 'th') && cell !== undefined) {
          const text = cell.replace(/\s+/g, ' ').trim();
          cell = undefined;
          (row ??= []).push(text);
        } else if (name === 'tr' && row) {
          out += `${row.join(' | ')}\n`;
          row = undefined;
        } else if (BLOCK.has(name)) lineBreak();
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  return tidy(out);
}

/** Decodes the entity and numeric character references of a text (no tags in it). */
export function decodeEntities(text: string): string {
  let out = '';
  const parser = new Parser({ ontext: (t) => (out += t) }, { decodeEntities: true });
  parser.end(text);
  return out;
}

/** Lines without trailing spaces, at most one blank line in a row, no blank lines at either end. */
function tidy(text: string): string {
  return text
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+/, '')
    .trimEnd();
}
