import { createHash } from 'node:crypto';
import { loadBlueprint } from '../blueprints/load.ts';
import { renderTemplate } from '../blueprints/template.ts';
import type { Blueprint } from '../blueprints/types.ts';
import { NightshiftError } from '../core/errors.ts';
import type { RunInputs } from '../core/run.ts';
import { GithubApiError } from '../scm/github/api.ts';
import { GithubNotConfiguredError } from '../scm/index.ts';
import type { ResolvedRepo, ScmProvider } from '../scm/types.ts';
import type { Store } from '../store/index.ts';
import { FLEET_PRIORITY } from './rollout.ts';
import type { FleetSpec } from './schema.ts';
import { type FleetRepoSoFar, fleetQueries } from './store.ts';
import { type TargetRepo, targetRepos } from './targets.ts';

/** What applying a spec does to one repo. */
export type ApplyAction = 'create' | 'update' | 'unchanged';

export interface PlannedRepo {
  repo: string;
  url: string;
  action: ApplyAction;
  /** Why: `new repo`, `inputs changed`, `already succeeded` ... */
  why: string;
  inputs: RunInputs;
  branch: string;
  runId: string | null;
}

/** A target that names no usable repository (a path that does not exist, not a git repo, ...). */
export interface UnusableTarget {
  /** Where it came from in the spec: `targets[0].repos[2]`, `repos.txt:7`. */
  source: string;
  location: string;
  error: string;
  hint?: string;
}

export interface ApplySummary {
  fleet: string;
  dryRun: boolean;
  repos: number;
  create: number;
  update: number;
  unchanged: number;
  /** Targets left out, each with its problem: the others are applied all the same. */
  unusable: UnusableTarget[];
  /**
   * The fleet's repos the spec no longer targets, taken out of it (with `dryRun`, to be):
   * `cancelled` when their run had not finished and is cancelled. None when a target was
   * unusable (its repos cannot be told from removed ones).
   */
  removed: RemovedRepo[];
}

/** What an apply did, in a line: `2 new, 1 changed, 5 unchanged, 1 removed, 1 unusable`. */
export function applyCounts(summary: ApplySummary): string {
  const { create, update, unchanged, removed, unusable } = summary;
  const extra = [
    removed.length > 0 ? `, ${removed.length} removed` : '',
    unusable.length > 0 ? `, ${unusable.length} unusable` : '',
  ];
  return `${create} new, ${update} changed, ${unchanged} unchanged${extra.join('')}`;
}

/** A repo taken out of a fleet because its spec, applied again, no longer targets it. */
export interface RemovedRepo {
  repo: string;
  url: string;
  runId: string | null;
  cancelled: boolean;
}

export interface ApplyDeps {
  store: Store;
  scm: ScmProvider;
  /**
   * Why every run of `blueprint` would fail before doing anything here (its agent steps need a
   * model provider and none is configured), or null; the apply then queues nothing.
   */
  unrunnable?: (blueprint: Blueprint) => NightshiftError | null;
}

export interface ApplyOptions {
  /** Directory relative paths of the spec are resolved against (the spec file's). */
  cwd: string;
  dryRun?: boolean;
  author?: string | null;
  defaultTimeoutMs: number;
  /** Called for every repo as it is planned (and, without `dryRun`, queued). */
  onRepo?: (repo: PlannedRepo) => void;
  /** Called for every target left out, when it is found. */
  onUnusable?: (target: UnusableTarget) => void;
  /** Called once a page's runs are queued (held for the rollout), before the next page is planned. */
  onQueued?: () => Promise<void>;
  /** Called when another process is applying this fleet, before waiting for it to finish. */
  onWait?: () => void;
}

/** The blueprint with the fleet's change template in its publish step. */
function withChangeTemplate(blueprint: Blueprint, spec: FleetSpec): Blueprint {
  const change = spec.change;
  if (!change?.title && !change?.body) return blueprint;
  return {
    ...blueprint,
    steps: blueprint.steps.map((step) =>
      step.kind === 'publish'
        ? { ...step, title: change.title ?? step.title, body: change.body ?? step.body }
        : step,
    ),
  };
}

