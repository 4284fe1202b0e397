import { join } from 'node:path';
import type pino from 'pino';
import type { HarnessRegistry } from '../agents/registry.ts';
import { execAuditEntries } from '../audit/exec.ts';
import { egressEntry, modelCallEntry } from '../audit/records.ts';
import { AuditWriter } from '../audit/writer.ts';
import { formatProblem } from '../blueprints/problems.ts';
import { runBlueprint } from '../blueprints/steps/index.ts';
import { runTemplateVars } from '../blueprints/template.ts';
import type { Blueprint } from '../blueprints/types.ts';
import { NightshiftError } from '../core/errors.ts';
import { shortId, slugify } from '../core/ids.ts';
import type { Run, RunConclusion } from '../core/run.ts';
import { environmentTemplateValues } from '../environments/types.ts';
import { checkPublish } from '../policy/evaluate.ts';
import { formatDuration } from '../policy/units.ts';
import type { ExecOptions, ExecTrace, Sandbox } from '../sandbox/types.ts';
import type { CommitAuthor } from '../scm/types.ts';
import { type ClaimedRun, RunFencedError, type Store } from '../store/index.ts';
import { abortOf, RunAbort } from './abort.ts';
import { EventWriter } from './event-writer.ts';
import { type ProvisionDeps, type Provisioned, provision } from './provision.ts';
import { Steering } from './steering.ts';
import { subRunTools } from './sub-runs.ts';

export interface ExecutorDeps extends ProvisionDeps {
  store: Store;
  harnesses: HarnessRegistry;
  defaultHarness: string;
  author: CommitAuthor;
  /** Secret values by name (`NIGHTSHIFT_SECRET_<NAME>`). */
  secrets: Record<string, string>;
  /** Where runs keep their sandbox state (`<home>/runs`). */
  runsDir: string;
  log: pino.Logger;
  /** Where agent steps keep their harness's session state (`<home>/sessions`), kept after the run. */
  sessionsDir: string;
}

/** The same sandbox, handing the trace of every exec (what ran, what the kernel refused) to `record`. */
function auditExecs(sandbox: Sandbox, record: (trace: ExecTrace) => void): Sandbox {
  return Object.assign(Object.create(sandbox) as Sandbox, {
    exec: async (argv: string[], options?: ExecOptions) => {
      const result = await sandbox.exec(argv, options);
      if (result.trace) record(result.trace);
      return result;
    },
  });
}

/** The values of the secrets an environment names; a missing one stops the run before any step. */
function secretsFor(names: string[], values: Record<string, string>): Record<string, string> {
  const missing = names.filter((name) => values[name] === undefined);
  if (missing.length > 0) {
    throw new NightshiftError(
      'INVALID_INPUT',
      `the environment needs secrets that are not set: ${missing.join(', ')}`,
      {
        hint: `set ${missing.map((name) => `NIGHTSHIFT_SECRET_${name}`).join(', ')} where the Nightshift worker runs`,
      },
    );
  }
  return Object.fromEntries(names.map((name) => [name, values[name]!]));
}

/** The branch a run publishes to: `nightshift/<slug of the task>-<short run id>`, the same for every attempt. */
export function branchFor(run: Pick<Run, 'id' | 'inputs'>): string {
  const text = run.inputs.prompt ?? run.inputs.script ?? 'run';
  return `nightshift/${slugify(text.split('\n')[0] ?? '', 40)}-${shortId(run.id)}`;
}

/**
 * Executes one attempt of a claimed run: workspace at the base commit, sandbox, blueprint
 * steps, publish, conclusion. Returns what happened; `null` when the attempt gave the run up
 * (lost its lease, or the engine is shutting down) without concluding it.
 */
