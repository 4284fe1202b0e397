import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRepoFile } from './yaml-source.ts';

describe('readRepoFile', () => {
  let dir: string;
  let repo: string;
  const read = (relative: string) =>
    readRepoFile(repo, relative, (error) => new Error(`refused: ${error.message}`));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-repo-file-'));
    repo = join(dir, 'repo');
    await mkdir(join(repo, '.nightshift'), { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file of the repository, also through a link inside it, and nothing for a missing one', async () => {
    await writeFile(join(repo, 'shared.yml'), 'test: make\n');
    await symlink('../shared.yml', join(repo, '.nightshift', 'environment.yml'));

    expect(read('shared.yml')).toBe('test: make\n');
    expect(read('.nightshift/environment.yml')).toBe('test: make\n');
    expect(read('.nightshift/policy.yml')).toBeUndefined();
    expect(read('missing/policy.yml')).toBeUndefined();
  });

  it.each([
    [
      'a link to a host file',
      () => symlink(join(dir, 'secret'), join(repo, '.nightshift', 'policy.yml')),
      /leads out of the repository/,
    ],
    [
      'a link to a device',
      () => symlink('/dev/zero', join(repo, '.nightshift', 'policy.yml')),
      /leads out of the repository/,
    ],
    [
      'a linked directory on the way out of the repository',
      async () => {
        await rm(join(repo, '.nightshift'), { recursive: true });
        await symlink(dir, join(repo, '.nightshift'));
      },
      /leads out of the repository/,
    ],
    [
      'a fifo (without waiting for a writer)',
      async () => execFileSync('mkfifo', [join(repo, '.nightshift', 'policy.yml')]),
      /not a regular file/,
    ],
    ['a directory', () => mkdir(join(repo, '.nightshift', 'policy.yml')), /not a regular file/],
    [
      'a file of more than 1 MiB',
      () => writeFile(join(repo, '.nightshift', 'policy.yml'), 'x'.repeat(1024 * 1024 + 1)),
      /more than the 1048576/,
    ],
  ])('refuses %s, without reading it', async (_case, plant, message) => {
    await writeFile(join(dir, 'secret'), 'secret: 1\n');
    await writeFile(join(dir, 'policy.yml'), 'outside: 1\n');
    await plant();

    expect(() => read('.nightshift/policy.yml')).toThrow(message);
  });
});
