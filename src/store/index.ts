import { EventEmitter } from 'node:events';
import { NightshiftError, notFound } from '../core/errors.ts';
import type { RunEvent, RunEventPayload, TimedEventPayload } from '../core/events.ts';
import { newId } from '../core/ids.ts';
import type { Repo, Run, RunConclusion, RunInputs, RunStatus } from '../core/run.ts';
import { changesQueries, type NewChange } from './changes.ts';
import { type DatabaseOptions, type Db, openDatabase } from './db.ts';
import { appendEvents, listEvents } from './events.ts';
import { migrate } from './migrate.ts';
import {
  anyClaimable,
  type Claim,
  type ClaimOptions,
  claimNext,
  queueDepth,
  queueSize,
  releaseLease,
  renewLease,
} from './queue.ts';
import { repoFromJson, reposQueries } from './repos.ts';
import { type ListedRun, listRuns, type RunFilter, type RunRow, toRun } from './runs.ts';
import { insertMessage, type RunMessage, steeringQueries } from './steering.ts';
import { tokensQueries } from './tokens.ts';
import { usageQueries } from './usage.ts';

export type { Db } from './db.ts';
export { RunFencedError } from './events.ts';
export type { Claim, ClaimOptions } from './queue.ts';
export type { ListedRun, RunFilter, SwarmMembership, SwarmRole } from './runs.ts';
export type { RunMessage } from './steering.ts';
export type { ApiToken } from './tokens.ts';
export { type StepUsage, totalUsage, type UsageTotals } from './usage.ts';

export interface NewRun {
  repoId: string;
  blueprint: string;
  /** The normalized blueprint, kept with the run so a retry runs exactly the same steps. */
  blueprintSpec: unknown;
  inputs: RunInputs;
  timeoutMs: number;
  baseRef?: string | null;
  priority?: number;
  trigger?: string;
  author?: string | null;
  /** The run this one continues; `branch` is then that run's branch. */
  continues?: string | null;
  /** The branch to publish to; by default one is derived from the prompt and run id (a continuing run or a CI fix names an existing one). */
  branch?: string | null;
  /** Queued but not claimable until released (fleets release their runs as the rollout allows). */
  held?: boolean;
  /** The run that started this one, and how deep this one is (1 for its children): recorded in `run_children`. */
  parent?: { runId: string; depth: number };
}

/** A claimed run with what executing it needs first. */
export interface ClaimedRun {
  run: Run;
  claim: Claim;
  repo: Repo;
  /** The normalized blueprint stored with the run. */
  blueprintSpec: unknown;
  /** Messages (follow-ups, stop requests) wait for the run: hand them over at once. */
  hasMessages: boolean;
}

export interface StoreOptions extends DatabaseOptions {
  /** How often followers re-check for events written by other processes (ms). */
  pollMs?: number;
}

/**
 * The single source of truth: runs, their events, changes and the queue. Every write that
 * changes a run also appends the event that says so, in the same transaction.
 */
export class Store {
  readonly db: Db;
  readonly repos;
  readonly changes;
  readonly steering;
  readonly usage;
  readonly tokens;
  private readonly notifier = new EventEmitter();
  private readonly pollMs: number;

  private constructor(db: Db, pollMs: number) {
    this.db = db;
    this.pollMs = pollMs;
    this.repos = reposQueries(db);
    this.changes = changesQueries(db);
    this.steering = steeringQueries(db);
    this.usage = usageQueries(db);
    this.tokens = tokensQueries(db);
    this.notifier.setMaxListeners(0);
  }

