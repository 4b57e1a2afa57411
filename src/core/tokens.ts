/** A rough token count (about four characters a token) for when no tokenizer is loaded. */
export function approximateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
