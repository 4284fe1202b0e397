import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Repo } from '../../core/run.ts';
import type {
  FetchOptions,
  OpenChangeInput,
  PublishInput,
  PublishResult,
  ResolvedRepo,
  ScmProvider,
} from '../types.ts';
import { baseExists, basePath, buildBase } from './checkout.ts';
import { createGit, type Git } from './git.ts';
import { KeyedLock } from './lock.ts';
import { mirrorExists, mirrorPath, resolveRef, safeSegment, updateMirror } from './mirror.ts';
import { publishChange } from './publish.ts';
import { RecentFetches } from './recent-fetches.ts';
import { resolveLocation } from './resolve.ts';

export interface LocalScmOptions {
  /** Bare mirrors, one per repo: `<mirrorsDir>/<repo id>.git` (the home's `mirrors/`). */
  mirrorsDir: string;
  /** Base checkouts shared read-only by runs: `<basesDir>/<repo id>/<commit>/` (the home's `bases/`). */
  basesDir: string;
  /** Private scratch space (git config, publish git dirs); default `tmp/` beside `mirrorsDir`. */
  tmpDir?: string;
}

/**
 * The SCM provider for git repositories on this machine, addressed by path or `file://` URL.
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
  private readonly mirrorsDir: string;
  private readonly basesDir: string;
  private readonly tmpDir: string;
  private readonly locks = new KeyedLock();
  private readonly fetches = new RecentFetches();
  private readonly building = new Map<string, Promise<{ dir: string; cached: boolean }>>();
  private gitReady: Promise<Git> | undefined;

  constructor(options: LocalScmOptions) {
    this.mirrorsDir = resolve(options.mirrorsDir);
    this.basesDir = resolve(options.basesDir);
    this.tmpDir = resolve(options.tmpDir ?? join(dirname(this.mirrorsDir), 'tmp'));
  }

  /** Throws REPO_INVALID with a hint when `location` is not a local git repository with a commit. */
  async resolve(location: string): Promise<ResolvedRepo> {
    return resolveLocation(await this.git(), location);
  }

  /**
   * Updates the repo's mirror (one fetch at a time per repo) and returns the commit of `ref`;
   * with `freshAfter`, a fetch that started since then is reused (see `ScmProvider.fetch`).
   */
  async fetch(repo: Repo, ref?: string, options: FetchOptions = {}): Promise<{ commit: string }> {
    const git = await this.git();
    const mirror = mirrorPath(this.mirrorsDir, repo.id);
    await this.fetches.run(mirror, options.freshAfter, () =>
      this.withMirrorLock(repo, () => updateMirror(git, mirror, repo)),
    );
    const commit = await resolveRef(git, mirror, repo, ref ?? `refs/heads/${repo.defaultBranch}`);
    return { commit };
  }

  /** The shared base checkout of `commit` (a full sha, or any ref the mirror knows). */
  async checkout(repo: Repo, commit: string): Promise<{ dir: string; cached: boolean }> {
    const git = await this.git();
    const mirror = mirrorPath(this.mirrorsDir, repo.id);
    const sha = /^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit) ? commit : await this.lookUp(git, repo, commit);
    const dir = basePath(this.basesDir, safeSegment(repo.id, 'repo id'), sha);
    if (await baseExists(dir)) return { dir, cached: true };

    const pending = this.building.get(dir);
    if (pending) return pending.then(({ dir }) => ({ dir, cached: true }));
    const build = (async () => {
      // A commit made after the last fetch is found by fetching once more.
      if (!(await mirrorExists(mirror)) || !(await hasCommit(git, mirror, sha))) {
        await this.fetch(repo);
        await resolveRef(git, mirror, repo, sha);
      }
      const built = await buildBase(git, mirror, dir, sha);
      return { dir, cached: !built };
    })();
    this.building.set(dir, build);
    try {
      return await build;
    } finally {
      this.building.delete(dir);
    }
  }

  /** Commits the workspace on top of the base and pushes `branch` to the source; null when nothing changed. */
  async publish(input: PublishInput): Promise<PublishResult | null> {
    const git = await this.git();
    const mirror = mirrorPath(this.mirrorsDir, input.repo.id);
    if (!(await mirrorExists(mirror))) await this.fetch(input.repo);
    const result = await publishChange(
      { git, mirror, tmpDir: this.tmpDir, withMirrorLock: (fn) => this.withMirrorLock(input.repo, fn) },
      input,
    );
    // The branch is pushed either way; a deferred change counts as opened when the rollout says so.
    return result && input.deferOpen ? { ...result, state: 'pending' } : result;
  }

  /** Local repos have no pull requests: the pushed branch is the change. */
  async openChange(_input: OpenChangeInput): Promise<{ state: string; url: string | null }> {
    return { state: 'local', url: null };
  }

  private async lookUp(git: Git, repo: Repo, ref: string): Promise<string> {
    const mirror = mirrorPath(this.mirrorsDir, repo.id);
    if (!(await mirrorExists(mirror))) return (await this.fetch(repo, ref)).commit;
    return resolveRef(git, mirror, repo, ref);
  }

  private async withMirrorLock<T>(repo: Repo, fn: () => Promise<T>): Promise<T> {
    const mirror = mirrorPath(this.mirrorsDir, repo.id);
    await mkdir(this.mirrorsDir, { recursive: true });
    return this.locks.run(mirror, `${mirror}.lock`, fn);
  }

  private git(): Promise<Git> {
    this.gitReady ??= createGit(this.tmpDir);
    return this.gitReady;
  }
}

async function hasCommit(git: Git, mirror: string, sha: string): Promise<boolean> {
  const result = await git(['--git-dir', mirror, 'cat-file', '-e', `${sha}^{commit}`], {
    okExitCodes: [1, 128],
  });
  return result.exitCode === 0;
}