  /** Opens the database and applies pending migrations. */
  static async open(options: StoreOptions = {}): Promise<Store> {
    const db = await openDatabase(options);
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      throw error;
    }
    return new Store(db, options.pollMs ?? (db.kind === 'postgres' ? 250 : 1000));
  }

  async close(): Promise<void> {
    this.notifier.emit('closed');
    await this.db.close();
  }

  async createRun(input: NewRun): Promise<Run> {
    const [run] = await this.createRuns([input]);
    return run!;
  }

  /**
   * Creates runs in one statement, each with its first events, its queue entry, (for a
   * sub-run) its parent row, so no worker claims a sub-run before its depth is known, and (for a
   * run continuing a swarm's run) its place in that swarm, with the same role and facet. Returns
   * them in the order given; throws NOT_FOUND naming a repo that does not exist.
   */
  async createRuns(inputs: readonly NewRun[]): Promise<Run[]> {
    if (inputs.length === 0) return [];
    const ids = inputs.map(() => newId('run'));
    const column = <T>(pick: (input: NewRun) => T) => inputs.map(pick);
    const rows = await this.db.query<RunRow>(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[],
           $7::text[], $8::integer[], $9::text[], $10::text[], $11::text[], $12::text[], $13::boolean[],
           $14::text[], $15::integer[])
         WITH ORDINALITY AS u(id, repo_id, blueprint, spec, inputs, timeout_ms, base_ref, priority, trigger,
           author, continues, branch, held, parent, depth, ord)),
       created AS (
         INSERT INTO runs (id, repo_id, blueprint, blueprint_spec, inputs, status, timeout_ms, base_ref,
           priority, trigger, author, continues, branch, last_seq)
         SELECT u.id, u.repo_id, u.blueprint, u.spec::jsonb, u.inputs::jsonb, 'queued', u.timeout_ms, u.base_ref,
           u.priority, u.trigger, u.author, u.continues, u.branch, 2
         FROM input u JOIN repos ON repos.id = u.repo_id
         -- All or none: a run of a repo that does not exist stops the others too.
         WHERE NOT EXISTS (SELECT 1 FROM input m WHERE NOT EXISTS (SELECT 1 FROM repos WHERE repos.id = m.repo_id))
         RETURNING *),
       events AS (
         INSERT INTO run_events (run_id, seq, type, data, at)
         SELECT c.id, e.seq, e.type, e.data, now() FROM created c JOIN repos p ON p.id = c.repo_id
         CROSS JOIN LATERAL (VALUES
           (1, 'run.created', jsonb_build_object('blueprint', c.blueprint, 'repo', p.name, 'trigger', c.trigger,
             'continues', c.continues)),
           (2, 'run.status', '{"status": "queued"}'::jsonb)) AS e(seq, type, data)),
       queued AS (
         INSERT INTO run_queue (run_id, repo_id, priority, available_at)
         SELECT u.id, u.repo_id, u.priority, CASE WHEN u.held THEN 'infinity'::timestamptz ELSE now() END
         FROM input u JOIN created c ON c.id = u.id),
       children AS (
         INSERT INTO run_children (parent_run_id, child_run_id, depth)
         SELECT u.parent, u.id, u.depth FROM input u JOIN created c ON c.id = u.id WHERE u.parent IS NOT NULL),
       swarm AS (
         INSERT INTO swarm_runs (run_id, swarm_id, role, facet)
         SELECT c.id, s.swarm_id, s.role, s.facet FROM created c JOIN swarm_runs s ON s.run_id = c.continues)
       SELECT c.* FROM created c JOIN input u ON u.id = c.id ORDER BY u.ord`,
      [
        ids,
        column((input) => input.repoId),
        column((input) => input.blueprint),
        column((input) => JSON.stringify(input.blueprintSpec)),
        column((input) => JSON.stringify(input.inputs)),
        column((input) => input.timeoutMs),
        column((input) => input.baseRef ?? null),
        column((input) => input.priority ?? 0),
        column((input) => input.trigger ?? 'cli'),
        column((input) => input.author ?? null),
        column((input) => input.continues ?? null),
        column((input) => input.branch ?? null),
        column((input) => input.held ?? false),
        column((input) => input.parent?.runId ?? null),
        column((input) => input.parent?.depth ?? null),
      ],
    );
    if (rows.length < inputs.length) {
      const found = await this.db.query<{ id: string }>('SELECT id FROM repos WHERE id = ANY($1)', [
        inputs.map((input) => input.repoId),
      ]);
      const known = new Set(found.map((row) => row.id));
      throw notFound('repo', inputs.find((input) => !known.has(input.repoId))?.repoId ?? inputs[0]!.repoId);
    }
    for (const id of ids) this.notify(id);
    this.notifier.emit('queued');
    return rows.map(toRun);
  }

  /** A run by full id, or by a unique suffix of at least 6 characters (as tables show them). */
  async getRun(idOrSuffix: string): Promise<Run> {
    const rows = await this.db.query<RunRow>('SELECT * FROM runs WHERE id = $1', [idOrSuffix]);
    if (rows[0]) return toRun(rows[0]);
    if (/^[0-9a-z]{6,}$/.test(idOrSuffix)) {
      const matches = await this.db.query<RunRow>('SELECT * FROM runs WHERE id LIKE $1 LIMIT 2', [
        `%${idOrSuffix}`,
      ]);
      if (matches.length === 1) return toRun(matches[0]!);
      if (matches.length > 1) {
        throw new NightshiftError('INVALID_INPUT', `run id ${idOrSuffix} is ambiguous`, {
          hint: 'give more characters of the id',
        });
      }
    }
    throw notFound('run', idOrSuffix, 'list runs with `nightshift runs`');
  }

  /** The normalized blueprint stored with a run when it was created. */
  async blueprintSpec(runId: string): Promise<unknown> {
    const rows = await this.db.query<{ blueprint_spec: unknown }>(
      'SELECT blueprint_spec FROM runs WHERE id = $1',
      [runId],
    );
    if (!rows[0]) throw notFound('run', runId);
    return rows[0].blueprint_spec;
  }

  /** Runs newest first, each with its parent and swarm (see `listRuns`). */
  listRuns(filter?: RunFilter): Promise<ListedRun[]> {
    return listRuns(this.db, filter);
  }

  /**
   * Claims the next run and moves it to `provisioning`, recording a new attempt when it was
   * re-claimed. Returns with it what executing it needs first: its repo, its blueprint, and
   * whether messages wait for it (in the same statement, not three more round trips).
   */
  async claimRun(options: ClaimOptions): Promise<ClaimedRun | null> {
    if (!(await anyClaimable(this.db))) return null;
    const result = await this.db.transaction(async (tx) => {
      const claim = await claimNext(tx, options);
      if (!claim) return null;
      const rows = await tx.query<RunRow & { repo: Record<string, unknown>; has_messages: boolean }>(
        `WITH claimed AS (
           UPDATE runs SET attempt = $2, status = 'provisioning', started_at = coalesce(started_at, now())
           WHERE id = $1 AND status <> 'completed' RETURNING *)
         SELECT claimed.*, to_jsonb(repos) AS repo,
           EXISTS (SELECT 1 FROM run_messages m WHERE m.run_id = claimed.id AND m.delivered_at IS NULL) AS has_messages
         FROM claimed JOIN repos ON repos.id = claimed.repo_id`,
        [claim.runId, claim.attempt],
      );
      const row = rows[0];
      if (!row) {
        await tx.query('DELETE FROM run_queue WHERE run_id = $1', [claim.runId]);
        return null;
      }
      const events: RunEventPayload[] = [];
      if (claim.attempt > 1) {
        const reason = claim.previousOwner
          ? `the lease of worker ${claim.previousOwner} expired`
          : 'the run was given back to the queue';
        events.push({ type: 'run.attempt', data: { attempt: claim.attempt, reason } });
      }
      events.push({ type: 'run.status', data: { status: 'provisioning' } });
      await appendEvents(tx, claim.runId, events, claim.attempt);
      return {
        run: toRun(row),
        claim,
        repo: repoFromJson(row.repo),
        blueprintSpec: row.blueprint_spec,
        hasMessages: row.has_messages,
      };
    });
    if (result) this.notify(result.run.id);
    return result;
  }

  renewLease(runId: string, workerId: string, leaseMs: number): Promise<boolean> {
    return renewLease(this.db, runId, workerId, leaseMs);
  }

  releaseLease(runId: string, workerId: string): Promise<void> {
    return releaseLease(this.db, runId, workerId);
  }

  /** Runs waiting to be claimed. */
  queueDepth(): Promise<number> {
    return queueDepth(this.db);
  }

  /** Runs not completed yet: waiting or leased. */
  queueSize(): Promise<number> {
    return queueSize(this.db);
  }

  /**
   * Appends events; with `attempt`, only while that attempt owns the run. A `run.status` event
   * moves the run to that status (see `appendEvents`).
   */
  async appendEvents(
    runId: string,
    payloads: readonly TimedEventPayload[],
    attempt?: number,
  ): Promise<RunEvent[]> {
    const events = await appendEvents(this.db, runId, payloads, attempt);
    this.notify(runId);
    return events;
  }

  /**
   * Concludes a run in one statement: its status; the `events` its attempt still had to write,
   * then the conclusion's own; its queue entry removed. A no-op returning false when the run
   * had already completed (or, with `attempt`, another attempt owns it).
   */
  async completeRun(
    runId: string,
    conclusion: RunConclusion,
    reason: string | null,
    attempt?: number,
    events: readonly TimedEventPayload[] = [],
  ): Promise<boolean> {
    const all: TimedEventPayload[] = [
      ...events,
      { type: 'run.status', data: { status: 'completed' } },
      { type: 'run.completed', data: { conclusion, reason } },
    ];
    const rows = await this.db.query(
      `WITH done AS (
         UPDATE runs SET status = 'completed', conclusion = $2, reason = $3, finished_at = now(),
           last_seq = last_seq + $4
         WHERE id = $1 AND status <> 'completed' AND ($7::integer IS NULL OR attempt = $7)
         RETURNING id, last_seq),
       dequeued AS (DELETE FROM run_queue WHERE run_id IN (SELECT id FROM done)),
       appended AS (
         INSERT INTO run_events (run_id, seq, type, data, at)
         SELECT done.id, done.last_seq - $4 + e.ord, e.type, e.data::jsonb, coalesce(e.at, now())
         FROM done, unnest($5::text[], $6::text[], $8::timestamptz[]) WITH ORDINALITY AS e(type, data, at, ord))
       SELECT id FROM done`,
      [
        runId,
        conclusion,
        reason,
        all.length,
        all.map((event) => event.type),
        all.map((event) => JSON.stringify(event.data)),
        attempt ?? null,
        all.map((event) => event.at?.toISOString() ?? null),
      ],
    );
    if (!rows[0]) return false;
    this.notify(runId);
    this.notifier.emit('completed', runId);
    return true;
  }

  /**
   * Asks a run to stop. A run nobody has claimed yet is cancelled at once; a running one is
   * stopped by its worker, which is told through `onCancel` (same process) or by polling.
   */
  async requestCancel(runId: string, by: string | null): Promise<Run> {
    const run = await this.getRun(runId);
    if (run.status === 'completed') return run;
    const cancelledNow = await this.db.transaction(async (tx) => {
      const unclaimed = await tx.query(
        `DELETE FROM run_queue WHERE run_id = $1 AND (lease_owner IS NULL OR lease_expires_at < now())
           AND EXISTS (SELECT 1 FROM runs WHERE id = $1 AND status = 'queued') RETURNING run_id`,
        [run.id],
      );
      await tx.query(
        'UPDATE runs SET cancel_requested_at = coalesce(cancel_requested_at, now()) WHERE id = $1',
        [run.id],
      );
      await appendEvents(tx, run.id, [{ type: 'run.cancel_requested', data: { by } }]);
      return unclaimed.length > 0;
    });
    if (cancelledNow) await this.completeRun(run.id, 'cancelled', by ? `cancelled by ${by}` : 'cancelled');
    this.notify(run.id);
    this.notifier.emit('cancel', run.id);
    return this.getRun(run.id);
  }

  /**
   * Queues a follow-up message or a stop request for a run that has not completed; the worker
   * executing it hands it to the agent (told through `on('steer')` in this process, or by
   * polling). Throws CONFLICT once the run has completed: a follow-up then starts a run that
   * continues it (`Engine.continueRun`).
   */
  async steer(
    runId: string,
    message: { kind: RunMessage['kind']; text?: string | null; author: string | null },
  ): Promise<RunMessage> {
    const run = await this.getRun(runId);
    const queued = await this.db.transaction(async (tx) => {
      // Locked against completion: a message is either seen by the run's worker or refused.
      const rows = await tx.query<{ status: RunStatus }>('SELECT status FROM runs WHERE id = $1 FOR UPDATE', [
        run.id,
      ]);
      if (rows[0]?.status === 'completed') return null;
      const stored = await insertMessage(tx, {
        runId: run.id,
        kind: message.kind,
        text: message.text ?? null,
        author: message.author,
      });
      await appendEvents(tx, run.id, [
        message.kind === 'stop'
          ? { type: 'run.stop_requested', data: { by: message.author } }
          : { type: 'run.follow_up_requested', data: { message: message.text ?? '', by: message.author } },
      ]);
      return stored;
    });
    if (!queued) {
      throw new NightshiftError('CONFLICT', `run ${run.id} has already completed`, {
        hint: 'a follow-up to a completed run starts a new run that continues it: `nightshift say RUN "..."`',
      });
    }
    this.notify(run.id);
    this.notifier.emit('steer', run.id);
    return queued;
  }

  /** Ids of the given runs that were asked to stop. */
  async cancelRequested(runIds: readonly string[]): Promise<string[]> {
    if (runIds.length === 0) return [];
    const rows = await this.db.query<{ id: string }>(
      'SELECT id FROM runs WHERE id = ANY($1) AND cancel_requested_at IS NOT NULL',
      [runIds],
    );
    return rows.map((row) => row.id);
  }

  events(runId: string, afterSeq = 0, limit = 1000): Promise<RunEvent[]> {
    return listEvents(this.db, runId, afterSeq, limit);
  }

  recordChange(change: NewChange) {
    return this.changes.record(change);
  }

  /**
   * Waits until the run may have events after `afterSeq` (a write in this process, or the
   * poll interval for writes by others), then returns them; empty when `signal` aborted.
   */
  async waitForEvents(runId: string, afterSeq: number, signal?: AbortSignal): Promise<RunEvent[]> {
    for (;;) {
      // Listen before reading, so a write that lands during the read still wakes us.
      let wake = () => {};
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const timer = setTimeout(wake, this.pollMs);
      this.notifier.on(`run:${runId}`, wake);
      this.notifier.once('closed', wake);
      signal?.addEventListener('abort', wake, { once: true });
      try {
        const events = await this.events(runId, afterSeq);
        if (events.length > 0 || signal?.aborted) return events;
        await woken;
      } finally {
        clearTimeout(timer);
        this.notifier.off(`run:${runId}`, wake);
        this.notifier.off('closed', wake);
        signal?.removeEventListener('abort', wake);
      }
    }
  }

  /**
   * Tells this process's workers that runs became claimable without `createRun` (held runs
   * released by a fleet's rollout), so they claim them now rather than at their next poll.
   */
  announceQueued(): void {
    this.notifier.emit('queued');
  }

  /**
   * Subscribes to in-process signals: a run was queued or completed, a run was asked to stop,
   * or a run got events (written by this process; others' writes are seen only by reading).
   */
  on(what: 'queued', listener: () => void): () => void;
  on(what: 'cancel' | 'steer' | 'completed' | 'events', listener: (runId: string) => void): () => void;
  on(
    what: 'queued' | 'cancel' | 'steer' | 'completed' | 'events',
    listener: (runId: string) => void,
  ): () => void {
    this.notifier.on(what, listener);
    return () => this.notifier.off(what, listener);
  }

  private notify(runId: string): void {
    this.notifier.emit(`run:${runId}`);
    this.notifier.emit('events', runId);
  }
}
