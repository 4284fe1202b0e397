import type { RunAnswer } from '../core/answer.ts';
import { type GithubPayload, githubAnswerPlace } from '../triggers/github/payloads.ts';
import type { Queryable } from './db.ts';

interface AnswerRow {
  answered_at: Date | null;
  attempts: number;
  error: string | null;
  given_up: boolean;
}

/** How answering where run `runId` came from went; null when nothing is to be answered for it. */
export async function runAnswer(db: Queryable, runId: string): Promise<RunAnswer | null> {
  const [delivery] = await db.query<AnswerRow & { event: string; payload: GithubPayload }>(
    `SELECT event, payload, reported_at AS answered_at, report_attempts AS attempts, report_error AS error,
       next_report_at = 'infinity' AS given_up
     FROM webhook_deliveries WHERE run_id = $1 AND source = 'github' LIMIT 1`,
    [runId],
  );
  if (delivery) {
    const place = githubAnswerPlace(delivery.event, delivery.payload);
    return place && answer('github', `${place.kind} on ${place.repo}#${place.number}`, delivery);
  }
  const [fire] = await db.query<AnswerRow>(
    `SELECT notified_at AS answered_at, notify_attempts AS attempts, notify_error AS error,
       next_notify_at = 'infinity' AS given_up
     FROM automation_fires WHERE reply IS NOT NULL AND run_ids @> jsonb_build_array($1::text)
     ORDER BY created_at DESC LIMIT 1`,
    [runId],
  );
  return fire ? answer('slack', 'reply in the Slack thread', fire) : null;
}

function answer(via: RunAnswer['via'], to: string, row: AnswerRow): RunAnswer {
  return {
    via,
    to,
    answeredAt: row.answered_at && new Date(row.answered_at),
    attempts: row.attempts,
    error: row.error,
    givenUp: row.given_up === true,
  };
}
