import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitAll, gitIn, makeRepo, tempDir, writeFiles } from '../../../test/support/repos.ts';
import { readBranchCommit } from './refs.ts';

describe('readBranchCommit', () => {
  let cleanup: () => Promise<void>;
  let repo: string;
  let gitDir: string;
  let head: string;

  beforeEach(async () => {
    let root: string;
    ({ dir: root, cleanup } = await tempDir());
    repo = join(root, 'repo');
    await makeRepo(repo, { 'a.txt': 'a\n' });
    await writeFiles(repo, { 'a.txt': 'b\n' });
    head = await commitAll(repo, 'second');
    gitDir = join(repo, '.git');
  });

  afterEach(async () => {
    await cleanup();
  });

  it('reads a loose branch naming a loose commit, as git does', async () => {
    expect(await readBranchCommit(gitDir, 'refs/heads/main')).toBe(head);
    expect(head).toBe(await gitIn(repo, 'rev-parse', 'refs/heads/main^{commit}'));
  });

  it('reads a branch from packed-refs, and a loose ref before a stale packed line', async () => {
    await gitIn(repo, 'pack-refs', '--all');
    expect(await readBranchCommit(gitDir, 'refs/heads/main')).toBe(head);
    const first = await gitIn(repo, 'rev-parse', 'HEAD~1');
    await gitIn(repo, 'update-ref', 'refs/heads/main', first);
    expect(await readBranchCommit(gitDir, 'refs/heads/main')).toBe(first);
  });

  it('reads a commit whose object is bigger than the part of it read (a long message)', async () => {
    // Random text does not compress: the object file is far bigger than the first KiB read.
    await writeFiles(repo, { 'a.txt': 'c\n' });
    const message = randomBytes(32 * 1024).toString('base64');
    const long = await commitAll(repo, message);

    const read = await readBranchCommit(gitDir, 'refs/heads/main');

    expect(read).toBe(long);
  });

  it.each([
    [
      'a branch naming a big blob, not a commit',
      'refs/heads/blob',
      async () => {
        await writeFile(join(repo, 'big'), randomBytes(64 * 1024));
        const blob = await gitIn(repo, 'hash-object', '-w', 'big');
        await writeFile(join(gitDir, 'refs/heads/blob'), `${blob}\n`);
      },
    ],
    ['a branch that does not exist', 'refs/heads/nope', async () => {}],
    ['a ref outside refs/heads', 'refs/tags/v1', async () => gitIn(repo, 'tag', 'v1')],
    ['a path leaving refs/heads', 'refs/heads/../../HEAD', async () => {}],
    ['a directory of branches', 'refs/heads/team', async () => gitIn(repo, 'branch', 'team/x')],
    [
      'a symbolic ref',
      'refs/heads/alias',
      async () => gitIn(repo, 'symbolic-ref', 'refs/heads/alias', 'refs/heads/main'),
    ],
    [
      'a branch naming an annotated tag, not a commit',
      'refs/heads/tagged',
      async () => {
        await gitIn(repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'tag', '-a', '-m', 'v2', 'v2');
        // Git refuses to make a branch of it; a hand-edited ref file does not.
        await writeFile(join(gitDir, 'refs/heads/tagged'), `${await gitIn(repo, 'rev-parse', 'v2')}\n`);
      },
    ],
    ['a commit in a pack', 'refs/heads/main', async () => gitIn(repo, 'gc', '--quiet')],
    [
      'a ref file that is not a sha',
      'refs/heads/main',
      async () => writeFile(join(gitDir, 'refs/heads/main'), 'junk\n'),
    ],
  ])('leaves %s to git', async (_case, ref, arrange) => {
    await arrange();
    expect(await readBranchCommit(gitDir, ref)).toBeNull();
  });
});
