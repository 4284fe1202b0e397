import { CliHarness, GATEWAY_KEY, QUIET_ENV } from '../cli/harness.ts';
import type { CliAdapter } from '../cli/session.ts';
import { runToolsInstructions } from '../run-tools/index.ts';
import type { HarnessContext, SandboxMcpServer } from '../types.ts';
import { ClaudeCodeParser } from './parse.ts';

/** The Claude Code version Nightshift is tested with. */
export const CLAUDE_CODE_VERSION = '2.1.330';
export const DEFAULT_CLAUDE_MODEL = 'claude-sonnet-4-5';

/**
 * The sub-run tools' MCP server as `--mcp-config` JSON, and a note about them appended to the
 * system prompt. `alwaysLoad` puts the tools in the first request instead of behind Claude
 * Code's tool search; no `--allowedTools` is needed, permissions are bypassed.
 */
function subRunsArgs(server: SandboxMcpServer | undefined): string[] {
  if (!server) return [];
  const { name, command, args } = server;
  const config = { mcpServers: { [name]: { type: 'stdio', command, args, alwaysLoad: true } } };
  return ['--mcp-config', JSON.stringify(config), '--append-system-prompt', runToolsInstructions(name)];
}

/**
 * Claude Code (`@anthropic-ai/claude-code`) in print mode with `stream-json` output; each
 * follow-up is one more `--resume SESSION -p MESSAGE`. Its config folder (sessions included)
 * lives in the sandbox home and is kept in the step's session folder. See docs/agents.md.
 */
export class ClaudeCodeHarness extends CliHarness {
  readonly name = 'claude-code';
  readonly tool = { name: '@anthropic-ai/claude-code', version: CLAUDE_CODE_VERSION };
  protected readonly providerHint = 'set ANTHROPIC_API_KEY where the Nightshift worker runs';

  protected adapter(context: HarnessContext): CliAdapter {
    const stateDir = `/home/nightshift/.nightshift-agents/${context.stepId}/claude`;
    const model = (context.model ?? DEFAULT_CLAUDE_MODEL).replace(/^anthropic:/, '');
    const bin = `${this.packagePath}/bin/claude.exe`;
    return {
      name: 'Claude Code',
      stateDir,
      command: (message, sessionId) => ({
        argv: [
          bin,
          ...(sessionId ? ['--resume', sessionId] : []),
          '-p',
          message,
          '--output-format',
          'stream-json',
          '--verbose',
          '--model',
          model,
          // Our sandbox is the boundary; Claude Code's own permission prompts would wait for nobody.
          '--dangerously-skip-permissions',
          ...subRunsArgs(context.subRunsServer),
        ],
        env: {
          ...QUIET_ENV,
          ANTHROPIC_API_KEY: GATEWAY_KEY,
          CLAUDE_CONFIG_DIR: stateDir,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          DISABLE_BUG_COMMAND: '1',
          DISABLE_COST_WARNINGS: '1',
        },
      }),
      parser: () => new ClaudeCodeParser(),
    };
  }
}
