import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyFleetBeforeServe,
  type Dashboard,
  RUN_WAIT,
  shoot,
  startDashboard,
  WAIT,
} from './support/dashboard.ts';
import { type GithubDouble, startGithubServer } from './support/github-server.ts';
import { makeRepo, tempDir } from './support/repos.ts';

const FLEET = 'e2e-prs';
const REPOS = ['acme/svc-0', 'acme/svc-1'];
const REFUSED = (repo: string) =>
  `GitHub API POST /repos/${repo}/pulls answered 502: Server Error (see docs/github.md)`;

const SPEC = `name: ${FLEET}
targets:
  - repos: [${REPOS.map((repo) => `"github:${repo}"`).join(', ')}]
script: "echo v2 > VERSION"
rollout: { rate: 1/hour }
change: { title: "Bump VERSION to v2" }
`;

interface FleetStatusView {
  counts: Record<string, number>;
  failures: unknown[];
  openFailures: { reason: string; count: number; repos: string[] }[];
}

/**
 * A fleet on GitHub (the double) whose pull requests GitHub refuses to open: `nightshift serve`
 * records each refusal on the waiting change, and the fleet page shows it per repo and grouped
 * by message, as `fleet status` does.
 */
describe('the dashboard showing a fleet’s changes that failed to open, in headless Chromium', () => {
  let github: GithubDouble;
  let cleanup: () => Promise<void>;
  let dash: Dashboard;

  beforeAll(async () => {
    const temp = await tempDir();
    cleanup = temp.cleanup;
    github = await startGithubServer(join(temp.dir, 'github'));
    for (const repo of REPOS) {
      const source = join(temp.dir, 'sources', repo);
      await makeRepo(source, { VERSION: 'v1\n' });
      await github.addRepo(repo, source);
    }
    // Every attempt is refused while the test looks (each is retried after a backoff).
    github.refuse('POST', /^\/repos\/acme\/svc-[01]\/pulls$/, 502, 'Server Error', 1000);
    const githubEnv = {
      NIGHTSHIFT_GITHUB_TOKEN: github.plainToken,
      NIGHTSHIFT_GITHUB_API_URL: github.apiUrl,
      NIGHTSHIFT_GITHUB_GIT_URL: github.gitUrl,
    };
    dash = await startDashboard(githubEnv, (env, dir) => applyFleetBeforeServe(env, dir, SPEC));
  }, 240_000);

  afterAll(async () => {
    await dash?.close();
    await github?.close();
    await cleanup?.();
  }, 60_000);

  it('shows each refused opening on its repo and the refusals grouped by message', {
    timeout: 400_000,
  }, async () => {
    const page = await dash.open(`/fleets/${FLEET}`);
    await page.getByRole('heading', { name: FLEET }).waitFor();

    const row = (repo: string) => page.locator('table.data tbody tr', { hasText: repo });
    for (const repo of REPOS) {
      await expect.poll(() => row(repo).textContent(), { timeout: RUN_WAIT * 2 }).toContain('open failed');
      const text = (await row(repo).textContent()) ?? '';
      expect(text).toContain('waiting');
      expect(text).toMatch(/open failed ×\d+: /);
      expect(text).toContain(REFUSED(repo));
      expect(text).toMatch(/next try (at \d|due)/);
    }

    const grouped = page.getByRole('list', { name: 'Changes not opened, by message' }).getByRole('listitem');
    await expect.poll(() => grouped.count(), { timeout: WAIT }).toBe(1);
    const group = (await grouped.textContent()) ?? '';
    expect(group).toContain('2×');
    expect(group).toContain(REFUSED('OWNER/NAME'));
    for (const repo of REPOS) expect(group).toContain(repo);
    // No run failed, but the page does not claim there were no failures.
    expect(await page.getByText('No failures.').count()).toBe(0);
    expect(await page.getByRole('list', { name: 'Failed runs, by message' }).count()).toBe(0);
    // When the next may open: once the backoff of its failed attempt has passed (a minute or so).
    expect(await page.getByText(/^Rollout: /).textContent()).toMatch(
      /^Rollout: the next waiting change may open (now|in \d+(\.\d)? s|in [12]m \d+s)\.$/,
    );
    await shoot(page, 'fleet-open-failed');

    const status = await dash.api<FleetStatusView>(`/api/fleets/${FLEET}`);
    expect(status.counts).toMatchObject({ waiting: 2, failed: 0 });
    expect(status.openFailures).toEqual([{ reason: REFUSED('OWNER/NAME'), count: 2, repos: REPOS }]);
    await page.close();
  });
});
