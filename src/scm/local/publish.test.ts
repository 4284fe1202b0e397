import { access, chown, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  commitAll,
  gitIn,
  makeRepo,
  nightshiftBranches,
  repoAt,
  tempDir,
  writeFiles,
} from '../../../test/support/repos.ts';
import type { Repo } from '../../core/run.ts';
import { directoryView } from '../../sandbox/view.ts';
import { assertBranchName } from '../branch.ts';
import type { PublishInput } from '../types.ts';
import { createGit } from './git.ts';
import { LocalScmProvider } from './index.ts';
import { publishChange } from './publish.ts';

describe('LocalScmProvider.publish', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let source: string;
  let base: string;
  let repo: Repo;
  let scm: LocalScmProvider;
  let workspace: string;

  beforeEach(async () => {
    ({ dir: root, cleanup } = await tempDir());
    source = join(root, 'source');
    base = await makeRepo(source, {
      'README.md': 'hello\n',
      'src/app.ts': 'one\ntwo\nthree\n',
      'old.txt': 'bye\n',
      '.gitignore': 'node_modules/\n*.log\n',
    });
    repo = repoAt(source);
    scm = new LocalScmProvider({
      mirrorsDir: join(root, 'home/mirrors'),
      basesDir: join(root, 'home/bases'),
    });
    await scm.fetch(repo);
    const { dir } = await scm.checkout(repo, base);
    // The run's workspace: a writable copy of the base, as the sandbox's overlay would show it.
    workspace = join(root, 'workspace');
    await cp(dir, workspace, { recursive: true });
  });

  afterEach(async () => {
    await cleanup();
  });

  function input(overrides: Partial<PublishInput> = {}): PublishInput {
    return {
      repo,
      runId: 'run_01testrun',
      baseCommit: base,
      branch: 'nightshift/fix-readme',
      title: 'Fix the readme',
      body: 'The readme said hello; now it says more.',
      author: { name: 'Nightshift Bot', email: 'bot@nightshift.example' },
      date: new Date('2025-01-02T03:04:05Z'),
      workspace: directoryView(workspace),
      ...overrides,
    };
  }

  async function editWorkspace() {
    await writeFiles(workspace, { 'src/app.ts': 'one\n2\nthree\nfour\n', 'docs/new.md': 'new\n' });
    await rm(join(workspace, 'old.txt'));
  }

  it('commits modified, added and deleted files on the branch in the source repo', async () => {
    await editWorkspace();

    const result = await scm.publish(input());

    expect(result).not.toBeNull();
    const head = await gitIn(source, 'rev-parse', 'refs/heads/nightshift/fix-readme');
    expect(result!.headCommit).toBe(head);
    expect(await gitIn(source, 'rev-parse', `${head}^`)).toBe(base);
    expect((await gitIn(source, 'ls-tree', '-r', '--name-only', head)).split('\n')).toEqual([
      '.gitignore',
      'README.md',
      'docs/new.md',
      'src/app.ts',
    ]);
    expect(await gitIn(source, 'show', `${head}:src/app.ts`)).toBe('one\n2\nthree\nfour');
    expect(result!.url).toBeNull();
  });

  it('writes the message with the run trailer and the configured author, committer and date', async () => {
    await editWorkspace();

    const { headCommit } = (await scm.publish(input()))!;

    const format = '%an <%ae>|%cn <%ce>|%aI|%cI';
    expect(await gitIn(source, 'show', '-s', `--format=${format}`, headCommit)).toBe(
      'Nightshift Bot <bot@nightshift.example>|Nightshift Bot <bot@nightshift.example>|' +
        '2025-01-02T03:04:05+00:00|2025-01-02T03:04:05+00:00',
    );
    expect(await gitIn(source, 'show', '-s', '--format=%B', headCommit)).toBe(
      'Fix the readme\n\nThe readme said hello; now it says more.\n\nNightshift-Run: run_01testrun',
    );
    expect(
      await gitIn(source, 'show', '-s', '--format=%(trailers:key=Nightshift-Run,valueonly)', headCommit),
    ).toBe('run_01testrun');
  });

  it('leaves an identity git would change to git, which writes it as it always has', async () => {
    await editWorkspace();

    const author = { name: 'Release Bot Jr.', email: '<bot@nightshift.example>' };
    const { headCommit } = (await scm.publish(input({ author })))!;

    expect(await gitIn(source, 'show', '-s', '--format=%an <%ae>|%cn', headCommit)).toBe(
      'Release Bot Jr <bot@nightshift.example>|Release Bot Jr',
    );
  });
  it('returns the diffstat and the diff, counting a binary file as changed', async () => {
    await editWorkspace();
    await writeFile(join(workspace, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0, 3]));

    const { diffstat, diff } = (await scm.publish(input()))!;

    expect(diffstat).toEqual({
      files: 4,
      insertions: 3,
      deletions: 2,
      perFile: [
        { path: 'docs/new.md', insertions: 1, deletions: 0 },
        { path: 'logo.png', insertions: 0, deletions: 0 },
        { path: 'old.txt', insertions: 0, deletions: 1 },
        { path: 'src/app.ts', insertions: 2, deletions: 1 },
      ],
    });
    expect(diff).toContain('diff --git a/src/app.ts b/src/app.ts');
    expect(diff).toContain('-two\n+2\n');
    expect(diff).toContain('Binary files /dev/null and b/logo.png differ');
  });

  it('returns null and creates no branch when the files equal the base', async () => {
    await writeFiles(workspace, { 'debug.log': 'ignored\n' });

    const result = await scm.publish(input());

    expect(result).toBeNull();
    expect(await gitIn(source, 'branch', '--format=%(refname:short)')).toBe('main');
  });

  it('pushes nothing when the review refuses the change, and says why', async () => {
    await editWorkspace();
    const seen: string[][] = [];

    const result = scm.publish(
      input({
        review: ({ diffstat }) => {
          seen.push(diffstat.perFile.map((file) => file.path));
          return 'the change touches a protected path';
        },
      }),
    );

    await expect(result).rejects.toMatchObject({
      code: 'POLICY_DENIED',
      reason: 'the change touches a protected path',
    });
    expect(seen[0]!.length).toBeGreaterThan(0);
    expect(await gitIn(source, 'branch', '--format=%(refname:short)')).toBe('main');
  });

  it('never commits the workspace’s .git, even with extra commits, and runs none of its hooks', async () => {
    await writeFiles(workspace, { 'agent.txt': 'from the agent\n' });
    await commitAll(workspace, 'agent commit');
    const marker = join(root, 'hook-ran');
    const hook = `#!/bin/sh\ntouch ${marker}\n`;
    for (const name of [
      'pre-commit',
      'post-commit',
      'post-index-change',
      'pre-push',
      'reference-transaction',
    ]) {
      await mkdir(join(workspace, '.git/hooks'), { recursive: true });
      await writeFile(join(workspace, '.git/hooks', name), hook, { mode: 0o755 });
    }
    await gitIn(workspace, 'config', 'core.hooksPath', join(workspace, '.git/hooks'));

    const { headCommit } = (await scm.publish(input()))!;

    const files = (await gitIn(source, 'ls-tree', '-r', '--name-only', headCommit)).split('\n');
    expect(files).toContain('agent.txt');
    expect(files.filter((f) => f.startsWith('.git/') || f.includes('/.git/'))).toEqual([]);
    expect(await gitIn(source, 'rev-parse', `${headCommit}^`)).toBe(base);
    await expect(access(marker)).rejects.toThrow();
  });

  it('does not commit gitignored files', async () => {
    await writeFiles(workspace, {
      'node_modules/pkg/index.js': 'x\n',
      'build.log': 'log\n',
      'kept.txt': 'kept\n',
    });

    const { headCommit } = (await scm.publish(input()))!;

    const files = (await gitIn(source, 'ls-tree', '-r', '--name-only', headCommit)).split('\n');
    expect(files).toContain('kept.txt');
    expect(files.filter((f) => f.startsWith('node_modules') || f.endsWith('.log'))).toEqual([]);
  });

  it('gives the same commit when published twice with the same files and date', async () => {
    await editWorkspace();
    const firstResult = (await scm.publish(input()))!;

    const again = (await scm.publish(input()))!;

    expect(again.headCommit).toBe(firstResult.headCommit);
    expect(await gitIn(source, 'rev-parse', 'refs/heads/nightshift/fix-readme')).toBe(firstResult.headCommit);
  });

  it('overwrites the run’s branch on a retry with different files', async () => {
    await editWorkspace();
    const firstResult = (await scm.publish(input()))!;
    await writeFiles(workspace, { 'README.md': 'changed again\n' });

    const retry = (await scm.publish(input()))!;

    expect(retry.headCommit).not.toBe(firstResult.headCommit);
    expect(await gitIn(source, 'rev-parse', 'refs/heads/nightshift/fix-readme')).toBe(retry.headCommit);
    expect(await gitIn(source, 'rev-parse', `${retry.headCommit}^`)).toBe(base);
  });

  it('lets a later run start from the branch, and cleans up its temp dirs', async () => {
    await editWorkspace();

    const { headCommit } = (await scm.publish(input()))!;
    const { commit } = await scm.fetch(repoAt(source), 'nightshift/fix-readme');

    expect(commit).toBe(headCommit);
    expect((await readdir(join(root, 'home/tmp'))).filter((f) => f.startsWith('publish-'))).toEqual([]);
  });

  it.each([
    ['with commits', true],
    ['without commits', false],
  ])('refuses a nested git repository %s in the workspace with a hint', async (_case, withCommits) => {
    if (withCommits) await makeRepo(join(workspace, 'vendor/lib'), { 'lib.js': 'x\n' });
    else {
      await writeFiles(workspace, { 'vendor/lib/lib.js': 'x\n' });
      await gitIn(join(workspace, 'vendor/lib'), 'init', '--quiet');
    }

    const error = await scm.publish(input()).catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'SCM_FAILED',
      message: expect.stringContaining('vendor/lib'),
      hint: expect.stringMatching(/nested .*\.gitignore|\.git directories or list them in \.gitignore/),
    });
  });

  it.runIf(process.getuid?.() === 0)(
    'works as root on a source repository owned by another user',
    async () => {
      await editWorkspace();
      await gitIn(root, 'clone', '--quiet', '--bare', source, join(root, 'theirs.git'));
      await chownTree(join(root, 'theirs.git'), 65534);
      await chownTree(workspace, 65534);
      const theirs = repoAt(join(root, 'theirs.git'), 'repo_theirs');
      const found = await scm.resolve(theirs.url);
      const { commit } = await scm.fetch(theirs);
      await scm.checkout(theirs, commit);

      const result = await scm.publish(input({ repo: theirs }));

      expect(found.defaultBranch).toBe('main');
      expect(result!.headCommit).toMatch(/^[0-9a-f]{40}$/);
    },
  );

  it('keeps a tracked file that .gitignore matches, as git add would', async () => {
    await writeFiles(source, { 'build.log': 'tracked on purpose\n' });
    await gitIn(source, 'add', '--force', 'build.log');
    const tracked = await commitAll(source, 'track a log');
    const { dir } = await scm.checkout(repo, tracked);
    await rm(workspace, { recursive: true, force: true });
    await cp(dir, workspace, { recursive: true });
    await writeFiles(workspace, { 'README.md': 'changed\n' });

    const { headCommit } = (await scm.publish(input({ baseCommit: tracked })))!;

    expect(await gitIn(source, 'show', `${headCommit}:build.log`)).toBe('tracked on purpose');
  });

  it.each([
    'nightshift/fix-readme',
    'a.b/c_d-e',
    'bad..name',
    '.hidden',
    'dir/.hidden',
    'x.lock',
    'dir/x.lock/y',
    'ends.',
    'ends/',
    '/starts',
    'two//slashes',
    'at@{brace',
    '@',
    'has space',
    'tab\there',
    'tilde~1',
    'caret^',
    'colon:x',
    'question?',
    'star*',
    'bracket[',
    'back\\slash',
    'del\x7f',
    'unicode-é',
    '-option',
  ])('agrees with git check-ref-format on %j', async (branch) => {
    const ours = await (async () => {
      try {
        assertBranchName(branch);
        return true;
      } catch {
        return false;
      }
    })();

    const git = await gitIn(root, 'check-ref-format', `refs/heads/${branch}`).then(
      () => !branch.startsWith('-'),
      () => false,
    );

    expect(ours).toBe(git);
  });

  it('leaves the source repository complete: every object of the branch is in its own store', async () => {
    await editWorkspace();

    const { headCommit } = (await scm.publish(input()))!;

    // The run's private git dir is gone: fsck of the source alone finds every object.
    await gitIn(source, 'fsck', '--strict', '--no-dangling');
    expect(await gitIn(source, 'show', `${headCommit}:docs/new.md`)).toBe('new');
  });

  it('refuses the branch the source or one of its worktrees has checked out, as a push would', async () => {
    await editWorkspace();
    await gitIn(source, 'worktree', 'add', '--quiet', '-b', 'nightshift/in-worktree', join(root, 'wt'));

    for (const branch of ['main', 'nightshift/in-worktree']) {
      const before = await gitIn(source, 'rev-parse', branch);
      const error = await scm.publish(input({ branch })).catch((e: unknown) => e);

      expect(error).toMatchObject({
        code: 'CONFLICT',
        message: `${branch} is checked out in the repository`,
      });
      expect(await gitIn(source, 'rev-parse', branch)).toBe(before);
    }
  });

  it('writes the branch into a bare repository, its HEAD branch included', async () => {
    const bare = join(root, 'bare.git');
    await gitIn(root, 'clone', '--quiet', '--bare', source, bare);
    await editWorkspace();

    const { headCommit } = (await scm.publish(input({ repo: repoAt(bare), branch: 'main' })))!;

    expect(await gitIn(bare, 'rev-parse', 'main')).toBe(headCommit);
    await gitIn(bare, 'fsck', '--strict', '--no-dangling');
  });

  it('pushes to a repository given by URL with a lease: never over a commit someone else pushed', async () => {
    // What the GitHub provider does: no local target, the branch goes by `git push`.
    const remote = join(root, 'remote.git');
    await gitIn(root, 'clone', '--quiet', '--bare', source, remote);
    const { dir } = await scm.checkout(repo, base);
    const ctx = {
      git: await createGit(join(root, 'push-state')),
      objects: join(dir, '.git', 'objects'),
      tmpDir: join(root, 'push-tmp'),
    };
    const push = (expectedHead: string | null) =>
      publishChange(ctx, input({ repo: repoAt(remote), expectedHead }));
    await editWorkspace();

    const first = (await push(null))!;
    expect(await gitIn(remote, 'rev-parse', 'nightshift/fix-readme')).toBe(first.headCommit);
    await writeFiles(workspace, { 'README.md': 'other\n' });
    expect(await push(null).catch((e: unknown) => e)).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('Nightshift expected it not to exist'),
    });

    // Someone else moves the branch: a push leased on Nightshift's last head refuses.
    await gitIn(remote, 'update-ref', 'refs/heads/nightshift/fix-readme', base);
    await writeFiles(workspace, { 'README.md': 'again\n' });
    const refused = await push(first.headCommit).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining(`Nightshift expected it at ${first.headCommit.slice(0, 12)}`),
    });
    expect(await gitIn(remote, 'rev-parse', 'nightshift/fix-readme')).toBe(base);

    // Once they delete it, the same push writes it anew.
    await gitIn(remote, 'update-ref', '-d', 'refs/heads/nightshift/fix-readme');
    const anew = (await push(first.headCommit))!;
    expect(await gitIn(remote, 'rev-parse', 'nightshift/fix-readme')).toBe(anew.headCommit);
  });

  it.each([
    ['directly', []],
    ['by a push', ['receive.fsckObjects', 'true']],
  ])(
    'writes a local branch %s with the same lease: refused over a moved branch, anew once deleted',
    async (_how, setting) => {
      if (setting.length) await gitIn(source, 'config', ...setting);
      await editWorkspace();
      const first = (await scm.publish(input({ expectedHead: null })))!;
      // A retry that finds its own commit there already (it crashed after writing it) is done.
      expect((await scm.publish(input({ expectedHead: null })))!.headCommit).toBe(first.headCommit);
      await gitIn(source, 'update-ref', 'refs/heads/nightshift/fix-readme', base);

      const refused = await scm.publish(input({ expectedHead: first.headCommit })).catch((e: unknown) => e);

      expect(refused).toMatchObject({ code: 'CONFLICT' });
      expect(await gitIn(source, 'rev-parse', 'nightshift/fix-readme')).toBe(base);
      await gitIn(source, 'update-ref', '-d', 'refs/heads/nightshift/fix-readme');
      const anew = (await scm.publish(input({ expectedHead: first.headCommit })))!;
      expect(await gitIn(source, 'rev-parse', 'nightshift/fix-readme')).toBe(anew.headCommit);
      expect((await reflog(source, 'nightshift/fix-readme'))[0]).toBe(
        setting.length ? 'push' : 'nightshift: publish',
      );
    },
  );

  it('writes a plain repository’s branch directly, not by a push', async () => {
    // Hooks a push never runs, and a receive hook git would skip: it is not executable.
    await writeFile(join(source, '.git/hooks/pre-commit'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    await writeFile(join(source, '.git/hooks/pre-receive'), '#!/bin/sh\nexit 1\n', { mode: 0o644 });
    await editWorkspace();

    await scm.publish(input());

    // `git update-ref -m` writes this; a push's receive-pack writes "push".
    expect(await reflog(source, 'nightshift/fix-readme')).toEqual(['nightshift: publish']);
  });

  it.each(['pre-receive', 'update', 'post-receive', 'post-update', 'reference-transaction'])(
    'pushes to a repository with a %s hook, which runs as for a push',
    async (name) => {
      const marker = join(root, 'hook-ran');
      await writeHook(join(source, '.git/hooks'), name, `touch ${marker}`);
      await editWorkspace();

      const { headCommit } = (await scm.publish(input()))!;

      await access(marker);
      expect(await gitIn(source, 'rev-parse', 'nightshift/fix-readme')).toBe(headCommit);
      expect(await reflog(source, 'nightshift/fix-readme')).toEqual(['push']);
    },
  );

  it.each([
    ['its hooks dir', 'source/.git/hooks', null],
    ['an absolute core.hooksPath', 'shared-hooks', (dir: string) => dir],
    // Git runs a push's hooks in the git dir: a relative path starts there.
    ['a relative core.hooksPath', 'source/.git/custom-hooks', () => 'custom-hooks'],
  ])(
    'runs the post-receive hook in %s after writing the branch, and no other hook',
    async (_case, dir, config) => {
      const hooks = join(root, dir);
      if (config) await gitIn(source, 'config', 'core.hooksPath', config(hooks));
      const received = join(root, 'received');
      const other = join(root, 'other-hook-ran');
      await writeHook(hooks, 'post-receive', `cat > ${received}`);
      for (const name of ['pre-commit', 'post-commit', 'post-checkout', 'pre-push', 'post-merge']) {
        await writeHook(hooks, name, `touch ${other}`);
      }
      await editWorkspace();

      const { headCommit } = (await scm.publish(input()))!;

      expect(await readFile(received, 'utf8')).toBe(
        `${'0'.repeat(40)} ${headCommit} refs/heads/nightshift/fix-readme\n`,
      );
      await expect(access(other)).rejects.toThrow();
    },
  );

  it.runIf(process.getuid?.() === 0).each([
    ['directly', []],
    ['by a push without its hooks', ['receive.fsckObjects', 'true']],
  ])(
    'runs no hook of a repository another user owns, as root: writes the branch %s',
    async (_how, setting) => {
      // Their hook would run as root: the attack is a post-receive that takes over the host.
      const marker = join(root, 'their-hook-ran');
      const theirs = join(root, 'theirs.git');
      const inTheirs = (...args: string[]) =>
        gitIn(root, '-c', 'safe.directory=*', '--git-dir', theirs, ...args);
      await gitIn(root, 'clone', '--quiet', '--bare', source, theirs);
      // A bare repository keeps no reflog unless told to: it tells a push from the direct write.
      await inTheirs('config', 'core.logAllRefUpdates', 'true');
      if (setting.length) await inTheirs('config', ...setting);
      await writeHook(join(theirs, 'hooks'), 'post-receive', `touch ${marker}`);
      await chownTree(theirs, 65534);
      await editWorkspace();

      const { headCommit } = (await scm.publish(input({ repo: repoAt(theirs) })))!;

      expect(await inTheirs('rev-parse', 'nightshift/fix-readme')).toBe(headCommit);
      expect(await inTheirs('reflog', 'show', '--format=%gs', 'refs/heads/nightshift/fix-readme')).toBe(
        setting.length ? 'push' : 'nightshift: publish',
      );
      await expect(access(marker)).rejects.toThrow();
    },
  );

  it('fails the publish with the message of a pre-receive hook that refuses it, and writes nothing', async () => {
    await writeHook(
      join(source, '.git/hooks'),
      'pre-receive',
      'echo "branches here start with team/" >&2\nexit 1',
    );
    await editWorkspace();

    const error = await scm.publish(input()).catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'SCM_FAILED',
      message: expect.stringMatching(
        /refused branch nightshift\/fix-readme.*branches here start with team\//,
      ),
    });
    expect(await nightshiftBranches(source)).toEqual([]);
  });

  it('is refused a forced update by a repository with receive.denyNonFastForwards, as a push is', async () => {
    const bare = join(root, 'bare.git');
    await gitIn(root, 'clone', '--quiet', '--bare', source, bare);
    await gitIn(bare, 'config', 'receive.denyNonFastForwards', 'true');
    const publishToBare = (expectedHead: string | null) =>
      scm.publish(input({ repo: repoAt(bare), expectedHead }));
    await editWorkspace();
    const first = (await publishToBare(null))!;
    // A fleet's next run: a new commit on the base, leased on the last one, so not a fast-forward.
    await writeFiles(workspace, { 'README.md': 'from the next run\n' });

    const error = await publishToBare(first.headCommit).catch((e: unknown) => e);

    expect(error).toMatchObject({
      code: 'SCM_FAILED',
      message: expect.stringMatching(/refused branch nightshift\/fix-readme \(non-fast-forward\)/),
      hint: expect.stringContaining('receive.*'),
    });
    expect(await gitIn(bare, 'rev-parse', 'nightshift/fix-readme')).toBe(first.headCommit);
  });

  it('updates a checked-out branch and its work tree with receive.denyCurrentBranch=updateInstead', async () => {
    await gitIn(source, 'config', 'receive.denyCurrentBranch', 'updateInstead');
    await editWorkspace();

    const { headCommit } = (await scm.publish(input({ branch: 'main' })))!;

    expect(await gitIn(source, 'rev-parse', 'main')).toBe(headCommit);
    expect(await readFile(join(source, 'src/app.ts'), 'utf8')).toBe('one\n2\nthree\nfour\n');
    await expect(access(join(source, 'old.txt'))).rejects.toThrow();
    expect(await gitIn(source, 'status', '--porcelain')).toBe('');
  });

  it('refuses a checked-out branch with a CONFLICT when receive settings leave denyCurrentBranch alone', async () => {
    await gitIn(source, 'config', 'receive.fsckObjects', 'true');
    await editWorkspace();
    const before = await gitIn(source, 'rev-parse', 'main');

    const error = await scm.publish(input({ branch: 'main' })).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'CONFLICT', message: 'main is checked out in the repository' });
    expect(await gitIn(source, 'rev-parse', 'main')).toBe(before);
  });

  it('rejects an invalid branch name', async () => {
    await editWorkspace();

    const error = await scm.publish(input({ branch: 'bad..name' })).catch((e: unknown) => e);

    expect(error).toMatchObject({ code: 'INVALID_INPUT' });
  });
});

async function writeHook(dir: string, name: string, script: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
}

/** The reflog messages of a branch, newest first. */
async function reflog(repo: string, branch: string): Promise<string[]> {
  return (await gitIn(repo, 'reflog', 'show', '--format=%gs', `refs/heads/${branch}`)).split('\n');
}

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    await chown(join(entry.parentPath, entry.name), uid, uid);
  }
}
