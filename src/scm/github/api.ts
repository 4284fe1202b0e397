import { NightshiftError } from '../../core/errors.ts';
import { appJwt, type GithubAuth, InstallationTokens } from './auth.ts';
import type { GithubRepoRef } from './location.ts';

/** A pull request, with the fields Nightshift uses. */
export interface GithubPull {
  number: number;
  html_url: string;
  state: 'open' | 'closed';
  merged_at?: string | null;
  draft?: boolean;
  /** `repo` is the repository the head branch lives in (a fork's, for pull requests from forks). */
  head: { ref: string; sha: string; repo?: { full_name: string } | null };
  base: { ref: string };
}

/** A repository as an organization's listing shows it, with the fields Nightshift uses. */
export interface GithubOrgRepo {
  name: string;
  full_name: string;
  archived?: boolean;
  topics?: string[];
}

/** A check run of a commit, with the fields Nightshift uses. */
export interface GithubCheckRun {
  name: string;
  status: string;
  conclusion: string | null;
}

/** A commit status (GitHub's older Statuses API): the latest one of its `context`. */
export interface GithubCommitStatus {
  context: string;
  state: string;
}

/** The `rel="next"` address of a `Link` header, or null. */
export function nextLink(header: string | null): string | null {
  for (const part of header?.split(',') ?? []) {
    const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (match) return match[1]!;
  }
  return null;
}

/** Where the GitHub API lives and how to authenticate to it. */
export interface GithubApiOptions {
  /** REST API base URL: `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise. */
  apiUrl?: string;
  auth: GithubAuth;
  fetch?: typeof fetch;
}

/**
 * The GitHub REST calls Nightshift makes, authenticated as the app's installation (or with a
 * plain token). Errors are SCM_FAILED with GitHub's status and message.
 */
export class GithubApi {
  readonly apiUrl: string;
  private readonly tokens: InstallationTokens;
  private readonly installations = new Map<string, number>();
  private readonly fetch: typeof fetch;

  constructor(private readonly options: GithubApiOptions) {
    this.apiUrl = (options.apiUrl ?? 'https://api.github.com').replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch;
    this.tokens = new InstallationTokens(async (id) => {
      const body = await this.request<{ token: string; expires_at: string }>(
        'POST',
        `/app/installations/${id}/access_tokens`,
        { auth: `Bearer ${this.jwt()}` },
      );
      return { token: body.token, expiresAt: Date.parse(body.expires_at) };
    });
  }

  /** A token that may read and write `repo` (an installation token, or the configured token). */
  async tokenFor(repo: GithubRepoRef): Promise<string> {
    const { auth } = this.options;
    if (auth.kind === 'token') return auth.token;
    return this.tokens.get(auth.installationId ?? (await this.installationOf(repo)));
  }

  getRepo(repo: GithubRepoRef) {
    return this.call<{ default_branch: string; html_url: string; full_name: string }>(repo, 'GET', '');
  }

  /** `admin`, `write`, `read` or `none`: what `user` may do in `repo`. */
  async permission(repo: GithubRepoRef, user: string): Promise<string> {
    try {
      const body = await this.call<{ permission: string }>(
        repo,
        'GET',
        `/collaborators/${encodeURIComponent(user)}/permission`,
      );
      return body.permission;
    } catch (error) {
      if (error instanceof GithubApiError && error.status === 404) return 'none';
      throw error;
    }
  }

  getPull(repo: GithubRepoRef, number: number) {
    return this.call<GithubPull>(repo, 'GET', `/pulls/${number}`);
  }

  /** Every check run of a commit, page by page (100 a page, following the `Link` header). */
  async *checkRuns(repo: GithubRepoRef, sha: string): AsyncGenerator<GithubCheckRun> {
    const path = `/repos/${repo.owner}/${repo.name}/commits/${encodeURIComponent(sha)}/check-runs?per_page=100`;
    const token = await this.tokenFor(repo);
    for await (const page of this.pages<{ check_runs: GithubCheckRun[] }>(
      token,
      path,
      `check runs of ${sha}`,
    ))
      yield* page.check_runs;
  }

  /**
   * The statuses of a commit (the combined status: the latest status of each context), page by
   * page (100 a page, following the `Link` header).
   */
  async *commitStatuses(repo: GithubRepoRef, sha: string): AsyncGenerator<GithubCommitStatus> {
    const path = `/repos/${repo.owner}/${repo.name}/commits/${encodeURIComponent(sha)}/status?per_page=100`;
    const token = await this.tokenFor(repo);
    for await (const page of this.pages<{ statuses: GithubCommitStatus[] }>(
      token,
      path,
      `statuses of ${sha}`,
    ))
      yield* page.statuses;
  }

  /** The pull request from `branch` (open first, else the newest), or null. */
  async findPull(repo: GithubRepoRef, branch: string): Promise<GithubPull | null> {
    const head = encodeURIComponent(`${repo.owner}:${branch}`);
    const pulls = await this.call<GithubPull[]>(repo, 'GET', `/pulls?state=all&head=${head}`);
    return pulls.find((p) => p.state === 'open') ?? pulls[0] ?? null;
  }

  createPull(
    repo: GithubRepoRef,
    input: { title: string; body: string; head: string; base: string; draft?: boolean },
  ) {
    return this.call<GithubPull>(repo, 'POST', '/pulls', input);
  }

