import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoLine } from '../src/cli/fleet/render.ts';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import type { FleetRepoRow } from '../src/fleets/store.ts';
import { type GithubEnv, SECRET, startGithubEnv, waitFor } from './support/github-env.ts';
import { examplePayload, send, signedDelivery } from './support/github-payloads.ts';
import type { StatusRecord } from './support/github-server.ts';

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

  /** A `status` event (a legacy commit status) of `context` on `sha`, as GitHub sends it. */
  function statusEvent(context: string, state: string, sha = row.change!.headCommit) {
    const payload = examplePayload('status', REPO);
    payload.sha = sha;
    payload.context = context;
    payload.state = state;
    payload.description = `${context} ${state}`;
    payload.commit = { ...payload.commit, sha };
    payload.branches = [{ name: row.branch, commit: { sha }, protected: false }];
    return payload;
  }

  /** The change's checks as stored: one entry per check run, suite and status context. */
  async function storedChecks() {
    const rows = await env.engine.store.db.query<{ checks: Record<string, string> }>(
      'SELECT checks FROM changes WHERE run_id = $1',
      [row.runId],
    );
    return rows[0]!.checks;
  }

  const passed = (name: string) => ({ name, status: 'completed', conclusion: 'success' });

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

    await until((r) => r.change?.checks === 'failing', 'the same checks');
    expect(Object.keys(await storedChecks()).sort()).toEqual(['run:test', 'suite:ci']);
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

  it('reads every page of check runs: one failing on page 2 of 3 makes the checks failing', async () => {
    const head = row.change!.headCommit;
    const runs = Array.from({ length: 250 }, (_, i) => passed(`check-${i}`));
    runs[130] = { name: 'check-130', status: 'completed', conclusion: 'failure' };
    env.github.checkRuns.set(head, runs);
    env.github.statuses.set(head, []);
    const before = env.github.requests.length;

    const summary = await env.engine.fleets.refresh('states');

    expect(summary).toMatchObject({ refreshed: 1, errors: [] });
    expect((await current()).change?.checks).toBe('failing');
    const pages = env.github.requests.slice(before).filter((r) => r.path.includes('/check-runs'));
    expect(pages.map((r) => [new URL(r.path, 'http://x').searchParams.get('page') ?? '1', r.status])).toEqual(
      [
        ['1', 200],
        ['2', 200],
        ['3', 200],
      ],
    );
    expect(Object.keys(await storedChecks())).toHaveLength(250);

    runs[130] = passed('check-130');
    await env.engine.fleets.refresh('states');

    expect((await current()).change?.checks).toBe('passing');
  });

  it.each([
    ['success', 'passing'],
    ['failure', 'failing'],
    ['error', 'failing'],
    ['pending', 'pending'],
  ] as const)(
    'folds in legacy commit statuses: a context %s on page 2 makes the checks %s',
    async (state, checks) => {
      const head = row.change!.headCommit;
      env.github.checkRuns.set(head, [passed('test')]);
      const statuses: StatusRecord[] = Array.from({ length: 120 }, (_, i) => ({
        context: `ci/${i}`,
        state: 'success',
      }));
      // An older status of the same context is replaced by the latest one, as GitHub's combined status does.
      statuses.push({ context: 'ci/legacy', state: 'failure' }, { context: 'ci/legacy', state });
      env.github.statuses.set(head, statuses);

      const summary = await env.engine.fleets.refresh('states');

      expect(summary.errors).toEqual([]);
      expect((await current()).change?.checks).toBe(checks);
      expect(await storedChecks()).toMatchObject({
        'run:test': 'passing',
        'status:ci/0': 'passing',
        'status:ci/legacy': checks,
      });
    },
  );

  it('follows status webhooks of the head commit, each context kept apart', async () => {
    const head = row.change!.headCommit;
    env.github.checkRuns.set(head, [passed('test')]);
    env.github.statuses.set(head, []);
    await env.engine.fleets.refresh('states');
    expect((await current()).change?.checks).toBe('passing');

    await deliver('status', statusEvent('ci/jenkins', 'pending'));
    await until((r) => r.change?.checks === 'pending', 'checks pending');

    await deliver('status', statusEvent('ci/jenkins', 'success'));
    await until((r) => r.change?.checks === 'passing', 'checks passing');

    await deliver('status', statusEvent('ci/other', 'error', 'e'.repeat(40)));
    await deliver('status', statusEvent('ci/lint', 'failure'));
    await until((r) => r.change?.checks === 'failing', 'checks failing');

    expect(await storedChecks()).toEqual({
      'run:test': 'passing',
      'status:ci/jenkins': 'passing',
      'status:ci/lint': 'failing',
    });
    // The change is updated before its delivery is marked processed.
    const outcomes = await waitFor(async () => {
      const rows = await env.engine.store.db.query<{ outcome: string; reason: string }>(
        "SELECT outcome, reason FROM webhook_deliveries WHERE event = 'status' AND processed_at IS NOT NULL ORDER BY received_at",
      );
      return rows.length === 4 && rows;
    }, 'the status deliveries processed');
    expect(outcomes.map((o) => o.outcome)).toEqual(['accepted', 'accepted', 'ignored', 'accepted']);
    expect(outcomes[3]!.reason).toBe('status ci/lint failure: 1 change updated');
  });

  it('refuses a next page of check runs on another origin, and says so for the repo', async () => {
    const head = row.change!.headCommit;
    env.github.checkRuns.set(
      head,
      Array.from({ length: 150 }, (_, i) => passed(`check-${i}`)),
    );
    env.github.linkOrigin = 'http://127.0.0.2:9';
    try {
      const summary = await env.engine.fleets.refresh('states');

      expect(summary).toMatchObject({ refreshed: 0, updated: 0 });
      expect(summary.errors).toEqual([
        {
          repo: REPO,
          message: `GitHub's next page of check runs of ${head} is on http://127.0.0.2:9, not on the API (${new URL(env.github.apiUrl).origin})`,
        },
      ]);
    } finally {
      env.github.linkOrigin = null;
    }
  });
});
