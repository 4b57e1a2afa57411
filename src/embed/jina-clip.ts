/**
 * Jina CLIP through transformers.js: text and images in one vector space. The model loads once
 * per process (per model, dtype and location) and stays loaded; the vision tower loads on the
 * first image. Inputs are batched; results come back in input order.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AutoConfig,
  AutoProcessor,
  AutoTokenizer,
  JinaCLIPTextModel,
  JinaCLIPVisionModel,
  RawImage,
  Tensor,
  env,
} from '@huggingface/transformers';
import { RagsyncError, errorMessage } from '../core/errors.js';
import type { Dtype, Embedder, Fingerprint, TokenizerSpec } from '../core/types.js';
import { sha256 } from '../ids/index.js';

export interface JinaClipOptions {
  /** Hub model ID, used when `modelDir` is not set. */
  model: string;
  /** A local model directory (config.json, tokenizer files, onnx/*.onnx); no download then. */
  modelDir?: string;
  dtype: Dtype;
  /** Where downloaded models are cached. */
  cacheDir: string;
  /** Never try the network. */
  offline: boolean;
  batchSize: number;
}

type TextModel = Awaited<ReturnType<typeof JinaCLIPTextModel.from_pretrained>>;
type VisionModel = Awaited<ReturnType<typeof JinaCLIPVisionModel.from_pretrained>>;
type Tokenizer = Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;

const loaded = new Map<string, Promise<JinaClipEmbedder>>();

/** Loads (once per process) the Jina CLIP model these options name. */
export function loadJinaClip(opts: JinaClipOptions): Promise<JinaClipEmbedder> {
  const key = JSON.stringify([opts.modelDir ? path.resolve(opts.modelDir) : opts.model, opts.dtype]);
  let p = loaded.get(key);
  if (!p) {
    p = JinaClipEmbedder.load(opts);
    p.catch(() => loaded.delete(key));
    loaded.set(key, p);
  }
  return p;
}

export class JinaClipEmbedder implements Embedder {
  private vision: Promise<{ model: VisionModel; processor: Awaited<ReturnType<typeof AutoProcessor.from_pretrained>> }> | undefined;
  fingerprint!: Fingerprint;
  readonly imageSize: number;
  readonly tokenizer: TokenizerSpec;

  private constructor(
    private readonly opts: JinaClipOptions,
    private readonly id: string,
    private readonly tok: Tokenizer,
    private readonly text: TextModel,
    readonly maxTokens: number,
    private readonly paddable: boolean,
  ) {
    this.imageSize = imageSizeOf(opts);
    const { model, modelDir, cacheDir } = opts;
    this.tokenizer = { kind: 'hf', model, cacheDir, ...(modelDir ? { modelDir: path.resolve(modelDir) } : {}) };
  }

  get dim(): number {
    return this.fingerprint.dim;
  }

  static async load(opts: JinaClipOptions): Promise<JinaClipEmbedder> {
    const id = configureEnv(opts);
    const what = opts.modelDir ? `model directory ${opts.modelDir}` : `model ${opts.model}`;
    try {
      const config = (await AutoConfig.from_pretrained(id)) as unknown as Record<string, unknown>;
      const tokenizer = await AutoTokenizer.from_pretrained(id);
      const text = await JinaCLIPTextModel.from_pretrained(id, { dtype: opts.dtype });
      const inputs: string[] = (text as unknown as { sessions: Record<string, { inputNames: string[] }> }).sessions.model!.inputNames;
      const limit = Number(tokenizer.model_max_length);
      const maxTokens = Number.isFinite(limit) && limit > 2 && limit < 1e6 ? limit - 2 : 510;
      const embedder = new JinaClipEmbedder(opts, id, tokenizer, text, maxTokens, inputs.includes('attention_mask'));
      const [probe] = await embedder.embedTexts(['ragsync']);
      const name =
        typeof config['_name_or_path'] === 'string' && config['_name_or_path']
          ? config['_name_or_path']
          : opts.modelDir
            ? `local:${path.basename(opts.modelDir)}`
            : opts.model;
      embedder.fingerprint = {
        model: name,
        revision: sha256(canonicalJson(config)).slice(0, 12),
        dim: probe!.length,
        dtype: opts.dtype,
        pooling: 'l2norm',
      };
      return embedder;
    } catch (err) {
      throw modelError(what, opts, err);
    }
  }

  countTokens(text: string): number {
    return this.tok.encode(text, { add_special_tokens: false }).length;
  }

  async embedTexts(texts: string[]): Promise<number[][]> {
    const unique = [...new Set(texts)];
    const ids = unique.map((t) => this.tok.encode(t, { add_special_tokens: true }).slice(0, this.maxTokens + 2));
    // Without an attention mask the model would pool padding too: batch only equal lengths then.
    const order = unique.map((_, i) => i).sort((a, b) => ids[a]!.length - ids[b]!.length);
    const vectors = new Map<string, number[]>();
    let start = 0;
    while (start < order.length) {
      let end = start + 1;
      const len = ids[order[start]!]!.length;
      while (end < order.length && end - start < this.opts.batchSize && (this.paddable || ids[order[end]!]!.length === len)) end++;
      const batch = order.slice(start, end);
      const out = await this.text(this.textInputs(batch.map((i) => ids[i]!)));
      const rows = out['l2norm_text_embeddings'].tolist() as number[][];
      batch.forEach((i, j) => vectors.set(unique[i]!, rows[j]!));
      start = end;
    }
    return texts.map((t) => vectors.get(t)!);
  }

