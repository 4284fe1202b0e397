import { dirname, join, resolve } from 'node:path';
import { NightshiftError } from '../../core/errors.ts';
import type { Repo } from '../../core/run.ts';
import { isDirectory } from '../../core/sync-fs.ts';
import type {
  FetchOptions,
  GitAccess,
  OpenChangeInput,
  PublishInput,
  PublishResult,
  ResolvedRepo,
  ScmProvider,
} from '../types.ts';
import { baseExists, basePath, buildBase } from './checkout.ts';
import { createGit, type Git } from './git.ts';
import { resolveRef, safeSegment } from './mirror.ts';
import { publishChange } from './publish.ts';
import { isObjectId, readBranchCommit } from './refs.ts';
import { resolveLocation } from './resolve.ts';

export interface LocalScmOptions {
  /** The home's `mirrors/`: local repos are read in place and keep no mirror; its parent holds the default `tmpDir`. */
  mirrorsDir: string;
  /** Base checkouts shared read-only by runs: `<basesDir>/<repo id>/<commit>/` (the home's `bases/`). */
  basesDir: string;
  /** Private scratch space (git config, publish git dirs); default `tmp/` beside `mirrorsDir`. */
  tmpDir?: string;
}

/**
 * The SCM provider for git repositories on this machine, addressed by path or `file://` URL.
 * A local repository is read in place, with no mirror: refs are resolved in it, a base
 * checkout hard-links its objects, and a run's branch is pushed to it.
 *
 * @example
 * const paths = homePaths(resolveHome());
 * const scm = new LocalScmProvider({ mirrorsDir: paths.mirrors, basesDir: paths.bases });
 * const found = await scm.resolve('../my-repo');
 * const { commit } = await scm.fetch(repo);
 * const { dir } = await scm.checkout(repo, commit);
 */
export class LocalScmProvider implements ScmProvider {
  readonly name = 'local';
  private readonly basesDir: string;
  private readonly tmpDir: string;
  private readonly building = new Map<string, Promise<{ dir: string; cached: boolean }>>();
  private gitReady: Promise<Git> | undefined;

  constructor(options: LocalScmOptions) {
    this.basesDir = resolve(options.basesDir);
    this.tmpDir = resolve(options.tmpDir ?? join(dirname(resolve(options.mirrorsDir)), 'tmp'));
  }

  /** Throws REPO_INVALID with a hint when `location` is not a local git repository with a commit. */
  async resolve(location: string): Promise<ResolvedRepo> {
    return resolveLocation(await this.git(), location);
  }

  /** The commit `ref` (default: the default branch) names in the repository now. */
  async fetch(repo: Repo, ref?: string, _options: FetchOptions = {}): Promise<{ commit: string }> {
    const git = await this.git();
    const gitDir = await sourceGitDir(git, repo);
    const name = ref ?? `refs/heads/${repo.defaultBranch}`;
    // A branch is mostly read directly; git answers the rest, and says what is wrong.
    const commit = (await readBranchCommit(gitDir, name)) ?? (await resolveRef(git, gitDir, repo, name));
    return { commit };
  }

  /** The shared base checkout of `commit` (a full sha, or any ref the repository knows). */
  async checkout(repo: Repo, commit: string): Promise<{ dir: string; cached: boolean }> {
    const sha = isObjectId(commit) ? commit : (await this.fetch(repo, commit)).commit;
    const dir = basePath(this.basesDir, safeSegment(repo.id, 'repo id'), sha);
    if (baseExists(dir)) return { dir, cached: true };

    const pending = this.building.get(dir);
    if (pending) return pending.then(({ dir }) => ({ dir, cached: true }));
    const build = (async () => {
      const git = await this.git();
      const gitDir = await sourceGitDir(git, repo);
      const built = await buildBase(git, join(gitDir, 'objects'), dir, sha, repo.defaultBranch);
      return { dir, cached: !built };
    })();
    this.building.set(dir, build);
    try {
      return await build;
    } finally {
      this.building.delete(dir);
    }
  }

  /** Commits the workspace on top of the base and writes `branch` into the source repo; null when nothing changed. */
  async publish(input: PublishInput): Promise<PublishResult | null> {
    const git = await this.git();
    const base = await this.checkout(input.repo, input.baseCommit);
    const gitDir = await sourceGitDir(git, input.repo);
    const result = await publishChange(
      {
        git,
        target: { gitDir, bare: gitDir === input.repo.url },
        objects: join(base.dir, '.git', 'objects'),
        baseIndex: join(base.dir, '.git', 'index'),
        tmpDir: this.tmpDir,
      },
      input,
    );
    // The branch is pushed either way; a deferred change counts as opened when the rollout says so.
    return result && input.deferOpen ? { ...result, state: 'pending' } : result;
  }

  /** Local repos have no pull requests: the pushed branch is the change. */
  async openChange(_input: OpenChangeInput): Promise<{ state: string; url: string | null }> {
    return { state: 'local', url: null };
  }

  /** The repository itself, by its path. */
  async gitAccess(repo: Repo): Promise<GitAccess> {
    return { url: repo.url, env: {} };
  }

  private git(): Promise<Git> {
    this.gitReady ??= createGit(this.tmpDir);
    return this.gitReady;
  }
}

/**
 * The git directory of a local repository (where its objects and refs are): `.git` of a clone,
 * the repository itself when bare, else what git says (a worktree's or submodule's `.git` file).
 */
async function sourceGitDir(git: Git, repo: Repo): Promise<string> {
  if (!isDirectory(repo.url)) {
    throw new NightshiftError('REPO_INVALID', `${repo.url} does not exist any more`, {
      hint: 'check that the repository was not moved or deleted; add it again under its new path',
    });
  }
  const dotGit = join(repo.url, '.git');
  if (isDirectory(join(dotGit, 'objects'))) return dotGit;
  if (isDirectory(join(repo.url, 'objects')) && isDirectory(join(repo.url, 'refs'))) {
    return repo.url;
  }
  const result = await git(['rev-parse', '--path-format=absolute', '--git-common-dir'], {
    cwd: repo.url,
    okExitCodes: [128],
  });
  if (result.exitCode !== 0) {
    throw new NightshiftError('REPO_INVALID', `${repo.url} is no longer a git repository`, {
      hint: `git said: ${result.stderr.trim()}; check that the repository was not moved or deleted`,
    });
  }
  return result.stdout.trim();
}
