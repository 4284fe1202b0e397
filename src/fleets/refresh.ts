import type { GithubApi, GithubRepoRef } from '../scm/github/index.ts';
import { githubProviderOf } from '../scm/index.ts';
import type { ScmProvider } from '../scm/types.ts';
import type { Store } from '../store/index.ts';
import { checkState, pullState, statusState } from '../triggers/github/pr-state.ts';
import type { FleetQueries } from './store.ts';

export interface RefreshSummary {
  /** Changes whose pull request was read from GitHub. */
  refreshed: number;
  /** Changes whose state or checks differ from before. */
  updated: number;
  /** Repos whose pull request could not be read, with GitHub's message. */
  errors: { repo: string; message: string }[];
}

/**
 * Reads the state and checks of every fleet change that is a GitHub pull request from the
 * GitHub API (the pull request, then every check run and commit status of its head commit) and
 * stores them: the poll behind `fleet status --refresh`, for webhooks that were missed. Page by page.
 */
export async function refreshChangeStates(
  deps: { store: Store; scm: ScmProvider },
  queries: FleetQueries,
  name: string,
): Promise<RefreshSummary> {
  const summary: RefreshSummary = { refreshed: 0, updated: 0, errors: [] };
  const github = githubProviderOf(deps.scm);
  if (!github) return summary;
  for await (const row of queries.repos(name)) {
    const number = /\/pull\/(\d+)$/.exec(row.change?.url ?? '')?.[1];
    if (!row.change || !row.runId || !number || !github.handles(row.url)) continue;
    try {
      const ref = github.ref({ url: row.url });
      const pull = await github.api.getPull(ref, Number(number));
      const checks = await headChecks(github.api, ref, row.change.headCommit);
      const rows = await deps.store.db.query(
        `UPDATE changes SET state = $2, checks = $3::jsonb, state_updated_at = now()
         WHERE run_id = $1 AND (state IS DISTINCT FROM $2 OR checks IS DISTINCT FROM $3::jsonb) RETURNING id`,
        [row.runId, pullState(pull), JSON.stringify(checks)],
      );
      summary.refreshed++;
      summary.updated += rows.length;
    } catch (error) {
      summary.errors.push({ repo: row.repo, message: (error as Error).message });
    }
  }
  return summary;
}

/**
 * The checks of a commit as the change's `checks` keep them: every check run (`run:NAME`) and
 * every commit status (`status:CONTEXT`), each read to its last page.
 */
async function headChecks(api: GithubApi, ref: GithubRepoRef, sha: string): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  for await (const run of api.checkRuns(ref, sha)) {
    // Several runs of one check (re-runs): a failing or pending one is not hidden by a passing one.
    if (checks[`run:${run.name}`] !== 'failing')
      checks[`run:${run.name}`] = checkState(run.status, run.conclusion);
  }
  // The combined status holds the latest status of each context, once.
  for await (const status of api.commitStatuses(ref, sha))
    checks[`status:${status.context}`] = statusState(status.state);
  return checks;
}
