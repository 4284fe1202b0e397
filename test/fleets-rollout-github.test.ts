import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoLine, statusSummary } from '../src/cli/fleet/render.ts';
import { type FleetsClient, remoteFleets } from '../src/cli/fleets-client.ts';
import { sleep } from '../src/core/clock.ts';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import type { FleetRepoRow } from '../src/fleets/store.ts';
import { createApp } from '../src/server/app.ts';
import { fleetsModule } from '../src/server/fleets.ts';
import { type Listening, listen } from '../src/server/listen.ts';
import { createToken } from '../src/server/tokens.ts';
import { type GithubEnv, startGithubEnv, waitFor } from './support/github-env.ts';
import { gitIn } from './support/repos.ts';

const REPOS = ['acme/svc-0', 'acme/svc-1', 'acme/svc-2', 'acme/svc-3', 'acme/svc-4'];
const TITLE = 'Bump VERSION to v2';
const BODY = 'Every service moves to v2.';

/**
 * A fleet's pull requests on GitHub (the double), opened by the rollout after the runs pushed
 * their branches: with the fleet's title, body and draft; a refused opening is recorded on the
 * change, shown by `fleet status` (read here through the fleets API, as the CLI does when a
 * server owns the home) and retried after a backoff. Real git, sandboxes and database.
 */
