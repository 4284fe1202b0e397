import { NightshiftError } from '../core/errors.ts';
import type { RunEvent, RunEventPayload } from '../core/events.ts';
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
 * Appends events with the next sequence numbers. Must run inside a transaction: the counter
 * row lock makes numbers gap-free and unique. With `attempt`, only that attempt of a run that
 * is not completed may write (fencing off a worker whose lease expired).
 */
export async function appendEvents(
  tx: Queryable,
  runId: string,
  payloads: readonly RunEventPayload[],
  attempt?: number,
): Promise<RunEvent[]> {
  if (payloads.length === 0) return [];
  const fence = attempt === undefined ? '' : ` AND attempt = $3 AND status <> 'completed'`;
  const params: unknown[] = [runId, payloads.length];
  if (attempt !== undefined) params.push(attempt);
  const rows = await tx.query<{ last_seq: number }>(
    `UPDATE runs SET last_seq = last_seq + $2 WHERE id = $1${fence} RETURNING last_seq`,
    params,
  );
  if (!rows[0]) {
    if (attempt !== undefined) throw new RunFencedError(runId, attempt);
    throw new NightshiftError('NOT_FOUND', `run ${runId} does not exist`);
  }
  const first = rows[0].last_seq - payloads.length + 1;
  const values: string[] = [];
  const args: unknown[] = [runId];
  payloads.forEach((payload, i) => {
    args.push(first + i, payload.type, JSON.stringify(payload.data));
    const n = args.length;
    values.push(`($1, $${n - 2}, $${n - 1}, $${n}::jsonb)`);
  });
  const inserted = await tx.query<EventRow>(
    `INSERT INTO run_events (run_id, seq, type, data) VALUES ${values.join(', ')} RETURNING *`,
    args,
  );
  return inserted.map(toEvent).sort((a, b) => a.seq - b.seq);
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
