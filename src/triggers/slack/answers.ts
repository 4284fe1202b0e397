import type pino from 'pino';
import type { AutomationQueries } from '../../store/automations.ts';
import type { Db } from '../../store/db.ts';
import type { SlackClient } from './client.ts';

/** What answering in Slack needs. */
export interface AnswerDeps {
  db: Db;
  automations: AutomationQueries;
  client: SlackClient;
  log: pino.Logger;
  now: () => Date;
  /** Base URL of the server, for links to runs. */
  publicUrl?: string;
}

/** A link to a run when the server's public URL is known, else its id. */
export function runLink(runId: string, publicUrl?: string): string {
  return publicUrl ? `<${publicUrl}/runs/${runId}|${runId}>` : runId;
}

/**
 * Answers in the Slack thread of every fire whose runs all ended: each run's conclusion and
 * its change (pull request URL, or branch). Each fire is claimed before posting, so two
 * servers never answer twice; a failed post is released to be tried again.
 */
export async function answerEndedRuns(deps: AnswerDeps): Promise<void> {
  for (const fire of await deps.automations.unansweredEnded()) {
    if (!fire.reply || !(await deps.automations.markNotified(fire.id, deps.now()))) continue;
    const rows = await deps.db.query<{
      id: string;
      conclusion: string | null;
      reason: string | null;
      url: string | null;
      branch: string | null;
    }>(
      `SELECT runs.id, runs.conclusion, runs.reason, changes.url, changes.branch
       FROM runs LEFT JOIN changes ON changes.run_id = runs.id WHERE runs.id = ANY($1) ORDER BY runs.id`,
      [fire.runIds],
    );
    const lines = rows.map((run) => {
      const change = run.url
        ? `change: ${run.url}`
        : run.branch
          ? `change: branch \`${run.branch}\``
          : 'no change';
      const why = run.conclusion === 'success' || !run.reason ? '' : ` (${run.reason})`;
      return `Run ${runLink(run.id, deps.publicUrl)} ended: *${run.conclusion}*${why}; ${change}`;
    });
    try {
      await deps.client.postMessage({
        channel: fire.reply.channel,
        threadTs: fire.reply.threadTs,
        text: lines.join('\n'),
      });
    } catch (error) {
      deps.log.warn({ fire: fire.id, err: error }, 'slack answer failed; will retry');
      await deps.db.query('UPDATE automation_fires SET notified_at = NULL WHERE id = $1', [fire.id]);
    }
  }
}
