import { mkdirSync } from 'node:fs';
import type { SandboxMcpServer, SubRunTools } from '../agents/types.ts';
import type { Repo } from '../core/run.ts';
import { removeTree } from '../core/sync-fs.ts';
import type { ModelCall, ModelGatewayOptions, UsageTotals } from '../egress/gateway/index.ts';
import type { EgressDecision } from '../egress/proxy/index.ts';
import { loadEnvironment } from '../environments/load.ts';
import type { Environment } from '../environments/types.ts';
import { type LoadedPolicy, loadPolicy } from '../policy/load.ts';
import type { Policy } from '../policy/types.ts';
import type { Sandbox, SandboxFile, SandboxLimits, SandboxProvider } from '../sandbox/types.ts';
import type { ScmProvider } from '../scm/types.ts';
import { type RunGovernance, startGovernance } from './governance.ts';

export interface ProvisionDeps {
  scm: ScmProvider;
  sandboxes: SandboxProvider;
  limits: SandboxLimits;
  /** `$NIGHTSHIFT_HOME/policy.yml`. */
  serverPolicyFile: string;
  modelProviders: ModelGatewayOptions['providers'] | null;
  node: string;
}

export interface ProvisionInput {
  /** Names the sandbox (the run id). */
  id: string;
  repo: Repo;
  /** The commit to start from; fetched from `baseRef` (default branch) when null. */
  baseCommit: string | null;
  baseRef?: string | null;
  /** When the run was queued: a mirror fetch started since then is reused rather than repeated. */
  queuedAt?: Date;
  /** The sandbox's private state directory; emptied first. */
  stateDir: string;
  /** A policy file standing in for the repo's `.nightshift/policy.yml` (`sandbox exec --policy`). */
  repoPolicyFile?: string;
  /** Extra host files shown read-only (the agent programs of the blueprint's harnesses). */
  files?: SandboxFile[];
  /**
   * The run's sub-run tools, made once the policy is known and only when it allows sub-runs;
   * `refused` records a request the sandbox's sub-run socket refused.
   */
  subRuns?: { tools(policy: Policy): SubRunTools; refused(reason: string): void };
  onEgress(decision: EgressDecision): void;
  onModelCall(call: ModelCall): void;
  onBudgetExceeded(totals: UsageTotals): void;
}

/** A sandbox ready for a run's steps, and what it was made from. */
export interface Provisioned {
  baseCommit: string;
  baseCached: boolean;
  environment: Environment;
  policy: LoadedPolicy;
  sandbox: Sandbox;
  /** The run's model gateway socket, for host-side harnesses; undefined without a model provider. */
  modelGatewaySocket?: string;
  /** The run's sub-run tools (host side) and the MCP server serving them in the sandbox. */
  subRuns?: SubRunTools;
  subRunsServer?: SandboxMcpServer;
  /** Destroys the sandbox, stops its egress services and removes its state. */
  release(): Promise<void>;
}

/** Whether the policy lets a run start any sub-run (`runs.max_children` and `runs.max_depth` above 0). */
function subRunsAllowed(policy: Policy): boolean {
  return policy.runs.maxChildren.value > 0 && policy.runs.maxDepth.value > 0;
}

/**
 * Brings a sandbox up for one run: mirror fetch, shared base checkout, the environment and the
 * effective policy read from the base commit (never from files the agent can edit), the egress
 * proxy and model gateway, and the sandbox with the policy's limits, files and executables.
 */
export async function provision(deps: ProvisionDeps, input: ProvisionInput): Promise<Provisioned> {
  const baseCommit =
    input.baseCommit ??
    (await deps.scm.fetch(input.repo, input.baseRef ?? undefined, { freshAfter: input.queuedAt })).commit;
  const base = await deps.scm.checkout(input.repo, baseCommit);
  const { environment } = await loadEnvironment(base.dir);
  const policy = await loadPolicy({
    serverFile: deps.serverPolicyFile,
    repoDir: base.dir,
    repoFile: input.repoPolicyFile,
  });
  await removeTree(input.stateDir);
  mkdirSync(input.stateDir, { recursive: true });
  const subRuns =
    input.subRuns && subRunsAllowed(policy.policy)
      ? { tools: input.subRuns.tools(policy.policy), refused: input.subRuns.refused }
      : undefined;
  let governance: RunGovernance | null = null;
  try {
    governance = await startGovernance({
      runId: input.id,
      stateDir: input.stateDir,
      policy: policy.policy,
      limits: deps.limits,
      modelProviders: deps.modelProviders,
      node: deps.node,
      subRuns,
      onEgress: input.onEgress,
      onModelCall: input.onModelCall,
      onBudgetExceeded: input.onBudgetExceeded,
    });
    const sandbox = governance.govern(
      await deps.sandboxes.create({
        runId: input.id,
        baseDir: base.dir,
        stateDir: input.stateDir,
        ...governance.spec,
        files: [...(governance.spec.files ?? []), ...(input.files ?? [])],
        env: { ...environment.env, ...governance.spec.env },
      }),
    );
    const services = governance;
    return {
      baseCommit,
      baseCached: base.cached,
      environment,
      policy,
      sandbox,
      modelGatewaySocket: services.modelGatewaySocket,
      subRuns: subRuns?.tools,
      subRunsServer: services.subRunsServer,
      async release() {
        await sandbox.destroy({ discard: true }).catch(() => {});
        await services.close();
        await removeTree(input.stateDir).catch(() => {});
      },
    };
  } catch (error) {
    await governance?.close();
    await removeTree(input.stateDir).catch(() => {});
    throw error;
  }
}
