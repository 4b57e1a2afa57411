// Hostile inputs for the bounded-parsing test and benchmark (issue 15), generated streamingly so
// the generator itself stays small in memory: a decompression-bomb PDF, a 16 000 x 16 000 PNG, a
// one-line text file and a Markdown file with a base64 data URI.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import zlib from 'node:zlib';

const MB = 1 << 20;

/** Deflates `total` zero bytes (in 1 MiB pieces), `times` times over, into one buffer. */
async function deflatedZeros(total, times = 1) {
  const zero = Buffer.alloc(MB);
  // Run-length matching: zeros deflate as well as with level 9 (~1000:1), many times faster.
  let stream = zlib.createDeflate({ level: 9, strategy: zlib.constants.Z_RLE });
  const first = stream;
  for (let i = 1; i < times; i++) stream = stream.pipe(zlib.createDeflate({ level: 9 }));
  const parts = [];
  stream.on('data', (d) => parts.push(d));
  const done = once(stream, 'end');
  for (let left = total; left > 0; left -= MB) {
    if (!first.write(left >= MB ? zero : zero.subarray(0, left))) await once(first, 'drain');
  }
  first.end();
  await done;
  return Buffer.concat(parts);
}

function pngChunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(type)) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** A black RGB PNG of `side` x `side` pixels (its rows are zeros: it deflates to under 1 MB). */
export async function writeHugePng(file, side = 16_000) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const idat = await deflatedZeros(side * (side * 3 + 1));
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  await writeFile(file, Buffer.concat([sig, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]));
}

/** A text file of one line of about `bytes` bytes (words, no newline). */
export async function writeLongLine(file, bytes = 50 * MB) {
  const out = createWriteStream(file);
  const piece = Buffer.from('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod '.repeat(1024));
  for (let left = bytes; left > 0; left -= piece.length) {
    if (!out.write(left >= piece.length ? piece : piece.subarray(0, left))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** A Markdown file with a heading, a paragraph and an image as a base64 data URI of `bytes` bytes. */
export async function writeDataUriMarkdown(file, bytes = MB) {
  const b64 = Buffer.alloc(Math.ceil((bytes * 3) / 4), 7)
    .toString('base64')
    .slice(0, bytes);
  await writeFile(file, `# Figure\n\nThe chart below.\n\n![chart](data:image/png;base64,${b64})\n\nAfter the chart.\n`);
}

/** A PDF file of these objects (1 is the catalog), with its cross-reference table. */
function pdfOf(objects) {
  const parts = [Buffer.from('%PDF-1.7\n')];
  const offsets = [];
  let at = parts[0].length;
  for (const [i, o] of objects.entries()) {
    offsets.push(at);
    const body = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), ...(Array.isArray(o) ? o : [Buffer.from(o)]), Buffer.from('\nendobj\n')]);
    parts.push(body);
    at += body.length;
  }
  const rows = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  const n = objects.length + 1;
  parts.push(Buffer.from(`xref\n0 ${n}\n0000000000 65535 f \n${rows}trailer\n<< /Size ${n} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`));
  return Buffer.concat(parts);
}

/** A stream object: its dictionary entries and (already encoded) data. */
function streamObj(dict, data) {
  return [Buffer.from(`<< ${dict} /Length ${data.length} >>\nstream\n`), data, Buffer.from('\nendstream')];
}

/**
 * A one-page PDF with a line of text and one RGB image XObject of `width` x `height` pixels
 * (`rgb`: 3 bytes a pixel, rows top to bottom), drawn 200 points wide.
 */
export async function writePdfWithImage(file, { rgb, width, height, text = 'Figure one shows the test pattern.' }) {
  const content = Buffer.from(`BT /F1 12 Tf 72 720 Td (${text}) Tj ET\nq 200 0 0 200 72 400 cm /Im1 Do Q\n`);
  const image = zlib.deflateSync(rgb);
  await writeFile(
    file,
    pdfOf([
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> >>',
      streamObj('', content),
      '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
      streamObj(
        `/Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode`,
        image,
      ),
    ]),
  );
}

/** A decompression bomb: one page whose content stream inflates to `inflatedBytes` of zeros behind two Flate filters. */
export async function writeBombPdf(file, inflatedBytes = 4 * 1024 * MB) {
  const data = await deflatedZeros(inflatedBytes, 2);
  await writeFile(
    file,
    pdfOf([
      '<< /Type /Catalog /Pages 2 0 R >>',
      '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
      '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << >> >>',
      streamObj('/Filter [/FlateDecode /FlateDecode]', data),
    ]),
  );
}

/** A picture for image tests: four coloured quadrants with a diagonal, `side` x `side` RGB. */
export function quadrants(side = 160) {
  const rgb = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const q = (y < side / 2 ? 0 : 2) + (x < side / 2 ? 0 : 1);
      const c =
        Math.abs(x - y) < 6
          ? [255, 255, 255]
          : [
              [230, 30, 30],
              [30, 200, 40],
              [250, 220, 20],
              [120, 20, 160],
            ][q];
      rgb.set(c, (y * side + x) * 3);
    }
  return { rgb, width: side, height: side };
}
