/**
 * The ID grammar. IDs say *where* a chunk is; the content hash says *what* it holds.
 *
 * ```
 * doc_id   = <source> ":" <path> [ "~u" <8 hex> ]  path: relative, POSIX "/", Unicode NFC, no "." or ".." segments;
 *                                                the suffix only when the name on disk is not NFC (see `docId`)
 * chunk_id = <doc_id> "#" <section path> "/" <n>   when the chunk is inside a section
 *          | <doc_id> "#" <n>                      when it is not (plain text, Markdown before the first heading, images)
 * section path = slug *("/" slug)                Markdown: one slug per heading level, outermost first
 *              | "p" <page>                        PDF: the 1-based page number (its text chunks)
 *              | "p" <page> "/img"                 PDF: the raster images of that page (`doc#p3/img/0`)
 * slug     = lower-case letters and digits of the heading joined by "-", "section" if none;
 *            the k-th sibling heading with the same slug gets "-k" (k >= 2)
 * n        = decimal index of the chunk inside its section, from 0
 * ```
 *
 * An ID longer than its bound in UTF-8 bytes (`MAX_CHUNK_ID_BYTES`, `MAX_DOC_ID_BYTES`) keeps a
 * readable prefix and ends in `~` and 16 hex digits of the sha-256 of the whole ID, so it stays
 * unique, deterministic, and fits a Milvus VarChar primary key.
 *
 * Because a chunk's ID depends only on its own heading path and its position in its own section,
 * editing a section changes no ID outside it, and inserting a section changes no other section's
 * IDs (except the disambiguating suffix of later siblings with the very same heading).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

/** Upper bound of a chunk ID in UTF-8 bytes (the Milvus primary key is VarChar(512)). */
export const MAX_CHUNK_ID_BYTES = 512;
/** Upper bound of a doc ID in UTF-8 bytes. */
export const MAX_DOC_ID_BYTES = 1024;

const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** True when `name` can be a source name (letters, digits, `.`, `_`, `-`; up to 64). */
export function isValidSourceName(name: string): boolean {
  return SOURCE_NAME.test(name);
}

/**
 * Checks a path relative to a source root and turns platform separators into `/`. The result
 * still names the file on disk (no Unicode normalisation). Throws on an absolute path, an empty
 * one, or one with `.`/`..`/empty segments, so nothing can name a file outside the root.
 */
export function normalizeRelPath(rel: string): string {
  const posix = path.sep === '/' ? rel : rel.split(path.sep).join('/');
  if (posix === '' || posix.startsWith('/')) throw new Error(`not a relative path: ${JSON.stringify(rel)}`);
  for (const seg of posix.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') {
      throw new Error(`path segment ${JSON.stringify(seg)} not allowed in ${JSON.stringify(rel)}`);
    }
  }
  return posix;
}

/**
 * `<source>:<path in NFC>`, bounded to `MAX_DOC_ID_BYTES`. A name stored on disk in another
 * normalisation form (e.g. NFD) gets `~u` and 8 hex digits of the sha-256 of its own bytes, so
 * two files whose names differ only in normalisation (possible on Linux) keep distinct IDs, and
 * the ID of a file never depends on which other files exist.
 */
export function docId(source: string, relPath: string): string {
  if (!isValidSourceName(source)) throw new Error(`invalid source name ${JSON.stringify(source)}`);
  const raw = normalizeRelPath(relPath);
  const nfc = raw.normalize('NFC');
  const id = nfc === raw ? `${source}:${nfc}` : `${source}:${nfc}~u${sha256(raw).slice(0, 8)}`;
  return boundId(id, MAX_DOC_ID_BYTES);
}

