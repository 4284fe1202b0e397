import { fileURLToPath } from 'node:url';
import type { SandboxMcpServer } from '../types.ts';

export {
  describeRun,
  RUN_TOOLS,
  RUN_TOOLS_LINE,
  type RunToolName,
  runToolsInstructions,
} from './definitions.ts';
export { type RunToolsHost, type RunToolsHostOptions, startRunToolsHost } from './host.ts';

/** The MCP server program (plain JavaScript, node builtins only), to run inside the sandbox. */
export const MCP_SERVER_SCRIPT = fileURLToPath(new URL('./mcp-server.mjs', import.meta.url));

/** Where the run's sub-run socket and the MCP server program are inside the sandbox. */
export const SANDBOX_RUN_TOOLS_SOCKET = '/run/nightshift/runs.sock';
export const SANDBOX_MCP_SERVER = '/run/nightshift/mcp-server.mjs';

/**
 * The stdio MCP server an agent CLI starts in the sandbox for `start_run` and `run_status`,
 * run by `node` (a path inside the sandbox). Agent CLIs name its tools after `name`
 * (`mcp__nightshift__start_run`, `nightshift_start_run`).
 */
export function runToolsServer(node: string): SandboxMcpServer {
  return { name: 'nightshift', command: node, args: [SANDBOX_MCP_SERVER, SANDBOX_RUN_TOOLS_SOCKET] };
}
