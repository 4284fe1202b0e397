import { backoffSeconds } from '../store/backoff.ts';
import type { Queryable } from '../store/db.ts';
import { failureRate, rateInterval } from './parse.ts';
import type { RolloutWindow } from './schema.ts';
import { type Fleet, type FleetCounts, fleetQueries } from './store.ts';

/** Fleet runs are queued below interactive runs (priority 0), so a fleet never starves them. */
export const FLEET_PRIORITY = -10;

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const HOUR_MS = 3_600_000;

/** Whether `now` is inside one of the windows (UTC); always true without windows. */
export function inWindow(windows: readonly RolloutWindow[] | undefined, now: Date): boolean {
  if (!windows || windows.length === 0) return true;
  const day = DAYS[now.getUTCDay()]!;
  const hour = now.getUTCHours();
  return windows.some((window) => {
    if (window.days && !window.days.includes(day)) return false;
    const [start, end] = window.hours.split('-').map(Number) as [number, number];
    return start <= end ? hour >= start && hour < end : hour >= start || hour < end;
  });
}

/**
 * When the rollout next lets a waiting change open: the first time at or after `due` (when
 * the rate's interval has passed and a change is past its backoff) inside the windows; null
 * when no window opens within a week (none can: `days` lists none).
 */
export function nextOpening(windows: readonly RolloutWindow[] | undefined, due: Date): Date | null {
  let at = due;
  for (let hours = 0; hours <= 7 * 24; hours++) {
    if (inWindow(windows, at)) return at;
    at = new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS);
  }
  return null;
}

/** The `stop_when` threshold the counts passed, as a reason; null while within it. */
export function stopReason(fleet: Fleet, counts: FleetCounts): string | null {
  const stop = fleet.spec.stop_when;
  if (!stop) return null;
  const concluded = counts.succeeded + counts.waiting + counts.no_changes + counts.failed;
  if (concluded < stop.after) return null;
  const rate = counts.failed / concluded;
  const limit = failureRate(stop.failure_rate);
  if (rate <= limit) return null;
  return `stop_when: ${counts.failed} of ${concluded} runs failed (${Math.round(rate * 100)}%, more than ${Math.round(limit * 100)}%)`;
}

/**
 * Makes held runs of the fleet claimable, in order, up to `concurrency` released runs not
 * completed; returns how many it released and how many were still in flight before. Driven
 * from the runs not completed (a partial index), not from the fleet's whole repo table.
 */
export async function releaseRuns(
  db: Queryable,
  fleet: string,
  concurrency: number,
): Promise<{ released: number; active: number }> {
  const rows = await db.query<{ released: number; active: number }>(
    `WITH active AS (
       SELECT count(*)::integer AS n FROM runs r JOIN fleet_repos fr ON fr.run_id = r.id
       WHERE r.status <> 'completed' AND fr.fleet = $1 AND NOT fr.held),
     picked AS (
       SELECT fr.repo_id FROM fleet_repos fr WHERE fr.fleet = $1 AND fr.held
       ORDER BY fr.position LIMIT greatest($2 - (SELECT n FROM active), 0)),
     flagged AS (
       UPDATE fleet_repos fr SET held = false FROM picked
       WHERE fr.fleet = $1 AND fr.repo_id = picked.repo_id RETURNING fr.run_id),
     released AS (
       UPDATE run_queue q SET available_at = now() FROM flagged
       WHERE q.run_id = flagged.run_id RETURNING q.run_id)
     SELECT (SELECT count(*)::integer FROM released) AS released, (SELECT n FROM active) AS active`,
    [fleet, concurrency],
  );
  return rows[0] ?? { released: 0, active: 0 };
}

/** Holds the fleet's runs nobody has claimed yet (pause); running ones finish. */
export async function holdRuns(db: Queryable, fleet: string): Promise<number> {
  const rows = await db.query(
    `WITH waiting AS (
       UPDATE run_queue q SET available_at = 'infinity'
       FROM fleet_repos fr WHERE fr.fleet = $1 AND fr.run_id = q.run_id AND NOT fr.held
         AND (q.lease_owner IS NULL OR q.lease_expires_at < now())
         AND EXISTS (SELECT 1 FROM runs r WHERE r.id = q.run_id AND r.status = 'queued')
       RETURNING q.run_id)
     UPDATE fleet_repos fr SET held = true FROM waiting WHERE fr.fleet = $1 AND fr.run_id = waiting.run_id
     RETURNING fr.run_id`,
    [fleet],
  );
  return rows.length;
}

/** Most deferred changes opened in one step when the fleet has no rate (any more). */
const OPEN_BATCH = 50;

/** A change waiting for the rollout, with what opening it needs. */
export interface PendingChange {
  changeId: string;
  runId: string;
  repoId: string;
  branch: string;
  title: string;
  body: string;
  /** Open it as a draft (the fleet's `change.draft`). */
  draft: boolean;
  /** Which attempt to open it this is (1 for the first). */
  attempt: number;
}

