import type pino from 'pino';
import { messageWithHint } from '../../core/errors.ts';
import type { AutomationQueries } from '../../store/automations.ts';
import { ANSWER_ATTEMPTS } from '../../store/backoff.ts';
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
 * its change (pull request URL, or branch). Each fire is claimed for one attempt before posting,
 * so two servers never answer twice. A failed post is logged, kept on the fire (`notify_error`)
 * and tried again after a backoff, other answers going on meanwhile; after `ANSWER_ATTEMPTS`
 * it is given up.
 */
export async function answerEndedRuns(deps: AnswerDeps): Promise<void> {
  for (const fire of await deps.automations.claimAnswers()) {
    if (!fire.reply || !fire.answer) continue;
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
      const { attempts } = fire.answer;
      const final = attempts >= ANSWER_ATTEMPTS;
      const log = { fire: fire.id, attempt: attempts, err: error };
      if (final) deps.log.error(log, 'gave up answering in Slack');
      else deps.log.warn(log, 'slack answer failed; will retry');
      await deps.automations.answerFailed(fire.id, messageWithHint(error), final);
      continue;
    }
    await deps.automations.answered(fire.id, deps.now());
  }
}
