import { resolve as resolvePath } from 'node:path';
import { appendAudit } from '../audit/log.ts';
import { loadBlueprint } from '../blueprints/load.ts';
import { parseBlueprint } from '../blueprints/parse.ts';
import type { Blueprint } from '../blueprints/types.ts';
import { sleep } from '../core/clock.ts';
import { messageWithHint, NightshiftError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import { plural } from '../core/plural.ts';
import type { Repo, Run, RunConclusion } from '../core/run.ts';
import type { CommitAuthor, ScmProvider } from '../scm/types.ts';
import type { NewRun, Store, SwarmRole } from '../store/index.ts';
import type { ApplyDeps } from './apply.ts';
import { mergeFacets } from './converge.ts';
import { plannerBlueprint, plannerPrompt, readPlan } from './planner.ts';
import type { SwarmFacet, SwarmSpec } from './schema.ts';
import { type SwarmLease, type SwarmPlace, swarmQueries, type UnfinishedSwarmRun } from './swarm-store.ts';

export interface SwarmDeps {
  store: Store;
  scm: ScmProvider;
  author: CommitAuthor;
  defaultTimeoutMs: number;
  /** Why every run of `blueprint` would fail before doing anything here (see `ApplyDeps`), or null. */
  unrunnable?: ApplyDeps['unrunnable'];
  /**
   * Who drives the swarm (a worker id: one process may drive an execution at a time) and how
   * long its claim holds unless renewed; by default an id of its own and 30 s.
   */
  driver?: { id: string; leaseMs: number };
}

export interface SwarmResult {
  /** The swarm's record (`nightshift show` of any of its runs shows it). */
  id: string;
  name: string;
  /** The run of the planner agent, when the spec has a planner instead of facets. */
  plannerRunId: string | null;
  facets: { id: string; runId: string; conclusion: RunConclusion; branch: string }[];
  conflicts: string[];
  convergeRunId: string | null;
  conclusion: RunConclusion;
  reason: string | null;
  /** The branch of the swarm's one change, and its head (one commit on the base). */
  branch: string;
  head: string | null;
  /** Where a person reviews the change: its pull request on GitHub; null for a local repo. */
  url: string | null;
}

/** A run the swarm starts, on its repo with its trigger. */
type SwarmRunRequest = Omit<NewRun, 'repoId' | 'trigger' | 'parent'>;

/**
 * The gate that passes once none of the `conflicts` (paths that the merge left with conflict
 * markers) has a marker line any more: only those files, so a repo's own lines that look like
 * markers (a fixture, docs about git) do not fail it. A file the resolution deleted is fine.
 * Steps run with `sh -e`: a file without markers (grep's exit 1) must not end it.
 */
export function markersGate(conflicts: readonly string[]): string {
  const files = conflicts.map((path) => `'${path.replace(/'/g, `'\\''`)}'`).join(' ');
  return `left=$(for f in ${files}; do [ ! -f "$f" ] || grep -IlE '^(<<<<<<<|>>>>>>>)( |$)' -- "$f" || :; done); [ -z "$left" ] || { echo "conflict markers left in:" $left; exit 1; }`;
}

/**
 * The converge run's steps: resolve the `conflicts` (when there are any) until no marker is
 * left in them, the gate, publish: one commit on `base` (the swarm's, not the run's own
 * merges), its description crediting the facets (`inputs.credits`).
 */
export function convergeBlueprint(spec: SwarmSpec, conflicts: readonly string[], base: string): Blueprint {
  const conflicted = conflicts.length > 0;
  const harness = spec.converge?.harness ? `\n      harness: ${JSON.stringify(spec.converge.harness)}` : '';
  const fix = conflicted ? '\n    fix: resolve\n    max_rounds: 2' : '';
  const gate = spec.converge?.gate ?? null;
  const text = [
    'name: swarm-converge',
    'steps:',
    '  - id: setup\n    run: "{{environment.setup}}"\n    secrets: true',
    conflicted ? `  - id: resolve\n    agent:\n      prompt: "{{prompt}}"${harness}` : '',
    conflicted ? `  - id: markers\n    gate: ${JSON.stringify(markersGate(conflicts))}${fix}` : '',
    gate ? `  - id: gate\n    gate: ${JSON.stringify(gate)}${fix}` : '',
    '  - id: publish\n    publish:\n      title: "{{inputs.goal}}"\n      body: "{{inputs.credits}}"',
  ].filter(Boolean);
  const { blueprint, errors } = parseBlueprint(`${text.join('\n')}\n`, { source: 'swarm-converge' });
  if (!blueprint)
    throw new NightshiftError(
      'BLUEPRINT_INVALID',
      `converge blueprint: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
    );
  return {
    ...blueprint,
    steps: blueprint.steps.map((step) => (step.kind === 'publish' ? { ...step, onto: base } : step)),
  };
}

async function finished(store: Store, runId: string, signal?: AbortSignal): Promise<Run> {
  for (;;) {
    const run = await store.getRun(runId);
    if (run.status === 'completed') return run;
    await sleep(200, signal);
  }
}

/**
 * Each facet once it is done: its first run, then every follow-up that continued it on its
 * branch (`nightshift say`) sent before the facets are merged, waited for until none is left.
 * The run to merge and credit is a facet's last that succeeded (its push is the branch's
 * head); else its last one.
 */
async function facetsFinished(
  store: Store,
  swarms: ReturnType<typeof swarmQueries>,
  id: string,
  facetRuns: readonly { id: string; run: Run; branch: string }[],
  signal: AbortSignal,
  onProgress: ((line: string) => void) | undefined,
): Promise<SwarmResult['facets']> {
  const waited = new Map<string, { last: Run; succeeded: Run | null }>();
  const wait = async (facet: string, runId: string) => {
    const run = await finished(store, runId, signal);
    const before = waited.get(facet);
    waited.set(facet, {
      last: run,
      succeeded: run.conclusion === 'success' ? run : (before?.succeeded ?? null),
    });
    onProgress?.(`facet ${facet}: ${run.conclusion}${before ? ` (follow-up ${run.id})` : ''}`);
  };
  for (const facet of facetRuns) await wait(facet.id, facet.run.id);
  for (let again = true; again; ) {
    again = false;
    for (const facet of facetRuns) {
      for (const runId of await swarms.laterFacetRuns(id, facet.id, waited.get(facet.id)!.last.id)) {
        again = true;
        await wait(facet.id, runId);
      }
    }
  }
  return facetRuns.map((facet) => {
    const { last, succeeded } = waited.get(facet.id)!;
    const run = succeeded ?? last;
    return { id: facet.id, runId: run.id, conclusion: run.conclusion!, branch: facet.branch };
  });
}

/** Why an execution ended when its spec was started again changed. */
export const SUPERSEDED = 'superseded: `nightshift swarm` ran again with a changed spec';

/**
 * The execution of `spec` to work on, claimed for `lease.driver`: the unfinished one of the
 * same spec (the process running it stopped), whose runs are taken up rather than started
 * again, with the base they started from; else a new one. An unfinished execution of a changed
 * spec is abandoned and its runs that did not finish are cancelled: they would write the same
 * branches. Throws `CONFLICT` while another process drives the swarm.
 */
async function execution(
  deps: SwarmDeps,
  spec: SwarmSpec,
  repo: Repo,
  lease: SwarmLease,
  place: SwarmPlace,
  onProgress?: (line: string) => void,
): Promise<{ id: string; base: string; started: UnfinishedSwarmRun[] }> {
  const swarms = swarmQueries(deps.store.db);
  const earlier = await swarms.unfinished(spec.name, repo.id, spec);
  if (earlier?.drivenBy && earlier.drivenBy !== lease.driver && !lease.exclusive)
    throw drivenElsewhere(spec, repo, lease, earlier.drivenBy);
  const base = earlier?.runs.find((run) => run.role !== 'converge')?.baseRef;
  if (earlier?.sameSpec && base) {
    if (!(await swarms.claim(earlier.id, lease))) throw drivenElsewhere(spec, repo, lease, null);
    if (place.durable) await swarms.makeDurable(earlier.id, place.cwd);
    onProgress?.(`continuing where it stopped: ${plural(earlier.runs.length, 'run')} already started`);
    return { id: earlier.id, base, started: earlier.runs };
  }
  if (earlier) {
    const unfinished = earlier.runs.filter((run) => run.status !== 'completed');
    for (const run of unfinished) await deps.store.requestCancel(run.id, `swarm ${spec.name}`);
    await swarms.abandon(earlier.id, earlier.sameSpec ? 'stopped before it started a run' : SUPERSEDED);
    if (unfinished.length > 0) {
      onProgress?.(
        `the spec changed since its last execution, which did not finish: cancelled its ${plural(unfinished.length, 'unfinished run')}`,
      );
    }
  }
  const { commit } = await deps.scm.fetch(repo, spec.base);
  const id = await swarms.create(spec, repo.id, spec.planner ? 'planning' : 'facets', lease, place);
  if (!id) throw drivenElsewhere(spec, repo, lease, null);
  return { id, base: commit, started: [] };
}

/** A swarm's execution is driven by another process (with PostgreSQL: another server, say). */
export class DrivenElsewhere extends NightshiftError {}

/** The error for a swarm another process drives (`driver`, when known). */
function drivenElsewhere(
  spec: SwarmSpec,
  repo: Repo,
  lease: SwarmLease,
  driver: string | null,
): NightshiftError {
  return new DrivenElsewhere(
    'CONFLICT',
    `swarm ${spec.name} on ${repo.url} is driven by another process${driver ? ` (${driver})` : ''}`,
    {
      hint: `follow it through the server driving it (\`nightshift swarm SPEC --server URL\`), or run this again once that process stopped (its claim lapses ${Math.ceil(lease.ms / 1000)} s later)`,
    },
  );
}

/** Who drives swarms here (see `SwarmDeps.driver`). */
function swarmLease(deps: SwarmDeps): SwarmLease {
  const driver = deps.driver ?? { id: newId('wrk'), leaseMs: 30_000 };
  return { driver: driver.id, ms: driver.leaseMs, exclusive: deps.store.db.kind === 'pglite' };
}

/**
 * Renews `lease` on execution `id` every third of its time while it is driven; `signal` aborts
 * (with `outer`) if another process took it over meanwhile (this one missed its renewals).
 * `release` stops renewing and gives the execution up.
 */
function holdLease(
  swarms: ReturnType<typeof swarmQueries>,
  id: string,
  lease: SwarmLease,
  outer?: AbortSignal,
): { signal: AbortSignal; release(): Promise<void> } {
  const lost = new AbortController();
  const timer = setInterval(() => {
    swarms
      .claim(id, lease)
      .then(async (held) => {
        if (!held && !lost.signal.aborted) lost.abort(await notDriven(swarms, id));
      })
      // A database error now is no proof of a takeover: the next renewal tries again.
      .catch(() => {});
  }, lease.ms / 3);
  timer.unref();
  return {
    signal: outer ? AbortSignal.any([outer, lost.signal]) : lost.signal,
    async release() {
      clearInterval(timer);
      await swarms.release(id, lease.driver).catch(() => {});
    },
  };
}

/** What stops the drive of a swarm someone cancelled (`reason`: who did). */
export function cancelledSwarm(name: string, reason: string | null): NightshiftError {
  return new NightshiftError('CONFLICT', `swarm ${name} was ${reason ?? 'cancelled'}`, {
    hint: 'its runs that had not finished were cancelled; `nightshift swarm SPEC` starts it anew',
  });
}

/**
 * Why this process may no longer drive execution `id`: someone cancelled it (`nightshift swarm
 * cancel`), or another process took it over (this one missed its renewals).
 */
async function notDriven(swarms: ReturnType<typeof swarmQueries>, id: string): Promise<NightshiftError> {
  const record = await swarms.get(id);
  if (record?.state === 'cancelled') return cancelledSwarm(record.name, record.reason);
  return new NightshiftError('CONFLICT', `another process took over driving swarm execution ${id}`);
}

/** How `runSwarm` reports, stops, and where it starts. */
export interface SwarmOptions {
  /** Told each step of the way, in a line (`2 facets started`, `facet a: success`). */
  onProgress?: (line: string) => void;
  /** Stops the waiting (Ctrl-C): the runs go on in the worker. */
  signal?: AbortSignal;
  /** The swarm's repo, when the caller resolved it already (`swarmRepo`). */
  repo?: Repo;
  /** Told the id of the execution once it is recorded (new, or the stopped one it continues). */
  onExecution?: (id: string) => void;
  /**
   * A server drives it: when this process is gone before its end, a server takes it up again
   * (`SwarmDrives.resume`). Otherwise it waits for its spec to run again.
   */
  durable?: boolean;
}

/**
 * The repo a swarm works on, recorded; before that, throws if its agents cannot run here (see
 * `refuseUnrunnable`). A path in the spec is relative to `cwd`.
 */
export async function swarmRepo(deps: SwarmDeps, spec: SwarmSpec, cwd: string): Promise<Repo> {
  await refuseUnrunnable(deps, spec, cwd);
  return deps.store.repos.upsert(
    await deps.scm.resolve(
      /^([a-z][a-z0-9+.-]*:\/\/|github:)/i.test(spec.repo) ? spec.repo : resolvePath(cwd, spec.repo),
    ),
  );
}

/**
 * Runs a swarm: one sub-run per facet (own branch, own sandbox, in parallel; no change opened
 * for it), then merges the successful facets into an integration branch (through the SCM's
 * `gitAccess`); a converge run resolves conflicts with an agent step, runs the gate, and
 * publishes the swarm's one change: one commit on the base crediting every facet (a pull
 * request on GitHub). Needs a worker executing runs meanwhile. An execution of the same spec
 * that stopped before its end (its process did) is continued: see `execution`; one process
 * drives an execution at a time (`holdLease`). `options.signal` stops the waiting (Ctrl-C): the
 * runs go on in the worker, and running the spec again continues.
 *
 * Every run it starts is recorded on the swarm with its role. With a planner, the facets and
 * the converge run are also the planner's sub-runs (`run_children`, depth 1, audited as
 * `run.spawned`), as the runs an agent starts with `start_run` are: the planner chose them.
 */
export async function runSwarm(
  deps: SwarmDeps,
  spec: SwarmSpec,
  cwd: string,
  options: SwarmOptions = {},
): Promise<SwarmResult> {
  const repo = options.repo ?? (await swarmRepo(deps, spec, cwd));
  const lease = swarmLease(deps);
  const place = { cwd, durable: options.durable ?? false };
  const { id, base, started } = await execution(deps, spec, repo, lease, place, options.onProgress);
  options.onExecution?.(id);
  const held = holdLease(swarmQueries(deps.store.db), id, lease, options.signal);
  try {
    return await drive(deps, spec, cwd, { id, repo, base, started }, options.onProgress, held.signal);
  } finally {
    await held.release();
  }
}

/** Drives execution `id` of `spec` on `repo` from where it stands to its end (see `runSwarm`). */
async function drive(
  deps: SwarmDeps,
  spec: SwarmSpec,
  cwd: string,
  { id, repo, base, started }: { id: string; repo: Repo; base: string; started: UnfinishedSwarmRun[] },
  onProgress: ((line: string) => void) | undefined,
  signal: AbortSignal,
): Promise<SwarmResult> {
  const { store, scm } = deps;
  const branch = spec.converge?.branch ?? `nightshift/swarm/${spec.name}`;
  const trigger = `swarm:${spec.name}`;
  const swarms = swarmQueries(store.db);
  // A run an earlier drive created, held, but did not record (its process died in between)
  // would wait for ever: it is cancelled, and started again below if it is still wanted.
  for (const runId of await swarms.unrecordedRuns(trigger, repo.id))
    await store.requestCancel(runId, `swarm ${spec.name} (a drive that stopped left it unrecorded)`);
  // Each write checks that the execution goes on: someone may have cancelled it meanwhile.
  const save = async (
    state: string,
    facets: unknown,
    convergeRunId: string | null,
    reason: string | null,
  ) => {
    if (!(await swarms.update(id, { state, facets, convergeRunId, reason })))
      throw await notDriven(swarms, id);
  };
  let plannerRunId: string | null = null;
  /**
   * Starts one of the swarm's runs and records its role; with a planner, as the planner's
   * sub-run. A run the execution started before it stopped is taken up instead.
   */
  const start = async (role: SwarmRole, facet: string | null, request: SwarmRunRequest): Promise<Run> => {
    const earlier = started.find((run) => run.role === role && run.facet === facet);
    if (earlier) return store.getRun(earlier.id);
    const parent = plannerRunId ? { runId: plannerRunId, depth: 1 } : undefined;
    // Held until it is recorded on the execution: no worker starts a run of a swarm cancelled
    // (or taken over) meanwhile.
    const run = await store.createRun({ ...request, repoId: repo.id, trigger, parent, held: true });
    if (!(await swarms.addRun(id, run.id, role, facet))) {
      await store.requestCancel(run.id, `swarm ${spec.name}`);
      throw await notDriven(swarms, id);
    }
    store.announceQueued();
    if (parent) {
      await appendAudit(store.db, {
        kind: 'run.spawned',
        runId: parent.runId,
        data: { childRunId: run.id, repo: repo.url, blueprint: run.blueprint, depth: parent.depth },
      });
    }
    return run;
  };
  let planned: SwarmFacet[];
  if (spec.planner) {
    const planner = await planFacets(
      deps,
      spec,
      base,
      (request) => start('planner', null, request),
      onProgress,
      signal,
    );
    plannerRunId = planner.runId;
    if (!planner.facets) {
      await save('failed', [], null, planner.reason);
      return {
        id,
        name: spec.name,
        plannerRunId,
        facets: [],
        conflicts: [],
        convergeRunId: null,
        conclusion: 'failure',
        reason: planner.reason,
        branch,
        head: null,
        url: null,
      };
    }
    planned = planner.facets;
  } else planned = spec.facets ?? [];
  const facetRuns: { id: string; run: Run; branch: string }[] = [];
  for (const facet of planned) {
    const { blueprint } = await loadBlueprint(facet.prompt !== undefined ? 'default' : 'script', { cwd });
    const facetBlueprint = branchOnly(blueprint);
    // Beside the swarm's branch, not under it: git cannot have both `a/b` and `a/b/c`.
    const facetBranch = `${branch}--facet-${facet.id}`;
    const run = await start('facet', facet.id, {
      blueprint: blueprint.name,
      blueprintSpec: facetBlueprint,
      inputs: {
        prompt: facetPrompt(facet),
        script: facet.script,
        values: { goal: spec.goal, facet: facet.id },
      },
      timeoutMs: blueprint.timeoutMs ?? deps.defaultTimeoutMs,
      baseRef: base,
      branch: facetBranch,
    });
    facetRuns.push({ id: facet.id, run, branch: facetBranch });
  }
  await save(
    'facets',
    facetRuns.map((f) => ({ id: f.id, runId: f.run.id })),
    null,
    null,
  );
  onProgress?.(`${plural(facetRuns.length, 'facet')} started`);
  const facets = await facetsFinished(store, swarms, id, facetRuns, signal, onProgress);
  const merged = facets.filter((facet) => facet.conclusion === 'success');
  const result: SwarmResult = {
    id,
    name: spec.name,
    plannerRunId,
    facets,
    conflicts: [],
    convergeRunId: null,
    conclusion: 'failure',
    reason: null,
    branch,
    head: null,
    url: null,
  };
  if (merged.length === 0) {
    result.reason = 'no facet produced a change';
    await save('failed', facets, null, result.reason);
    return result;
  }
  const integration = `${branch}--integration`;
  // Cancelled while its facets finished: nothing is merged (or pushed).
  signal.throwIfAborted();
  const access = await scm.gitAccess(repo);
  const { conflicts } = await mergeFacets({
    access,
    base,
    branches: merged.map((f) => ({ facet: f.id, branch: f.branch })),
    integration,
    author: deps.author,
  });
  result.conflicts = conflicts;
  onProgress?.(
    conflicts.length ? `merged with conflicts in ${conflicts.join(', ')}` : 'merged without conflicts',
  );
  const blueprint = convergeBlueprint(spec, conflicts, base);
  const resolve =
    spec.converge?.resolve ??
    `Several agents worked on parts of one goal: ${spec.goal}\nTheir branches were merged; these files have git conflict markers: ${conflicts.join(', ')}.\nResolve every conflict so that the work of every facet is kept, and remove all conflict markers.`;
  const credits = [
    `Converged by Nightshift swarm ${spec.name} from ${merged.length} facets.`,
    '',
    `Nightshift-Swarm: ${spec.name}`,
    ...merged.map((f) => `Nightshift-Facet: ${f.id} ${f.runId}`),
  ].join('\n');
  // Its publish makes the swarm's one change (a pull request on GitHub): one commit on the base.
  const converge = await start('converge', null, {
    blueprint: blueprint.name,
    blueprintSpec: blueprint,
    inputs: { prompt: resolve, values: { goal: spec.goal, credits } },
    timeoutMs: deps.defaultTimeoutMs,
    baseRef: integration,
    branch,
  });
  result.convergeRunId = converge.id;
  await save('converging', facets, converge.id, null);
  const done = await finished(store, converge.id, signal);
  result.conclusion = done.conclusion!;
  result.reason = done.reason;
  if (done.conclusion === 'success') {
    const change = await store.changes.forRun(converge.id);
    result.head = change?.headCommit ?? null;
    result.url = change?.url ?? null;
  }
  await save(result.conclusion === 'success' ? 'completed' : 'failed', facets, converge.id, result.reason);
  return result;
}

/**
 * Throws, before anything is recorded, when the planner's or the prompted facets' agents cannot
 * run here (no model provider): each of those runs would fail at its agent step.
 */
async function refuseUnrunnable(deps: SwarmDeps, spec: SwarmSpec, cwd: string): Promise<void> {
  const agents = [
    ...(spec.planner ? [plannerBlueprint(spec.planner)] : []),
    ...(spec.facets?.some((facet) => facet.prompt !== undefined)
      ? [(await loadBlueprint('default', { cwd })).blueprint]
      : []),
  ];
  for (const blueprint of agents) {
    const error = deps.unrunnable?.(blueprint);
    if (error) {
      throw new NightshiftError(
        error.code,
        `swarm ${spec.name}: its agents cannot run, so nothing was started: ${error.message}`,
        { hint: error.hint },
      );
    }
  }
}

/** The blueprint of a facet: it pushes its branch, and opens no change (the swarm opens one for all). */
function branchOnly(blueprint: Blueprint): Blueprint {
  return {
    ...blueprint,
    steps: blueprint.steps.map((step) => (step.kind === 'publish' ? { ...step, branchOnly: true } : step)),
  };
}

/** A facet's prompt, with the files it is about when the spec or the planner named them. */
function facetPrompt(facet: SwarmFacet): string | undefined {
  if (facet.prompt === undefined || !facet.paths?.length) return facet.prompt;
  return `${facet.prompt}\n\nThis facet is about these files: ${facet.paths.join(', ')}`;
}

/**
 * Runs the planner agent (a run with no publish step) and reads the facets it proposed; a
 * failed run or an invalid plan gives the reason instead, and no facet is started.
 */
async function planFacets(
  deps: SwarmDeps,
  spec: SwarmSpec,
  base: string,
  start: (request: SwarmRunRequest) => Promise<Run>,
  onProgress?: (line: string) => void,
  signal?: AbortSignal,
): Promise<{ runId: string; facets: SwarmFacet[] | null; reason: string | null }> {
  const planner = spec.planner!;
  const blueprint = plannerBlueprint(planner);
  const run = await start({
    blueprint: blueprint.name,
    blueprintSpec: blueprint,
    inputs: { prompt: plannerPrompt(spec, planner), values: { goal: spec.goal } },
    timeoutMs: deps.defaultTimeoutMs,
    baseRef: base,
  });
  onProgress?.(`planner ${run.id} started`);
  const done = await finished(deps.store, run.id, signal);
  if (done.conclusion !== 'success') {
    return {
      runId: run.id,
      facets: null,
      reason: `the planner run ended with ${done.conclusion}${done.reason ? `: ${done.reason}` : ''}`,
    };
  }
  try {
    const facets = readPlan(await allEvents(deps.store, run.id), planner.max_facets);
    onProgress?.(`planner proposed ${plural(facets.length, 'facet')}: ${facets.map((f) => f.id).join(', ')}`);
    return { runId: run.id, facets, reason: null };
  } catch (error) {
    return { runId: run.id, facets: null, reason: messageWithHint(error) };
  }
}

async function allEvents(store: Store, runId: string) {
  const events = [];
  for (let after = 0; ; ) {
    const page = await store.events(runId, after);
    events.push(...page);
    if (page.length < 1000) return events;
    after = page[page.length - 1]!.seq;
  }
}
