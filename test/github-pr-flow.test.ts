import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessRegistry } from '../src/agents/registry.ts';
import type { Run } from '../src/core/run.ts';
import { GithubScmProvider } from '../src/scm/github/index.ts';
import { type GithubEnv, SECRET, startGithubEnv, waitFor } from './support/github-env.ts';
import { examplePayload, send, signedDelivery } from './support/github-payloads.ts';
import { commitAll, gitIn, writeFiles } from './support/repos.ts';
import { ScriptedHarness } from './support/scripted-harness.ts';

const REPO = 'acme/widgets';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('GitHub pull request flow', () => {
  let env: GithubEnv;

  beforeAll(async () => {
    const harnesses = new HarnessRegistry().register(
      new ScriptedHarness('builtin', [
        { commands: [], say: 'Looks fine overall.\nREADME.md:1: "helo" should be "hello"' },
      ]),
    );
    env = await startGithubEnv({
      repos: { [REPO]: { 'README.md': 'helo\n', '.nightshift/github.yml': 'review:\n  enabled: true\n' } },
      harnesses,
    });
    env.github.permissions.set('Codertocat', 'write');
    await env.engine.startWorker();
    env.trigger.start();
  }, 180_000);
  afterAll(async () => {
    await env?.close();
  });

  async function finished(run: Run): Promise<Run> {
    return waitFor(
      async () => {
        const now = await env.engine.store.getRun(run.id);
        return now.status === 'completed' ? now : undefined;
      },
      `run ${run.id} to complete`,
      120_000,
    );
  }

  it('clones with an installation token, pushes the branch, opens a PR with a summary, updates it on re-publish and tracks its merge', async () => {
    const first = await finished(
      await env.engine.submit({
        repo: `github:${REPO}`,
        blueprint: 'script',
        script: 'sed -i s/helo/hello/ README.md',
      }),
    );
    expect(first.conclusion, first.reason ?? '').toBe('success');
    const change = await env.engine.store.changes.forRun(first.id);
    expect(change).toMatchObject({ state: 'open', url: 'https://github.com/acme/widgets/pull/1' });
    const bare = env.github.repoPath(REPO);
    expect(await gitIn(bare, 'show', `refs/heads/${first.branch}:README.md`)).toBe('hello');

    expect(env.github.pulls).toHaveLength(1);
    const pull = env.github.pulls[0]!;
    expect(pull).toMatchObject({
      head: first.branch,
      base: 'main',
      state: 'open',
      title: 'sed -i s/helo/hello/ README.md',
    });
    expect(pull.body).toContain(`[${first.id}](https://nightshift.test/runs/${first.id})`);
    expect(pull.body).toContain('- Blueprint: `script`');
    expect(pull.body).toContain('- Diffstat: 1 file changed, +1 −1');
    expect(pull.body).toContain('`README.md` +1 −1');
    expect(pull.body).toContain('- Checks:');

    // GitHub App auth: a JWT exchanged for an installation token, which every git request carried.
    const exchanges = env.github.requests.filter((r) => r.path.endsWith('/access_tokens'));
    expect(exchanges.length).toBeGreaterThan(0);
    expect(exchanges.every((r) => r.status === 201)).toBe(true);
    const gitRequests = env.github.requests.filter((r) => r.path.startsWith('/git/'));
    expect(gitRequests.some((r) => r.path.endsWith('/git-receive-pack'))).toBe(true);
    const tokens = env.github.issuedTokens;
    for (const request of gitRequests) {
      const [, password] = Buffer.from(request.authorization!.replace('Basic ', ''), 'base64')
        .toString()
        .split(':');
      expect(tokens).toContain(password);
      expect(request.status).toBe(200);
    }
    // The token is nowhere on disk: not in the mirror's config or remote URL, not in a base a sandbox sees.
    const home = join(env.dir, 'home');
    for (const file of [
      ...(await filesUnder(join(home, 'mirrors'))),
      ...(await filesUnder(join(home, 'bases'))),
    ]) {
      const text = await readFile(file, 'latin1');
      for (const token of tokens) expect(text.includes(token), file).toBe(false);
    }
    const mirrorConfig = (await filesUnder(join(home, 'mirrors'))).find((f) => f.endsWith('.git/config'))!;
    expect(await readFile(mirrorConfig, 'utf8')).toContain(`url = ${env.github.gitUrl}/acme/widgets.git\n`);

    // A second run on the same branch (as a CI fix does) updates the pull request instead of opening another.
    const second = await finished(
      await env.engine.submit({
        repo: `github:${REPO}`,
        blueprint: 'script',
        script: 'echo more >> README.md',
        baseRef: first.branch!,
        branch: first.branch!,
      }),
    );
    expect(second.conclusion, second.reason ?? '').toBe('success');
    expect(env.github.pulls).toHaveLength(1);
    expect(env.github.pulls[0]!.body).toContain(second.id);
    expect(env.github.pulls[0]!.title).toBe('echo more >> README.md');
    expect(await gitIn(bare, 'show', `refs/heads/${first.branch}:README.md`)).toBe('hello\nmore');
    expect((await env.engine.store.changes.forRun(second.id))?.url).toBe(change!.url);

    // GitHub says the pull request was merged: both changes published as it are now `merged`.
    const closed = examplePayload('pull_request', REPO, (p) => p.action === 'closed');
    closed.pull_request.merged = true;
    closed.pull_request.number = 1;
    closed.pull_request.html_url = change!.url;
    expect((await send(env.webhookUrl, signedDelivery('pull_request', closed, SECRET))).status).toBe(202);
    await waitFor(async () => {
      const states = await Promise.all([first, second].map((r) => env.engine.store.changes.forRun(r.id)));
      return states.every((c) => c?.state === 'merged');
    }, 'the changes to be merged');
  });

  /** Pushes a branch with `files` to the repo, opens a pull request of it and sends GitHub's `opened` webhook. */
  async function openPull(
    branch: string,
    files: Record<string, string>,
  ): Promise<{ number: number; sha: string }> {
    const source = join(env.dir, 'sources', REPO);
    await gitIn(source, 'checkout', '--quiet', '-B', branch, 'main');
    await writeFiles(source, files);
    const sha = await commitAll(source, `add ${branch}`);
    await gitIn(source, 'push', '--quiet', env.github.repoPath(REPO), branch);
    const number = env.github.pulls.length + 1;
    env.github.pulls.push({
      number,
      title: `Add ${branch}`,
      body: '',
      head: branch,
      base: 'main',
      state: 'open',
      merged: false,
      owner: 'acme',
      repo: 'widgets',
    });
    const opened = examplePayload('pull_request', REPO, (p) => p.action === 'opened');
    opened.pull_request = {
      ...opened.pull_request,
      number,
      draft: false,
      title: `Add ${branch}`,
      head: { ref: branch, sha, repo: { full_name: REPO } },
      base: { ref: 'main' },
    };
    opened.sender = { login: 'Codertocat', type: 'User' };
    expect((await send(env.webhookUrl, signedDelivery('pull_request', opened, SECRET))).status).toBe(202);
    return { number, sha };
  }

  it('reviews a pull request with the review blueprint and posts the findings as a review with line comments', async () => {
    const { number, sha } = await openPull('feature', { 'src/app.js': 'console.log("hi")\n' });

    const review = await waitFor(
      async () => env.github.reviews.find((r) => r.number === number),
      'the review',
      120_000,
    );
    expect(review.body).toContain('Looks fine overall.');
    expect(review.comments).toEqual([{ path: 'README.md', line: 1, body: '"helo" should be "hello"' }]);
    const run = (await env.engine.store.listRuns()).find((r) => r.blueprint === 'review')!;
    expect(run).toMatchObject({ conclusion: 'success', baseCommit: sha });
    expect(run.inputs.values).toMatchObject({ pr: String(number), base: 'main' });
    // A review changes nothing: no branch, no pull request of its own.
    expect(await env.engine.store.changes.forRun(run.id)).toBeNull();
  });

  it('posts a review GitHub refused again after a backoff, and only once', async () => {
    const number = env.github.pulls.length + 1;
    env.github.refuse(
      'POST',
      new RegExp(`^/repos/acme/widgets/pulls/${number}/reviews$`),
      502,
      'Server Error',
      1,
    );
    await openPull('outage', { 'src/outage.js': 'console.log("down")\n' });

    const delivery = () =>
      env.engine.store.db.query<{ id: string; report_attempts: number; report_error: string | null }>(
        `SELECT id, report_attempts, report_error FROM webhook_deliveries
         WHERE source = 'github' AND payload->'pull_request'->>'number' = $1`,
        [String(number)],
      );
    const failed = await waitFor(
      async () => (await delivery()).find((d) => d.report_attempts === 1 && d.report_error),
      'the first attempt to answer to fail',
      120_000,
    );
    expect(failed.report_error).toContain('answered 502');
    expect(env.logs.some((l) => l.msg === 'could not answer on GitHub for a finished run; will retry')).toBe(
      true,
    );
    expect(env.github.reviews.filter((r) => r.number === number)).toEqual([]);
    // The run's own details say so too (`nightshift show`, GET /api/runs/:id).
    const [{ run_id: runId }] = (await env.engine.store.db.query<{ run_id: string }>(
      'SELECT run_id FROM webhook_deliveries WHERE id = $1',
      [failed.id],
    )) as [{ run_id: string }];
    expect((await env.engine.runDetails(runId)).answer).toEqual({
      via: 'github',
      to: `review on ${REPO}#${number}`,
      answeredAt: null,
      attempts: 1,
      error: expect.stringContaining('answered 502'),
      givenUp: false,
    });

    // The worker drains every few seconds; the answer waits for its backoff (a minute) instead.
    await env.trigger.worker.drain();
    expect(env.github.reviews.filter((r) => r.number === number)).toEqual([]);
    await env.engine.store.db.query('UPDATE webhook_deliveries SET next_report_at = now() WHERE id = $1', [
      failed.id,
    ]);
    await waitFor(async () => env.github.reviews.find((r) => r.number === number), 'the review', 60_000);
    await env.trigger.worker.drain();
    expect(env.github.reviews.filter((r) => r.number === number)).toHaveLength(1);
    expect(await delivery()).toEqual([{ id: failed.id, report_attempts: 2, report_error: null }]);
    expect((await env.engine.runDetails(runId)).answer).toMatchObject({
      answeredAt: expect.any(Date),
      attempts: 2,
      error: null,
    });
  });

  it('refuses a GitHub App whose key GitHub does not know', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const provider = new GithubScmProvider({
      auth: {
        kind: 'app',
        appId: env.github.appId,
        privateKey: other,
        installationId: env.github.installationId,
      },
      apiUrl: env.github.apiUrl,
      gitUrl: env.github.gitUrl,
      mirrorsDir: join(env.dir, 'other', 'mirrors'),
      basesDir: join(env.dir, 'other', 'bases'),
    });

    await expect(provider.resolve(`github:${REPO}`)).rejects.toMatchObject({
      code: 'SCM_FAILED',
      message: expect.stringContaining('answered 401'),
    });
  });
});