export async function executeRun(
  deps: ExecutorDeps,
  { run, claim: { attempt }, repo, blueprintSpec }: ClaimedRun,
  controller: AbortController,
  steering: Steering = new Steering(),
): Promise<{ conclusion: RunConclusion; reason: string | null } | null> {
  const { store } = deps;
  const { signal } = controller;
  const events = new EventWriter(store, run.id, attempt);
  const audit = new AuditWriter(store.db);
  const progress: { step: string | null } = { step: null };
  // Usage rows are written in call order, one at a time, and all written before the run concludes.
  let usageWrites: Promise<void> = Promise.resolve();
  steering.open({
    emit: (event) => events.push(event),
    markDelivered: (ids) => store.steering.markDelivered(ids),
  });
  let provisioned: Provisioned | null = null;
  const subRunDenied = (reason: string) => {
    events.push({ type: 'policy.denied', data: { what: 'sub-run', reason } });
    audit.push({ kind: 'policy.denied', runId: run.id, data: { what: 'sub-run', reason } });
  };
  let wallTimer: NodeJS.Timeout | undefined;
  let outcome: { conclusion: RunConclusion; reason: string | null };
  try {
    const blueprint = blueprintSpec as Blueprint;
    const harnesses = blueprint.steps.flatMap((step) =>
      step.kind === 'agent' ? [step.harness ?? run.inputs.harness ?? deps.defaultHarness] : [],
    );
    const started = Date.now();
    provisioned = await provision(deps, {
      id: run.id,
      repo,
      baseCommit: run.baseCommit,
      baseRef: run.baseRef,
      queuedAt: run.createdAt,
      stateDir: join(deps.runsDir, run.id),
      files: await deps.harnesses.sandboxFiles(harnesses),
      // Only agents start sub-runs: a blueprint without an agent step gets no sub-run socket.
      subRuns:
        harnesses.length === 0
          ? undefined
          : {
              tools: (policy) =>
                subRunTools({
                  store,
                  scm: deps.scm,
                  policy,
                  run,
                  repo,
                  denied: subRunDenied,
                  spawned: (child, childRepo, depth) =>
                    audit.push({
                      kind: 'run.spawned',
                      runId: run.id,
                      data: { childRunId: child.id, repo: childRepo.url, blueprint: child.blueprint, depth },
                    }),
                }),
              refused: subRunDenied,
            },
      onEgress: (decision) => {
        audit.push(egressEntry(decision, run.id));
        if (!decision.allowed) {
          events.push({ type: 'policy.denied', data: { what: 'egress', reason: decision.reason } });
        }
      },
      onModelCall: (call) => {
        audit.push(modelCallEntry(call, run.id));
        const step = progress.step;
        usageWrites = usageWrites
          .then(() =>
            store.usage.add(run.id, {
              step: step ?? 'setup',
              provider: call.provider,
              model: call.model,
              inputTokens: call.inputTokens,
              outputTokens: call.outputTokens,
              costUsd: call.costUsd,
            }),
          )
          .catch((error: unknown) =>
            deps.log.warn({ runId: run.id, err: error }, 'recording model usage failed'),
          );
        events.push({
          type: 'model.call',
          data: {
            step,
            provider: call.provider,
            model: call.model,
            inputTokens: call.inputTokens,
            outputTokens: call.outputTokens,
            costUsd: call.costUsd,
            status: call.status,
          },
        });
      },
      onBudgetExceeded: (totals) => {
        const reason = `the run's model budget is spent (${totals.inputTokens + totals.outputTokens} tokens, $${totals.costUsd.toFixed(2)})`;
        events.push({ type: 'policy.denied', data: { what: 'budget', reason } });
        audit.push({ kind: 'policy.denied', runId: run.id, data: { what: 'budget', reason } });
        controller.abort(new RunAbort('budget_exceeded', reason));
      },
    });
    const { baseCommit, environment } = provisioned;
    const sandbox = auditExecs(provisioned.sandbox, (trace) =>
      audit.push(...execAuditEntries(trace, run.id)),
    );
    audit.push({
      kind: 'sandbox.created',
      runId: run.id,
      data: { sandboxId: run.id, provider: deps.sandboxes.name },
    });
    const { policy, warnings, files } = provisioned.policy;
    events.push({
      type: 'policy.applied',
      data: { files, warnings: warnings.map((w) => formatProblem(w, w.file)) },
    });
    const wallTimeMs = policy.resources.wallTimeMs.value;
    if (wallTimeMs !== null && wallTimeMs < run.timeoutMs) {
      wallTimer = setTimeout(() => {
        controller.abort(
          new RunAbort(
            'timed_out',
            `the run exceeded the policy's wall time of ${formatDuration(wallTimeMs)}`,
          ),
        );
      }, wallTimeMs);
    }
    const branch = run.branch ?? branchFor(run);
    events.push(
      {
        type: 'workspace.ready',
        data: { baseCommit, ms: Date.now() - started, cached: provisioned.baseCached },
      },
      { type: 'run.status', data: { status: 'running', baseCommit, branch } },
    );
    const vars = {
      ...runTemplateVars({
        run: { id: run.id, branch, inputs: run.inputs },
        repo,
        environment: environmentTemplateValues(environment),
      }),
      prompt: run.inputs.prompt,
      script: run.inputs.script,
    };
    outcome = await runBlueprint(
      {
        run,
        repo,
        baseCommit,
        branch,
        environment,
        sandbox,
        modelGatewaySocket: provisioned.modelGatewaySocket,
        scm: deps.scm,
        harnesses: deps.harnesses,
        defaultHarness: deps.defaultHarness,
        sessionsDir: join(deps.sessionsDir, run.id),
        resumeSessionsDir: run.continues ? join(deps.sessionsDir, run.continues) : undefined,
        author: deps.author,
        events,
        store,
        vars,
        signal,
        steering,
        progress,
        gates: new Map(),
        subRuns: provisioned.subRuns,
        subRunsServer: provisioned.subRunsServer,
        secrets: secretsFor(environment.secrets ?? [], deps.secrets),
        auditSecrets: (names, step) =>
          audit.push({ kind: 'secret.used', runId: run.id, data: { names, step } }),
        deniedExecutables: policy.executables.deny.map((rule) => rule.executable),
        auditPublish: ({ branch, headCommit }) =>
          audit.push({ kind: 'publish', runId: run.id, data: { branch, headCommit, repo: repo.url } }),
        auditDenial: (what, reason) =>
          audit.push({ kind: 'policy.denied', runId: run.id, data: { what, reason } }),
        reviewChange: ({ diffstat }) => {
          const violations = checkPublish(
            policy,
            diffstat.perFile.map((file) => file.path),
          );
          return violations.length ? violations.map((v) => v.reason).join('; ') : null;
        },
      },
      blueprint,
      async () => events.push({ type: 'run.status', data: { status: 'publishing' } }),
    );
  } catch (error) {
    if (error instanceof RunFencedError) return null;
    const message = error instanceof Error ? error.message : String(error);
    const hint = error instanceof NightshiftError && error.hint ? ` (${error.hint})` : '';
    outcome = { conclusion: 'error', reason: `${message}${hint}` };
  } finally {
    clearTimeout(wallTimer);
    if (provisioned) {
      await provisioned.release();
      audit.push({ kind: 'sandbox.destroyed', runId: run.id, data: { sandboxId: run.id } });
    }
  }

  const abort = abortOf(signal);
  if (abort?.kind === 'lease_lost' || abort?.kind === 'shutdown') return null;
  if (abort) outcome = { conclusion: abort.kind, reason: abort.message };
  if (outcome.conclusion === 'policy_denied' && outcome.reason) {
    events.push({ type: 'policy.denied', data: { what: 'publish', reason: outcome.reason } });
    audit.push({ kind: 'policy.denied', runId: run.id, data: { what: 'publish', reason: outcome.reason } });
  }
  if (abort?.kind === 'cancelled') {
    const request = (await store.events(run.id)).findLast((e) => e.type === 'run.cancel_requested');
    const by = request?.type === 'run.cancel_requested' ? request.data.by : null;
    audit.push({ kind: 'run.cancelled', runId: run.id, data: { by, reason: abort.message } });
  }
  try {
    await Promise.all([audit.flush(), usageWrites, steering.settled()]);
    // The events not written yet go with the conclusion, in one statement.
    const rest = await events.drain();
    if (!(await store.completeRun(run.id, outcome.conclusion, outcome.reason, attempt, rest))) return null;
  } catch (error) {
    if (error instanceof RunFencedError) return null;
    throw error;
  }
  return outcome;
}
