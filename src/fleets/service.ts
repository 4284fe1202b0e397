import type pino from 'pino';
import { messageWithHint, NightshiftError } from '../core/errors.ts';
import { KeyedQueue } from '../core/keyed-queue.ts';
import type { ScmProvider } from '../scm/types.ts';
import type { Store } from '../store/index.ts';
import { type ApplyDeps, type ApplyOptions, type ApplySummary, applyFleet } from './apply.ts';
import { parseFleetSpec, readSpec } from './parse.ts';
import { type RefreshSummary, refreshChangeStates } from './refresh.ts';
import { holdRuns, nextOpening, type PendingChange, returnOpenSlot, tickFleet } from './rollout.ts';
import type { FleetSpec } from './schema.ts';
import { type FailureGroup, type Fleet, type FleetCounts, type FleetQueries, fleetQueries } from './store.ts';

/** A fleet automation's fire found its fleet paused or cancelled: it leaves the fleet so. */
export class FleetStopped extends NightshiftError {}

/** Least time between two burn-down points of a fleet while its runs are in flight. */
const COUNTS_EVERY_MS = 1000;
/** How often the rollout loop also looks at fleets with no work in flight. */
const SWEEP_EVERY_MS = 30_000;
/**
 * How long a fleet this process stepped is left out of the loop's looks at every fleet: one
 * whose runs end here is stepped as each ends (which also sees what others changed meanwhile).
 */
const STEPPED_FRESH_MS = 1000;
/**
 * How long the rollout loop waits after a look found no fleet with work (an idle server),
 * instead of its interval: a run ending here wakes it at once, and an apply, retry or resume
 * steps its fleet itself.
 */
const IDLE_LOOK_MS = 2000;

/** How far a fleet is: its state, and its repos counted by state. */
export interface FleetProgress {
  fleet: Fleet;
  counts: FleetCounts;
  total: number;
}

export interface FleetStatus extends FleetProgress {
  /** Failed runs grouped by their reason, biggest group first. */
  failures: FailureGroup[];
  /** Changes waiting for the rollout whose last attempt to open failed, grouped by message. */
  openFailures: FailureGroup[];
  /** Runs shown running whose worker's lease lapsed (it stopped): the next worker takes them over. */
  lapsed: number;
  /**
   * While changes wait for the rollout: when its rate, windows and the backoff of failed
   * attempts next let one open (now or later; a worker must run to open it). Null when none
   * waits, the fleet is cancelled, or no window opens within a week.
   */
  nextChangeAt: Date | null;
}

export interface FleetServiceDeps {
  store: Store;
  scm: ScmProvider;
  /** See `ApplyDeps.unrunnable`. */
  unrunnable?: ApplyDeps['unrunnable'];
  log: pino.Logger;
  defaultTimeoutMs: number;
}

/**
 * Fleet operations for every surface (CLI, HTTP API, dashboard): apply, status, retry, pause,
 * resume, cancel; and the rollout loop that releases a fleet's held runs while a worker runs.
 */
export class FleetService {
  readonly queries: FleetQueries;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** A step was asked for while one was running: take another when it ends. */
  private again = false;
  private offCompleted: (() => void) | null = null;
  /** Deferred changes being opened by this process. */
  private readonly opening = new Set<string>();
  /** The applies of each fleet in this process, one at a time (see `apply`). */
  private readonly applying = new KeyedQueue();
  /** When this process last recorded each fleet's counts. */
  private readonly counted = new Map<string, number>();
  /** When the rollout loop last looked at every fleet (`tickAll({ all: true })`). */
  private sweptAt = 0;
  /** When the rollout loop last looked for every fleet with work (`tickAll`). */
  private lookedAt = 0;
  /** Runs this process concluded since the last rollout step. */
  private readonly finished = new Set<string>();
  /** When this process last stepped each fleet (see `tickAll`'s `fresh`). */
  private readonly tickedAt = new Map<string, number>();

  constructor(private readonly deps: FleetServiceDeps) {
    this.queries = fleetQueries(deps.store.db);
  }

  /** Applies a spec (see `applyFleet`), then takes a rollout step so runs start at once. */
  async apply(
    spec: FleetSpec,
    options: Omit<ApplyOptions, 'defaultTimeoutMs' | 'onQueued'>,
  ): Promise<ApplySummary> {
    // One apply of a fleet at a time in this process (a person's and an automation's): each
    // plans from what the one before wrote, so no repo gets two runs or two positions.
    // A rollout step after each page starts the first runs while the rest are planned.
    const summary = await this.applying.run(spec.name, () =>
      applyFleet(this.deps, spec, {
        ...options,
        defaultTimeoutMs: this.deps.defaultTimeoutMs,
        onQueued: () => this.tick(spec.name),
      }),
    );
    if (!options.dryRun) await this.tick(spec.name);
    return summary;
  }

