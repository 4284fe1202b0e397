import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { HarnessRegistry } from '../agents/registry.ts';
import { runBlueprint } from '../blueprints/steps/index.ts';
import { runTemplateVars } from '../blueprints/template.ts';
import type { Blueprint } from '../blueprints/types.ts';
import { NightshiftError } from '../core/errors.ts';
import { shortId, slugify } from '../core/ids.ts';
import type { Run, RunConclusion } from '../core/run.ts';
import { loadEnvironment } from '../environments/load.ts';
import { environmentTemplateValues } from '../environments/types.ts';
import type { Sandbox, SandboxLimits, SandboxProvider } from '../sandbox/types.ts';
import type { CommitAuthor, ScmProvider } from '../scm/types.ts';
import { RunFencedError, type Store } from '../store/index.ts';
import { abortOf } from './abort.ts';
import { EventWriter } from './event-writer.ts';

export interface ExecutorDeps {
  store: Store;
  scm: ScmProvider;
  sandboxes: SandboxProvider;
  harnesses: HarnessRegistry;
  defaultHarness: string;
  author: CommitAuthor;
  limits: SandboxLimits;
  /** Where runs keep their sandbox state (`<home>/runs`). */
  runsDir: string;
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
  run: Run,
  attempt: number,
  signal: AbortSignal,
): Promise<{ conclusion: RunConclusion; reason: string | null } | null> {
  const { store } = deps;
  const events = new EventWriter(store, run.id, attempt);
  const stateDir = join(deps.runsDir, run.id);
  let sandbox: Sandbox | null = null;
  let outcome: { conclusion: RunConclusion; reason: string | null };
  try {
    const repo = await store.repos.get(run.repoId);
    const blueprint = (await store.blueprintSpec(run.id)) as Blueprint;
    const started = Date.now();
    const baseCommit = run.baseCommit ?? (await deps.scm.fetch(repo, run.baseRef ?? undefined)).commit;
    const base = await deps.scm.checkout(repo, baseCommit);
    const { environment } = await loadEnvironment(base.dir);
    const branch = run.branch ?? branchFor(run);
    await rm(stateDir, { recursive: true, force: true });
    await mkdir(stateDir, { recursive: true });
    sandbox = await deps.sandboxes.create({
      runId: run.id,
      baseDir: base.dir,
      stateDir,
      env: environment.env,
      limits: deps.limits,
    });
    await events.emit({
      type: 'workspace.ready',
      data: { baseCommit, ms: Date.now() - started, cached: base.cached },
    });
    await store.setStatus(run.id, attempt, 'running', { baseCommit, branch });
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
        scm: deps.scm,
        harnesses: deps.harnesses,
        defaultHarness: deps.defaultHarness,
        author: deps.author,
        events,
        store,
        vars,
        signal,
      },
      blueprint,
      () => store.setStatus(run.id, attempt, 'publishing'),
    );
  } catch (error) {
    if (error instanceof RunFencedError) return null;
    const message = error instanceof Error ? error.message : String(error);
    const hint = error instanceof NightshiftError && error.hint ? ` (${error.hint})` : '';
    outcome = { conclusion: 'error', reason: `${message}${hint}` };
  } finally {
    await sandbox?.destroy({ discard: true }).catch(() => {});
    await rm(stateDir, { recursive: true, force: true }).catch(() => {});
  }

  const abort = abortOf(signal);
  if (abort?.kind === 'lease_lost' || abort?.kind === 'shutdown') return null;
  if (abort) outcome = { conclusion: abort.kind, reason: abort.message };
  try {
    await events.flush();
    await store.completeRun(run.id, outcome.conclusion, outcome.reason, attempt);
  } catch (error) {
    if (error instanceof RunFencedError) return null;
    throw error;
  }
  return outcome;
}
