import { copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  MCP_SERVER_SCRIPT,
  runToolsServer,
  SANDBOX_MCP_SERVER,
  SANDBOX_RUN_TOOLS_SOCKET,
  startRunToolsHost,
} from '../agents/run-tools/index.ts';
import type { SandboxMcpServer, SubRunTools } from '../agents/types.ts';
import {
  BRIDGE_SCRIPT,
  bridgeCommand,
  egressEnv,
  SANDBOX_EGRESS_SOCKET,
  SANDBOX_PROXY_PORT,
} from '../egress/bridge/index.ts';
import {
  type ModelCall,
  type ModelGatewayOptions,
  startModelGateway,
  type UsageTotals,
} from '../egress/gateway/index.ts';
import { type EgressDecision, startEgressProxy } from '../egress/proxy/index.ts';
import { hostAllowed } from '../policy/evaluate.ts';
import type { Policy } from '../policy/types.ts';
import type { ExecOptions, Sandbox, SandboxLimits, SandboxSpec } from '../sandbox/types.ts';

/** Where the model gateway's socket is inside the sandbox, and the loopback port bridged to it. */
const SANDBOX_MODEL_SOCKET = '/run/nightshift/model.sock';
const SANDBOX_MODEL_PORT = 4000;
/** The host's node, the bridge and the sub-run tools' MCP server, shown read-only inside the sandbox. */
const SANDBOX_NODE = '/run/nightshift/node';
const SANDBOX_BRIDGE = '/run/nightshift/bridge.mjs';

export interface GovernanceOptions {
  runId: string;
  /** The run's private state directory; the proxy's and gateway's sockets live here. */
  stateDir: string;
  policy: Policy;
  /** Engine-wide limits; the policy may only lower them. */
  limits: SandboxLimits;
  /** Model providers with their keys (host side only); null when none is configured. */
  modelProviders: ModelGatewayOptions['providers'] | null;
  /** The node binary the in-sandbox bridge runs with (visible inside the sandbox). */
  node: string;
  /**
   * The run's sub-run tools, served to the sandbox on a socket of its own (for agent CLIs);
   * `refused` records a request on that socket refused before it reached a tool.
   */
  subRuns?: { tools: SubRunTools; refused(reason: string): void };
  onEgress(decision: EgressDecision): void;
  onModelCall(call: ModelCall): void;
  onBudgetExceeded(totals: UsageTotals): void;
}

/** The governed parts of one run: what its sandbox is given, and the host services it reaches. */
export interface RunGovernance {
  /** Fields of the sandbox spec that come from the policy and the egress services. */
  spec: Pick<SandboxSpec, 'limits' | 'filesystem' | 'executables' | 'sockets' | 'files' | 'env'>;
  /** Wraps a sandbox so every exec starts the loopback bridge to the proxy and gateway first. */
  govern(sandbox: Sandbox): Sandbox;
  /** The model gateway's Unix socket, for harnesses running on the host (the built-in agent). */
  modelGatewaySocket?: string;
  /** The MCP server serving the sub-run tools inside the sandbox, when `subRuns` was given. */
  subRunsServer?: SandboxMcpServer;
  close(): Promise<void>;
}

/** The smaller of two optional limits. */
function lower(a: number | undefined, b: number | null | undefined): number | undefined {
  if (b === null || b === undefined) return a;
  return a === undefined ? b : Math.min(a, b);
}

/**
 * Starts a run's egress proxy (when the policy allows any host), model gateway (when a
 * provider is configured) and sub-run socket (when given sub-run tools) on Unix sockets in its
 * state directory, and turns the policy into sandbox settings. Without the proxy and the gateway
 * the sandbox has no way out at all, and no bridge.
 */
