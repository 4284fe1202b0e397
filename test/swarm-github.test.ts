import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessRegistry } from '../src/agents/registry.ts';
import { parseSwarmSpec } from '../src/fleets/parse.ts';
import { runSwarm } from '../src/fleets/swarm.ts';
import { type GithubEnv, startGithubEnv } from './support/github-env.ts';
import { gitIn } from './support/repos.ts';
import { ScriptedHarness } from './support/scripted-harness.ts';

/** A swarm on a GitHub repo: facets push branches, the converge merges them, one pull request. */
describe('a swarm on a GitHub repository', () => {
  let env: GithubEnv;

  const resolver = new ScriptedHarness('scripted', [{ commands: ["printf 'color=red+blue\\n' > conf.txt"] }]);

  beforeAll(async () => {
    const harnesses = new HarnessRegistry();
    harnesses.register(resolver);
    env = await startGithubEnv({
      repos: { 'acme/sw': { 'README.md': '# sw\n' }, 'acme/colors': { 'conf.txt': 'color=none\n' } },
      harnesses,
    });
    await env.engine.startWorker();
  }, 120_000);

  afterAll(async () => {
    await env?.close();
  });

  /** Runs the swarm of spec `text` on the engine, whose worker executes its runs. */
  async function swarm(text: string) {
    const { spec, errors } = parseSwarmSpec(text);
    expect(errors).toEqual([]);
    const deps = {
      store: env.engine.store,
      scm: env.engine.scm,
      author: env.engine.config.author,
      defaultTimeoutMs: 60_000,
    };
    return runSwarm(deps, spec!, env.dir);
  }

  it('merges the facets over authenticated git and opens one pull request crediting them', async () => {
    const text =
      'name: two\nrepo: github:acme/sw\ngoal: Add two files\nfacets:\n  - { id: a, script: "echo a > a.txt" }\n  - { id: b, script: "echo b > b.txt" }\n';

    const result = await swarm(text);

    // Before, the merge cloned https://github.com/acme/sw without credentials and failed.
    expect(result).toMatchObject({ conclusion: 'success', reason: null, branch: 'nightshift/swarm/two' });
    expect(env.github.pulls.map((p) => [p.head, p.base, p.title])).toEqual([
      ['nightshift/swarm/two', 'main', 'Add two files'],
    ]);
    const pull = env.github.pulls[0]!;
    for (const facet of result.facets)
      expect(pull.body).toContain(`Nightshift-Facet: ${facet.id} ${facet.runId}`);
    expect(result.url).toMatch(new RegExp(`/acme/sw/pull/${pull.number}$`));

    const bare = env.github.repoPath('acme/sw');
    const main = await gitIn(bare, 'rev-parse', 'main');
    expect(await gitIn(bare, 'rev-parse', `${result.branch}^`)).toBe(main);
    expect(await gitIn(bare, 'show', `${result.branch}:a.txt`)).toBe('a');
    expect(await gitIn(bare, 'show', `${result.branch}:b.txt`)).toBe('b');

    const change = await env.engine.store.changes.forRun(result.convergeRunId!);
    expect(change).toMatchObject({ state: 'open', url: result.url, headCommit: result.head });
    // The converge run made the change itself: it concluded success, not `no_changes` over the merges.
    expect((await env.engine.store.getRun(result.convergeRunId!)).conclusion).toBe('success');
    const message = await gitIn(bare, 'log', '-1', '--format=%B', result.branch);
    expect(message).toContain('Nightshift-Swarm: two');
    expect(message).toContain(`Nightshift-Run: ${result.convergeRunId}`);
    // The facets' branches are pushed (the merge needs them) but get no pull request of their own.
    for (const facet of result.facets) {
      expect(await env.engine.store.changes.forRun(facet.runId)).toMatchObject({
        state: 'branch',
        url: null,
      });
    }
  }, 180_000);

  it('resolves conflicting facets in the converge run, whose pull request becomes the one change', async () => {
    const text = [
      'name: colors',
      'repo: github:acme/colors',
      'goal: Pick the colors',
      'facets:',
      '  - { id: red, script: "sed -i s/^color=.*/color=red/ conf.txt" }',
      '  - { id: blue, script: "sed -i s/^color=.*/color=blue/ conf.txt" }',
      'converge:',
      '  harness: scripted',
      '  gate: "grep -qx color=red+blue conf.txt"',
    ].join('\n');
    const pullsBefore = env.github.pulls.length;

    const result = await swarm(text);

    expect(result).toMatchObject({ conclusion: 'success', conflicts: ['conf.txt'] });
    const pulls = env.github.pulls.slice(pullsBefore);
    expect(pulls.map((p) => [p.repo, p.head, p.state])).toEqual([
      ['colors', 'nightshift/swarm/colors', 'open'],
    ]);
    // The converge run's publish is the swarm's one change: one commit on main, crediting each facet.
    for (const facet of result.facets)
      expect(pulls[0]!.body).toContain(`Nightshift-Facet: ${facet.id} ${facet.runId}`);
    const bare = env.github.repoPath('acme/colors');
    expect(await gitIn(bare, 'rev-parse', `${result.branch}^`)).toBe(await gitIn(bare, 'rev-parse', 'main'));
    expect(await gitIn(bare, 'show', `${result.branch}:conf.txt`)).toBe('color=red+blue');
  }, 180_000);
});
