/** `mcp`: the MCP helper's branch replaces this file. */
import type { Flags } from './commands.js';
import { usage } from './commands.js';

export async function mcpCommand(_flags: Flags): Promise<number> {
  throw usage('ragsync mcp: not built yet');
}
