import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Repo } from '../../core/run.ts';
import { baseExists, basePath, buildBase } from '../local/checkout.ts';
import { createGit, type Git } from '../local/git.ts';
import { KeyedLock } from '../local/lock.ts';
import { mirrorExists, mirrorPath, resolveRef, safeSegment, updateMirror } from '../local/mirror.ts';
import { publishChange } from '../local/publish.ts';
import { RecentFetches } from '../local/recent-fetches.ts';
import { isObjectId } from '../local/refs.ts';
import type {
  FetchOptions,
  GitAccess,
  OpenChangeInput,
  PublishInput,
  PublishResult,
  ResolvedRepo,
  ScmProvider,
} from '../types.ts';
import { GithubApi } from './api.ts';
import type { GithubAuth } from './auth.ts';
import { type GithubRepoRef, githubRepoUrl, parseGithubLocation } from './location.ts';
import { pullRequestBody } from './pr-body.ts';

export { GithubApi, GithubApiError, type GithubPull } from './api.ts';
export { appJwt, type GithubAuth } from './auth.ts';
export { type GithubRepoRef, githubRepoUrl, parseGithubLocation } from './location.ts';

export interface GithubScmOptions {
  auth: GithubAuth;
  /** REST API base URL (default `https://api.github.com`; `https://HOST/api/v3` for GitHub Enterprise). */
  apiUrl?: string;
  /** Where git clones from (default `https://github.com`): `<gitUrl>/OWNER/NAME.git`. */
  gitUrl?: string;
  /** The web address repos are known by (default `https://github.com`). */
  webUrl?: string;
  /** Link to a run in the PR body, e.g. `https://nightshift.example.com/runs/{id}`. */
  runUrl?: (runId: string) => string;
  mirrorsDir: string;
  basesDir: string;
  tmpDir?: string;
}

/**
 * Repos on GitHub (`github:OWNER/NAME` or `https://github.com/OWNER/NAME`): mirrored and
 * checked out like local repos, fetched and pushed with an installation token that reaches
 * only the git command (an `http.extraHeader` in its environment; never in a config file, a
 * remote URL or a sandbox), and published as a pull request that is updated in place.
 */
export class GithubScmProvider implements ScmProvider {
  readonly name = 'github';
  readonly api: GithubApi;
  readonly webUrl: string;
  private readonly gitUrl: string;
  private readonly mirrorsDir: string;
  private readonly basesDir: string;
  private readonly tmpDir: string;
  private readonly locks = new KeyedLock();
  private readonly fetches = new RecentFetches();
  private gitReady: Promise<Git> | undefined;

  constructor(private readonly options: GithubScmOptions) {
    this.api = new GithubApi({ apiUrl: options.apiUrl, auth: options.auth });
    this.webUrl = (options.webUrl ?? 'https://github.com').replace(/\/+$/, '');
    this.gitUrl = (options.gitUrl ?? 'https://github.com').replace(/\/+$/, '');
    this.mirrorsDir = resolve(options.mirrorsDir);
    this.basesDir = resolve(options.basesDir);
    this.tmpDir = resolve(options.tmpDir ?? join(dirname(this.mirrorsDir), 'tmp'));
  }

  /** True when `location` (or a repo URL) names a repo on this GitHub. */
  handles(location: string): boolean {
    return (
      location.startsWith('github:') || location.toLowerCase().startsWith(`${this.webUrl.toLowerCase()}/`)
    );
  }

  /** Owner and name of a repo of this provider. */
  ref(repo: Pick<Repo, 'url'>): GithubRepoRef {
    const ref = parseGithubLocation(repo.url, this.webUrl);
    if (!ref) throw new Error(`${repo.url} is not a GitHub repo`);
    return ref;
  }

  async resolve(location: string): Promise<ResolvedRepo> {
    const ref = parseGithubLocation(location, this.webUrl);
    if (!ref) throw new Error(`${location} is not a GitHub repo`);
    const found = await this.api.getRepo(ref);
    const [owner, name] = found.full_name.split('/');
    const canonical = owner && name ? { owner, name } : ref;
    return {
      name: `${canonical.owner}/${canonical.name}`,
      url: githubRepoUrl(canonical, this.webUrl),
      defaultBranch: found.default_branch,
    };
  }

  async fetch(repo: Repo, ref?: string, options: FetchOptions = {}): Promise<{ commit: string }> {
    const git = await this.authedGit(repo);
    const mirror = mirrorPath(this.mirrorsDir, repo.id);
    await this.fetches.run(mirror, options.freshAfter, () =>
      this.withMirrorLock(repo, () => updateMirror(git, mirror, this.remote(repo))),
    );
    return { commit: await resolveRef(git, mirror, repo, ref ?? `refs/heads/${repo.defaultBranch}`) };
  }

