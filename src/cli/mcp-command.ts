/** `mcp`: the MCP server on stdio, until its input ends or a signal comes (exit 0 either way). */
import { runMcp } from '../mcp/index.js';
import { type Flags, configOf, daemonLogger } from './commands.js';
import { EXIT } from './exit.js';
import { onInterrupt } from './signals.js';

/** `mcp`: serves the tools `search` and `status` over stdin/stdout; logs go to stderr (life events at info, as a daemon's). */
export async function mcpCommand(flags: Flags): Promise<number> {
  const config = configOf('mcp', flags);
  const log = daemonLogger(config, flags);
  const interrupt = onInterrupt('the MCP server closes the store');
  try {
    await runMcp(config, { log, signal: interrupt.signal });
  } finally {
    interrupt.dispose();
  }
  return EXIT.ok;
}
