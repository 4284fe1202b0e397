import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessRegistry } from '../src/agents/registry.ts';
import { type GithubEnv, SECRET, startGithubEnv, waitFor } from './support/github-env.ts';
import { examplePayload, send, signedDelivery } from './support/github-payloads.ts';
import { commitAll, gitIn, writeFiles } from './support/repos.ts';
import { ScriptedHarness } from './support/scripted-harness.ts';

const REPO = 'acme/widgets';

/** `/nightshift <prompt>` on a pull request works on the pull request's own branch. */
describe('a /nightshift comment on a pull request', () => {
  let env: GithubEnv;

  beforeAll(async () => {
    const harnesses = new HarnessRegistry().register(
      new ScriptedHarness('builtin', [
        { commands: ['echo "## Usage" >> README.md'], say: 'Added a section.' },
      ]),
    );
    env = await startGithubEnv({ repos: { [REPO]: { 'README.md': '# widgets\n' } }, harnesses });
    env.github.permissions.set('Codertocat', 'write');
    // Someone's pull request: branch `feature` with one commit of theirs, on GitHub.
    const clone = join(env.dir, 'contributor');
    await gitIn(env.dir, 'clone', '--quiet', env.github.repoPath(REPO), clone);
    await gitIn(clone, 'checkout', '--quiet', '-b', 'feature');
    await writeFiles(clone, { 'feature.txt': 'the feature\n' });
    await commitAll(clone, 'Add the feature');
    await gitIn(clone, 'push', '--quiet', 'origin', 'feature');
    env.github.pulls.push({
      number: 1,
      title: 'Add the feature',
      body: 'Please review.',
      head: 'feature',
      base: 'main',
      state: 'open',
      merged: false,
      owner: 'acme',
      repo: 'widgets',
    });
    // The repo is known to Nightshift (a run was asked for it before).
    await env.engine.store.repos.upsert(await env.provider.resolve(`github:${REPO}`));
    await env.engine.startWorker();
    env.trigger.start();
  }, 180_000);

  afterAll(async () => {
    await env?.close();
  });

  it('runs on the head branch and pushes its change there, updating that pull request instead of opening another', async () => {
    const before = await gitIn(env.github.repoPath(REPO), 'rev-parse', 'refs/heads/feature');
    const payload = examplePayload(
      'issue_comment',
      REPO,
      (p) => p.action === 'created' && !p.issue.pull_request,
    );
    payload.comment.body = '/nightshift document the usage in the README';
    payload.comment.user = { ...payload.comment.user, login: 'Codertocat', type: 'User' };
    payload.sender = payload.comment.user;
    payload.issue.number = 1;
    // What GitHub sends for a comment on a pull request's conversation: no branch, only a link.
    payload.issue.pull_request = { url: `https://api.github.com/repos/${REPO}/pulls/1` };

    const delivery = signedDelivery('issue_comment', payload, SECRET);
    expect((await send(env.webhookUrl, delivery)).status).toBe(202);

    const run = await waitFor(
      async () => {
        const [found] = (await env.engine.store.listRuns()).filter(
          (r) => r.trigger === `github:${delivery.id}`,
        );
        return found?.status === 'completed' ? found : undefined;
      },
      'the run to complete',
      180_000,
    );
    expect(run.conclusion, run.reason ?? '').toBe('success');
    expect(run).toMatchObject({ baseRef: 'feature', branch: 'feature' });
    expect(run.inputs.values).toMatchObject({ pr: '1' });
    // The branch moved forward from the contributor's commit: theirs is kept, ours is on top.
    const bare = env.github.repoPath(REPO);
    expect(await gitIn(bare, 'rev-parse', 'refs/heads/feature~1')).toBe(before);
    expect(await gitIn(bare, 'show', 'refs/heads/feature:README.md')).toBe('# widgets\n## Usage');
    expect(await gitIn(bare, 'show', 'refs/heads/feature:feature.txt')).toBe('the feature');
    // No second pull request: the existing one was updated with the run's summary.
    expect(env.github.pulls).toHaveLength(1);
    expect(env.github.pulls[0]!.body).toContain(run.id);
    expect((await env.engine.store.changes.forRun(run.id))?.url).toBe(
      'https://github.com/acme/widgets/pull/1',
    );
    const answer = env.github.comments.find((c) => c.number === 1 && c.body.includes(run.id));
    expect(answer?.body).toContain('on `feature`; its change updates this pull request');
    // Once ended, the run is answered with a comment on the pull request, and its details say so.
    const posted = await waitFor(
      async () => {
        const details = await env.engine.runDetails(run.id);
        return details.answer?.answeredAt ? details.answer : undefined;
      },
      'the answer to be posted',
      60_000,
    );
    expect(posted).toMatchObject({ via: 'github', to: `comment on ${REPO}#1`, attempts: 1, error: null });
    expect(env.github.comments.some((c) => c.number === 1 && c.body.includes(`ended success`))).toBe(true);
  }, 240_000);

  it('starts from the head commit of a pull request from a fork, on a new branch of its own', async () => {
    const review = examplePayload('pull_request_review_comment', REPO, (p) => p.action === 'created');
    review.comment.body = '/nightshift rename this variable';
    review.comment.user = { login: 'Codertocat', type: 'User' };
    review.pull_request.number = 7;
    review.pull_request.head = { ...review.pull_request.head, ref: 'main', sha: 'f'.repeat(40) };
    review.pull_request.head.repo = { ...review.pull_request.head.repo, full_name: 'someone/widgets' };

    const delivery = signedDelivery('pull_request_review_comment', review, SECRET);
    expect((await send(env.webhookUrl, delivery)).status).toBe(202);

    const run = await waitFor(async () => {
      const [found] = (await env.engine.store.listRuns()).filter(
        (r) => r.trigger === `github:${delivery.id}`,
      );
      return found;
    }, 'the run');
    expect(run.baseRef).toBe('f'.repeat(40));
    expect(run.branch).not.toBe('main');
  });
});
