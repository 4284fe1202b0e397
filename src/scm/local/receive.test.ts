import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitIn, makeRepo, tempDir } from '../../../test/support/repos.ts';
import { createGit, type Git } from './git.ts';
import { localReceive } from './receive.ts';

describe('localReceive', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let repo: string;
  let git: Git;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir());
    repo = join(root, 'repo');
    await makeRepo(repo, { 'README.md': 'hello\n' });
    // Nightshift's own global config has a receive setting (receive.autogc): it must not count.
    git = await createGit(join(root, 'state'));
  });

  afterEach(async () => {
    await cleanup();
  });

  it.each<[string, string[][], { push: boolean; refusesCheckedOut: boolean }]>([
    ['no setting', [], { push: false, refusesCheckedOut: true }],
    ['receive.fsckObjects', [['receive.fsckObjects', 'true']], { push: true, refusesCheckedOut: true }],
    [
      'transfer.hideRefs',
      [['transfer.hideRefs', 'refs/heads/secret']],
      { push: true, refusesCheckedOut: true },
    ],
    [
      'denyCurrentBranch=refuse',
      [['receive.denyCurrentBranch', 'refuse']],
      { push: true, refusesCheckedOut: true },
    ],
    [
      'denyCurrentBranch=true',
      [['receive.denyCurrentBranch', 'true']],
      { push: true, refusesCheckedOut: true },
    ],
    [
      'denyCurrentBranch=warn',
      [['receive.denyCurrentBranch', 'warn']],
      { push: true, refusesCheckedOut: false },
    ],
    [
      'denyCurrentBranch=ignore',
      [['receive.denyCurrentBranch', 'ignore']],
      { push: true, refusesCheckedOut: false },
    ],
    [
      'denyCurrentBranch=false',
      [['receive.denyCurrentBranch', 'false']],
      { push: true, refusesCheckedOut: false },
    ],
    [
      'denyCurrentBranch=updateInstead',
      [['receive.denyCurrentBranch', 'updateInstead']],
      { push: true, refusesCheckedOut: false },
    ],
    [
      'the last of two values',
      [
        ['receive.denyCurrentBranch', 'updateInstead'],
        ['--add', 'receive.denyCurrentBranch', 'refuse'],
      ],
      { push: true, refusesCheckedOut: true },
    ],
  ])('reads %s from the repository’s config', async (_case, settings, expected) => {
    for (const setting of settings) await gitIn(repo, 'config', ...setting);

    const found = await localReceive(git, { gitDir: join(repo, '.git'), bare: false });

    expect(found).toEqual({ ...expected, hooks: true });
  });

  it('starts no git process for a config file without a word of what it looks for', async () => {
    const calls: string[][] = [];
    const counting: Git = Object.assign(
      (args: string[], options?: Parameters<Git>[1]) => {
        calls.push(args);
        return git(args, options);
      },
      { env: git.env },
    );
    const target = { gitDir: join(repo, '.git'), bare: false };

    expect(await localReceive(counting, target)).toMatchObject({ push: false });
    expect(calls).toEqual([]);

    // Git reads section names ignoring case: so does the check for their words.
    await appendFile(join(repo, '.git/config'), '[RECEIVE]\n\tdenyDeletes = true\n');
    expect(await localReceive(counting, target)).toMatchObject({ push: true });
    expect(calls).toHaveLength(1);
  });

  it('reads a receive setting from a file the config includes', async () => {
    await writeFile(join(root, 'included'), '[receive]\n\tdenyDeletes = true\n');
    await gitIn(repo, 'config', 'include.path', join(root, 'included'));

    const found = await localReceive(git, { gitDir: join(repo, '.git'), bare: false });

    expect(found.push).toBe(true);
  });

  interface HooksCase {
    /** A hook file to make, relative to the temp dir. */
    hook?: string;
    mode?: number;
    hooksPath?: (root: string) => string;
    push: boolean;
  }
  it.each<[string, HooksCase]>([
    ['only sample hooks', { push: false }],
    [
      'a pre-receive hook that is not executable',
      { hook: 'repo/.git/hooks/pre-receive', mode: 0o644, push: false },
    ],
    ['a hook a push does not run', { hook: 'repo/.git/hooks/pre-commit', push: false }],
    ['a post-update hook', { hook: 'repo/.git/hooks/post-update', push: true }],
    [
      'core.hooksPath=/dev/null over a pre-receive hook',
      { hook: 'repo/.git/hooks/pre-receive', hooksPath: () => '/dev/null', push: false },
    ],
    [
      'an absolute core.hooksPath with an update hook',
      { hook: 'shared/update', hooksPath: (root) => join(root, 'shared'), push: true },
    ],
    [
      'a relative core.hooksPath, found from the git dir',
      { hook: 'repo/.git/mine/post-receive', hooksPath: () => 'mine', push: true },
    ],
    [
      'a relative core.hooksPath naming a work tree dir, where a push does not look',
      { hook: 'repo/mine/post-receive', hooksPath: () => 'mine', push: false },
    ],
    ['a core.hooksPath in another user’s home', { hooksPath: () => '~someone/hooks', push: true }],
  ])('tells whether a push runs hooks: %s', async (_case, { hook, mode = 0o755, hooksPath, push }) => {
    if (hook) {
      await mkdir(dirname(join(root, hook)), { recursive: true });
      await writeFile(join(root, hook), '#!/bin/sh\n', { mode });
    }
    if (hooksPath) await gitIn(repo, 'config', 'core.hooksPath', hooksPath(root));

    const found = await localReceive(git, { gitDir: join(repo, '.git'), bare: false });

    expect(found.push).toBe(push);
  });
});
