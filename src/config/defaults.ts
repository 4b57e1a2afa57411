/**
 * The defaults, read back from the schema (which is where they are written) for help texts: per
 * sink and embedder kind, and as one line per setting.
 */
import { type Config, ConfigSchema, EMBEDDER_KINDS, type EmbedderKind, SINK_KINDS, type SinkKind } from './schema.js';

type Variant<T, K> = Extract<T, { kind: K }>;

/** The default kinds: the first of each list. */
export const DEFAULT_KINDS = { sink: SINK_KINDS[0], embedder: EMBEDDER_KINDS[0] } as const;

/** Every default of a config with the default sink and embedder. */
export const CONFIG_DEFAULTS: Config = ConfigSchema.parse({
  sink: { kind: DEFAULT_KINDS.sink },
  embedder: { kind: DEFAULT_KINDS.embedder },
});

/** The defaults of each sink kind's settings. */
const SINK_DEFAULTS = Object.fromEntries(SINK_KINDS.map((kind) => [kind, ConfigSchema.shape.sink.parse({ kind })])) as {
  [K in SinkKind]: Variant<Config['sink'], K>;
};

/** The defaults of each embedder kind's settings. */
export const EMBEDDER_DEFAULTS = Object.fromEntries(EMBEDDER_KINDS.map((kind) => [kind, ConfigSchema.shape.embedder.parse({ kind })])) as {
  [K in EmbedderKind]: Variant<Config['embedder'], K>;
};

/** The settings each kind of a tagged union has (a kind without a setting refuses it). */
const VARIANT_KEYS = {
  sink: new Map(ConfigSchema.shape.sink.options.map((o) => [o.shape.kind.value, Object.keys(o.shape)])),
  embedder: new Map(ConfigSchema.shape.embedder.options.map((o) => [o.shape.kind.value, Object.keys(o.shape)])),
};

/**
 * The default of a setting (a dotted key such as `sink.path`) as help shows it, or undefined when
 * it has none. A sink or embedder setting whose default differs by kind names the kinds:
 * `16 for jina-clip, fixed; 64 for jina-api, openai`.
 */
export function describeDefault(key: string): string | undefined {
  const [head, tail] = key.split('.') as [string, string | undefined];
  if ((head === 'sink' || head === 'embedder') && tail !== undefined) {
    if (tail === 'kind') return DEFAULT_KINDS[head];
    return byKind(head === 'sink' ? SINK_DEFAULTS : EMBEDDER_DEFAULTS, VARIANT_KEYS[head], tail);
  }
  const group = (CONFIG_DEFAULTS as Record<string, unknown>)[head];
  return shown(tail === undefined ? group : (group as Record<string, unknown> | undefined)?.[tail]);
}

function byKind(defaults: Record<string, object>, keys: Map<string, string[]>, setting: string): string | undefined {
  const kinds = new Map<string, string[]>();
  let withSetting = 0;
  for (const [kind, values] of Object.entries(defaults)) {
    if (!keys.get(kind)?.includes(setting)) continue;
    withSetting++;
    const value = shown((values as Record<string, unknown>)[setting]);
    if (value !== undefined) kinds.set(value, [...(kinds.get(value) ?? []), kind]);
  }
  const values = [...kinds];
  if (values.length === 1 && values[0]![1].length === withSetting) return values[0]![0];
  return values.length === 0 ? undefined : values.map(([value, of]) => `${value} for ${of.join(', ')}`).join('; ');
}

function shown(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length > 0 ? value.join(', ') : undefined;
  return String(value);
}
