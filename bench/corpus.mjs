// Deterministic (seeded) generator of a Markdown corpus for benchmarks: headings, paragraphs of
// realistic length, an occasional code fence, words drawn from the tiny model's vocabulary.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function vocabulary(root) {
  const tok = JSON.parse(await readFile(path.join(root, 'test/fixtures/tiny-clip/tokenizer.json'), 'utf8'));
  return Object.keys(tok.model.vocab).filter((w) => /^[a-z]{3,}$/.test(w));
}

export function markdownFile(rand, words, n) {
  const pick = () => words[Math.floor(rand() * words.length)];
  const sentence = () => {
    const len = 6 + Math.floor(rand() * 14);
    const s = Array.from({ length: len }, pick).join(' ');
    return s[0].toUpperCase() + s.slice(1) + '.';
  };
  const paragraph = () => Array.from({ length: 2 + Math.floor(rand() * 4) }, sentence).join(' ');
  const out = [`# Document ${n}: ${pick()} ${pick()}`, '', paragraph(), ''];
  const sections = 3 + Math.floor(rand() * 6);
  for (let s = 0; s < sections; s++) {
    out.push(`## ${pick()} ${pick()} ${s}`, '');
    const paras = 1 + Math.floor(rand() * 3);
    for (let p = 0; p < paras; p++) out.push(paragraph(), '');
    if (rand() < 0.15) out.push('```sh', `${pick()} --${pick()} ${pick()}`, '```', '');
  }
  return out.join('\n');
}

/** Writes `files` Markdown files under `dir` (100 per folder); returns their relative paths. */
export async function writeCorpus(root, dir, files, seed = 42) {
  const words = await vocabulary(root);
  const rand = rng(seed);
  const paths = [];
  for (let i = 0; i < files; i++) {
    const rel = `d${String(Math.floor(i / 100)).padStart(3, '0')}/doc-${String(i).padStart(6, '0')}.md`;
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), markdownFile(rand, words, i));
    paths.push(rel);
  }
  return paths;
}
