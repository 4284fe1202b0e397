import { NightshiftError } from '../core/errors.ts';
import type { Repo } from '../core/run.ts';
import { GithubScmProvider } from './github/index.ts';
import type { GithubSettings } from './github/settings.ts';
import { LocalScmProvider } from './local/index.ts';
import type {
  FetchOptions,
  GitAccess,
  OpenChangeInput,
  PublishInput,
  PublishResult,
  ResolvedRepo,
  ScmProvider,
} from './types.ts';

/** A GitHub repo named while GitHub is not configured: every other GitHub repo fails the same way. */
export class GithubNotConfiguredError extends NightshiftError {
  constructor(location: string) {
    super('REPO_INVALID', `${location} is a GitHub repo, and GitHub is not configured`, {
      hint: 'set NIGHTSHIFT_GITHUB_TOKEN, or the GitHub App settings (see docs/github.md)',
    });
    this.name = 'GithubNotConfiguredError';
  }
}

/**
 * Sends each repo to the provider of its location: GitHub locations (`github:OWNER/NAME`,
 * `https://github.com/...`) to the GitHub provider when one is configured, everything else
 * (paths, `file://`) to the local provider.
 *
 * @example new RoutingScmProvider(new LocalScmProvider(dirs), new GithubScmProvider(options))
 */
export class RoutingScmProvider implements ScmProvider {
  readonly name = 'routing';

  constructor(
    readonly local: ScmProvider,
    readonly github?: GithubScmProvider,
  ) {}

  /** The provider that handles `location` (a location a person typed, or a repo's URL). */
  providerFor(location: string): ScmProvider {
    if (this.github?.handles(location)) return this.github;
    if (/^github:|^https:\/\/github\.com\//i.test(location)) throw new GithubNotConfiguredError(location);
    return this.local;
  }

  resolve(location: string): Promise<ResolvedRepo> {
    return this.providerFor(location).resolve(location);
  }

  fetch(repo: Repo, ref?: string, options?: FetchOptions): Promise<{ commit: string }> {
    return this.providerFor(repo.url).fetch(repo, ref, options);
  }

  checkout(repo: Repo, commit: string): Promise<{ dir: string; cached: boolean }> {
    return this.providerFor(repo.url).checkout(repo, commit);
  }

  publish(input: PublishInput): Promise<PublishResult | null> {
    return this.providerFor(input.repo.url).publish(input);
  }

  openChange(input: OpenChangeInput): Promise<{ state: string; url: string | null }> {
    return this.providerFor(input.repo.url).openChange(input);
  }

  gitAccess(repo: Repo): Promise<GitAccess> {
    return this.providerFor(repo.url).gitAccess(repo);
  }
}

/** The GitHub provider of an SCM (itself, or the one a routing provider holds), if GitHub is configured. */
export function githubProviderOf(scm: ScmProvider | undefined): GithubScmProvider | undefined {
  if (scm instanceof GithubScmProvider) return scm;
  if (scm instanceof RoutingScmProvider) return scm.github;
  return undefined;
}

/** The engine's SCM: local repos always, GitHub repos when `config.github` is set. */
export function scmProviderFor(
  config: { github?: GithubSettings },
  paths: { mirrors: string; bases: string },
): ScmProvider {
  const local = new LocalScmProvider({ mirrorsDir: paths.mirrors, basesDir: paths.bases });
  const { github } = config;
  if (!github) return new RoutingScmProvider(local);
  return new RoutingScmProvider(
    local,
    new GithubScmProvider({
      auth: github.auth,
      apiUrl: github.apiUrl,
      gitUrl: github.gitUrl,
      webUrl: github.webUrl,
      runUrl: github.publicUrl ? (id) => `${github.publicUrl}/runs/${id}` : undefined,
      mirrorsDir: paths.mirrors,
      basesDir: paths.bases,
    }),
  );
}
