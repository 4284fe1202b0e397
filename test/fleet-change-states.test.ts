import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoLine } from '../src/cli/fleet/render.ts';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import type { FleetRepoRow } from '../src/fleets/store.ts';
import { type GithubEnv, SECRET, startGithubEnv, waitFor } from './support/github-env.ts';
import { examplePayload, send, signedDelivery } from './support/github-payloads.ts';

const REPO = 'acme/app';

/**
 * A fleet repo's change on GitHub: its pull request's state (draft, open, merged, closed) and
 * its checks (passing, failing, pending), from real webhook payloads and from a poll.
 */
describe('fleet change states from GitHub', () => {
  let env: GithubEnv;
  let row: FleetRepoRow;

  beforeAll(async () => {
    env = await startGithubEnv({
      repos: { [REPO]: { 'a.txt': 'a\n', '.nightshift/github.yml': 'ci_fix:\n  enabled: false\n' } },
    });
    await env.engine.startWorker();
    env.trigger.start();
    const { spec, errors } = parseFleetSpec(
      `name: states\ntargets:\n  - repos: ["github:${REPO}"]\nscript: "echo b > b.txt"\n`,
    );
    expect(errors).toEqual([]);
    await env.engine.fleets.apply(spec!, { cwd: env.dir });
    row = await waitFor(
      async () => {
        await env.engine.fleets.tick('states');
        const [first] = await env.engine.fleets.queries.repoPage('states');
        return first?.change && first.state === 'succeeded' ? first : undefined;
      },
      'the fleet run to open its pull request',
      180_000,
    );
  }, 240_000);

  afterAll(async () => {
    await env?.close();
  });

  const current = async () => (await env.engine.fleets.queries.repoPage('states'))[0]!;

  async function deliver(event: string, payload: unknown) {
    const { status } = await send(env.webhookUrl, signedDelivery(event, payload, SECRET));
    expect(status).toBe(202);
  }

  function checkRun(name: string, status: string, conclusion: string | null, sha = row.change!.headCommit) {
    const payload = examplePayload('check_run', REPO, (p) => p.action === 'completed');
    payload.action = status === 'completed' ? 'completed' : 'created';
    payload.check_run = {
      ...payload.check_run,
      name,
      status,
      conclusion,
      head_sha: sha,
      check_suite: { ...payload.check_run.check_suite, head_branch: row.branch, head_sha: sha },
    };
    return payload;
  }

  function pullEvent(action: string, fields: { draft?: boolean; merged?: boolean; url?: string }) {
    const payload = examplePayload('pull_request', REPO, (p) => p.action === 'closed');
    payload.action = action;
    payload.pull_request = {
      ...payload.pull_request,
      html_url: fields.url ?? row.change!.url,
      draft: fields.draft ?? false,
      merged: fields.merged ?? false,
      state: action === 'closed' ? 'closed' : 'open',
      head: { ...payload.pull_request.head, ref: row.branch },
    };
    return payload;
  }

  async function until(check: (r: FleetRepoRow) => boolean, what: string) {
    return waitFor(async () => {
      const now = await current();
      return check(now) ? now : undefined;
    }, what);
  }

  it('shows the pull request open with no checks yet, once the run published it', () => {
    expect(row.state).toBe('succeeded');
    expect(row.change).toMatchObject({ state: 'open', checks: null });
    expect(row.change!.url).toMatch(/\/pull\/\d+$/);
  });

  it('follows check_run and check_suite webhooks: pending, passing, then failing', async () => {
    await deliver('check_run', checkRun('test', 'queued', null));
    await until((r) => r.change?.checks === 'pending', 'checks pending');

    await deliver('check_run', checkRun('test', 'completed', 'success'));
    const passing = await until((r) => r.change?.checks === 'passing', 'checks passing');
    expect(repoLine(passing)).toContain('checks passing');

    const suite = examplePayload('check_suite', REPO, (p) => p.action === 'completed');
    suite.check_suite = {
      ...suite.check_suite,
      status: 'completed',
      conclusion: 'failure',
      head_sha: row.change!.headCommit,
      head_branch: row.branch,
      app: { ...suite.check_suite.app, slug: 'ci' },
    };
    await deliver('check_suite', suite);
    await until((r) => r.change?.checks === 'failing', 'checks failing');
  });

  it('ignores checks of another commit', async () => {
    await deliver('check_run', checkRun('other', 'completed', 'failure', 'f'.repeat(40)));
    await deliver('check_run', checkRun('test', 'completed', 'success'));

    const after = await until((r) => r.change?.checks === 'failing', 'the same checks');
    const rows = await env.engine.store.db.query<{ checks: Record<string, string> }>(
      'SELECT checks FROM changes WHERE run_id = $1',
      [after.runId],
    );
    expect(Object.keys(rows[0]!.checks).sort()).toEqual(['run:test', 'suite:ci']);
  });

  it('follows pull_request webhooks: draft, ready, merged; a foreign pull request changes nothing', async () => {
    await deliver('pull_request', pullEvent('converted_to_draft', { draft: true }));
    const draft = await until((r) => r.change?.state === 'draft', 'draft');
    expect(repoLine(draft)).toContain('draft');

    await deliver('pull_request', pullEvent('ready_for_review', {}));
    await until((r) => r.change?.state === 'open', 'open again');

    await deliver('pull_request', pullEvent('closed', { url: 'https://github.com/acme/app/pull/999' }));
    await deliver('pull_request', pullEvent('closed', { merged: true }));
    await until((r) => r.change?.state === 'merged', 'merged');
  });

  it('refreshes state and checks from the GitHub API with a poll (webhooks missed)', async () => {
    const pull = env.github.pulls.find((p) => p.head === row.branch)!;
    pull.state = 'open';
    pull.merged = false;
    pull.draft = true;
    env.github.checkRuns.set(row.change!.headCommit, [
      { name: 'test', status: 'completed', conclusion: 'success' },
      { name: 'lint', status: 'in_progress', conclusion: null },
    ]);

    const first = await env.engine.fleets.refresh('states');

    expect(first).toEqual({ refreshed: 1, updated: 1, errors: [] });
    expect((await current()).change).toMatchObject({ state: 'draft', checks: 'pending' });

    pull.state = 'closed';
    env.github.checkRuns.set(row.change!.headCommit, [
      { name: 'test', status: 'completed', conclusion: 'timed_out' },
      { name: 'lint', status: 'completed', conclusion: 'success' },
    ]);

    expect(await env.engine.fleets.refresh('states')).toEqual({ refreshed: 1, updated: 1, errors: [] });
    expect((await current()).change).toMatchObject({ state: 'closed', checks: 'failing' });
    expect(await env.engine.fleets.refresh('states')).toEqual({ refreshed: 1, updated: 0, errors: [] });
  });
});
