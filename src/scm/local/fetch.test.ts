import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitAll, gitIn, makeRepo, repoAt, tempDir, writeFiles } from '../../../test/support/repos.ts';
import { LocalScmProvider } from './index.ts';

describe('LocalScmProvider.fetch', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let source: string;
  let first: string;
  let scm: LocalScmProvider;
  const mirrors = () => join(root, 'home/mirrors');

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir());
    source = join(root, 'source');
    first = await makeRepo(source, { 'README.md': 'one\n' });
    scm = new LocalScmProvider({ mirrorsDir: mirrors(), basesDir: join(root, 'home/bases') });
  });

  afterEach(async () => {
    await cleanup();
  });

  it('reads the repository in place: the default branch commit, and no mirror', async () => {
    const { commit } = await scm.fetch(repoAt(source));

    expect(commit).toBe(first);
    await expect(access(mirrors())).rejects.toThrow();
  });

  it('picks up a new commit in the source on the next fetch', async () => {
    await scm.fetch(repoAt(source));
    await writeFiles(source, { 'README.md': 'two\n' });
    const second = await commitAll(source, 'second');

    const { commit } = await scm.fetch(repoAt(source));

    expect(commit).toBe(second);
  });

  it('resolves a branch, a tag, a full sha and a short sha', async () => {
    await gitIn(source, 'tag', '-a', 'v1', '-m', 'release one');
    await gitIn(source, 'checkout', '--quiet', '-b', 'feature');
    await writeFiles(source, { 'feature.txt': 'f\n' });
    const feature = await commitAll(source, 'feature');
    const repo = repoAt(source);

    const results = await Promise.all(
      ['feature', 'v1', first, first.slice(0, 10)].map((ref) => scm.fetch(repo, ref)),
    );

    expect(results.map((r) => r.commit)).toEqual([feature, first, first, first]);
  });

  it('rejects an unknown ref with REPO_INVALID listing branches', async () => {
    await gitIn(source, 'branch', 'develop');

    const error = await scm.fetch(repoAt(source), 'nope').catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'REPO_INVALID',
      message: expect.stringContaining('nope'),
      hint: expect.stringMatching(/known branches: .*develop/),
    });
  });

  it('fails with REPO_INVALID naming the path when the repository is gone', async () => {
    const repo = repoAt(join(root, 'gone'));

    const error = await scm.fetch(repo).catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'REPO_INVALID',
      message: expect.stringContaining(join(root, 'gone')),
      hint: expect.stringMatching(/moved or deleted/),
    });
  });

  it('answers concurrent fetches of one repo alike', async () => {
    const repo = repoAt(source);
    const other = new LocalScmProvider({ mirrorsDir: mirrors(), basesDir: join(root, 'home/bases') });

    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? scm : other).fetch(repo)));

    expect(results.map((r) => r.commit)).toEqual(Array(8).fill(first));
  });
});
