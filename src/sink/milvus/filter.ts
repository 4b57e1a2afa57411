/**
 * Milvus boolean expressions with data kept out of the syntax. A filter is written once as a
 * template (`doc_id == {doc}`, `id in {ids}`) with its values apart. Servers that support filter
 * templates get the template and `exprValues` as they are; servers that do not (Milvus Lite 3
 * parses no templates) get each placeholder replaced by a literal from `milvusLiteral`, the one
 * escaping function, which both grammars read back as exactly the value.
 */

export type FilterValue = string | number | boolean | string[] | number[];

export interface MilvusFilter {
  template: string;
  values: Record<string, FilterValue>;
}

/** Builds a filter template; placeholder names are `{name}` and must have a value. */
export function filter(template: string, values: Record<string, FilterValue> = {}): MilvusFilter {
  for (const [, name] of template.matchAll(/\{(\w+)\}/g)) {
    if (!(name! in values)) throw new Error(`filter placeholder {${name}} has no value`);
  }
  return { template, values };
}

/** All conditions joined by `and`, their placeholders renamed apart; `''` (match all) when none. */
export function and(parts: MilvusFilter[]): MilvusFilter {
  const values: Record<string, FilterValue> = {};
  const templates = parts.map((p, i) =>
    p.template.replace(/\{(\w+)\}/g, (_, name: string) => {
      values[`${name}_${i}`] = p.values[name]!;
      return `{${name}_${i}}`;
    }),
  );
  return { template: templates.map((t) => (parts.length > 1 ? `(${t})` : t)).join(' and '), values };
}

/**
 * A Milvus string literal holding exactly `value`: double quotes, with `\`, `"`, newline and
 * carriage return escaped (the only characters either grammar cannot hold raw in a literal).
 */
export function milvusLiteral(value: FilterValue): string {
  if (Array.isArray(value)) return `[${(value as Array<string | number>).map((v) => milvusLiteral(v)).join(', ')}]`;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('non-finite number in a filter');
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value.includes('\0')) throw new Error('NUL character in a filter value');
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/** The request fields for a filter: template + exprValues, or the expression with literals. */
export function render(f: MilvusFilter, templates: boolean): { filter: string; exprValues?: Record<string, FilterValue> } {
  if (templates) return Object.keys(f.values).length > 0 ? { filter: f.template, exprValues: f.values } : { filter: f.template };
  return { filter: f.template.replace(/\{(\w+)\}/g, (_, name: string) => milvusLiteral(f.values[name]!)) };
}