/**
 * The deferred changes the rollout may open now, each claimed for one attempt: only of runs
 * that succeeded; none outside the windows; none still waiting for the backoff of a failed
 * attempt; with a rate, one each time its interval has passed (claimed by moving
 * `next_start_at`, the fleet's next opening time); without one, every waiting change. Runs are
 * never held back by the rate.
 */
async function changesToOpen(db: Queryable, fleet: Fleet, now: Date): Promise<PendingChange[]> {
  if (!inWindow(fleet.spec.rollout?.windows, now)) return [];
  const rate = fleet.spec.rollout?.rate;
  // A run still finishing, or cancelled after it published, opens nothing.
  const due = `FROM changes c JOIN fleet_repos fr ON fr.run_id = c.run_id JOIN runs r ON r.id = c.run_id
    WHERE fr.fleet = $1 AND c.state = 'pending' AND r.conclusion = 'success'
      AND (c.next_open_at IS NULL OR c.next_open_at <= now())`;
  let limit = OPEN_BATCH;
  if (rate) {
    const rows = await db.query(
      `UPDATE fleets SET next_start_at = greatest(next_start_at, now()) + make_interval(secs => $2::double precision / 1000)
       WHERE name = $1 AND next_start_at <= now() AND EXISTS (SELECT 1 ${due})
       RETURNING true AS due`,
      [fleet.name, rateInterval(rate)],
    );
    limit = rows.length;
  }
  if (limit === 0) return [];
  const rows = await db.query<Omit<PendingChange, 'draft'>>(
    `WITH picked AS (SELECT c.id, fr.position ${due} ORDER BY fr.position LIMIT $2),
     claimed AS (
       UPDATE changes c SET open_attempts = c.open_attempts + 1,
         next_open_at = now() + make_interval(secs => ${backoffSeconds('c.open_attempts')})
       FROM picked WHERE c.id = picked.id
       RETURNING c.id, c.run_id, c.repo_id, c.branch, c.title, c.body, c.open_attempts, picked.position)
     SELECT id AS "changeId", run_id AS "runId", repo_id AS "repoId", branch, title, body, open_attempts AS attempt
     FROM claimed ORDER BY position`,
    [fleet.name, limit],
  );
  const draft = fleet.spec.change?.draft ?? false;
  return rows.map((row) => ({ ...row, draft }));
}

/**
 * Gives back the rate's opening slot an attempt took without opening anything, so the next
 * waiting change opens in its place (the one that failed waits for its backoff).
 */
export async function returnOpenSlot(db: Queryable, fleet: Fleet): Promise<void> {
  const rate = fleet.spec.rollout?.rate;
  if (!rate) return;
  await db.query(
    'UPDATE fleets SET next_start_at = next_start_at - make_interval(secs => $2::double precision / 1000) WHERE name = $1',
    [fleet.name, rateInterval(rate)],
  );
}

/**
 * One step of a fleet's rollout: pauses it when `stop_when` passed, releases as many held runs
 * as its concurrency allows, and picks the waiting changes its rate and windows allow opening
 * now (the caller opens them, outside the transaction). It records the fleet's counts (a
 * burn-down point) when `recordCounts` asks, and whenever the fleet has nothing in flight.
 */
export async function tickFleet(
  db: Queryable,
  fleet: Fleet,
  now = new Date(),
  options: { recordCounts?: boolean } = {},
): Promise<{ released: number; paused: string | null; open: PendingChange[]; counted: boolean }> {
  const fleets = fleetQueries(db);
  let counts: FleetCounts | null = null;
  const count = async () => {
    counts ??= await fleets.counts(fleet.name);
    return counts;
  };
  const record = async (due: boolean) => {
    if (due) await fleets.recordCounts(fleet.name, await count());
    return due;
  };
  const wanted = options.recordCounts ?? true;
  if (fleet.state === 'cancelled') {
    return { released: 0, paused: null, open: [], counted: await record(true) };
  }
  // A paused fleet starts no runs, but the changes its finished runs made still open.
  const open = await changesToOpen(db, fleet, now);
  if (fleet.state !== 'active') return { released: 0, paused: null, open, counted: await record(wanted) };
  const reason = fleet.spec.stop_when
    ? stopReason(fleet, await fleets.counts(fleet.name, { stopCounted: true }))
    : null;
  if (reason) {
    await fleets.setState(fleet.name, 'paused', reason);
    await holdRuns(db, fleet.name);
    return { released: 0, paused: reason, open, counted: await record(true) };
  }
  const { released, active } = await releaseRuns(db, fleet.name, fleet.spec.concurrency);
  const idle = released === 0 && active === 0;
  return { released, paused: null, open, counted: await record(wanted || idle) };
}