/**
 * The fleet's runs push with a lease (a branch someone else changed is never overwritten),
 * open their pull request as a draft with `change.draft`, and with a rollout rate leave opening
 * it to the rollout.
 */
function withFleetPublish(blueprint: Blueprint, spec: FleetSpec): Blueprint {
  const draft = spec.change?.draft ?? false;
  return {
    ...blueprint,
    steps: blueprint.steps.map((step) =>
      step.kind === 'publish'
        ? { ...step, lease: true, deferOpen: spec.rollout?.rate !== undefined, ...(draft ? { draft } : {}) }
        : step,
    ),
  };
}

/** Hash of everything that decides what a repo's run does: the same hash means nothing to redo. */
export function inputHash(parts: {
  blueprint: Blueprint;
  inputs: RunInputs;
  branch: string;
  base: string | null;
}): string {
  const { source: _source, ...blueprint } = parts.blueprint;
  return createHash('sha256')
    .update(JSON.stringify({ ...parts, blueprint }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * Applies a fleet spec: every target repo is resolved, its run's inputs rendered and hashed,
 * and compared with what the fleet already did. New repos and repos whose inputs changed get
 * a run on the fleet's branch (held until the rollout releases it, below interactive runs);
 * unchanged repos are left alone, so applying a spec twice queues nothing the second time.
 * Repos stream through in pages of `APPLY_PAGE` (the first of `FIRST_PAGE`): memory does not
 * grow with the fleet. Applies of one fleet in other processes (two servers on one database, a
 * CLI beside a server) wait for each other: each plans from what the one before wrote.
 */
export async function applyFleet(
  deps: ApplyDeps,
  spec: FleetSpec,
  options: ApplyOptions,
): Promise<ApplySummary> {
  if (options.dryRun) return planAndQueue(deps, spec, options);
  return deps.store.db.acrossProcesses(
    `fleet ${spec.name}`,
    () => planAndQueue(deps, spec, options),
    options.onWait,
  );
}

/** `applyFleet`'s work, with no other apply of the fleet running anywhere unless `dryRun`. */
async function planAndQueue(deps: ApplyDeps, spec: FleetSpec, options: ApplyOptions): Promise<ApplySummary> {
  const { store } = deps;
  const fleets = fleetQueries(store.db);
  const blueprintName = spec.blueprint ?? (spec.prompt !== undefined ? 'default' : 'script');
  const blueprint = withChangeTemplate(
    (await loadBlueprint(blueprintName, { cwd: options.cwd })).blueprint,
    spec,
  );
  const unrunnable = deps.unrunnable?.(blueprint);
  if (unrunnable) {
    throw new NightshiftError(
      unrunnable.code,
      `fleet ${spec.name}: every run would fail at its agent step${options.dryRun ? '' : ', so nothing was queued'}: ${unrunnable.message}`,
      { hint: unrunnable.hint },
    );
  }
  const branch = spec.change?.branch ?? `nightshift/fleet/${spec.name}`;
  // Not part of the inputs' hash: a rate or draft added later changes how changes open, not what runs do.
  const runBlueprint = withFleetPublish(blueprint, spec);
  const summary: ApplySummary = {
    fleet: spec.name,
    dryRun: options.dryRun ?? false,
    repos: 0,
    create: 0,
    update: 0,
    unchanged: 0,
    unusable: [],
    removed: [],
  };
  // Written with the first repos (or at the end): an apply that fails before changes nothing,
  // neither the fleet's spec nor its state (a paused fleet stays paused).
  let upserted = options.dryRun ?? false;
  const upsert = async () => {
    if (!upserted) await fleets.upsert(spec);
    upserted = true;
  };
  const seen = new Set<string>();
  let page: PageRepo[] = [];
  const applyPage = async () => {
    const known = await fleets.reposByUrl(
      spec.name,
      page.map(({ resolved }) => resolved.url),
    );
    const planned = page.map((repo) => ({ ...repo, ...plan(known.get(repo.resolved.url), repo.hash) }));
    for (const { action } of planned) {
      summary.repos++;
      summary[action]++;
    }
    const changed = planned.filter(({ action }) => action !== 'unchanged');
    const runIds = new Map<string, string>();
    if (!options.dryRun && changed.length > 0) {
      await upsert();
      const repos = await store.repos.upsertMany(changed.map(({ resolved }) => resolved));
      for (const { existing } of changed) {
        if (existing?.run_id)
          await store.requestCancel(existing.run_id, `fleet ${spec.name} (inputs changed)`);
      }
      const runs = await store.createRuns(
        changed.map(({ inputs }, i) => ({
          repoId: repos[i]!.id,
          blueprint: blueprint.name,
          blueprintSpec: runBlueprint,
          inputs,
          timeoutMs: blueprint.timeoutMs ?? options.defaultTimeoutMs,
          baseRef: spec.base ?? null,
          priority: FLEET_PRIORITY,
          trigger: `fleet:${spec.name}`,
          author: options.author ?? null,
          branch,
          held: true,
        })),
      );
      await fleets.setRepoRuns(
        spec.name,
        changed.map(({ hash }, i) => ({ repoId: repos[i]!.id, inputHash: hash, branch, runId: runs[i]!.id })),
      );
      for (const [i, { resolved }] of changed.entries()) runIds.set(resolved.url, runs[i]!.id);
      await options.onQueued?.();
    }
    for (const { resolved, action, why, inputs, existing } of planned) {
      const runId = runIds.get(resolved.url) ?? existing?.run_id ?? null;
      options.onRepo?.({ repo: resolved.name, url: resolved.url, action, why, inputs, branch, runId });
    }
    page = [];
  };
  for await (const { target, resolved, error } of resolveAhead(
    deps.scm,
    targetRepos(spec.targets, options.cwd, deps.scm),
  )) {
    if (!resolved) {
      const unusable = { source: target.source, location: target.location, ...error };
      summary.unusable.push(unusable);
      options.onUnusable?.(unusable);
      continue;
    }
    if (seen.has(resolved.url)) continue;
    seen.add(resolved.url);
    const values = { ...stringValues(spec.values), ...target.values };
    const vars = { repo: { name: resolved.name, url: resolved.url }, inputs: values };
    const inputs: RunInputs = {
      ...(spec.script !== undefined ? { script: renderTemplate(spec.script, vars) } : {}),
      ...(spec.prompt !== undefined ? { prompt: renderTemplate(spec.prompt, vars) } : {}),
      values,
    };
    page.push({ resolved, inputs, hash: inputHash({ blueprint, inputs, branch, base: spec.base ?? null }) });
    if (page.length >= (summary.repos === 0 ? FIRST_PAGE : APPLY_PAGE)) await applyPage();
  }
  if (page.length > 0) await applyPage();
  await upsert();
  if (summary.unusable.length === 0) summary.removed = await removeUntargeted(deps, spec.name, seen, options);
  return summary;
}

/**
 * Takes out of the fleet the repos its targets no longer name (an archived repo, a path
 * dropped from the list), cancelling their runs that have not finished, so they neither run
 * nor open a change. With `dryRun`, only says which.
 */
async function removeUntargeted(
  deps: ApplyDeps,
  name: string,
  seen: ReadonlySet<string>,
  options: ApplyOptions,
): Promise<RemovedRepo[]> {
  const fleets = fleetQueries(deps.store.db);
  const untargeted = await fleets.untargeted(name, [...seen]);
  const removed = untargeted.map(({ repo, url, runId, state }) => ({
    repo,
    url,
    runId,
    cancelled: runId !== null && (state === 'queued' || state === 'running'),
  }));
  if (options.dryRun || removed.length === 0) return removed;
  for (const { runId, cancelled } of removed) {
    if (cancelled) await deps.store.requestCancel(runId!, `fleet ${name} (no longer targeted)`);
  }
  await fleets.removeRepos(
    name,
    untargeted.map(({ repoId }) => repoId),
  );
  return removed;
}

/** Repos looked up and written together: a few statements a page instead of several a repo. */
const APPLY_PAGE = 100;
/** The first page is small, so the first runs start while the rest of the targets are resolved. */
const FIRST_PAGE = 10;

/** A target repo ready to be compared with what the fleet did. */
interface PageRepo {
  resolved: ResolvedRepo;
  inputs: RunInputs;
  hash: string;
}

/**
 * What applying does to a repo: nothing when its inputs are unchanged and its run did not end
 * cancelled (or wait unstarted), else a new run.
 */
function plan(
  existing: FleetRepoSoFar | undefined,
  hash: string,
): { action: ApplyAction; why: string; existing: FleetRepoSoFar | undefined } {
  if (!existing) return { action: 'create', why: 'new repo', existing };
  if (existing.input_hash === hash && existing.state !== 'cancelled' && existing.state !== 'pending') {
    return { action: 'unchanged', why: `inputs unchanged (${existing.state})`, existing };
  }
  const why = existing.input_hash === hash ? `was ${existing.state}` : 'inputs changed';
  return { action: 'update', why, existing };
}

/** Targets resolved ahead of use, a few at a time: resolving is git processes, which overlap well. */
const RESOLVE_AHEAD = 8;

/**
 * Whether resolving failed because of the target itself (no such path, not a repository, no
 * such GitHub repo), not because the SCM cannot be used (GitHub not configured, refusing the
 * credentials or unreachable), which would fail every other target too.
 */
function namesNoRepo(error: unknown): error is NightshiftError {
  if (error instanceof GithubApiError) return error.status === 404;
  if (error instanceof GithubNotConfiguredError) return false;
  return error instanceof NightshiftError && (error.code === 'REPO_INVALID' || error.code === 'NOT_FOUND');
}

type Resolution =
  | { target: TargetRepo; resolved: ResolvedRepo; error?: undefined }
  | { target: TargetRepo; resolved?: undefined; error: { error: string; hint?: string } };

/**
 * Each target with its repository, in order, or with why it names none (a bad path is the
 * target's problem, not the whole fleet's). Reading the targets failing (a file that cannot be
 * read, GitHub unreachable) still throws.
 */
async function* resolveAhead(
  scm: ScmProvider,
  targets: AsyncIterable<TargetRepo>,
): AsyncGenerator<Resolution> {
  const resolve = (target: TargetRepo): Promise<Resolution> =>
    target.problem ? Promise.resolve({ target, error: target.problem }) : resolveOne(target);
  const resolveOne = (target: TargetRepo): Promise<Resolution> =>
    Promise.resolve(target.location)
      .then((location) => scm.resolve(location))
      .then(
        (resolved) => ({ target, resolved }),
        (error: unknown) => {
          if (namesNoRepo(error))
            return { target, error: { error: error.message, ...(error.hint ? { hint: error.hint } : {}) } };
          // The apply stops, saying which target it was at.
          if (!(error instanceof NightshiftError)) throw error;
          throw new NightshiftError(error.code, `${target.source}: ${error.message}`, {
            hint: error.hint,
            cause: error,
          });
        },
      );
  const ahead: Promise<Resolution>[] = [];
  try {
    for await (const target of targets) {
      const next = resolve(target);
      // Marked handled now; the error is thrown when its turn comes (in order).
      next.catch(() => {});
      ahead.push(next);
      if (ahead.length >= RESOLVE_AHEAD) yield await ahead.shift()!;
    }
    while (ahead.length > 0) yield await ahead.shift()!;
  } finally {
    // Resolutions left behind by an error end before the apply does.
    await Promise.allSettled(ahead);
  }
}

function stringValues(values: Record<string, string | number | boolean> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(values ?? {}).map(([key, value]) => [key, String(value)]));
}