/** The chunk ID of chunk `n` of section `sectionPath` (`''` for none) of a document. */
export function chunkId(doc: string, sectionPath: string, n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new Error(`chunk index must be a non-negative integer, got ${n}`);
  if (!isWellFormed(doc) || !isWellFormed(sectionPath)) throw new Error(`ill-formed Unicode in chunk ID of ${JSON.stringify(doc)}`);
  const local = sectionPath === '' ? `${n}` : `${sectionPath}/${n}`;
  return boundId(`${doc}#${local}`, MAX_CHUNK_ID_BYTES);
}

/** True when a string has no lone surrogate (it survives UTF-8 storage unchanged). */
function isWellFormed(s: string): boolean {
  return !/\p{Surrogate}/u.test(s);
}

/** Returns `id` if it fits `maxBytes`, else a readable prefix + `~` + 16 hex digits of its hash. */
export function boundId(id: string, maxBytes: number): string {
  if (Buffer.byteLength(id, 'utf8') <= maxBytes) return id;
  const suffix = `~${sha256(id).slice(0, 16)}`;
  let prefix = '';
  let bytes = 0;
  for (const ch of id) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > maxBytes - suffix.length) break;
    prefix += ch;
    bytes += b;
  }
  return prefix + suffix;
}

/** A heading's slug: lower-case letters and digits (any script) joined by `-`; `section` if none. */
export function slugify(heading: string): string {
  const slug = heading
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[`*_~[\]()<>]/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .join('-');
  const cut = Array.from(slug).slice(0, 80).join('').replace(/-+$/, '');
  return cut === '' ? 'section' : cut;
}

/**
 * Hands out sibling slugs: the first heading with a slug keeps it, later siblings with the same
 * slug get `-2`, `-3`... (skipping any suffix a sibling already holds, so `Foo`, `Foo`, `Foo 2`
 * give `foo`, `foo-2`, `foo-2-2`). Make one per parent section so disambiguation never crosses
 * sections.
 */
export class SlugCounter {
  private readonly used = new Set<string>();
  private readonly counts = new Map<string, number>();
  next(heading: string): string {
    const base = slugify(heading);
    let k = this.counts.get(base) ?? 1;
    let slug = base;
    while (this.used.has(slug)) slug = `${base}-${++k}`;
    this.counts.set(base, k);
    this.used.add(slug);
    return slug;
  }
}

/** Normalises text before hashing: NFC, LF line ends, no trailing spaces, no edge blank lines. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/^\n+|\n+$/g, '');
}

/** sha-256 hex of the normalised content and the chunker version that produced it. */
export function contentHash(content: string | Buffer, chunkerVersion: string): string {
  const h = createHash('sha256').update(chunkerVersion).update('\0');
  h.update(typeof content === 'string' ? normalizeText(content) : content);
  return h.digest('hex');
}

/** sha-256 hex of raw bytes or a string. */
export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** True when a chunk ID is one `chunkId(docId, …)` could have made (bounded IDs keep a prefix + `~hash`). */
export function belongsTo(id: string, docId: string): boolean {
  if (Buffer.byteLength(id, 'utf8') > MAX_CHUNK_ID_BYTES || /\p{Surrogate}/u.test(id)) return false;
  const own = `${docId}#`;
  if (id.startsWith(own)) return id.length > own.length;
  const bounded = /^(.*)~[0-9a-f]{16}$/s.exec(id);
  return bounded !== null && own.startsWith(bounded[1]!) && Buffer.byteLength(id, 'utf8') > MAX_CHUNK_ID_BYTES - 64;
}

/**
 * The vector cache's key of an embedder input: sha-256 hex of the modality, a NUL and the exact
 * input (the text as sent, or the image bytes). Independent of the chunker and its version, so a
 * chunker upgrade that leaves a text as it was finds its vector. (LanceDB's migration of an older
 * table computes the same in SQL: `encode(sha256(concat('text', chr(0), text)), 'hex')`.)
 */
export function embedKey(modality: 'text' | 'image', input: string | Buffer): string {
  return createHash('sha256').update(modality).update('\0').update(input).digest('hex');
}