describe('deferred pull requests of a fleet on GitHub', () => {
  let env: GithubEnv;
  let server: Listening;
  const closing = new AbortController();
  let client: FleetsClient;

  beforeAll(async () => {
    env = await startGithubEnv({
      repos: Object.fromEntries(REPOS.map((repo) => [repo, { VERSION: 'v1\n' }])),
    });
    await env.engine.startWorker();
    const app = createApp({
      engine: env.engine,
      auth: 'tokens',
      closing: closing.signal,
      modules: [fleetsModule(env.engine)],
      dashboardDir: null,
    });
    server = await listen(app, { host: '127.0.0.1', port: 0 });
    const { token } = await createToken(env.engine.store, { name: 'reader', scopes: ['runs:read'] });
    client = remoteFleets({ baseUrl: server.url, token });
  }, 240_000);

  afterAll(async () => {
    closing.abort();
    await server?.close();
    await env?.close();
  });

  async function apply(name: string, repos: string[], rollout = 'rollout: { rate: 1/hour }') {
    const { spec, errors } = parseFleetSpec(
      [
        `name: ${name}`,
        `targets:\n  - repos: [${repos.map((repo) => `"github:${repo}"`).join(', ')}]`,
        'script: "echo v2 > VERSION"',
        rollout,
        `change: { title: "${TITLE}", body: "${BODY}", draft: true }`,
      ].join('\n'),
    );
    expect(errors).toEqual([]);
    await env.engine.fleets.apply(spec!, { cwd: env.dir });
  }

  /** The fleet's repo table as `GET /api/fleets/NAME/repos` gives it. */
  async function table(name: string): Promise<FleetRepoRow[]> {
    const rows: FleetRepoRow[] = [];
    for await (const row of client.repos(name)) rows.push(row);
    return rows;
  }

  async function until(name: string, check: (rows: FleetRepoRow[]) => boolean, what: string) {
    return waitFor(
      async () => {
        const rows = await table(name);
        return check(rows) && rows;
      },
      what,
      180_000,
    );
  }

  /** An hour passes on the rollout's clock: the rate's next opening is due. */
  const nextOpening = (name: string) =>
    env.engine.store.db.query(
      "UPDATE fleets SET next_start_at = next_start_at - interval '1 hour' WHERE name = $1",
      [name],
    );

  const pullsOf = (repo: string) => env.github.pulls.filter((p) => `${p.owner}/${p.repo}` === repo);

  it('pushes every branch, then opens each pull request later with the fleet’s title, body and draft', async () => {
    await apply('paced', ['acme/svc-0', 'acme/svc-1']);

    // Both runs finish with their branch pushed; the rate opens one pull request now.
    const first = await until(
      'paced',
      (rows) => rows.every((row) => row.status === 'completed') && rows.some((row) => row.change?.url),
      'both runs done and one pull request open',
    );

    expect(first.map((row) => row.state)).toEqual(['succeeded', 'waiting']);
    const [pull] = pullsOf('acme/svc-0');
    expect(pull).toMatchObject({ title: TITLE, head: 'nightshift/fleet/paced', draft: true, state: 'open' });
    expect(pull!.body).toContain(BODY);
    expect(first[0]!.change).toMatchObject({
      state: 'draft',
      draft: true,
      url: `https://github.com/acme/svc-0/pull/${pull!.number}`,
      openFailure: null,
    });
    expect(first[1]!.change).toMatchObject({ state: 'pending', url: null, openFailure: null });
    expect(pullsOf('acme/svc-1')).toEqual([]);
    expect(await gitIn(env.github.repoPath('acme/svc-1'), 'show', 'nightshift/fleet/paced:VERSION')).toBe(
      'v2',
    );

    await nextOpening('paced');
    const later = await until('paced', (rows) => Boolean(rows[1]?.change?.url), 'the second pull request');

    const [second] = pullsOf('acme/svc-1');
    expect(second).toMatchObject({ title: TITLE, head: 'nightshift/fleet/paced', draft: true });
    expect(second!.body).toContain(BODY);
    expect(later[1]!.change).toMatchObject({
      state: 'draft',
      url: `https://github.com/acme/svc-1/pull/${second!.number}`,
    });
    expect((await client.status('paced')).counts).toMatchObject({ succeeded: 2, waiting: 0 });
  }, 240_000);

  it('records a refused opening on the change, shows it in status, retries after a backoff and clears it once open', async () => {
    const posts = () =>
      env.github.requests.filter((r) => r.method === 'POST' && /\/svc-[23]\/pulls$/.test(r.path));
    env.github.refuse('POST', /^\/repos\/acme\/svc-[23]\/pulls$/, 502, 'Server Error', 2);
    await apply('refused', ['acme/svc-2', 'acme/svc-3']);

    // A refused attempt gives its rate slot back, so the other change is tried too.
    const failed = await until(
      'refused',
      (rows) => rows.every((row) => row.change?.openFailure),
      'both openings refused',
    );

    expect(posts().map((r) => r.status)).toEqual([502, 502]);
    for (const row of failed) {
      expect(row.state).toBe('waiting');
      expect(row.change).toMatchObject({ state: 'pending', url: null });
      expect(row.change!.openFailure).toMatchObject({
        message: `GitHub API POST /repos/${row.repo}/pulls answered 502: Server Error (see docs/github.md)`,
        attempts: 1,
      });
      const { at, nextAttemptAt } = row.change!.openFailure!;
      expect(nextAttemptAt!.getTime() - at.getTime()).toBeGreaterThan(50_000);
    }
    const status = await client.status('refused');
    expect(status.counts).toMatchObject({ waiting: 2, failed: 0 });
    expect(status.openFailures).toEqual([
      {
        reason: 'GitHub API POST /repos/OWNER/NAME/pulls answered 502: Server Error (see docs/github.md)',
        count: 2,
        repos: ['acme/svc-2', 'acme/svc-3'],
      },
    ]);
    expect(statusSummary(status)).toContain('changes not opened yet, by message');
    expect(repoLine(failed[0]!)).toMatch(
      /not opened \(1 attempt, next attempt in \d+(\.\d)? s\): GitHub API POST \/repos\/acme\/svc-2\/pulls answered 502/,
    );

    // Not retried on every rollout step (every 250 ms) while the backoff lasts.
    await sleep(1000);
    await env.engine.fleets.tick('refused');
    expect(posts()).toHaveLength(2);

    // The backoff passes: GitHub accepts the next attempt and the failure is cleared.
    await env.engine.store.db.query(
      'UPDATE changes SET next_open_at = now() WHERE run_id IN (SELECT run_id FROM fleet_repos WHERE fleet = $1)',
      ['refused'],
    );
    const one = await until('refused', (rows) => Boolean(rows[0]?.change?.url), 'svc-2 opened');

    expect(one[0]!.change).toMatchObject({ state: 'draft', openFailure: null });
    // The other waits for the rate's next opening, its failure still shown.
    expect(one[1]!.change!.openFailure).toMatchObject({ attempts: 1 });

    await nextOpening('refused');
    const both = await until('refused', (rows) => Boolean(rows[1]?.change?.url), 'svc-3 opened');

    expect(both[1]!.change).toMatchObject({ state: 'draft', openFailure: null });
    expect(posts().map((r) => r.status)).toEqual([502, 502, 201, 201]);
    expect((await client.status('refused')).openFailures).toEqual([]);
    const stored = await env.engine.store.db.query(
      `SELECT c.open_attempts, c.open_error, c.open_failed_at, c.next_open_at FROM changes c
       JOIN fleet_repos fr ON fr.run_id = c.run_id WHERE fr.fleet = $1 ORDER BY fr.position`,
      ['refused'],
    );
    expect(stored).toEqual([
      { open_attempts: 2, open_error: null, open_failed_at: null, next_open_at: null },
      { open_attempts: 2, open_error: null, open_failed_at: null, next_open_at: null },
    ]);
  }, 240_000);

  it('opens the pull request as a draft at publish when the fleet has no rate', async () => {
    await apply('drafted', ['acme/svc-4'], '');

    const [row] = await until('drafted', (rows) => Boolean(rows[0]?.change?.url), 'the pull request');

    expect(pullsOf('acme/svc-4')).toMatchObject([{ title: TITLE, draft: true }]);
    expect(row!.change).toMatchObject({ state: 'draft', draft: true, openFailure: null });
  }, 240_000);
});