  /**
   * Applies the fleet spec file `file` (its paths relative to its directory) as `author`, as a
   * fleet automation does on each fire; with the runs it queued (new repos, changed inputs).
   * A fleet someone paused or cancelled (or `stop_when` paused) is left so: `FleetStopped`.
   */
  async applyFile(file: string, author: string): Promise<{ summary: ApplySummary; runIds: string[] }> {
    const { spec, dir } = await readSpec(file, parseFleetSpec);
    const existing = await this.queries.get(spec.name).catch((error: unknown) => {
      if (error instanceof NightshiftError && error.code === 'NOT_FOUND') return null;
      throw error;
    });
    if (existing && existing.state !== 'active') {
      const why = existing.stateReason ? ` (${existing.stateReason})` : '';
      throw new FleetStopped(
        'CONFLICT',
        `fleet ${spec.name} is ${existing.state}${why}, so it was not applied`,
        {
          hint:
            existing.state === 'paused'
              ? `\`nightshift fleet resume ${spec.name}\` resumes it; the automation applies it again from its next fire`
              : `\`nightshift fleet apply ${file}\` starts it again; the automation applies it from its next fire after that`,
        },
      );
    }
    const runIds: string[] = [];
    const summary = await this.apply(spec, {
      cwd: dir,
      author,
      onRepo: (repo) => {
        if (repo.action !== 'unchanged' && repo.runId) runIds.push(repo.runId);
      },
    });
    return { summary, runIds };
  }

  /**
   * The fleet and its counts, without the rest of its status: what a command following it
   * reads a few times a second (two statements, where the status takes several more).
   */
  async progress(name: string): Promise<FleetProgress> {
    const fleet = await this.queries.get(name);
    const counts = await this.queries.counts(name);
    return { fleet, counts, total: Object.values(counts).reduce((sum, n) => sum + n, 0) };
  }

  async status(name: string): Promise<FleetStatus> {
    const { fleet, counts, total } = await this.progress(name);
    const [failures, openFailures, lapsed, due] = await Promise.all([
      this.queries.failures(name),
      this.queries.openFailures(name),
      this.queries.lapsed(name),
      counts.waiting > 0 && fleet.state !== 'cancelled' ? this.queries.waitingDue(name) : null,
    ]);
    const { rollout } = fleet.spec;
    const nextChangeAt = due
      ? nextOpening(
          rollout?.windows,
          new Date(Math.max(due.changeAt.getTime(), rollout?.rate ? due.rateAt.getTime() : 0, Date.now())),
        )
      : null;
    return { fleet, counts, total, failures, openFailures, lapsed, nextChangeAt };
  }

  /** Reads the state and checks of the fleet's pull requests from GitHub (a poll, for missed webhooks). */
  async refresh(name: string): Promise<RefreshSummary> {
    await this.queries.get(name);
    return refreshChangeStates(this.deps, this.queries, name);
  }

  /** Stops releasing runs and holds the queued ones; running runs finish. */
  async pause(name: string, reason = 'paused by a person'): Promise<Fleet> {
    assertNotCancelled(await this.queries.get(name));
    await this.queries.setState(name, 'paused', reason);
    await holdRuns(this.deps.store.db, name);
    return this.queries.get(name);
  }

  async resume(name: string): Promise<Fleet> {
    assertNotCancelled(await this.queries.get(name));
    // Counted from now before it is active, so no rollout step judges it by the runs that paused it.
    await this.queries.countFromNow(name);
    await this.queries.setState(name, 'active', null);
    await this.tick(name);
    return this.queries.get(name);
  }

  /** Cancels every run of the fleet that has not completed, and releases no more. */
  async cancel(name: string, by: string | null): Promise<{ fleet: Fleet; cancelled: number }> {
    await this.queries.get(name);
    await this.queries.setState(name, 'cancelled', by ? `cancelled by ${by}` : 'cancelled');
    let cancelled = 0;
    for (const state of ['queued', 'running'] as const) {
      // By position: a queued run leaves its state when cancelled, a running one only once its
      // worker stopped it, so the first page again would hold the same running runs.
      for (let after = 0; ; ) {
        const page = await this.queries.repoPage(name, after, 200, state);
        for (const row of page) {
          await this.deps.store.requestCancel(row.runId!, by);
          cancelled++;
        }
        if (page.length < 200) break;
        after = page.at(-1)!.position;
      }
    }
    await this.tick(name);
    return { fleet: await this.queries.get(name), cancelled };
  }

