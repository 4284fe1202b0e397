import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitIn, makeRepo, tempDir, writeFiles } from '../../../test/support/repos.ts';
import { type StagedGit, stagedDiff } from './diff.ts';
import { createGit } from './git.ts';

describe('stagedDiff', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let repo: string;
  let base: string;
  let staged: StagedGit;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir());
    repo = join(root, 'repo');
    base = await makeRepo(repo, { 'a.txt': 'one\ntwo\n', 'gone.txt': 'bye\n' });
    const git = await createGit(join(root, 'state'));
    staged = (args, options) => git(['-C', repo, ...args], options);
  });

  afterEach(async () => {
    await cleanup();
  });

  async function stage(files: Record<string, string>, remove: string[] = []): Promise<void> {
    await writeFiles(repo, files);
    for (const path of remove) await rm(join(repo, path));
    await gitIn(repo, 'add', '-A');
  }

  it('is empty when nothing is staged', async () => {
    expect(await stagedDiff(staged, base)).toEqual({
      nested: [],
      diffstat: { files: 0, insertions: 0, deletions: 0, perFile: [] },
      diff: '',
    });
  });

  it('gives the diffstat and the patch of what is staged, a file with a tab in its name included', async () => {
    await stage({ 'a.txt': 'one\n2\n', 'new\tfile.txt': 'x\n' }, ['gone.txt']);
    const { nested, diffstat, diff } = await stagedDiff(staged, base);
    expect(nested).toEqual([]);
    expect(diffstat).toEqual({
      files: 3,
      insertions: 2,
      deletions: 2,
      perFile: [
        { path: 'a.txt', insertions: 1, deletions: 1 },
        { path: 'gone.txt', insertions: 0, deletions: 1 },
        { path: 'new\tfile.txt', insertions: 1, deletions: 0 },
      ],
    });
    expect(diff).toContain('-two\n+2\n');
    expect(diff).toContain('deleted file mode 100644');
  });

  it('names a nested repository, which would be committed as a gitlink', async () => {
    await makeRepo(join(repo, 'vendor/lib'), { 'x.txt': 'x\n' });
    await gitIn(repo, 'add', '-A');
    const { nested, diffstat } = await stagedDiff(staged, base);
    expect(nested).toEqual(['vendor/lib/']);
    expect(diffstat.files).toBe(1);
  });

  it('cuts a patch longer than the limit at a line end and says so', async () => {
    await stage({ 'a.txt': `${'changed line\n'.repeat(200)}` });
    const { diffstat, diff } = await stagedDiff(staged, base, 1000);
    expect(diffstat.perFile).toEqual([{ path: 'a.txt', insertions: 200, deletions: 2 }]);
    expect(Buffer.byteLength(diff)).toBeLessThan(1100);
    expect(diff).toMatch(
      /\n\[diff truncated by Nightshift at 1000 bytes; see the branch for the whole change\]\n$/,
    );
  });

  it('asks for the records and the patch separately when the records alone pass the limit', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++) files[`file-with-a-long-name-${i}.txt`] = `${i}\n`;
    await stage(files);
    const { diffstat, diff } = await stagedDiff(staged, base, 1000);
    expect(diffstat.files).toBe(60);
    expect(diffstat.insertions).toBe(60);
    expect(diff).toMatch(/\[diff truncated by Nightshift at 1000 bytes/);
  });
});