  async checkout(repo: Repo, commit: string): Promise<{ dir: string; cached: boolean }> {
    const git = await this.git();
    const mirror = mirrorPath(this.mirrorsDir, repo.id);
    const sha = isObjectId(commit)
      ? commit
      : (await mirrorExists(mirror))
        ? await resolveRef(git, mirror, repo, commit)
        : (await this.fetch(repo, commit)).commit;
    const dir = basePath(this.basesDir, safeSegment(repo.id, 'repo id'), sha);
    if (baseExists(dir)) return { dir, cached: true };
    if (!(await mirrorExists(mirror)) || !(await this.hasCommit(git, mirror, sha))) await this.fetch(repo);
    await resolveRef(git, mirror, repo, sha);
    return { dir, cached: !(await buildBase(git, join(mirror, 'objects'), dir, sha, repo.defaultBranch)) };
  }

  /** A file of the repo at `ref` as the mirror has it (after a fetch), or null when absent. */
  async readFile(repo: Repo, ref: string, path: string): Promise<string | null> {
    const git = await this.git();
    const mirror = mirrorPath(this.mirrorsDir, repo.id);
    const result = await git(['--git-dir', mirror, 'show', `${ref}:${path}`], { okExitCodes: [128] });
    return result.exitCode === 0 ? result.stdout : null;
  }

  /** Pushes the run's branch, then opens its pull request, or updates the one already open. */
  async publish(input: PublishInput): Promise<PublishResult | null> {
    const git = await this.authedGit(input.repo);
    const mirror = mirrorPath(this.mirrorsDir, input.repo.id);
    if (!(await mirrorExists(mirror))) await this.fetch(input.repo);
    const pushed = await publishChange(
      {
        git,
        objects: join(mirror, 'objects'),
        tmpDir: this.tmpDir,
        mirror: { path: mirror, withLock: (fn) => this.withMirrorLock(input.repo, fn) },
      },
      { ...input, repo: this.remote(input.repo) },
    );
    if (!pushed) return null;
    if (input.branchOnly) return { ...pushed, url: null, state: 'branch' };
    const opened = await this.openPull(
      { ...input, diffstat: pushed.diffstat },
      input.summary,
      input.deferOpen ?? false,
    );
    return opened ? { ...pushed, ...opened } : { ...pushed, url: null, state: 'pending' };
  }

  /** Opens the pull request of a change whose publish was deferred (or updates it if one is open). */
  async openChange(input: OpenChangeInput): Promise<{ state: string; url: string | null }> {
    return (await this.openPull(input, undefined, false))!;
  }

  /** Updates the branch's open pull request, or opens one (a draft with `draft`) unless `onlyUpdate`; null when it did not. */
  private async openPull(
    input: OpenChangeInput,
    summary: PublishInput['summary'],
    onlyUpdate: boolean,
  ): Promise<{ url: string; state: 'open' | 'draft' } | null> {
    const ref = this.ref(input.repo);
    const body = pullRequestBody({
      runId: input.runId,
      body: input.body,
      diffstat: input.diffstat,
      summary,
      runUrl: this.options.runUrl?.(input.runId),
    });
    const existing = await this.api.findPull(ref, input.branch);
    if (existing?.state === 'open') {
      const pull = await this.api.updatePull(ref, existing.number, { title: input.title, body });
      return { url: pull.html_url, state: pull.draft ? 'draft' : 'open' };
    }
    if (onlyUpdate) return null;
    const pull = await this.api.createPull(ref, {
      title: input.title,
      body,
      head: input.branch,
      base: input.repo.defaultBranch,
      ...(input.draft ? { draft: true } : {}),
    });
    return { url: pull.html_url, state: pull.draft ? 'draft' : 'open' };
  }

  /** The repo as git reaches it: the clone URL in place of the web address. */
  private remote(repo: Repo): Repo {
    const ref = this.ref(repo);
    return { ...repo, url: `${this.gitUrl}/${ref.owner}/${ref.name}.git` };
  }

  /** The clone URL, and the repo's token as an HTTP header git sends, given in the environment only. */
  async gitAccess(repo: Repo): Promise<GitAccess> {
    const token = await this.api.tokenFor(this.ref(repo));
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    return {
      url: this.remote(repo).url,
      env: {
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
      },
    };
  }

  /** Git whose every call sends the repo's token as an HTTP header, given in the environment only. */
  private async authedGit(repo: Repo): Promise<Git> {
    const git = await this.git();
    const { env: auth } = await this.gitAccess(repo);
    const run = (args: string[], options: Parameters<Git>[1] = {}) =>
      git(args, { ...options, env: { ...auth, ...options.env } });
    // `env` (what git gets when it runs elsewhere, e.g. staging files in a workspace) stays without the token.
    return Object.assign(run, { env: git.env });
  }

  private async hasCommit(git: Git, mirror: string, sha: string): Promise<boolean> {
    const result = await git(['--git-dir', mirror, 'cat-file', '-e', `${sha}^{commit}`], {
      okExitCodes: [1, 128],
    });
    return result.exitCode === 0;
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