  updatePull(repo: GithubRepoRef, number: number, input: { title?: string; body?: string; state?: 'open' }) {
    return this.call<GithubPull>(repo, 'PATCH', `/pulls/${number}`, input);
  }

  /** Comments on an issue or a pull request's conversation. */
  comment(repo: GithubRepoRef, number: number, body: string) {
    return this.call<{ id: number; html_url: string }>(repo, 'POST', `/issues/${number}/comments`, { body });
  }

  /** A pull request review (event COMMENT) with a body and optional line comments. */
  review(
    repo: GithubRepoRef,
    number: number,
    input: { body: string; commit_id?: string; comments?: { path: string; line: number; body: string }[] },
  ) {
    return this.call<{ id: number }>(repo, 'POST', `/pulls/${number}/reviews`, {
      ...input,
      event: 'COMMENT',
    });
  }

  /** The repositories of an organization, one page (100) at a time, following the `Link` header. */
  async *orgRepos(org: string): AsyncGenerator<GithubOrgRepo> {
    const token = await this.orgToken(org);
    const path = `/orgs/${encodeURIComponent(org)}/repos?per_page=100&type=all`;
    for await (const page of this.pages<GithubOrgRepo[]>(token, path, `${org}'s repositories`)) yield* page;
  }

  /**
   * The pages of a listing from `path` on: each page's body, then the next page its `Link`
   * header names. A next page on another origin than the API is refused: the token would go there.
   */
  private async *pages<T>(token: string, path: string, what: string): AsyncGenerator<T> {
    const origin = new URL(this.apiUrl).origin;
    let url: string | null = `${this.apiUrl}${path}`;
    while (url) {
      if (new URL(url).origin !== origin) {
        throw new NightshiftError(
          'SCM_FAILED',
          `GitHub's next page of ${what} is on ${new URL(url).origin}, not on the API (${origin})`,
          { hint: 'check NIGHTSHIFT_GITHUB_API_URL; Nightshift sends its token only to the API' },
        );
      }
      const { body, link } = await this.fetchJson<T>(
        'GET',
        url.slice(this.apiUrl.length) || '/',
        `token ${token}`,
        url,
      );
      yield body;
      url = nextLink(link);
    }
  }

  private async orgToken(org: string): Promise<string> {
    const { auth } = this.options;
    if (auth.kind === 'token') return auth.token;
    if (auth.installationId) return this.tokens.get(auth.installationId);
    const key = `org:${org.toLowerCase()}`;
    let id = this.installations.get(key);
    if (!id) {
      const body = await this.request<{ id: number }>(
        'GET',
        `/orgs/${encodeURIComponent(org)}/installation`,
        {
          auth: `Bearer ${this.jwt()}`,
        },
      );
      id = body.id;
      this.installations.set(key, id);
    }
    return this.tokens.get(id);
  }

  private async installationOf(repo: GithubRepoRef): Promise<number> {
    const key = `${repo.owner}/${repo.name}`.toLowerCase();
    const known = this.installations.get(key);
    if (known) return known;
    const body = await this.request<{ id: number }>('GET', `/repos/${repo.owner}/${repo.name}/installation`, {
      auth: `Bearer ${this.jwt()}`,
    });
    this.installations.set(key, body.id);
    return body.id;
  }

  private jwt(): string {
    const { auth } = this.options;
    if (auth.kind !== 'app') throw new Error('a JWT needs GitHub App credentials');
    return appJwt(auth.appId, auth.privateKey);
  }

  private async call<T>(repo: GithubRepoRef, method: string, path: string, body?: unknown): Promise<T> {
    const token = await this.tokenFor(repo);
    return this.request<T>(method, `/repos/${repo.owner}/${repo.name}${path}`, {
      auth: `token ${token}`,
      body,
    });
  }

  private async request<T>(
    method: string,
    path: string,
    options: { auth: string; body?: unknown },
  ): Promise<T> {
    return (await this.fetchJson<T>(method, path, options.auth, `${this.apiUrl}${path}`, options.body)).body;
  }

  private async fetchJson<T>(
    method: string,
    path: string,
    auth: string,
    url: string,
    body?: unknown,
  ): Promise<{ body: T; link: string | null }> {
    const options = { auth, body };
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: options.auth,
          'user-agent': 'nightshift',
          'x-github-api-version': '2022-11-28',
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new NightshiftError('SCM_FAILED', `GitHub API ${method} ${path} failed: ${String(error)}`, {
        hint: 'check NIGHTSHIFT_GITHUB_API_URL and the network',
        cause: error,
      });
    }
    const text = await response.text();
    if (!response.ok) throw new GithubApiError(method, path, response.status, text);
    return { body: (text ? JSON.parse(text) : null) as T, link: response.headers.get('link') };
  }
}

/** A GitHub API call answered with an error status. */
export class GithubApiError extends NightshiftError {
  constructor(
    method: string,
    path: string,
    readonly status: number,
    body: string,
  ) {
    let message = body.slice(0, 200);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {}
    super('SCM_FAILED', `GitHub API ${method} ${path} answered ${status}: ${message}`, {
      hint:
        status === 401 || status === 403
          ? 'check the GitHub App id, private key and installation (or the token) and its permissions'
          : 'see docs/github.md',
    });
    this.name = 'GithubApiError';
  }
}
