import { CliHarness, GATEWAY_KEY, QUIET_ENV } from '../cli/harness.ts';
import type { CliAdapter } from '../cli/session.ts';
import { runToolsInstructions } from '../run-tools/index.ts';
import type { HarnessContext, SandboxMcpServer } from '../types.ts';
import { OpenCodeParser } from './parse.ts';

/** The OpenCode version Nightshift is tested with. */
export const OPENCODE_VERSION = '1.18.33';
export const DEFAULT_OPENCODE_MODEL = 'anthropic:claude-sonnet-4-5';

/**
 * OpenCode's config (given in `OPENCODE_CONFIG_CONTENT`): its bundled Anthropic and OpenAI
 * providers pointed at the run's gateway (the `{env:...}` URLs are filled in by OpenCode inside
 * the sandbox) with the placeholder key; no auto-update, sharing, snapshots, LSP or formatters.
 * With the sub-run tools: their MCP server, and the file telling the agent about them.
 */
export function openCodeConfig(
  model: string,
  subRuns?: { server: SandboxMcpServer; instructions: string },
): string {
  const slash = model.indexOf('/');
  const provider = model.slice(0, slash);
  const name = model.slice(slash + 1);
  // Declared, so a model newer than OpenCode's bundled catalog (not fetched: no network) is known.
  const models = (of: string) => (of === provider ? { models: { [name]: { name } } } : {});
  return JSON.stringify({
    autoupdate: false,
    share: 'disabled',
    snapshot: false,
    lsp: false,
    formatter: false,
    model,
    small_model: model,
    provider: {
      anthropic: {
        options: { baseURL: '{env:ANTHROPIC_BASE_URL}/v1', apiKey: GATEWAY_KEY },
        ...models('anthropic'),
      },
      openai: { options: { baseURL: '{env:OPENAI_BASE_URL}', apiKey: GATEWAY_KEY }, ...models('openai') },
    },
    ...(subRuns && {
      mcp: {
        [subRuns.server.name]: {
          type: 'local',
          command: [subRuns.server.command, ...subRuns.server.args],
          enabled: true,
        },
      },
      instructions: [subRuns.instructions],
    }),
  });
}

/** `anthropic:NAME` → `anthropic/NAME`; `openai:`/`openai-responses:` → `openai/NAME` (Responses API). */
export function openCodeModel(spec: string | undefined): string {
  const [provider, ...rest] = (spec ?? DEFAULT_OPENCODE_MODEL).split(':');
  if (rest.length === 0) return `anthropic/${provider}`;
  return `${provider?.startsWith('openai') ? 'openai' : 'anthropic'}/${rest.join(':')}`;
}

/**
 * OpenCode (`opencode-ai`) through `opencode run --format json`; each follow-up is one more
 * `opencode run --session SESSION MESSAGE`. Its data, config, cache and state folders (the
 * session database included) live in the sandbox home and are kept in the step's session
 * folder. See docs/agents.md.
 */
export class OpenCodeHarness extends CliHarness {
  readonly name = 'opencode';
  readonly tool = { name: 'opencode-ai', version: OPENCODE_VERSION };
  protected readonly providerHint =
    'set ANTHROPIC_API_KEY (or OPENAI_API_KEY) where the Nightshift worker runs';

  protected adapter(context: HarnessContext): CliAdapter {
    const home = `/home/nightshift/.nightshift-agents/${context.stepId}/opencode`;
    const model = openCodeModel(context.model);
    const server = context.subRunsServer;
    const instructions = `${home}/nightshift-instructions.md`;
    const bin = `${this.mountPoint}/node_modules/opencode-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}/bin/opencode`;
    const env = {
      ...QUIET_ENV,
      XDG_DATA_HOME: `${home}/data`,
      XDG_CONFIG_HOME: `${home}/config`,
      XDG_CACHE_HOME: `${home}/cache`,
      XDG_STATE_HOME: `${home}/state`,
      OPENCODE_CONFIG_CONTENT: openCodeConfig(model, server && { server, instructions }),
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
      OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
      OPENCODE_DISABLE_SHARE: '1',
      OPENCODE_DISABLE_CLAUDE_CODE: '1',
      OPENCODE_DISABLE_EXTERNAL_SKILLS: '1',
    };
    return {
      name: 'OpenCode',
      stateDir: home,
      setup: async () => {
        if (!server) return;
        const result = await context.sandbox.exec(
          ['sh', '-c', 'mkdir -p "$1" && cat > "$2"', 'sh', home, instructions],
          { stdin: runToolsInstructions(server.name), cwd: '/' },
        );
        if (result.exitCode !== 0) {
          throw new Error(`could not write OpenCode's instructions file: ${result.stderr.trim()}`);
        }
      },
      command: (message, sessionId) => ({
        argv: [
          bin,
          'run',
          '--format',
          'json',
          '--model',
          model,
          '--dir',
          '/workspace',
          // A title given up front spares a model call that only names the session.
          '--title',
          `nightshift ${context.runId}`,
          // Our sandbox is the boundary; OpenCode's permission prompts would wait for nobody.
          '--auto',
          ...(sessionId ? ['--session', sessionId] : []),
          message,
        ],
        env,
      }),
      parser: () => new OpenCodeParser(model),
    };
  }
}
