import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nameMatcher, type TargetRepo, targetRepos } from './targets.ts';

async function collect(targets: AsyncIterable<TargetRepo>): Promise<TargetRepo[]> {
  const repos: TargetRepo[] = [];
  for await (const repo of targets) repos.push(repo);
  return repos;
}

describe('fleet targets', () => {
  const root = mkdtempSync(join(tmpdir(), 'nightshift-targets-'));
  const specs = join(root, 'specs');
  mkdirSync(specs);
  // Work trees (a `.git` is enough to be one) and a plain directory.
  for (const name of ['svc-a', 'svc-b']) mkdirSync(join(root, 'repos', name, '.git'), { recursive: true });
  mkdirSync(join(root, 'repos', 'notes'));

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each([
    ['a parent of the spec directory', '../repos/*'],
    ['an absolute path', join(root, 'repos', 'svc-*')],
    ['the spec directory itself', './../repos/svc-?'],
  ])('finds the repositories of a glob starting at %s', async (_what, glob) => {
    const repos = await collect(targetRepos([{ glob }], specs));

    expect(repos.map((repo) => [repo.location, repo.source])).toEqual([
      [join(root, 'repos', 'svc-a'), 'targets[0].glob'],
      [join(root, 'repos', 'svc-b'), 'targets[0].glob'],
    ]);
  });

  it('says where a glob matching nothing looked', async () => {
    const [repo] = await collect(targetRepos([{ glob: '../repos/web-*' }], specs));

    expect(repo?.problem?.error).toBe(
      `"../repos/web-*" matched no git repository under ${join(root, 'repos')}`,
    );
  });

  it('matches every name a regular expression with the g or y flag matches', () => {
    for (const pattern of ['/^svc-/gi', '/svc-/y']) {
      const matcher = nameMatcher(pattern);

      expect(['svc-a', 'svc-b', 'svc-c', 'svc-d'].map((name) => matcher.test(name))).toEqual([
        true,
        true,
        true,
        true,
      ]);
    }
  });
});
