/**
 * Resolving the configuration: layers apply in order, config file < `RAGSYNC_*` environment
 * variables < command-line flags. Unknown keys and bad values are errors that name the field and
 * the layer it came from. `resolveConfig` is pure; `loadConfig` also finds and reads the file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { z } from 'zod';
import { RagsyncError, errorMessage } from '../core/errors.js';
import { DEFAULT_KINDS } from './defaults.js';
import { CONFIG_FILES, OPTIONS, type OptionRow, type ValueType, setKey } from './options.js';
import { type Config, type ConfigLayer, ConfigSchema, LayerSchema } from './schema.js';

/** Loads `yaml` when a YAML config file is read: most runs have none, and the parser is 40 ms of start-up. */
const require = createRequire(import.meta.url);

/** Setting any of these without a sink kind selects the Milvus sink. */
const MILVUS_KEYS = ['address', 'token', 'username', 'password', 'database', 'ssl', 'caPath', 'collection', 'partitionKey'];
/** Whether a layer's value is a group of settings (`sink`, `watch`, `serve`...), merged key by key; lists and values are replaced whole. */
const isGroup = (value: unknown): value is object => typeof value === 'object' && value !== null && !Array.isArray(value);

type EnvRow = OptionRow & { env: string };
/** Variables that set a config key, by name. */
const ENV_SETTINGS = new Map(OPTIONS.filter((r): r is EnvRow => r.env !== undefined && r.key !== undefined).map((r) => [r.env, r]));
/** Variables read elsewhere (not config fields) that must not be reported as unknown. */
const OTHER_ENV = new Set(OPTIONS.filter((r) => r.env !== undefined && r.key === undefined).map((r) => r.env));

/** The inputs of `resolveConfig`, each optional. */
export interface ConfigInputs {
  /** Parsed config file content, and its name for messages. */
  file?: { name: string; data: unknown };
  /** The environment; only `RAGSYNC_*` variables are read, and an unknown one is an error. */
  env?: Record<string, string | undefined>;
  /** The command line's settings. */
  flags?: ConfigLayer;
}

/** Validates and merges the layers; throws `RagsyncError` code `CONFIG` naming the bad field. */
export function resolveConfig(inputs: ConfigInputs): Config {
  const layers: ConfigLayer[] = [];
  if (inputs.file) layers.push(parseLayer(inputs.file.data, `config file ${inputs.file.name}`));
  if (inputs.env) layers.push(envLayer(inputs.env));
  if (inputs.flags) layers.push(parseLayer(inputs.flags, 'command line'));
  const merged: Record<string, unknown> = { sink: { kind: DEFAULT_KINDS.sink }, embedder: { kind: DEFAULT_KINDS.embedder } };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const base =
        key === 'embedder' ? carriedOver(merged.embedder as Record<string, unknown>, (value as { kind?: string }).kind) : merged[key];
      merged[key] = isGroup(value) ? { ...(base as object), ...dropUndefined(value) } : value;
    }
  }
  const sink = merged.sink as Record<string, unknown>;
  if (!layers.some((l) => l.sink?.kind) && MILVUS_KEYS.some((k) => sink[k] !== undefined)) sink.kind = 'milvus';
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) throw configError('configuration', result.error);
  const set = layers.flatMap((l) => Object.keys(dropUndefined(l.embedder ?? {})).map((k) => `embedder.${k}`));
  return Object.defineProperty(result.data, EMBEDDER_KEYS, { value: [...new Set(set)], enumerable: true });
}

/** Where a resolved config keeps the embedder settings its layers set (a symbol: never serialized, kept by a spread). */
const EMBEDDER_KEYS = Symbol('ragsync.embedderKeys');

/**
 * The embedder settings (`embedder.model`, ...) that some layer of `resolveConfig` set, in the
 * order first set; `undefined` for a config `resolveConfig` did not make.
 */
export function embedderKeysSet(config: Config): readonly string[] | undefined {
  return (config as { [EMBEDDER_KEYS]?: string[] })[EMBEDDER_KEYS];
}

/**
 * Whether the user chose the embedder: a layer set an embedder setting (or the config was not made
 * by `resolveConfig`). Commands on a store use the store's recorded embedder otherwise.
 */
