/**
 * The tools' input and output schemas (zod): the SDK validates every call's arguments against the
 * input schema (a mismatch is an error result naming the field) and lists both as JSON Schema.
 */
import { z } from 'zod';

/** The most hits one `search` call returns. */
export const MAX_K = 50;

const MODES = ['hybrid', 'keyword', 'dense'] as const;

const filterSchema = z
  .strictObject({
    source: z.string().min(1).optional().describe('only hits of this source (the prefix of doc IDs)'),
    modality: z.enum(['text', 'image']).optional().describe('only text chunks, or only images'),
    doc: z.string().min(1).optional().describe('only hits of this document (its doc ID, `source:relative/path`)'),
    path: z.string().min(1).optional().describe("only hits of this file (its path relative to its source's root)"),
  })
  .describe('exact matches on fields of the hits; values are data, never syntax');

/** `search`'s arguments. */
export const searchInput = z.strictObject({
  query: z.string().trim().min(1, 'query: give the text to search for').describe('what to search for, in plain words'),
  mode: z
    .enum(MODES)
    .default('hybrid')
    .describe('hybrid (default): dense and keyword ranks fused; keyword: BM25 on the words; dense: meaning, by the embedding'),
  k: z.number().int().min(1).max(MAX_K).default(5).describe(`how many hits, 1 to ${MAX_K}`),
  perDoc: z.number().int().min(0).max(MAX_K).default(2).describe('at most this many hits of one document (0: no limit)'),
  filter: filterSchema.optional(),
});

/** `search`'s arguments once validated (defaults applied). */
export type SearchInput = z.output<typeof searchInput>;

const hitSchema = z.object({
  rank: z.number().describe('1 for the best hit'),
  path: z.string().describe("the file, relative to its source's root"),
  docId: z.string(),
  id: z.string().describe("the chunk's ID"),
  section: z.string().describe("the chunk's section path (heading slugs, `p3` for a PDF page)"),
  modality: z.enum(['text', 'image']),
  heading: z.string().optional().describe('the heading the chunk is under'),
  lines: z.array(z.number()).length(2).optional().describe('first and last line of the chunk in the file (text files)'),
  page: z.number().optional().describe('the page (PDF)'),
  title: z.string().optional().describe("the document's front-matter title"),
  text: z.string().describe("the chunk's text (an image's: its file name)"),
  score: z.number().describe('higher is better; comparable only within one search'),
});

/** `search`'s structured result. */
export const searchOutput = z.object({
  query: z.string(),
  mode: z.enum(MODES),
  hits: z.array(hitSchema),
});

export type SearchOutput = z.output<typeof searchOutput>;
export type McpHit = z.output<typeof hitSchema>;

const modelSchema = z.object({
  model: z.string(),
  revision: z.string(),
  dim: z.number(),
  dtype: z.string(),
  pooling: z.string(),
});

const countsSchema = z.object({ documents: z.number(), chunks: z.number() });

/** `status`'s structured result. */
export const statusOutput = z.object({
  store: z.string().describe('where the index is: a LanceDB directory or a Milvus address and collection'),
  sink: z.string(),
  indexed: z.boolean().describe('false: the store holds no index yet (run `ragsync index DIR`)'),
  model: modelSchema.nullable().describe('the embedder the index was built with'),
  ...countsSchema.shape,
  pending: countsSchema
    .extend({ collection: z.string(), model: modelSchema })
    .nullable()
    .describe('a re-embed in progress: its target model and how far its backfill got'),
  sources: z.array(
    countsSchema.extend({
      name: z.string(),
      root: z.string().nullable().describe('the directory the source was indexed from'),
      lastSyncAt: z.string().nullable(),
    }),
  ),
});

export type StatusOutput = z.output<typeof statusOutput>;
