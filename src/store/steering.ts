import type { Queryable } from './db.ts';

/** A follow-up message or a stop request sent to a live run, from any process. */
export interface RunMessage {
  id: number;
  runId: string;
  kind: 'follow_up' | 'stop';
  text: string | null;
  author: string | null;
  createdAt: Date;
}

interface MessageRow {
  id: number;
  run_id: string;
  kind: RunMessage['kind'];
  text: string | null;
  author: string | null;
  created_at: Date;
}

function toMessage(row: MessageRow): RunMessage {
  return {
    id: Number(row.id),
    runId: row.run_id,
    kind: row.kind,
    text: row.text,
    author: row.author,
    createdAt: row.created_at,
  };
}

const COLUMNS = 'id::int AS id, run_id, kind, text, author, created_at';

/** The steering queue: messages wait here until the worker executing the run hands them to the agent. */
export function steeringQueries(db: Queryable) {
  return {
    /** Messages not yet delivered to the given runs, oldest first. */
    async pending(runIds: readonly string[]): Promise<RunMessage[]> {
      if (runIds.length === 0) return [];
      const rows = await db.query<MessageRow>(
        `SELECT ${COLUMNS} FROM run_messages WHERE run_id = ANY($1) AND delivered_at IS NULL ORDER BY id`,
        [runIds],
      );
      return rows.map(toMessage);
    },

    /** Marks messages handed over; returns the ids that were still pending (each is delivered once). */
    async markDelivered(ids: readonly number[]): Promise<number[]> {
      if (ids.length === 0) return [];
      const rows = await db.query<{ id: number }>(
        `UPDATE run_messages SET delivered_at = now() WHERE id = ANY($1) AND delivered_at IS NULL
         RETURNING id::int AS id`,
        [ids],
      );
      return rows.map((row) => Number(row.id));
    },
  };
}

export async function insertMessage(
  tx: Queryable,
  message: Pick<RunMessage, 'runId' | 'kind' | 'text' | 'author'>,
): Promise<RunMessage> {
  const rows = await tx.query<MessageRow>(
    `INSERT INTO run_messages (run_id, kind, text, author) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [message.runId, message.kind, message.text, message.author],
  );
  return toMessage(rows[0]!);
}
