import { CliHarness, GATEWAY_KEY, QUIET_ENV } from '../cli/harness.ts';
import type { CliAdapter } from '../cli/session.ts';
import { runToolsInstructions } from '../run-tools/index.ts';
import type { HarnessContext, SandboxMcpServer } from '../types.ts';
import { CodexParser } from './parse.ts';

/** The Codex version Nightshift is tested with. */
export const CODEX_VERSION = '0.169.0';
export const DEFAULT_CODEX_MODEL = 'gpt-5';

/**
 * Codex's config: one model provider, the run's gateway (`OPENAI_BASE_URL`, filled in inside the
 * sandbox) over the Responses API; no approvals and no sandbox of its own (ours is the boundary);
 * no update checks, analytics or telemetry export. With the sub-run tools, their MCP server and
 * a note about them in the developer instructions (top-level keys come before the tables).
 */
export function codexConfig(server?: SandboxMcpServer): string {
  const lines = [
    'model_provider = "nightshift"',
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    'check_for_update_on_startup = false',
    ...(server ? [`developer_instructions = ${JSON.stringify(runToolsInstructions(server.name))}`] : []),
    '',
    '[model_providers.nightshift]',
    'name = "Nightshift model gateway"',
    'base_url = "@BASE_URL@"',
    'env_key = "OPENAI_API_KEY"',
    'wire_api = "responses"',
    'request_max_retries = 2',
    'stream_max_retries = 2',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[otel]',
    'exporter = "none"',
    // JSON strings and arrays of strings are valid TOML.
    ...(server
      ? [
          '',
          `[mcp_servers.${server.name}]`,
          `command = ${JSON.stringify(server.command)}`,
          `args = ${JSON.stringify(server.args)}`,
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Codex (`@openai/codex`) through `codex exec --json`; each follow-up is one more
 * `codex exec resume THREAD MESSAGE`. `CODEX_HOME` (config and sessions) lives in the sandbox
 * home and is kept in the step's session folder. See docs/agents.md.
 */
export class CodexHarness extends CliHarness {
  readonly name = 'codex';
  readonly tool = { name: '@openai/codex', version: CODEX_VERSION };
  protected readonly providerHint = 'set OPENAI_API_KEY where the Nightshift worker runs';

  protected adapter(context: HarnessContext): CliAdapter {
    const home = `/home/nightshift/.nightshift-agents/${context.stepId}/codex`;
    const model = (context.model ?? DEFAULT_CODEX_MODEL).replace(/^openai(-responses)?:/, '');
    const vendor = `${this.mountPoint}/node_modules/@openai/codex-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}/vendor/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-unknown-linux-musl`;
    const env = {
      ...QUIET_ENV,
      CODEX_HOME: home,
      OPENAI_API_KEY: GATEWAY_KEY,
    };
    const common = ['--json', '--skip-git-repo-check', '--model', model];
    return {
      name: 'Codex',
      stateDir: home,
      cumulativeUsage: true,
      setup: async () => {
        const result = await context.sandbox.exec(
          [
            'sh',
            '-c',
            'mkdir -p "$CODEX_HOME" && sed "s|@BASE_URL@|$OPENAI_BASE_URL|" > "$CODEX_HOME/config.toml"',
          ],
          { env, stdin: codexConfig(context.subRunsServer), cwd: '/' },
        );
        if (result.exitCode !== 0)
          throw new Error(`could not write the Codex config: ${result.stderr.trim()}`);
      },
      command: (message, sessionId) => ({
        argv: sessionId
          ? [`${vendor}/bin/codex`, 'exec', 'resume', ...common, sessionId, message]
          : [`${vendor}/bin/codex`, 'exec', ...common, message],
        env,
      }),
      parser: () => new CodexParser(model),
    };
  }
}