  /** Queues a new run (same inputs, same branch) for every failed repo; the others are left alone. */
  async retryFailed(name: string, author: string | null): Promise<{ retried: number }> {
    const fleet = await this.queries.get(name);
    if (fleet.state === 'cancelled') {
      throw new NightshiftError('CONFLICT', `fleet ${name} was cancelled`, { hint: 'apply its spec again' });
    }
    const { store } = this.deps;
    let retried = 0;
    for (;;) {
      const page = await this.queries.repoPage(name, 0, 200, 'failed');
      const runs = await store.createRuns(
        await Promise.all(
          page.map(async (row) => {
            const old = await store.getRun(row.runId!);
            return {
              repoId: old.repoId,
              blueprint: old.blueprint,
              blueprintSpec: await store.blueprintSpec(old.id),
              inputs: old.inputs,
              timeoutMs: old.timeoutMs,
              baseRef: old.baseRef,
              priority: old.priority,
              trigger: old.trigger,
              author,
              branch: row.branch,
              held: true,
            };
          }),
        ),
      );
      await this.queries.setRepoRuns(
        name,
        page.map((row, i) => ({
          repoId: row.repoId,
          inputHash: row.inputHash,
          branch: row.branch,
          runId: runs[i]!.id,
        })),
      );
      retried += runs.length;
      if (page.length < 200) break;
    }
    await this.queries.countFromNow(name);
    if (fleet.state === 'paused') await this.queries.setState(name, 'active', null);
    await this.tick(name);
    return { retried };
  }

  /** One rollout step of one fleet, its row locked so concurrent engines never over-release. */
  async tick(name: string): Promise<void> {
    // A burn-down point at most every COUNTS_EVERY_MS while runs are in flight (counting reads
    // the fleet's whole repo table); always at the end, on a pause, and on a cancel.
    const last = this.counted.get(name) ?? 0;
    this.tickedAt.set(name, Date.now());
    const step = await this.deps.store.db.transaction(async (tx) => {
      const fleet = await fleetQueries(tx).get(name, { lock: true });
      const recordCounts = Date.now() - last >= COUNTS_EVERY_MS;
      const result = await tickFleet(tx, fleet, new Date(), { recordCounts });
      if (result.paused) this.deps.log.warn({ fleet: name, reason: result.paused }, 'fleet paused');
      return { ...result, fleet };
    });
    if (step.counted) this.counted.set(name, Date.now());
    // Workers in this process claim the released runs now, not at their next poll.
    if (step.released > 0) this.deps.store.announceQueued();
    for (const change of step.open) await this.openChange(step.fleet, change);
  }

  /**
   * Opens a change the rollout deferred (a pull request on GitHub). A failure is recorded on the
   * change (shown by `fleet status`) and retried after its backoff; its rate slot goes back.
   */
  private async openChange(fleet: Fleet, change: PendingChange): Promise<void> {
    if (this.opening.has(change.changeId)) return;
    this.opening.add(change.changeId);
    const { store, scm, log } = this.deps;
    try {
      const repo = await store.repos.get(change.repoId);
      const diffstat = (await store.changes.forRun(change.runId))?.diffstat;
      if (!diffstat) return;
      const opened = await scm.openChange({ ...change, repo, diffstat });
      await store.changes.opened(change.changeId, opened.state, opened.url);
      log.info({ fleet: fleet.name, runId: change.runId, url: opened.url }, 'fleet change opened');
    } catch (error) {
      log.warn(
        { fleet: fleet.name, runId: change.runId, attempt: change.attempt, err: error },
        'opening a fleet change failed',
      );
      await store.changes.openFailed(change.changeId, messageWithHint(error));
      await returnOpenSlot(store.db, fleet);
    } finally {
      this.opening.delete(change.changeId);
    }
  }

