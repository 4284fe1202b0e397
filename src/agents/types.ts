import type { NightshiftError } from '../core/errors.ts';
import type { HarnessEvent } from '../core/events.ts';
import type { Sandbox, SandboxFile } from '../sandbox/types.ts';

/** What an agent asks for with the `start_run` tool. */
export interface SubRunRequest {
  /** Another repo (an absolute path, URL or `github:OWNER/NAME`); the run's own repo when omitted. */
  repo?: string;
  prompt?: string;
  script?: string;
  /** A built-in blueprint name (`default`, `script`, ...); files are not allowed. */
  blueprint?: string;
}

/** A sub-run as an agent sees it through `run_status`. */
export interface SubRunInfo {
  id: string;
  repo: string;
  blueprint: string;
  status: string;
  conclusion: string | null;
  reason: string | null;
  branch: string | null;
  change: { files: number; insertions: number; deletions: number; state: string } | null;
}

/**
 * Sub-runs a run's agent may start and read, bounded by the policy's `runs` section; refusals
 * throw POLICY_DENIED with a message for the agent. Given to harnesses running on the host.
 */
export interface SubRunTools {
  start(request: SubRunRequest): Promise<SubRunInfo>;
  /** A sub-run this run started (any other id is refused). */
  status(id: string): Promise<SubRunInfo>;
}

/** A stdio MCP server that an agent CLI starts inside the sandbox: `command ...args`, called `name`. */
export interface SandboxMcpServer {
  name: string;
  command: string;
  args: string[];
}

export interface HarnessContext {
  runId: string;
  /** The blueprint step the agent works for (fix rounds of a gate come back to the same step). */
  stepId: string;
  /**
   * A host directory kept with the run (`$NIGHTSHIFT_HOME/sessions/<runId>/<stepId>`) where the
   * harness keeps its own session state, so the conversation can be continued later. It exists
   * when `start` is called and survives the sandbox.
   */
  sessionDir: string;
  /**
   * The `sessionDir` of the same step in an earlier run that this run continues: the harness
   * copies it and resumes that conversation instead of starting a new one.
   */
  resumeFrom?: string;
  /** The sandbox the agent works in; every command it runs goes through `sandbox.exec`. */
  sandbox: Sandbox;
  /** Environment the agent's processes get (model gateway URLs come here later). */
  env: Record<string, string>;
  /** `provider:model`, e.g. `anthropic:claude-sonnet-4-5`; each harness has its default. */
  model?: string;
  /**
   * The Unix socket of the run's model gateway, for harnesses that run on the host (the
   * built-in agent); undefined when no model provider is configured. Sandboxed programs use
   * the gateway URLs in `env` instead.
   */
  modelGatewaySocket?: string;
  /** Aborted when the run is cancelled or times out. */
  signal: AbortSignal;
  /**
   * Starting and reading sub-runs (the built-in agent's `start_run` and `run_status` tools);
   * undefined when the policy allows none (`runs.max_children` or `runs.max_depth` is 0).
   */
  subRuns?: SubRunTools;
  /**
   * The same tools for agent CLIs: an MCP server inside the sandbox that forwards each call to
   * the host, which answers with `subRuns`. Set exactly when `subRuns` is.
   */
  subRunsServer?: SandboxMcpServer;
}

/** One conversation with an agent, started by `Harness.start`. */
export interface HarnessSession {
  /** Normalized events until the agent finishes its turn (and every queued follow-up). */
  readonly events: AsyncIterable<HarnessEvent>;
  /**
   * Queues a message delivered when the current turn finishes, in order. Returns false (and
   * takes nothing) when the conversation has already ended or is stopping.
   */
  followUp(message: string, author: string | null): boolean;
  /** Halts the agent; the events stream ends soon after. */
  stop(by: string | null): Promise<void>;
}

/** The agent program driving a model inside the sandbox. Implementations live in `src/agents/<name>/`. */
export interface Harness {
  readonly name: string;
  /** The npm package the harness runs, at its pinned version (external agent CLIs only). */
  readonly tool?: { name: string; version: string };
  /**
   * Host files or folders the sandbox must show read-only (the installed agent program),
   * installing them first if needed. Provisioning calls it for the harnesses of a blueprint's
   * agent steps before the sandbox is created; targets are under `/run/nightshift`.
   */
  sandboxFiles?(): Promise<SandboxFile[]>;
  /** Makes the agent program available in the sandbox; called once per run before `start`. */
  prepare?(context: HarnessContext): Promise<void>;
  /**
   * The error this harness fails a run with when no model provider is configured (no model
   * gateway); absent for a harness that needs none. Lets a fleet refuse up front what every
   * one of its runs would fail at.
   */
  withoutModelProvider?(): NightshiftError;
  start(prompt: string, context: HarnessContext): HarnessSession;
}