export function embedderChosen(config: Config): boolean {
  return (embedderKeysSet(config)?.length ?? 1) > 0;
}

/**
 * Resolves the configuration of a command: the config file (`configFile`, else `$RAGSYNC_CONFIG`,
 * else the first of `CONFIG_FILES` in the working directory), then `env`, then `flags`.
 */
export function loadConfig(flags: ConfigLayer, opts: { configFile?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.configFile ?? env.RAGSYNC_CONFIG ?? CONFIG_FILES.find((f) => existsSync(f));
  return resolveConfig({ file: file ? readConfigFile(file) : undefined, env, flags });
}

function readConfigFile(file: string): { name: string; data: unknown } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new RagsyncError('CONFIG', `cannot read config file ${file}: ${errorMessage(err)}`, { stage: 'config' });
  }
  const json = file.endsWith('.json');
  try {
    return { name: file, data: json ? JSON.parse(text) : (require('yaml') as typeof Yaml).parse(text) };
  } catch (err) {
    throw new RagsyncError('CONFIG', `config file ${file} is not valid ${json ? 'JSON' : 'YAML'}: ${errorMessage(err)}`, {
      stage: 'config',
    });
  }
}

/**
 * What of the embedder settings so far carries over to a layer that names another kind: only
 * settings that kind has (an API key set in the environment stays for `--embedder jina-api`), and
 * never the model name (a local model's name means nothing to an API, and the reverse).
 */
function carriedOver(earlier: Record<string, unknown>, kind: string | undefined): Record<string, unknown> {
  if (kind === undefined || kind === earlier.kind) return earlier;
  const option = ConfigSchema.shape.embedder.options.find((o) => o.shape.kind.value === kind);
  const keys = new Set(option ? Object.keys(option.shape) : []);
  return Object.fromEntries(Object.entries(earlier).filter(([k]) => k !== 'model' && k !== 'kind' && keys.has(k)));
}

function parseLayer(data: unknown, where: string): ConfigLayer {
  const result = LayerSchema.safeParse(data ?? {});
  if (!result.success) throw configError(where, result.error);
  return result.data;
}

function envLayer(env: Record<string, string | undefined>): ConfigLayer {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('RAGSYNC_') || raw === undefined || OTHER_ENV.has(name)) continue;
    const row = ENV_SETTINGS.get(name);
    if (!row) {
      const known = [...ENV_SETTINGS.keys()].join(', ');
      throw new RagsyncError('CONFIG', `unknown environment variable ${name} (known: ${known})`, { stage: 'config' });
    }
    setKey(out, row.key!, envValue(name, raw, row.type));
  }
  const result = LayerSchema.safeParse(out);
  if (!result.success) {
    const field = result.error.issues[0]!.path.join('.');
    const name = [...ENV_SETTINGS.values()].find((r) => r.key === field || field.startsWith(`${r.key}.`))?.env ?? field;
    throw new RagsyncError('CONFIG', `${name}: ${result.error.issues[0]!.message}`, { stage: 'config' });
  }
  return result.data;
}

function envValue(name: string, raw: string, type: ValueType): unknown {
  if (type === 'int') {
    if (!/^\d+$/.test(raw.trim()))
      throw new RagsyncError('CONFIG', `${name}: expected a whole number, got ${JSON.stringify(raw)}`, { stage: 'config' });
    return Number(raw);
  }
  if (type === 'bool') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    throw new RagsyncError('CONFIG', `${name}: expected true or false, got ${JSON.stringify(raw)}`, { stage: 'config' });
  }
  if (type === 'list') {
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  return raw;
}

function configError(where: string, error: z.ZodError): RagsyncError {
  const details = error.issues
    .map((i) => {
      const field = i.path.join('.');
      if (i.code !== 'unrecognized_keys') return `${field || '(root)'}: ${i.message}`;
      return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => (field ? `${field}.${k}` : k)).join(', ')}`;
    })
    .join('; ');
  return new RagsyncError('CONFIG', `${where}: ${details}`, { stage: 'config' });
}

function dropUndefined(obj: object): object {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined));
}
