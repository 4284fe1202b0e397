import { GithubApiError } from '../../scm/github/api.ts';
import type { GithubPayload } from './payloads.ts';
import type { ReactionDeps } from './reactions.ts';

interface Finished {
  id: string;
  event: string;
  payload: GithubPayload;
  run_id: string;
  blueprint: string;
  conclusion: string;
  reason: string | null;
}

/**
 * Answers on GitHub for runs that GitHub events started and that have completed since: a
 * review run's findings become a pull request review (lines written `path:line: comment` become
 * line comments), any other run gets a comment with its conclusion and change link.
 * Returns how many deliveries were answered.
 */
export async function reportFinishedRuns(deps: ReactionDeps): Promise<number> {
  const rows = await deps.store.db.query<Finished>(
    `SELECT d.id, d.event, d.payload, r.id AS run_id, r.blueprint, r.conclusion, r.reason
     FROM webhook_deliveries d JOIN runs r ON r.id = d.run_id
     WHERE d.source = 'github' AND d.reported_at IS NULL AND r.status = 'completed'
     ORDER BY d.received_at LIMIT 20`,
  );
  for (const row of rows) {
    try {
      await report(deps, row);
    } catch (error) {
      deps.log.warn({ runId: row.run_id, err: error }, 'could not answer on GitHub for a finished run');
    }
    await deps.store.db.query('UPDATE webhook_deliveries SET reported_at = now() WHERE id = $1', [row.id]);
  }
  return rows.length;
}

async function report(deps: ReactionDeps, row: Finished): Promise<void> {
  const { payload } = row;
  const [owner, name] = (payload.repository?.full_name ?? '').split('/') as [string, string];
  const ref = { owner, name };
  const api = deps.github.api;
  if (row.event === 'pull_request' && payload.pull_request) {
    const text = await lastAgentResult(deps, row.run_id);
    const body =
      text?.trim() ||
      `Nightshift review run \`${row.run_id}\` ended ${row.conclusion}${row.reason ? `: ${row.reason}` : ''}.`;
    const comments = lineComments(body);
    const input = { body, commit_id: payload.pull_request.head.sha };
    try {
      await api.review(ref, payload.pull_request.number, comments.length ? { ...input, comments } : input);
    } catch (error) {
      // GitHub refuses line comments outside the diff: post the review without them.
      if (!(error instanceof GithubApiError && error.status === 422 && comments.length)) throw error;
      await api.review(ref, payload.pull_request.number, input);
    }
    return;
  }
  const number =
    payload.issue?.number ??
    payload.pull_request?.number ??
    payload.check_suite?.pull_requests?.[0]?.number ??
    payload.check_run?.check_suite?.pull_requests?.[0]?.number;
  if (number === undefined) return;
  const change = await deps.store.changes.forRun(row.run_id);
  const link = deps.runUrl ? `[\`${row.run_id}\`](${deps.runUrl(row.run_id)})` : `\`${row.run_id}\``;
  const outcome = change?.url ? `: ${change.url}` : row.reason ? `: ${row.reason}` : '.';
  await api.comment(ref, number, `🌙 Nightshift run ${link} ended ${row.conclusion}${outcome}`);
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
