/**
 * The one escaping function for data inside LanceDB (DataFusion SQL) filters. Every value that
 * comes from data (doc IDs, paths, hashes, sources) goes through `sqlString` or `sqlIn`.
 */

/**
 * A SQL string literal holding exactly `value`: wrapped in single quotes, a single quote doubled.
 * Backslashes are plain characters in these literals. NUL cannot appear in a file name and is
 * refused rather than silently truncated.
 */
export function sqlString(value: string): string {
  if (value.includes('\0')) throw new Error('NUL character in a filter value');
  return `'${value.replace(/'/g, "''")}'`;
}

/** `column IN ('a', 'b', ...)` with every value escaped; `false` for an empty list. */
export function sqlIn(column: string, values: readonly string[]): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(column)) throw new Error(`bad column name ${column}`);
  if (values.length === 0) return 'false';
  return `${column} IN (${values.map(sqlString).join(', ')})`;
}

/** `column = 'value'`, escaped. */
export function sqlEq(column: string, value: string): string {
  return sqlIn(column, [value]).replace(/ IN \((.*)\)$/s, ' = $1');
}
