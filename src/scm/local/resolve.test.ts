import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitIn, makeRepo, tempDir } from '../../../test/support/repos.ts';
import { NightshiftError } from '../../core/errors.ts';
import type { Git } from './git.ts';
import { LocalScmProvider } from './index.ts';
import { resolveLocation } from './resolve.ts';

describe('LocalScmProvider.resolve', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let scm: LocalScmProvider;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir());
    scm = new LocalScmProvider({
      mirrorsDir: join(root, 'home/mirrors'),
      basesDir: join(root, 'home/bases'),
    });
  });

  afterEach(async () => {
    await cleanup();
  });

  it('accepts a relative path and returns the name, absolute url and default branch', async () => {
    const dir = join(root, 'shop');
    await makeRepo(dir, { 'README.md': 'hi\n' });
    await gitIn(dir, 'checkout', '--quiet', '-b', 'trunk');

    const found = await scm.resolve(relative(process.cwd(), dir));

    expect(found).toEqual({ name: 'shop', url: dir, defaultBranch: 'trunk' });
  });

  it('accepts a file URL', async () => {
    const dir = join(root, 'shop');
    await makeRepo(dir, { 'README.md': 'hi\n' });

    const found = await scm.resolve(pathToFileURL(dir).href);

    expect(found).toEqual({ name: 'shop', url: dir, defaultBranch: 'main' });
  });

  it('accepts a bare repository and drops .git from its name', async () => {
    const source = join(root, 'shop');
    await makeRepo(source, { 'README.md': 'hi\n' });
    await gitIn(root, 'clone', '--quiet', '--bare', source, join(root, 'shop.git'));

    const found = await scm.resolve(join(root, 'shop.git'));

    expect(found).toEqual({ name: 'shop', url: join(root, 'shop.git'), defaultBranch: 'main' });
  });

  it('takes main as the default branch of a repository whose HEAD is detached', async () => {
    const source = join(root, 'detached');
    await makeRepo(source, { 'README.md': 'hi\n' });
    await gitIn(source, 'checkout', '--quiet', '--detach');

    const found = await scm.resolve(source);

    expect(found).toEqual({ name: 'detached', url: source, defaultBranch: 'main' });
  });

  it.each([
    ['a missing path', 'missing', /does not exist/, /check the path/],
    ['a directory that is not a repository', 'plain', /is not a git repository/, /run `git init` there/],
    ['a repository without commits', 'empty', /has no commits yet/, /commit something first/],
    ['a file', 'file.txt', /is not a directory/, /path of a git repository/],
  ])('rejects %s with REPO_INVALID and a hint', async (_case, name, message, hint) => {
    await mkdir(join(root, 'plain'));
    await mkdir(join(root, 'empty'));
    await gitIn(join(root, 'empty'), 'init', '--quiet');
    await writeFile(join(root, 'file.txt'), 'x');

    const error = await scm.resolve(join(root, name)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NightshiftError);
    expect(error).toMatchObject({ code: 'REPO_INVALID' });
    expect((error as NightshiftError).message).toMatch(message);
    expect((error as NightshiftError).message).toContain(join(root, name));
    expect((error as NightshiftError).hint).toMatch(hint);
  });

  it('rejects a plain directory inside another repository', async () => {
    const dir = join(root, 'shop');
    await makeRepo(dir, { 'src/app.ts': 'x\n' });

    const error = await scm.resolve(join(dir, 'src')).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'REPO_INVALID', hint: expect.stringMatching(/git init/) });
  });

  it('reads a work tree whose branch tip is a loose commit from its files, without starting git', async () => {
    const dir = join(root, 'shop');
    await makeRepo(dir, { 'README.md': 'hi\n' });
    await gitIn(dir, 'checkout', '--quiet', '-b', 'trunk');
    const calls: string[][] = [];
    const git = Object.assign(
      async (args: string[]) => {
        calls.push(args);
        throw new Error('git was started');
      },
      { env: {} },
    ) as Git;

    expect(await resolveLocation(git, dir)).toEqual({ name: 'shop', url: dir, defaultBranch: 'trunk' });
    expect(calls).toEqual([]);
  });

  it('asks git about a branch tip that is packed', async () => {
    const dir = join(root, 'shop');
    await makeRepo(dir, { 'README.md': 'hi\n' });
    await gitIn(dir, 'checkout', '--quiet', '-b', 'trunk');
    await gitIn(dir, 'gc', '--quiet');

    expect(await scm.resolve(dir)).toEqual({ name: 'shop', url: dir, defaultBranch: 'trunk' });
  });

  it.each([
    ['core.bare', 'true', /is inside .*\.git/],
    ['core.worktree', 'elsewhere', /is inside .*elsewhere/],
  ])('leaves a work tree whose config sets %s to git, which rejects it', async (key, value, message) => {
    const dir = join(root, 'shop');
    await makeRepo(dir, { 'README.md': 'hi\n' });
    await mkdir(join(root, 'elsewhere'));
    await gitIn(dir, 'config', key, key === 'core.worktree' ? join(root, value) : value);

    const error = await scm.resolve(dir).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'REPO_INVALID', message: expect.stringMatching(message) });
  });
});
