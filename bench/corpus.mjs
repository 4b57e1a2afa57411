// Deterministic (seeded) generator of a Markdown corpus for benchmarks: headings, paragraphs of
// realistic length, an occasional code fence, words drawn from the tiny model's vocabulary.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';

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

/**
 * Writes `files` files under `dir` (100 per folder); returns their relative paths. Markdown, and
 * with `mixed` one PDF and one PNG image in every 50 files (2 % each), all from the seed.
 */
export async function writeCorpus(root, dir, files, seed = 42, { mixed = false } = {}) {
  const words = await vocabulary(root);
  const rand = rng(seed);
  const paths = [];
  for (let i = 0; i < files; i++) {
    const base = `d${String(Math.floor(i / 100)).padStart(3, '0')}/doc-${String(i).padStart(6, '0')}`;
    await mkdir(path.dirname(path.join(dir, base)), { recursive: true });
    let rel;
    if (mixed && i % 50 === 17) {
      rel = `${base}.pdf`;
      await writeFile(
        path.join(dir, rel),
        pdfFile(markdownFile(rand, words, i).replace(/[#`]/g, '').split('\n\n').filter(Boolean).slice(0, 6)),
      );
    } else if (mixed && i % 50 === 33) {
      rel = `${base}.png`;
      await writeFile(path.join(dir, rel), pngFile(rand));
    } else {
      rel = `${base}.md`;
      await writeFile(path.join(dir, rel), markdownFile(rand, words, i));
    }
    paths.push(rel);
  }
  return paths;
}

/** A one-page PDF (Helvetica) showing the given paragraphs, one text line each. */
export function pdfFile(lines) {
  const esc = (t) => t.replace(/[\\()]/g, (c) => `\\${c}`).slice(0, 90);
  const content = ['BT', '/F1 11 Tf', '14 TL', '50 780 Td', ...lines.map((l) => `(${esc(l)}) Tj T*`), 'ET'].join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(content)} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A 32x32 PNG of random colour blocks. */
export function pngFile(rand) {
  const size = 32;
  const raw = Buffer.alloc(size * (size * 3 + 1));
  const colours = Array.from({ length: 4 }, () => [0, 0, 0].map(() => Math.floor(rand() * 256)));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 3 + 1)] = 0;
    for (let x = 0; x < size; x++) {
      const c = colours[(y >= size / 2 ? 2 : 0) + (x >= size / 2 ? 1 : 0)];
      raw.set(c, y * (size * 3 + 1) + 1 + x * 3);
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
