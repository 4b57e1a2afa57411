/** The limits a chunker works within, and how tokens are counted (as data a parse process can receive). */

/**
 * How to count tokens, as data that can cross a process boundary (a parse child rebuilds the
 * counter from it): the tokenizer of a local model, or characters per token.
 */
export type TokenizerSpec = { kind: 'hf'; model: string; modelDir?: string; cacheDir: string } | { kind: 'chars'; perToken: number };

/** Limits a chunker must respect, set by the embedder (and the parse settings). */
export interface ChunkLimits {
  /** Maximum tokens of one text chunk, special tokens excluded. */
  maxTokens: number;
  /** Counts tokens the way the embedder's tokenizer does. */
  countTokens(text: string): number;
  /** What `countTokens` does, as data (see `TokenizerSpec`); absent: only this process can count. */
  tokenizer?: TokenizerSpec;
  /** Images are decoded to about this size (shortest side, pixels): the model's input size. */
  imageSize?: number;
  /** An image of more pixels is refused before it is decoded. */
  maxImagePixels?: number;
  /** PDF images: those with a side of at most `minSide` pixels are skipped, at most `max` per PDF. */
  pdfImages?: { minSide: number; max: number };
}
