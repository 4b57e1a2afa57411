/** The configuration: its schema and defaults, the option table, and resolving file < env < flags. */
export { API_DEFAULTS, type Config, type ConfigLayer, type EmbedderConfig } from './schema.js';
export { CONFIG_DEFAULTS, describeDefault } from './defaults.js';
export { embedderChosen, embedderKeysSet, loadConfig, resolveConfig } from './load.js';
export {
  COMMANDS,
  type CommandName,
  type ConfigKey,
  DAEMON_LOG_LEVEL,
  DEFAULT_POLL_MS,
  OPTIONS,
  type OptionRow,
  setKey,
} from './options.js';
