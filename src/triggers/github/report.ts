import { messageWithHint } from '../../core/errors.ts';
import { GithubApiError } from '../../scm/github/api.ts';
import { ANSWER_ATTEMPTS, backoffSeconds } from '../../store/backoff.ts';
import { type GithubPayload, githubAnswerPlace } from './payloads.ts';
import type { ReactionDeps } from './reactions.ts';

interface Finished {
  id: string;
  event: string;
  payload: GithubPayload;
  run_id: string;
  blueprint: string;
  conclusion: string;
  reason: string | null;
  /** Which attempt at answering this is (1 for the first). */
  attempt: number;
}

/**
 * Answers on GitHub for runs that GitHub events started and that have completed since: a
 * review run's findings become a pull request review (lines written `path:line: comment` become
 * line comments), any other run gets a comment with its conclusion and change link.
 *
 * Each answer is claimed for one attempt before it is posted, so servers sharing a database
 * never post it twice. A failed attempt is logged, kept on the delivery (`report_error`) and
 * tried again after a backoff, other answers going on meanwhile; after `ANSWER_ATTEMPTS` it is
 * given up (left unanswered with its error, never tried again). Returns how many were answered.
 */
export async function reportFinishedRuns(deps: ReactionDeps): Promise<number> {
  const { db } = deps.store;
  const rows = await db.query<Finished>(
    `WITH due AS (
       SELECT d.id FROM webhook_deliveries d JOIN runs r ON r.id = d.run_id
       WHERE d.source = 'github' AND d.run_id IS NOT NULL AND d.reported_at IS NULL
         AND r.status = 'completed' AND (d.next_report_at IS NULL OR d.next_report_at <= now())
       ORDER BY d.received_at LIMIT 20 FOR UPDATE OF d SKIP LOCKED),
     claimed AS (
       UPDATE webhook_deliveries d SET report_attempts = d.report_attempts + 1,
         next_report_at = now() + make_interval(secs => ${backoffSeconds('d.report_attempts')})
       FROM due WHERE d.id = due.id
       RETURNING d.id, d.event, d.payload, d.run_id, d.report_attempts, d.received_at)
     SELECT c.id, c.event, c.payload, c.run_id, c.report_attempts AS attempt, r.blueprint, r.conclusion, r.reason
     FROM claimed c JOIN runs r ON r.id = c.run_id ORDER BY c.received_at`,
  );
  let answered = 0;
  for (const row of rows) {
    try {
      await report(deps, row);
    } catch (error) {
      const final = row.attempt >= ANSWER_ATTEMPTS;
      const log = { runId: row.run_id, deliveryId: row.id, attempt: row.attempt, err: error };
      if (final) deps.log.error(log, 'gave up answering on GitHub for a finished run');
      else deps.log.warn(log, 'could not answer on GitHub for a finished run; will retry');
      await db.query(
        `UPDATE webhook_deliveries SET report_error = $2,
           next_report_at = CASE WHEN $3 THEN 'infinity'::timestamptz ELSE next_report_at END
         WHERE id = $1`,
        [row.id, messageWithHint(error), final],
      );
      continue;
    }
    await db.query('UPDATE webhook_deliveries SET reported_at = now(), report_error = NULL WHERE id = $1', [
      row.id,
    ]);
    answered++;
  }
  return answered;
}

async function report(deps: ReactionDeps, row: Finished): Promise<void> {
  const { payload } = row;
  const place = githubAnswerPlace(row.event, payload);
  if (!place) return;
  const [owner, name] = place.repo.split('/') as [string, string];
  const ref = { owner, name };
  const api = deps.github.api;
  if (place.kind === 'review') {
    const text = await lastAgentResult(deps, row.run_id);
    const body =
      text?.trim() ||
      `Nightshift review run \`${row.run_id}\` ended ${row.conclusion}${row.reason ? `: ${row.reason}` : ''}.`;
    const comments = lineComments(body);
    const input = { body, commit_id: payload.pull_request!.head.sha };
    try {
      await api.review(ref, place.number, comments.length ? { ...input, comments } : input);
    } catch (error) {
      // GitHub refuses line comments outside the diff: post the review without them.
      if (!(error instanceof GithubApiError && error.status === 422 && comments.length)) throw error;
      await api.review(ref, place.number, input);
    }
    return;
  }
  const change = await deps.store.changes.forRun(row.run_id);
  const link = deps.runUrl ? `[\`${row.run_id}\`](${deps.runUrl(row.run_id)})` : `\`${row.run_id}\``;
  const outcome = change?.url ? `: ${change.url}` : row.reason ? `: ${row.reason}` : '.';
  await api.comment(ref, place.number, `🌙 Nightshift run ${link} ended ${row.conclusion}${outcome}`);
}

async function lastAgentResult(deps: ReactionDeps, runId: string): Promise<string | null> {
  let text: string | null = null;
  for (let after = 0; ; ) {
    const page = await deps.store.events(runId, after);
    if (page.length === 0) return text;
    for (const event of page) if (event.type === 'agent.result') text = event.data.text;
    after = page.at(-1)!.seq;
  }
}

/** Lines `path/to/file.ts:12: comment` of a review, as line comments. */
export function lineComments(text: string): { path: string; line: number; body: string }[] {
  const comments: { path: string; line: number; body: string }[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*[-*]?\s*`?([\w./-]+\.[\w]+)`?:(\d+):\s*(.+)$/.exec(line);
    if (match) comments.push({ path: match[1]!, line: Number(match[2]), body: match[3]!.trim() });
  }
  return comments.slice(0, 50);
}