  /** Model inputs for token ID lists (already tokenized: no second pass), right-padded. */
  private textInputs(rows: number[][]): Record<string, Tensor> {
    const width = Math.max(...rows.map((r) => r.length));
    const pad = BigInt(this.tok.pad_token_id ?? 0);
    const ids = new BigInt64Array(rows.length * width).fill(pad);
    const mask = new BigInt64Array(rows.length * width);
    rows.forEach((r, i) =>
      r.forEach((id, j) => {
        ids[i * width + j] = BigInt(id);
        mask[i * width + j] = 1n;
      }),
    );
    const dims = [rows.length, width];
    return { input_ids: new Tensor('int64', ids, dims), attention_mask: new Tensor('int64', mask, dims) };
  }

  async embedImages(images: Buffer[]): Promise<number[][]> {
    const { model, processor } = await this.loadVision();
    const out: number[][] = [];
    const step = Math.max(1, Math.floor(this.opts.batchSize / 2));
    for (const slice of imageBatches(images, step)) {
      const batch = await Promise.all(slice.map((b) => decodeImage(b)));
      const inputs = await processor(null, batch);
      const res = await model(inputs);
      out.push(...(res['l2norm_image_embeddings'].tolist() as number[][]));
    }
    return out;
  }

  private loadVision() {
    this.vision ??= (async () => {
      try {
        configureEnv(this.opts);
        const processor = await AutoProcessor.from_pretrained(this.id);
        const model = await JinaCLIPVisionModel.from_pretrained(this.id, { dtype: this.opts.dtype });
        return { model, processor };
      } catch (err) {
        this.vision = undefined;
        throw modelError(`vision model of ${this.fingerprint.model}`, this.opts, err);
      }
    })();
    return this.vision;
  }
}

async function decodeImage(bytes: Buffer): Promise<RawImage> {
  try {
    return await RawImage.fromBlob(new Blob([new Uint8Array(bytes)]));
  } catch (err) {
    throw new RagsyncError('PARSE', `cannot decode the image: ${errorMessage(err)}`, { stage: 'embed', cause: err });
  }
}

/** The tokenizer a `TokenizerSpec` of kind `hf` names, loaded without the network (the parent process fetched it). */
export function loadTokenizer(spec: { model: string; modelDir?: string; cacheDir: string }): Promise<Tokenizer> {
  return AutoTokenizer.from_pretrained(configureEnv({ ...spec, dtype: 'fp32', offline: true, batchSize: 1 }));
}

/** Largest JPEG/PNG batch the vision tower decodes at once (bytes); a batch holds at least one image. */
const IMAGE_BATCH_BYTES = 32 << 20;

/** Batches of at most `step` images and about `IMAGE_BATCH_BYTES` of encoded bytes. */
function imageBatches(images: Buffer[], step: number): Buffer[][] {
  const out: Buffer[][] = [];
  let batch: Buffer[] = [];
  let bytes = 0;
  for (const img of images) {
    if (batch.length > 0 && (batch.length >= step || bytes + img.length > IMAGE_BATCH_BYTES)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(img);
    bytes += img.length;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** The model's image input size from its `preprocessor_config.json` (224, jina-clip-v1's, when it cannot be read). */
function imageSizeOf(opts: JinaClipOptions): number {
  const file = opts.modelDir
    ? path.join(path.resolve(opts.modelDir), 'preprocessor_config.json')
    : path.join(opts.cacheDir, opts.model, 'preprocessor_config.json');
  try {
    const size = (JSON.parse(readFileSync(file, 'utf8')) as { size?: unknown }).size;
    const s = size as { shortest_edge?: unknown; height?: unknown } | number | undefined;
    const n = typeof s === 'number' ? s : Number(s?.shortest_edge ?? s?.height);
    return Number.isInteger(n) && n > 0 ? n : 224;
  } catch {
    return 224;
  }
}

/** Points transformers.js at the model and returns the ID to load it by. */
function configureEnv(opts: JinaClipOptions): string {
  env.cacheDir = opts.cacheDir;
  if (opts.modelDir) {
    const dir = path.resolve(opts.modelDir);
    if (!existsSync(path.join(dir, 'config.json'))) {
      throw new RagsyncError(
        'MODEL_UNAVAILABLE',
        `model directory ${opts.modelDir} has no config.json: pass a directory with config.json, tokenizer.json, preprocessor_config.json and onnx/text_model.onnx, onnx/vision_model.onnx`,
        { stage: 'model' },
      );
    }
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    env.localModelPath = path.dirname(dir) + path.sep;
    return path.basename(dir);
  }
  env.allowLocalModels = false;
  env.allowRemoteModels = !opts.offline;
  return opts.model;
}

function modelError(what: string, opts: JinaClipOptions, err: unknown): RagsyncError {
  if (err instanceof RagsyncError) return err;
  const hint = opts.modelDir
    ? `check that it holds onnx/text_model${dtypeSuffix(opts.dtype)}.onnx for --dtype ${opts.dtype}`
    : `it is neither in the cache (${opts.cacheDir}) nor downloadable${opts.offline ? ' (offline mode)' : ''}: run once where the network reaches the Hugging Face hub, or download the model and pass --model-dir DIR`;
  return new RagsyncError('MODEL_UNAVAILABLE', `cannot load the embedding ${what}: ${errorMessage(err)}; ${hint}`, {
    stage: 'model',
    cause: err,
  });
}

function dtypeSuffix(dtype: Dtype): string {
  const map: Record<Dtype, string> = {
    fp32: '',
    fp16: '_fp16',
    q8: '_quantized',
    int8: '_int8',
    uint8: '_uint8',
    q4: '_q4',
    bnb4: '_bnb4',
    q4f16: '_q4f16',
  };
  return map[dtype];
}

/** JSON with object keys sorted at every depth, so equal configs hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
