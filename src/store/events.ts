import { NightshiftError } from '../core/errors.ts';
import type { RunEvent, TimedEventPayload } from '../core/events.ts';
import type { Queryable } from './db.ts';

interface EventRow {
  run_id: string;
  seq: number;
  type: string;
  data: unknown;
  at: Date;
}

function toEvent(row: EventRow): RunEvent {
  return { runId: row.run_id, seq: row.seq, type: row.type, data: row.data, at: row.at } as RunEvent;
}

/** Thrown when a worker that lost its claim on a run (a newer attempt owns it) tries to write. */
export class RunFencedError extends NightshiftError {
  constructor(runId: string, attempt: number) {
    super('CONFLICT', `run ${runId} attempt ${attempt} no longer owns the run`, {
      hint: 'its lease expired and another attempt took over; this one stops',
    });
  }
}

/**
 * Appends events with the next sequence numbers (at the time each names, else now), in one statement: the counter row's update
 * (whose row lock makes numbers gap-free and unique) and the inserts. A `run.status` event also
 * sets the run's status (the last one in the batch), and its base commit and branch when the
 * event names them. With `attempt`, only that attempt of a run that is not completed may write
 * (fencing off a worker whose lease expired).
 */
export async function appendEvents(
  db: Queryable,
  runId: string,
  payloads: readonly TimedEventPayload[],
  attempt?: number,
): Promise<RunEvent[]> {
  if (payloads.length === 0) return [];
  const status = payloads.findLast((payload) => payload.type === 'run.status');
  const update = status?.type === 'run.status' ? status.data : undefined;
  const fence = attempt === undefined ? '' : ` AND attempt = $8 AND status <> 'completed'`;
  const data = payloads.map((payload) => JSON.stringify(payload.data));
  const params: unknown[] = [
    runId,
    payloads.length,
    payloads.map((payload) => payload.type),
    data,
    update?.status ?? null,
    update ? [update.baseCommit ?? null, update.branch ?? null] : [null, null],
    payloads.map((payload) => payload.at?.toISOString() ?? null),
  ];
  if (attempt !== undefined) params.push(attempt);
  // Only the numbers and times come back: the rest is what was sent.
  const inserted = await db.query<{ seq: number; at: Date }>(
    `WITH counter AS (
       UPDATE runs SET last_seq = last_seq + $2, status = coalesce($5, status),
         base_commit = coalesce(($6::text[])[1], base_commit), branch = coalesce(($6::text[])[2], branch)
       WHERE id = $1${fence} RETURNING last_seq)
     INSERT INTO run_events (run_id, seq, type, data, at)
     SELECT $1, counter.last_seq - $2 + e.ord, e.type, e.data::jsonb, coalesce(e.at, now())
     FROM counter, unnest($3::text[], $4::text[], $7::timestamptz[]) WITH ORDINALITY AS e(type, data, at, ord)
     RETURNING seq, at`,
    params,
  );
  if (inserted.length === 0) {
    if (attempt !== undefined) throw new RunFencedError(runId, attempt);
    throw new NightshiftError('NOT_FOUND', `run ${runId} does not exist`);
  }
  const first = Math.min(...inserted.map((row) => Number(row.seq)));
  return inserted
    .map((row) => {
      const i = Number(row.seq) - first;
      return toEvent({
        run_id: runId,
        seq: Number(row.seq),
        type: payloads[i]!.type,
        data: JSON.parse(data[i]!),
        at: row.at,
      });
    })
    .sort((a, b) => a.seq - b.seq);
}

/** Events of a run after `afterSeq`, in order. */
export async function listEvents(
  db: Queryable,
  runId: string,
  afterSeq = 0,
  limit = 1000,
): Promise<RunEvent[]> {
  const rows = await db.query<EventRow>(
    'SELECT * FROM run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
    [runId, afterSeq, limit],
  );
  return rows.map(toEvent);
}
