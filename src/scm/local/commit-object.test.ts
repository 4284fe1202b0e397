import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitIn, makeRepo, tempDir, writeFiles } from '../../../test/support/repos.ts';
import { type CommitFields, writeCommitObject } from './commit-object.ts';
import { createGit, type Git } from './git.ts';

describe('writeCommitObject', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let git: Git;

  beforeAll(async () => {
    ({ dir: root, cleanup } = await tempDir());
    git = await createGit(join(root, 'state'));
  });

  afterAll(async () => {
    await cleanup();
  });

  /** What `git commit-tree` makes of the same fields in `repo`. */
  async function gitsCommit(repo: string, fields: CommitFields): Promise<string> {
    const date = `@${fields.seconds} +0000`;
    const { name, email } = fields.author;
    const { stdout } = await git(['-C', repo, 'commit-tree', fields.tree, '-p', fields.parent], {
      input: fields.message,
      env: {
        GIT_AUTHOR_NAME: name,
        GIT_AUTHOR_EMAIL: email,
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_NAME: name,
        GIT_COMMITTER_EMAIL: email,
        GIT_COMMITTER_DATE: date,
      },
    });
    return stdout.trim();
  }

  async function baseOf(repo: string): Promise<{ tree: string; parent: string }> {
    const [tree, parent] = (await gitIn(repo, 'rev-parse', 'HEAD^{tree}', 'HEAD')).trim().split('\n');
    return { tree: tree!, parent: parent! };
  }

  it.each([
    [
      'a plain identity',
      { name: 'Nightshift', email: 'nightshift@localhost' },
      'Fix it\n\nNightshift-Run: run_1\n',
    ],
    [
      'a name with spaces, a dot and letters beyond ASCII',
      { name: 'Zoë O. Ng', email: 'zoë.ng@example.com' },
      'Übersetzung “fixed”\n\nBody line\n\tindented\n\nNightshift-Run: run_2\n',
    ],
  ])('writes the commit git writes, one git can read, with %s', async (_case, author, message) => {
    const repo = join(root, `repo-${author.name.length}`);
    await makeRepo(repo, { 'a.txt': 'a\n' });
    const fields = { ...(await baseOf(repo)), author, seconds: 1_765_000_000, message };
    const id = await writeCommitObject(join(repo, '.git', 'objects'), fields);
    expect(await gitIn(repo, 'cat-file', '-t', id!)).toBe('commit');
    expect(await gitIn(repo, 'log', '-1', '--format=%an|%ae|%at|%cn|%s', id!)).toBe(
      `${author.name}|${author.email}|1765000000|${author.name}|${message.split('\n')[0]}`,
    );
    await gitIn(repo, 'fsck', '--strict', '--no-dangling');
    expect(id).toBe(await gitsCommit(repo, fields));
  });

  it('writes the commit git writes in a repository with SHA-256 object names', async () => {
    const repo = join(root, 'sha256');
    await gitIn(root, 'init', '-q', '--object-format=sha256', repo);
    await writeFiles(repo, { 'a.txt': 'a\n' });
    await gitIn(repo, 'add', '-A');
    await gitIn(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init');
    const fields = {
      ...(await baseOf(repo)),
      author: { name: 'Nightshift', email: 'nightshift@localhost' },
      seconds: 1_765_000_000,
      message: 'Change\n\nNightshift-Run: run_3\n',
    };
    const id = await writeCommitObject(join(repo, '.git', 'objects'), fields);
    expect(id).toHaveLength(64);
    await gitIn(repo, 'fsck', '--strict', '--no-dangling');
    expect(id).toBe(await gitsCommit(repo, fields));
  });

  it.each([
    ['a name starting with a space', { name: ' Bot', email: 'bot@example.com' }, 'm\n'],
    ['a name ending with a quote', { name: "Bot'", email: 'bot@example.com' }, 'm\n'],
    ['a name ending with a dot (git 2.39 drops it)', { name: 'Ng Jr.', email: 'ng@example.com' }, 'm\n'],
    ['an email with <', { name: 'Bot', email: 'bot<x>@example.com' }, 'm\n'],
    ['an email ending with ;', { name: 'Bot', email: 'bot@example.com;' }, 'm\n'],
    ['an empty name', { name: '', email: 'bot@example.com' }, 'm\n'],
    ['a message with a NUL', { name: 'Bot', email: 'bot@example.com' }, 'a\0b\n'],
  ])('leaves %s to git (which would change it), writing nothing', async (_case, author, message) => {
    const objects = join(root, 'untouched');
    const fields = { tree: 'a'.repeat(40), parent: 'b'.repeat(40), author, seconds: 0, message };
    expect(await writeCommitObject(objects, fields)).toBeNull();
  });
});
