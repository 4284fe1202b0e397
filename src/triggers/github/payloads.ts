/** The fields of GitHub webhook payloads Nightshift reads (everything else is ignored). */

export interface GithubUser {
  login: string;
  type?: string;
}

export interface GithubPayload {
  action?: string;
  repository?: { full_name: string; html_url?: string; owner?: { login: string }; name?: string };
  installation?: { id: number };
  sender?: GithubUser;
  comment?: { id: number; body?: string | null; user?: GithubUser; html_url?: string };
  issue?: { number: number; title: string; body?: string | null; pull_request?: unknown; user?: GithubUser };
  label?: { name: string };
  pull_request?: {
    number: number;
    title: string;
    html_url: string;
    merged?: boolean | null;
    draft?: boolean;
    head: { ref: string; sha: string; repo?: { full_name: string } | null };
    base: { ref: string };
  };
  check_suite?: CheckSuite;
  check_run?: {
    name: string;
    status?: string;
    conclusion: string | null;
    head_sha: string;
    check_suite?: CheckSuite;
  };
  /** Of a `status` event (a commit status): the commit, its context and state. */
  sha?: string;
  context?: string;
  state?: string;
}

interface CheckSuite {
  id?: number;
  status?: string | null;
  app?: { slug?: string } | null;
  conclusion: string | null;
  head_branch: string | null;
  head_sha: string;
  pull_requests?: { number: number }[];
}

/** True for comments and actions by bots, Nightshift's own app included: they never start runs. */
export function isBot(user: GithubUser | undefined, botLogin?: string): boolean {
  if (!user) return true;
  const login = user.login.toLowerCase();
  return (
    user.type === 'Bot' ||
    login.endsWith('[bot]') ||
    (botLogin !== undefined && login === botLogin.toLowerCase())
  );
}

/**
 * What Nightshift posts on GitHub once a run this event started has ended: a review of the pull
 * request it opened or updated, else a comment on the issue or pull request it came from; null
 * for an event tied to neither (nothing is posted).
 */
export function githubAnswerPlace(
  event: string,
  payload: GithubPayload,
): { kind: 'review' | 'comment'; repo: string; number: number } | null {
  const repo = payload.repository?.full_name ?? '';
  if (event === 'pull_request' && payload.pull_request)
    return { kind: 'review', repo, number: payload.pull_request.number };
  const number =
    payload.issue?.number ??
    payload.pull_request?.number ??
    payload.check_suite?.pull_requests?.[0]?.number ??
    payload.check_run?.check_suite?.pull_requests?.[0]?.number;
  return number === undefined ? null : { kind: 'comment', repo, number };
}
