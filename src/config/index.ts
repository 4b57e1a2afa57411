/**
 * The configuration: its schema and defaults, the option table, and resolving file < env < flags.
 * Help reads `options.ts` and `defaults.ts` directly: this entry loads the schema (zod).
 */
export type { Config, ConfigLayer, EmbedderConfig } from './schema.js';
export { API_DEFAULTS, CONFIG_DEFAULTS } from './defaults.js';
export { embedderChosen, embedderKeysSet, loadConfig, resolveConfig } from './load.js';
export { type CommandName, DAEMON_LOG_LEVEL, DEFAULT_POLL_MS } from './options.js';
