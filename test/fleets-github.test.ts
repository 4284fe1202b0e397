import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlannedRepo } from '../src/fleets/apply.ts';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import type { FleetTarget } from '../src/fleets/schema.ts';
import { targetRepos } from '../src/fleets/targets.ts';
import { GithubScmProvider } from '../src/scm/github/index.ts';
import { RoutingScmProvider } from '../src/scm/index.ts';
import { LocalScmProvider } from '../src/scm/local/index.ts';
import type { ScmProvider } from '../src/scm/types.ts';
import { type GithubEnv, startGithubEnv } from './support/github-env.ts';

async function locations(targets: FleetTarget[], scm: ScmProvider, take = Number.POSITIVE_INFINITY) {
  const out: string[] = [];
  for await (const repo of targetRepos(targets, '/', scm)) {
    out.push(repo.location);
    if (out.length >= take) break;
  }
  return out;
}

/** Fleet targets `github: { org, topics, name, archived }`, listed from the GitHub double page by page. */
describe('fleet targets of a GitHub organization', () => {
  let env: GithubEnv;
  const orgRequests = () => env.github.requests.filter((r) => r.path.startsWith('/api/orgs/acme/repos'));

  beforeAll(async () => {
    env = await startGithubEnv({
      repos: { 'acme/svc-api': { 'a.txt': 'a\n' }, 'acme/svc-web': { 'w.txt': 'w\n' } },
    });
    env.github.describeRepo('acme/svc-api', { topics: ['node', 'service'] });
    env.github.describeRepo('acme/svc-web', { topics: ['node'] });
    for (let i = 0; i < 230; i++) {
      const name = `acme/lib-${String(i).padStart(3, '0')}`;
      env.github.describeRepo(name, { topics: i % 2 ? ['node'] : ['go'], archived: i % 10 === 0 });
    }
    env.github.describeRepo('acme/svc-old', { topics: ['node'], archived: true });
    env.github.describeRepo('other/svc-x', { topics: ['node'] });
  }, 120_000);

  afterAll(async () => {
    await env?.close();
  });

  it('lists every page through the Link header and keeps the repos matching topics and a name glob', async () => {
    const before = orgRequests().length;

    const found = await locations(
      [{ github: { org: 'acme', topics: ['node'], name: 'svc-*' } }],
      env.engine.scm,
    );

    expect(found).toEqual(['github:acme/svc-api', 'github:acme/svc-web']);
    const pages = orgRequests().slice(before);
    expect(pages.map((r) => new URL(r.path, 'http://x').searchParams.get('page') ?? '1')).toEqual([
      '1',
      '2',
      '3',
    ]);
    expect(pages.every((r) => r.status === 200 && /^token ghs_/.test(r.authorization ?? ''))).toBe(true);
  });

  it.each([
    ['a name regex, archived skipped', { org: 'acme', name: '/^lib-0[01]\\d$/' }, 18],
    ['a name regex with archived included', { org: 'acme', name: '/^lib-0[01]\\d$/', archived: true }, 20],
    ['two topics', { org: 'acme', topics: ['node', 'service'] }, 1],
    ['no filter (archived skipped)', { org: 'acme' }, 2 + 207],
  ])('filters by %s', async (_, github, count) => {
    expect(await locations([{ github }], env.engine.scm)).toHaveLength(count);
  });

  it('reports filters that no repository passes as the target’s problem, not as an empty fleet', async () => {
    const found = [];
    for await (const repo of targetRepos(
      [{ github: { org: 'acme', topics: ['rust'] } }],
      '/',
      env.engine.scm,
    )) {
      found.push(repo);
    }

    expect(found).toEqual([
      {
        location: 'github:acme',
        values: {},
        source: 'targets[0].github',
        problem: {
          error:
            "no repository of the organization acme passed the target's filters (topics, name, archived)",
          hint: "check the filters, and that the GitHub credentials can see the organization's repositories",
        },
      },
    ]);
  });

  it('streams: taking the first repos reads only the first page', async () => {
    const before = orgRequests().length;

    const found = await locations([{ github: { org: 'acme' } }], env.engine.scm, 5);

    expect(found).toHaveLength(5);
    expect(orgRequests().length - before).toBe(1);
  });

  it('finds the installation of the organization when the app has no fixed installation', async () => {
    const provider = new GithubScmProvider({
      auth: { kind: 'app', appId: env.github.appId, privateKey: env.github.privateKey },
      apiUrl: env.github.apiUrl,
      gitUrl: env.github.gitUrl,
      mirrorsDir: join(env.dir, 'm2'),
      basesDir: join(env.dir, 'b2'),
    });

    const found = await locations([{ github: { org: 'acme', name: 'svc-web' } }], provider);

    expect(found).toEqual(['github:acme/svc-web']);
    const lookup = env.github.requests.find((r) => r.path === '/api/orgs/acme/installation');
    expect(lookup?.authorization).toMatch(/^Bearer /);
  });

  it('previews a fleet over the org: every matching repo resolved, nothing started', async () => {
    const { spec, errors } = parseFleetSpec(
      'name: gh-fleet\ntargets:\n  - github: { org: acme, topics: [node], name: "svc-*" }\nscript: "true"\n',
    );
    expect(errors).toEqual([]);
    const planned: PlannedRepo[] = [];

    const summary = await env.engine.fleets.apply(spec!, {
      cwd: env.dir,
      dryRun: true,
      onRepo: (repo) => planned.push(repo),
    });

    expect(summary).toMatchObject({ repos: 2, create: 2 });
    expect(planned.map((p) => [p.repo, p.action])).toEqual([
      ['acme/svc-api', 'create'],
      ['acme/svc-web', 'create'],
    ]);
    expect(await env.engine.store.db.query('SELECT 1 FROM runs')).toEqual([]);
  });

  it('leaves out a repo GitHub does not know (404), and applies the others', async () => {
    const { spec, errors } = parseFleetSpec(
      'name: gh-some\ntargets:\n  - repos: [github:acme/svc-api, github:acme/gone]\nscript: "true"\n',
    );
    expect(errors).toEqual([]);

    const summary = await env.engine.fleets.apply(spec!, { cwd: env.dir, dryRun: true });

    expect(summary).toMatchObject({ repos: 1, create: 1 });
    expect(summary.unusable).toEqual([
      expect.objectContaining({
        source: 'targets[0].repos[1]',
        location: 'github:acme/gone',
        error: expect.stringMatching(/GitHub API GET \/repos\/acme\/gone answered 404/),
      }),
    ]);
  });

  it('refuses a next page on another origin (the token is never sent there)', async () => {
    env.github.linkOrigin = 'http://127.0.0.2:9';
    try {
      await expect(locations([{ github: { org: 'acme' } }], env.engine.scm)).rejects.toThrow(
        /next page of acme's repositories is on http:\/\/127\.0\.0\.2:9, not on the API/,
      );
    } finally {
      env.github.linkOrigin = null;
    }
  });

  it('says so when the organization does not exist or GitHub is not configured', async () => {
    await expect(locations([{ github: { org: 'nobody' } }], env.engine.scm)).rejects.toThrow(
      /GitHub API GET \/orgs\/nobody\/repos.* answered 404/,
    );
    const local = new RoutingScmProvider(new LocalScmProvider({ mirrorsDir: env.dir, basesDir: env.dir }));
    await expect(locations([{ github: { org: 'acme' } }], local)).rejects.toThrow(
      'targets[0].github: GitHub targets (org acme) need the GitHub provider, and GitHub is not configured',
    );
  });

  it('reports an invalid name regex with its place in the spec', () => {
    const { errors } = parseFleetSpec(
      'name: f\ntargets:\n  - github: { org: acme, name: "/svc-(/" }\nscript: "true"\n',
    );

    expect(errors.map((p) => [p.path, p.line])).toEqual([['targets[0].github.name', 3]]);
    expect(errors[0]!.message).toContain('not a valid regular expression');
  });
});
