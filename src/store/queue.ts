import { lockForTransaction, type Queryable } from './db.ts';

/** One lock number for all claims: claims are short, and it makes the concurrency counts exact. */
const CLAIM_LOCK = 7_245_001;

export interface ClaimOptions {
  workerId: string;
  leaseMs: number;
  /** Most runs leased at once across all workers; unlimited when omitted. */
  maxActive?: number;
  /** Most runs of one repo leased at once. */
  maxActivePerRepo?: number;
}

export interface Claim {
  runId: string;
  /** 1 for the first claim; higher when a run is re-claimed after a lease expired. */
  attempt: number;
  /** The worker whose lease expired, when this claim takes a run over. */
  previousOwner: string | null;
}

/**
 * Whether any run could be claimed now (limits aside): one statement, so that a worker which
 * finds nothing opens no transaction (nor takes the claim lock) for it. A worker looks each
 * time a run of its finishes, often before a fleet has released its next run.
 */
export async function anyClaimable(db: Queryable): Promise<boolean> {
  const rows = await db.query<{ any: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM run_queue
       WHERE (lease_owner IS NULL OR lease_expires_at < now()) AND available_at <= now()) AS any`,
  );
  return rows[0]?.any === true;
}

/**
 * Claims the next runnable run: highest priority, then oldest; runs whose lease expired are
 * runnable again. Rows another transaction holds are skipped (`FOR UPDATE SKIP LOCKED`).
 */
export async function claimNext(tx: Queryable, options: ClaimOptions): Promise<Claim | null> {
  await lockForTransaction(tx, CLAIM_LOCK);
  // Picked and leased in one statement; `picked` still holds the lease's previous owner.
  const rows = await tx.query<{ run_id: string; previous_owner: string | null; attempts: number }>(
    `WITH picked AS (
       SELECT q.run_id, q.lease_owner FROM run_queue q
       WHERE (q.lease_owner IS NULL OR q.lease_expires_at < now())
         AND q.available_at <= now()
         AND ($1::integer IS NULL OR (SELECT count(*) FROM run_queue a
               WHERE a.lease_owner IS NOT NULL AND a.lease_expires_at >= now()) < $1::integer)
         AND ($2::integer IS NULL OR (SELECT count(*) FROM run_queue b
               WHERE b.repo_id = q.repo_id AND b.lease_owner IS NOT NULL AND b.lease_expires_at >= now()) < $2::integer)
       ORDER BY q.priority DESC, q.enqueued_at, q.run_id
       LIMIT 1
       FOR UPDATE SKIP LOCKED)
     UPDATE run_queue q SET lease_owner = $3,
       lease_expires_at = now() + make_interval(secs => $4::double precision / 1000), attempts = q.attempts + 1
     FROM picked WHERE q.run_id = picked.run_id
     RETURNING q.run_id, picked.lease_owner AS previous_owner, q.attempts`,
    [options.maxActive ?? null, options.maxActivePerRepo ?? null, options.workerId, options.leaseMs],
  );
  const row = rows[0];
  if (!row) return null;
  return { runId: row.run_id, attempt: row.attempts, previousOwner: row.previous_owner };
}

/** Extends a lease; false when the worker lost it (expired and taken, or the run is gone). */
export async function renewLease(
  db: Queryable,
  runId: string,
  workerId: string,
  leaseMs: number,
): Promise<boolean> {
  const rows = await db.query(
    `UPDATE run_queue SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
     WHERE run_id = $1 AND lease_owner = $2 RETURNING run_id`,
    [runId, workerId, leaseMs],
  );
  return rows.length > 0;
}

/** Who holds a run's lease and until when (`lapsed`: it ran out, the worker stopped); null when nobody does. */
export async function leaseOf(
  db: Queryable,
  runId: string,
): Promise<{ worker: string; expiresAt: Date; lapsed: boolean } | null> {
  const rows = await db.query<{ worker: string; expires_at: Date; lapsed: boolean }>(
    `SELECT lease_owner AS worker, lease_expires_at AS expires_at, lease_expires_at < now() AS lapsed
     FROM run_queue WHERE run_id = $1 AND lease_owner IS NOT NULL`,
    [runId],
  );
  const row = rows[0];
  return row ? { worker: row.worker, expiresAt: new Date(row.expires_at), lapsed: row.lapsed } : null;
}

/** Gives a run back to the queue without finishing it (a worker shutting down cleanly). */
export async function releaseLease(db: Queryable, runId: string, workerId: string): Promise<void> {
  await db.query(
    'UPDATE run_queue SET lease_owner = NULL, lease_expires_at = NULL WHERE run_id = $1 AND lease_owner = $2',
    [runId, workerId],
  );
}

/** Makes every lease not held by `workerId` expire now (the embedded database has one owner). */
export async function expireForeignLeases(db: Queryable, workerId: string): Promise<number> {
  const rows = await db.query(
    `UPDATE run_queue SET lease_expires_at = now() - interval '1 second'
     WHERE lease_owner IS NOT NULL AND lease_owner <> $1 RETURNING run_id`,
    [workerId],
  );
  return rows.length;
}

/** Runs waiting to be claimed. */
export async function queueDepth(db: Queryable): Promise<number> {
  const rows = await db.query<{ n: number }>(
    'SELECT count(*)::integer AS n FROM run_queue WHERE lease_owner IS NULL OR lease_expires_at < now()',
  );
  return rows[0]?.n ?? 0;
}

/** Runs in the queue, waiting or leased. */
export async function queueSize(db: Queryable): Promise<number> {
  const rows = await db.query<{ n: number }>('SELECT count(*)::integer AS n FROM run_queue');
  return rows[0]?.n ?? 0;
}