  /**
   * Steps every fleet with something to do: runs in flight, held runs while active, changes
   * waiting to open (each found through a partial index, so finished fleets cost nothing), and
   * the fleets of the `finished` runs (their last burn-down point).
   * With `all`, also fleets whose last runs finished after their last burn-down point (a
   * process that died between concluding a run and stepping its fleet). With `fresh` (ms),
   * a fleet this process stepped that recently is left for a later look, unless one of the
   * `finished` runs is its (a busy fleet is stepped as each of its runs ends: stepping it again
   * on the timer would only repeat that work). Returns how many fleets it found with work.
   */
  async tickAll(
    options: { all?: boolean; finished?: readonly string[]; fresh?: number } = {},
  ): Promise<number> {
    const rows = await this.deps.store.db.query<{ name: string; finished: boolean }>(
      `SELECT name, bool_or(finished) AS finished FROM (
         SELECT fr.fleet AS name, false AS finished FROM runs r JOIN fleet_repos fr ON fr.run_id = r.id
           WHERE r.status <> 'completed'
         UNION SELECT fr.fleet, true FROM fleet_repos fr WHERE fr.run_id = ANY($1::text[])
         UNION SELECT fr.fleet, false FROM fleet_repos fr JOIN fleets f ON f.name = fr.fleet
           WHERE fr.held AND f.state = 'active'
         UNION SELECT fr.fleet, false FROM changes c JOIN fleet_repos fr ON fr.run_id = c.run_id
           JOIN fleets f ON f.name = fr.fleet WHERE c.state = 'pending' AND f.state <> 'cancelled'
         ${
           options.all
             ? `UNION SELECT f.name, false FROM fleets f WHERE EXISTS (
                  SELECT 1 FROM fleet_repos fr JOIN runs r ON r.id = fr.run_id WHERE fr.fleet = f.name
                  AND r.finished_at >= coalesce((SELECT max(at) FROM fleet_counts c WHERE c.fleet = f.name), '-infinity'))`
             : ''
         }) AS due GROUP BY name`,
      [options.finished ?? []],
    );
    const since = Date.now() - (options.fresh ?? 0);
    for (const { name, finished } of rows) {
      if (!finished && options.fresh !== undefined && (this.tickedAt.get(name) ?? 0) > since) continue;
      await this.tick(name);
    }
    return rows.length;
  }

  /** Steps the fleets of these runs. */
  private async tickFleetsOf(runIds: readonly string[]): Promise<void> {
    const rows = await this.deps.store.db.query<{ name: string }>(
      'SELECT DISTINCT fleet AS name FROM fleet_repos WHERE run_id = ANY($1::text[])',
      [runIds],
    );
    for (const { name } of rows) await this.tick(name);
  }

  /**
   * Runs rollout steps every `intervalMs` (every `IDLE_LOOK_MS` while no fleet has work) until
   * `stop`, and at once when a run of this process completes, so a freed concurrency slot gets
   * the fleet's next run without waiting a tick.
   */
  start(intervalMs = 250): void {
    if (this.timer) return;
    const loop = () => {
      if (this.ticking) {
        this.again = true;
        return;
      }
      if (this.timer) clearTimeout(this.timer);
      const finished = [...this.finished];
      this.finished.clear();
      // Every fleet with work at most every interval; between those, a completion steps only
      // its own fleet (the slot it freed), which is one indexed lookup instead of the search.
      const now = Date.now();
      // The step resolves with how long to wait before the next look.
      let step: Promise<number>;
      if (now - this.lookedAt >= intervalMs || finished.length === 0) {
        this.lookedAt = now;
        const all = now - this.sweptAt >= SWEEP_EVERY_MS;
        if (all) this.sweptAt = now;
        step = this.tickAll({ all, finished, fresh: all ? undefined : STEPPED_FRESH_MS }).then((found) =>
          found === 0 ? Math.max(intervalMs, IDLE_LOOK_MS) : intervalMs,
        );
      } else {
        step = this.tickFleetsOf(finished).then(() => intervalMs);
      }
      this.ticking = step
        .catch((error) => {
          this.deps.log.error({ err: error }, 'fleet rollout step failed');
          return intervalMs;
        })
        .then((wait) => {
          this.ticking = null;
          if (!this.timer) return;
          if (this.again) {
            this.again = false;
            loop();
          } else {
            this.timer = setTimeout(loop, wait);
          }
        });
    };
    this.offCompleted = this.deps.store.on('completed', (runId) => {
      this.finished.add(runId);
      if (this.timer) loop();
    });
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    this.offCompleted?.();
    this.offCompleted = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking;
  }
}

/** A cancelled fleet is only started again by applying its spec: pausing or resuming it is refused. */
function assertNotCancelled(fleet: Fleet): void {
  if (fleet.state === 'cancelled') {
    throw new NightshiftError('CONFLICT', `fleet ${fleet.name} was cancelled`, {
      hint: 'apply its spec again to start the repos that did not finish',
    });
  }
}
