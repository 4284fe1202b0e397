import type pino from 'pino';
import { messageWithHint, NightshiftError } from '../core/errors.ts';
import type { ScmProvider } from '../scm/types.ts';
import type { Store } from '../store/index.ts';
import { type ApplyOptions, type ApplySummary, applyFleet } from './apply.ts';
import { type RefreshSummary, refreshChangeStates } from './refresh.ts';
import { holdRuns, type PendingChange, returnOpenSlot, tickFleet } from './rollout.ts';
import type { FleetSpec } from './schema.ts';
import { type FailureGroup, type Fleet, type FleetCounts, type FleetQueries, fleetQueries } from './store.ts';

/** Same number in every process: one rollout step of one fleet at a time. */
const FLEET_LOCK = 7_245_006;

export interface FleetStatus {
  fleet: Fleet;
  counts: FleetCounts;
  total: number;
  /** Failed runs grouped by their reason, biggest group first. */
  failures: FailureGroup[];
  /** Changes waiting for the rollout whose last attempt to open failed, grouped by message. */
  openFailures: FailureGroup[];
}

export interface FleetServiceDeps {
  store: Store;
  scm: ScmProvider;
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

  constructor(private readonly deps: FleetServiceDeps) {
    this.queries = fleetQueries(deps.store.db);
  }

  /** Applies a spec (see `applyFleet`), then takes a rollout step so runs start at once. */
  async apply(spec: FleetSpec, options: Omit<ApplyOptions, 'defaultTimeoutMs'>): Promise<ApplySummary> {
    const summary = await applyFleet(this.deps, spec, {
      ...options,
      defaultTimeoutMs: this.deps.defaultTimeoutMs,
    });
    if (!options.dryRun) await this.tick(spec.name);
    return summary;
  }

  async status(name: string): Promise<FleetStatus> {
    const fleet = await this.queries.get(name);
    const counts = await this.queries.counts(name);
    const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
    const [failures, openFailures] = await Promise.all([
      this.queries.failures(name),
      this.queries.openFailures(name),
    ]);
    return { fleet, counts, total, failures, openFailures };
  }

  /** Reads the state and checks of the fleet's pull requests from GitHub (a poll, for missed webhooks). */
  async refresh(name: string): Promise<RefreshSummary> {
    await this.queries.get(name);
    return refreshChangeStates(this.deps, this.queries, name);
  }

  /** Stops releasing runs and holds the queued ones; running runs finish. */
  async pause(name: string, reason = 'paused by a person'): Promise<Fleet> {
    await this.queries.get(name);
    await this.queries.setState(name, 'paused', reason);
    await holdRuns(this.deps.store.db, name);
    return this.queries.get(name);
  }

  async resume(name: string): Promise<Fleet> {
    const fleet = await this.queries.get(name);
    if (fleet.state === 'cancelled') {
      throw new NightshiftError('CONFLICT', `fleet ${name} was cancelled`, {
        hint: 'apply its spec again to start the repos that did not finish',
      });
    }
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
      // Cancelled runs leave the state, so the first page is always the next one.
      for (;;) {
        const page = await this.queries.repoPage(name, 0, 200, state);
        for (const row of page) {
          await this.deps.store.requestCancel(row.runId!, by);
          cancelled++;
        }
        if (page.length < 200 || state === 'running') break;
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
      for (const row of page) {
        const old = await store.getRun(row.runId!);
        const run = await store.createRun({
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
        });
        await this.queries.setRepoRun(name, row.repoId, {
          inputHash: row.inputHash,
          branch: row.branch,
          runId: run.id,
        });
        retried++;
      }
      if (page.length < 200) break;
    }
    if (fleet.state === 'paused') await this.queries.setState(name, 'active', null);
    await this.tick(name);
    return { retried };
  }

  /** One rollout step of one fleet, under a lock so concurrent engines never over-release. */
  async tick(name: string): Promise<void> {
    const step = await this.deps.store.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [FLEET_LOCK, name]);
      const fleet = await fleetQueries(tx).get(name);
      const { paused, released, open } = await tickFleet(tx, fleet);
      if (paused) this.deps.log.warn({ fleet: name, reason: paused }, 'fleet paused');
      await tx.query(
        `UPDATE changes c SET state = 'superseded' FROM fleet_repos fr
         WHERE fr.fleet = $1 AND c.repo_id = fr.repo_id AND c.branch = fr.branch AND c.run_id <> fr.run_id
           AND c.state <> 'superseded' AND EXISTS (SELECT 1 FROM changes n WHERE n.run_id = fr.run_id)`,
        [name],
      );
      return { fleet, released, open };
    });
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

  /** Steps every fleet with something to do (held or unfinished runs, counts not recorded yet). */
  async tickAll(): Promise<void> {
    const rows = await this.deps.store.db.query<{ name: string }>(
      `SELECT f.name FROM fleets f WHERE EXISTS (
         SELECT 1 FROM fleet_repos fr LEFT JOIN runs r ON r.id = fr.run_id
         WHERE fr.fleet = f.name AND ((fr.held AND f.state = 'active') OR r.status <> 'completed'
           OR r.finished_at >= coalesce((SELECT max(at) FROM fleet_counts c WHERE c.fleet = f.name), '-infinity')
           OR (f.state <> 'cancelled' AND EXISTS (SELECT 1 FROM changes w WHERE w.run_id = fr.run_id AND w.state = 'pending'))))`,
    );
    for (const { name } of rows) await this.tick(name);
  }

  /**
   * Runs rollout steps every `intervalMs` until `stop`, and at once when a run of this process
   * completes, so a freed concurrency slot gets the fleet's next run without waiting a tick.
   */
  start(intervalMs = 250): void {
    if (this.timer) return;
    const loop = () => {
      if (this.ticking) {
        this.again = true;
        return;
      }
      if (this.timer) clearTimeout(this.timer);
      this.ticking = this.tickAll()
        .catch((error) => this.deps.log.error({ err: error }, 'fleet rollout step failed'))
        .finally(() => {
          this.ticking = null;
          if (!this.timer) return;
          if (this.again) {
            this.again = false;
            loop();
          } else {
            this.timer = setTimeout(loop, intervalMs);
          }
        });
    };
    this.offCompleted = this.deps.store.on('completed', () => {
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
