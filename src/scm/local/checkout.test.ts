import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitAll, gitIn, makeRepo, repoAt, tempDir, writeFiles } from '../../../test/support/repos.ts';
import { LocalScmProvider } from './index.ts';

describe('LocalScmProvider.checkout', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let source: string;
  let first: string;
  let scm: LocalScmProvider;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir());
    source = join(root, 'source');
    first = await makeRepo(source, { 'README.md': 'one\n', 'src/app.ts': 'export {};\n' });
    scm = new LocalScmProvider({
      mirrorsDir: join(root, 'home/mirrors'),
      basesDir: join(root, 'home/bases'),
    });
  });

  afterEach(async () => {
    await cleanup();
  });

  it('produces the tree at the commit with a clean working .git and no remote', async () => {
    await writeFiles(source, { 'README.md': 'two\n', 'new.txt': 'new\n' });
    await commitAll(source, 'second');
    const repo = repoAt(source);
    await scm.fetch(repo);

    const { dir, cached } = await scm.checkout(repo, first);

    expect(cached).toBe(false);
    expect(dir).toBe(join(root, 'home/bases/repo_test', first));
    expect((await readdir(dir)).sort()).toEqual(['.git', 'README.md', 'src']);
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('one\n');
    expect(await gitIn(dir, 'rev-parse', 'HEAD')).toBe(first);
    expect(await gitIn(dir, 'status', '--porcelain')).toBe('');
    expect(await gitIn(dir, 'remote')).toBe('');
    expect(await gitIn(dir, 'log', '--format=%s')).toBe('initial commit');
  });

  it('leaves no host path of the source in the .git directory', async () => {
    const repo = repoAt(source);
    await scm.fetch(repo);

    const { dir } = await scm.checkout(repo, first);

    const files = await readdir(join(dir, '.git'), { recursive: true, withFileTypes: true });
    const leaked: string[] = [];
    for (const file of files.filter((f) => f.isFile())) {
      const content = await readFile(join(file.parentPath, file.name));
      if (content.includes(root)) leaked.push(file.name);
    }
    expect(files.length).toBeGreaterThan(5);
    expect(leaked).toEqual([]);
  });

  it('returns the cached base on a second call', async () => {
    const repo = repoAt(source);
    await scm.fetch(repo);
    const made = await scm.checkout(repo, first);

    const again = await scm.checkout(repo, first);

    expect(again).toEqual({ dir: made.dir, cached: true });
  });

  it('builds one base when several runs ask at once', async () => {
    const repo = repoAt(source);
    await scm.fetch(repo);

    const results = await Promise.all([1, 2, 3].map(() => scm.checkout(repo, first)));

    expect(results.filter((r) => !r.cached)).toHaveLength(1);
    expect(await readdir(join(root, 'home/bases/repo_test'))).toEqual([first]);
  });

  it('accepts a ref', async () => {
    const { dir } = await scm.checkout(repoAt(source), 'main');

    expect(dir).toBe(join(root, 'home/bases/repo_test', first));
  });

  it('builds a commit made after the last fetch', async () => {
    const repo = repoAt(source);
    await scm.fetch(repo);
    await writeFiles(source, { 'later.txt': 'later\n' });
    const later = await commitAll(source, 'later');

    const { dir } = await scm.checkout(repo, later);

    expect(await readFile(join(dir, 'later.txt'), 'utf8')).toBe('later\n');
  });

  it('rejects a commit the repo does not have', async () => {
    const repo = repoAt(source);
    await scm.fetch(repo);

    const error = await scm.checkout(repo, 'f'.repeat(40)).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'REPO_INVALID' });
  });
});
