import type { HarnessRegistry } from '../../agents/registry.ts';
import type { SandboxMcpServer, SubRunTools } from '../../agents/types.ts';
import type { DiffStat, Repo, Run, RunConclusion } from '../../core/run.ts';
import type { EventWriter } from '../../engine/event-writer.ts';
import type { Steering } from '../../engine/steering.ts';
import type { Environment } from '../../environments/types.ts';
import type { Sandbox } from '../../sandbox/types.ts';
import type { CommitAuthor, ScmProvider } from '../../scm/types.ts';
import type { Store } from '../../store/index.ts';
import type { TemplateVars } from '../template.ts';

/** What a step executor works with; one per run attempt. */
export interface StepContext {
  run: Run;
  repo: Repo;
  baseCommit: string;
  branch: string;
  environment: Environment;
  sandbox: Sandbox;
  /** The run's model gateway on the host (`http://127.0.0.1:PORT`), for harnesses running on the host. */
  modelGatewaySocket?: string;
  scm: ScmProvider;
  harnesses: HarnessRegistry;
  /** Harness for agent steps that name none. */
  defaultHarness: string;
  /** This run's session folder (`<home>/sessions/<runId>`); each agent step keeps its harness's state in `<stepId>/`. */
  sessionsDir: string;
  /** The session folder of the run this one continues: its agent steps resume those conversations. */
  resumeSessionsDir?: string;
  author: CommitAuthor;
  events: EventWriter;
  store: Store;
  /** Template values of the run (prompt, repo, run, inputs, environment). */
  vars: TemplateVars;
  /** The environment's secrets by name, for `run` steps with `secrets: true` (setup) only. */
  secrets?: Record<string, string>;
  /** Records which secrets a step received (names only) in the audit log. */
  auditSecrets?: (names: string[], step: string) => void;
  /** Records a policy denial in the audit log (kernel refusals are recorded from the exec trace). */
  auditDenial?: (what: string, reason: string) => void;
  /** Records in the audit log that the run pushed `headCommit` to `branch`. */
  auditPublish?: (published: { branch: string; headCommit: string }) => void;
  /** Programs the policy denies (names or paths), to explain a step that failed running one. */
  deniedExecutables?: string[];
  /** The policy's publish rules: a reason refuses the change before it is pushed. */
  reviewChange?: (change: { diffstat: DiffStat }) => string | null;
  /** Sub-runs the run's agent may start, bounded by the policy (`start_run`, `run_status`). */
  subRuns?: SubRunTools;
  /** The MCP server serving the same tools to agent CLIs inside the sandbox. */
  subRunsServer?: SandboxMcpServer;
  /** Follow-ups and stop requests for the run's agent. */
  steering?: Steering;
  /** The step executing now (kept up to date by the blueprint walker), to attribute model usage. */
  progress?: { step: string | null };
  /** Each gate that ran and whether its last round passed (kept up to date by the blueprint walker). */
  gates?: Map<string, boolean>;
  /** Aborted on cancel, timeout or lost lease; `signal.reason` says which. */
  signal: AbortSignal;
}

/** How a step ended. A step that is not ok ends the run with `conclusion` unless it may continue. */
export interface StepOutcome {
  ok: boolean;
  conclusion?: RunConclusion;
  reason?: string;
  /** What went wrong without naming the step (`the command exited with code 1`), for a gate's own reason. */
  problem?: string;
  /** Combined output tail, for gates feeding a fix round. */
  output?: string;
  exitCode?: number | null;
  skipped?: boolean;
}
