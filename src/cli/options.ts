/**
 * The option table (`config/options.ts`) as commander options: each command gets the rows that
 * name it, with the default and variable in the help; parsed flags become a config layer.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { ConfigLayer } from '../config/index.js';
// The option table and the defaults without the schema (zod): help is built from these alone.
import { describeDefault } from '../config/defaults.js';
import { type CommandName, type ConfigKey, OPTIONS, type OptionRow, setKey } from '../config/options.js';
import { RagsyncError } from '../core/errors.js';

type FlagRow = OptionRow & { flag: string };

// A flag whose value is optional (`--poll [ms]`) takes the next word when it is not a flag: say so.
const int = (flag: string, optional: boolean) => (value: string) => {
  if (/^\d+$/.test(value)) return Number(value);
  const hint = optional ? ` (it takes the word after it: write ${flag} after the folder, or give it a number)` : '';
  throw new InvalidArgumentError(`${flag} must be a whole number${hint}`);
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The flags of one command, in table order. */
function flagRows(command: CommandName): FlagRow[] {
  return OPTIONS.filter((r): r is FlagRow => r.flag !== undefined && (r.commands?.includes(command) ?? false));
}

/** What a row means on a command: the setting it sets there, its help, and the default help shows. */
function onCommand(row: OptionRow, command: CommandName): { key?: ConfigKey; help: string; shown?: string } {
  const variant = row.on?.[command];
  const key = variant?.key ?? row.key;
  const shown = variant?.shownDefault ?? row.shownDefault ?? (key ? describeDefault(key) : undefined);
  // A switch's default is "off": `--offline` is false unless given, `--no-gitignore` true.
  return { key, help: variant?.help ?? row.help, shown: row.type === 'bool' ? undefined : shown };
}

function toOption(row: FlagRow, command: CommandName): Option {
  const { key, help, shown } = onCommand(row, command);
  const env = key ? OPTIONS.find((r) => r.key === key && r.env)?.env : row.env;
  const value = shown ?? (row.default === undefined || row.type === 'bool' ? undefined : String(row.default));
  const notes = [
    row.choices ? `one of: ${row.choices.join(', ')}` : '',
    value === undefined ? '' : `default: ${value}`,
    env ? `env ${env}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  const option = new Option(row.flag, notes ? `${help} (${notes})` : help);
  if (row.type === 'int') option.argParser(int(option.long ?? option.short ?? row.flag, option.optional));
  if (row.preset !== undefined) option.preset(row.preset);
  if (row.type === 'list') option.argParser(collect);
  if (row.choices) option.choices(row.choices);
  if (row.default !== undefined) option.default(row.default);
  if (row.hiddenOn?.includes(command)) option.hideHelp();
  return option;
}

/** Adds the options the table gives `command`. */
export function addOptions(cmd: Command, command: CommandName): Command {
  for (const row of flagRows(command)) cmd.addOption(toOption(row, command));
  // Choices and the default are in each description already, in one style: commander adds none of its own.
  return cmd.configureHelp({ optionDescription: (option) => option.description });
}

/**
 * The config layer of a command's parsed flags: each flag given sets its key (or, for a flag with
 * its own syntax such as `--embedder`, the settings it parses into). Two flags setting one key
 * are a usage error.
 */
export function flagsLayer(command: CommandName, flags: Record<string, unknown>): ConfigLayer {
  const layer: Record<string, unknown> = {};
  const setBy = new Map<string, string>();
  for (const row of flagRows(command)) {
    const { key } = onCommand(row, command);
    const option = new Option(row.flag);
    const value = flags[option.attributeName()];
    // Commander sets a `--no-x` flag's attribute to true when the flag is absent: only false is the flag.
    if (!key || value === undefined || (option.negate && value === true)) continue;
    const flag = option.long ?? row.flag;
    const earlier = setBy.get(key);
    if (earlier) throw new RagsyncError('USAGE', `${earlier} and ${flag} both set ${key}: give one of them`, { stage: 'config' });
    setBy.set(key, flag);
    for (const [k, v] of row.parse ? row.parse(String(value)) : [[key, value] as const]) setKey(layer, k, v);
  }
  return layer as ConfigLayer;
}

/** The help section listing every `RAGSYNC_*` variable, the setting it sets and its default. */
export function environmentHelp(): string {
  const rows = OPTIONS.filter((r): r is OptionRow & { env: string } => r.env !== undefined);
  const width = Math.max(...rows.map((r) => r.env.length));
  const lines = rows.map((r) => {
    const flag = r.flag ? new Option(r.flag) : undefined;
    const what = flag ? `${flag.negate ? 'false: ' : ''}as ${flag.long ?? r.flag}` : r.help;
    const shown = r.shownDefault ?? (r.key ? describeDefault(r.key) : undefined);
    return `  ${r.env.padEnd(width)}  ${r.key ? `${r.key}: ` : ''}${what}${shown === undefined ? '' : ` (default: ${shown})`}`;
  });
  const intro =
    'Environment variables, the config key each sets, and its default (a flag wins over its variable, a variable over the file):';
  return `\n${intro}\n${lines.join('\n')}\n`;
}
