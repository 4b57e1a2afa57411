/**
 * Entry of a parse child process (started by the parse pool, `app/parsing.ts`): the chunkers of
 * this build, with token counters made from the tokenizer description the parent sends.
 */
import { chunking } from '../chunking/index.js';
import { charCounter, serveParsing } from '../parse/index.js';

serveParsing(
  (doc, limits) => chunking.chunk(doc, limits),
  async (spec) => {
    if (spec.kind === 'chars') return charCounter(spec.perToken);
    const { loadTokenizer } = await import('../embed/jina-clip.js');
    const tokenizer = await loadTokenizer(spec);
    return (text) => tokenizer.encode(text, { add_special_tokens: false }).length;
  },
);