export async function startGovernance(options: GovernanceOptions): Promise<RunGovernance> {
  const { policy } = options;
  const closers: (() => Promise<void>)[] = [];
  const sockets: NonNullable<SandboxSpec['sockets']> = [];
  const routes: { port: number; socketPath: string }[] = [];
  let env: Record<string, string> = {};
  let modelGatewaySocket: string | undefined;
  try {
    if (policy.network.allow.length > 0) {
      const proxy = await startEgressProxy({
        socketPath: join(options.stateDir, 'egress.sock'),
        socketMode: 0o666,
        decide: (host, port) => {
          const verdict = hostAllowed(policy, host, port);
          return { allowed: verdict.allowed, rule: verdict.rule?.pattern, reason: verdict.reason };
        },
        onDecision: options.onEgress,
      });
      closers.push(() => proxy.close());
      sockets.push({ path: proxy.socketPath!, target: SANDBOX_EGRESS_SOCKET });
      routes.push({ port: SANDBOX_PROXY_PORT, socketPath: SANDBOX_EGRESS_SOCKET });
      env = { ...env, ...egressEnv(SANDBOX_PROXY_PORT) };
    }
    if (options.modelProviders) {
      const gateway = await startModelGateway({
        providers: options.modelProviders,
        socketPath: join(options.stateDir, 'model.sock'),
        budget: {
          tokens: policy.budget.tokens.value ?? undefined,
          costUsd: policy.budget.costUsd.value ?? undefined,
        },
        onUsage: options.onModelCall,
        onBudgetExceeded: options.onBudgetExceeded,
      });
      closers.push(() => gateway.close());
      modelGatewaySocket = gateway.socketPath;
      sockets.push({ path: gateway.socketPath!, target: SANDBOX_MODEL_SOCKET });
      routes.push({ port: SANDBOX_MODEL_PORT, socketPath: SANDBOX_MODEL_SOCKET });
      const base = `http://127.0.0.1:${SANDBOX_MODEL_PORT}`;
      env = { ...env, ANTHROPIC_BASE_URL: base, OPENAI_BASE_URL: `${base}/v1` };
    }
    if (options.subRuns) {
      // Only this sandbox sees the socket; whoever connects to it acts for this run, and no other.
      const host = await startRunToolsHost({
        socketPath: join(options.stateDir, 'runs.sock'),
        tools: options.subRuns.tools,
        refused: options.subRuns.refused,
      });
      closers.push(() => host.close());
      sockets.push({ path: host.socketPath, target: SANDBOX_RUN_TOOLS_SOCKET });
    }
  } catch (error) {
    await Promise.allSettled(closers.map((close) => close()));
    throw error;
  }

  const { resources } = policy;
  const spec: RunGovernance['spec'] = {
    limits: {
      ...options.limits,
      memoryBytes: lower(options.limits.memoryBytes, resources.memoryBytes.value),
      pids: lower(options.limits.pids, resources.pids.value),
      cpu: lower(options.limits.cpu, resources.cpus.value),
      diskBytes: lower(options.limits.diskBytes, resources.diskBytes.value),
    },
    filesystem: {
      readOnly: policy.filesystem.readOnly.map((rule) => rule.path),
      hidden: policy.filesystem.hidden.map((rule) => rule.path),
    },
    executables: {
      deny: policy.executables.deny.map((rule) => rule.executable),
      allowExecFrom: policy.executables.allowExecFrom.map((rule) => rule.path),
    },
    sockets,
    env,
  };
  const bridge = routes.length > 0 ? bridgeCommand(SANDBOX_NODE, routes, SANDBOX_BRIDGE) : null;
  // Copies in the state dir: Nightshift's own files may live anywhere (even under /tmp, which
  // the sandbox launcher covers while bwrap starts); the state dir is always reachable.
  const scripts = [
    ...(bridge ? [{ path: BRIDGE_SCRIPT, target: SANDBOX_BRIDGE }] : []),
    ...(options.subRuns ? [{ path: MCP_SERVER_SCRIPT, target: SANDBOX_MCP_SERVER }] : []),
  ];
  if (scripts.length > 0) {
    spec.files = [{ path: options.node, target: SANDBOX_NODE }];
    try {
      for (const script of scripts) {
        const copy = join(options.stateDir, basename(script.target));
        await copyFile(script.path, copy);
        spec.files.push({ path: copy, target: script.target });
      }
    } catch (error) {
      await Promise.allSettled(closers.map((close) => close()));
      throw error;
    }
  }
  return {
    spec,
    govern: (sandbox) => (bridge ? withBridge(sandbox, bridge) : sandbox),
    modelGatewaySocket,
    subRunsServer: options.subRuns ? runToolsServer(SANDBOX_NODE) : undefined,
    close: async () => {
      await Promise.allSettled(closers.map((close) => close()));
    },
  };
}

/** The same sandbox, but each exec runs under the bridge (`bridge.mjs ROUTES -- CMD`), which exits with CMD. */
function withBridge(sandbox: Sandbox, bridge: string[]): Sandbox {
  return Object.assign(Object.create(sandbox) as Sandbox, {
    exec: (argv: string[], options?: ExecOptions) => sandbox.exec([...bridge, '--', ...argv], options),
  });
}
