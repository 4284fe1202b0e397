import { randomUUID } from 'node:crypto';
import type { Queryable } from '../store/db.ts';

/** What became of a webhook delivery: at the door (accepted, duplicate, rejected_*) or once processed (ignored, failed). */
export const DELIVERY_OUTCOMES = [
  'accepted',
  'duplicate',
  'rejected_signature',
  'rejected_malformed',
  'ignored',
  'failed',
] as const;
export type DeliveryOutcome = (typeof DELIVERY_OUTCOMES)[number];

/** One row of `webhook_deliveries`. */
export interface Delivery {
  id: string;
  source: string;
  /** The id that claimed the row (`X-GitHub-Delivery`); null for rejected and duplicate attempts. */
  deliveryId: string | null;
  /** The id the request presented, whatever became of it. */
  presentedId: string | null;
  event: string | null;
  outcome: DeliveryOutcome;
  reason: string | null;
  runId: string | null;
  payload: unknown;
  attempts: number;
  processedAt: Date | null;
  receivedAt: Date;
}

interface DeliveryRow {
  id: string;
  source: string;
  delivery_id: string | null;
  presented_id: string | null;
  event: string | null;
  outcome: DeliveryOutcome;
  reason: string | null;
  run_id: string | null;
  payload: unknown;
  attempts: number;
  processed_at: Date | null;
  received_at: Date;
}

function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    source: row.source,
    deliveryId: row.delivery_id,
    presentedId: row.presented_id,
    event: row.event,
    outcome: row.outcome,
    reason: row.reason,
    runId: row.run_id,
    payload: row.payload,
    attempts: row.attempts,
    processedAt: row.processed_at,
    receivedAt: row.received_at,
  };
}

/**
 * Claims `deliveryId` of `source` atomically and enqueues the payload for processing.
 * Returns true for the first claim; a redelivery (same id) gets false and is recorded as a
 * `duplicate`, so it never starts a second run.
 *
 * @example
 * if (await claimDelivery(db, { source: 'github', deliveryId, event, payload })) wakeWorker();
 */
export async function claimDelivery(
  db: Queryable,
  input: { source: string; deliveryId: string; event: string; payload: unknown },
): Promise<boolean> {
  const rows = await db.query(
    `INSERT INTO webhook_deliveries (id, source, delivery_id, presented_id, event, outcome, payload)
     VALUES ($1, $2, $3, $3, $4, 'accepted', $5)
     ON CONFLICT (source, delivery_id) DO NOTHING RETURNING id`,
    [randomUUID(), input.source, input.deliveryId, input.event, JSON.stringify(input.payload)],
  );
  if (rows.length > 0) return true;
  await recordDelivery(db, {
    source: input.source,
    presentedId: input.deliveryId,
    event: input.event,
    outcome: 'duplicate',
    reason: `delivery ${input.deliveryId} was already received`,
  });
  return false;
}

/** Records a delivery that claims nothing (rejected or duplicate), for the log, metrics and audits. */
export async function recordDelivery(
  db: Queryable,
  input: {
    source: string;
    presentedId: string | null;
    event: string | null;
    outcome: Exclude<DeliveryOutcome, 'accepted'>;
    reason: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO webhook_deliveries (id, source, presented_id, event, outcome, reason, processed_at)
     VALUES ($1, $2, $3, $4, $5, $6, now())`,
    [randomUUID(), input.source, input.presentedId, input.event, input.outcome, input.reason],
  );
}

/** Which deliveries a worker takes: one source (`github`), or every source starting with a prefix (`webhook:`). */
export type DeliverySources = string | { prefix: string };

/**
 * Leases the oldest accepted, unprocessed delivery of `sources` for `leaseMs`; null when none is due.
 * A worker that dies leaves the row to be leased again when the lease ends: nothing is lost.
 */
export async function leaseDelivery(
  db: Queryable,
  sources: DeliverySources,
  leaseMs: number,
): Promise<Delivery | null> {
  const exact = typeof sources === 'string';
  const rows = await db.query<DeliveryRow>(
    `UPDATE webhook_deliveries SET locked_until = now() + ($2 * interval '1 millisecond'), attempts = attempts + 1
     WHERE id = (SELECT id FROM webhook_deliveries
       WHERE (CASE WHEN $3 THEN source = $1 ELSE starts_with(source, $1) END)
         AND outcome = 'accepted' AND processed_at IS NULL
         AND (locked_until IS NULL OR locked_until <= now())
       ORDER BY received_at LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING *`,
    [exact ? sources : sources.prefix, leaseMs, exact],
  );
  return rows[0] ? toDelivery(rows[0]) : null;
}

/** Marks a leased delivery processed: still `accepted` (with the run it started), or `ignored` / `failed` with a reason. */
export async function finishDelivery(
  db: Queryable,
  id: string,
  result: { outcome: 'accepted' | 'ignored' | 'failed'; reason?: string | null; runId?: string | null },
): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET outcome = $2, reason = $3, run_id = coalesce($4, run_id),
       processed_at = now(), locked_until = NULL WHERE id = $1`,
    [id, result.outcome, result.reason ?? null, result.runId ?? null],
  );
}

/** Gives a leased delivery back for a later attempt, keeping why this one failed. */
export async function retryDelivery(
  db: Queryable,
  id: string,
  reason: string,
  delayMs: number,
): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET reason = $2,
       locked_until = CASE WHEN $3::integer > 0 THEN now() + ($3::integer * interval '1 millisecond') END WHERE id = $1`,
    [id, reason, delayMs],
  );
}

/** Deliveries of `source`, newest first (for tests, the API and people). */
export async function listDeliveries(db: Queryable, source?: string, limit = 1000): Promise<Delivery[]> {
  const rows = await db.query<DeliveryRow>(
    `SELECT * FROM webhook_deliveries WHERE ($1::text IS NULL OR source = $1)
     ORDER BY received_at DESC, id DESC LIMIT $2`,
    [source ?? null, limit],
  );
  return rows.map(toDelivery);
}

/**
 * Prometheus lines: `nightshift_webhook_deliveries_total{source,outcome}` and the number of
 * accepted deliveries waiting to be processed.
 */
export async function webhookDeliveryMetrics(db: Queryable): Promise<string> {
  const rows = await db.query<{ source: string; outcome: string; n: string | number }>(
    'SELECT source, outcome, count(*) AS n FROM webhook_deliveries GROUP BY source, outcome ORDER BY source, outcome',
  );
  const pending = await db.query<{ source: string; n: string | number }>(
    `SELECT source, count(*) AS n FROM webhook_deliveries
     WHERE outcome = 'accepted' AND processed_at IS NULL GROUP BY source ORDER BY source`,
  );
  const lines = [
    '# HELP nightshift_webhook_deliveries_total Webhook deliveries received, by source and outcome.',
    '# TYPE nightshift_webhook_deliveries_total counter',
    ...rows.map(
      (r) =>
        `nightshift_webhook_deliveries_total{source="${r.source}",outcome="${r.outcome}"} ${Number(r.n)}`,
    ),
    '# HELP nightshift_webhook_deliveries_pending Accepted webhook deliveries not processed yet.',
    '# TYPE nightshift_webhook_deliveries_pending gauge',
    ...pending.map((r) => `nightshift_webhook_deliveries_pending{source="${r.source}"} ${Number(r.n)}`),
  ];
  return `${lines.join('\n')}\n`;
}
