import type { DiffStat, Repo } from '../core/run.ts';
import type { WorkspaceView } from '../sandbox/types.ts';

export interface ResolvedRepo {
  /** Short name for people and branch names, e.g. the directory name. */
  name: string;
  /** Canonical location: an absolute path for local repos. */
  url: string;
  defaultBranch: string;
}

export interface CommitAuthor {
  name: string;
  email: string;
}

export interface PublishInput {
  repo: Repo;
  runId: string;
  baseCommit: string;
  branch: string;
  /** Commit message subject and change title. */
  title: string;
  body: string;
  author: CommitAuthor;
  /** Commit and author date; a retried run reuses it so the same tree gives the same commit. */
  date: Date;
  workspace: WorkspaceView;
  /**
   * Looks at the change after it is committed locally and before anything is pushed; a
   * returned reason stops the publish with a `PublishDeniedError` (the policy's publish rules).
   */
  review?: (change: { diffstat: DiffStat }) => string | null;
  /** What the run was, for providers that describe the change (a pull request body). */
  summary?: RunSummary;
  /**
   * What the branch must point at before the push (`--force-with-lease`): the head Nightshift
   * pushed last, or null when the branch must not exist yet. Undefined: pushed with a plain
   * force (a branch only this run writes to).
   */
  expectedHead?: string | null;
  /**
   * Push the branch but leave opening the change (a pull request) for later (`openChange`),
   * when a fleet's rollout allows it: the result's state is then `pending`. A change already
   * open is updated at once.
   */
  deferOpen?: boolean;
  /** Open the change as a draft (a draft pull request). */
  draft?: boolean;
  /**
   * Push the branch and open no change for it, now or later (a swarm's facet: the swarm opens
   * one change for all of them). The result's state is `branch` where changes are pull requests.
   */
  branchOnly?: boolean;
}

/**
 * How git on the host reaches a repo's source, to clone it and push to it: its URL, and the
 * environment that authenticates git there (kept out of command lines and config files).
 */
export interface GitAccess {
  url: string;
  env: Record<string, string>;
}

export interface FetchOptions {
  /** Reuse a fetch of the repo that started at or after this time. */
  freshAfter?: Date;
}

/** What opening a deferred change needs (see `PublishInput.deferOpen`). */
export interface OpenChangeInput {
  repo: Repo;
  runId: string;
  branch: string;
  title: string;
  body: string;
  diffstat: DiffStat;
  /** Open it as a draft (a draft pull request). */
  draft?: boolean;
}

/** The run behind a change, as a pull request body shows it. */
export interface RunSummary {
  prompt?: string;
  blueprint: string;
  /** Gates of the run and whether they passed. */
  checks: { name: string; ok: boolean }[];
}

export interface PublishResult {
  headCommit: string;
  diffstat: DiffStat;
  diff: string;
  /** Where a person looks at the change (a PR URL later); null for local repos. */
  url: string | null;
  /** The change's state: `local` (the default) for a pushed branch, `open` for a new pull request. */
  state?: string;
}

/** Where repos come from and where changes go. */
export interface ScmProvider {
  readonly name: string;
  /** Throws REPO_INVALID with a hint when `location` is not a usable git repository. */
  resolve(location: string): Promise<ResolvedRepo>;
  /**
   * Brings the mirror cache up to date and returns the commit `ref` (default branch if omitted)
   * points to. With `freshAfter`, a fetch of the repo that started at or after that time (done
   * or still going) is enough: runs queued together share one fetch instead of one each.
   */
  fetch(repo: Repo, ref?: string, options?: FetchOptions): Promise<{ commit: string }>;
  /** A checkout of `commit` (with a `.git`) that runs share read-only; created once and cached. */
  checkout(repo: Repo, commit: string): Promise<{ dir: string; cached: boolean }>;
  /**
   * Commits the workspace's files on top of `baseCommit` as `branch` and pushes it to the source.
   * Returns null (and pushes nothing) when the files equal the base commit.
   */
  publish(input: PublishInput): Promise<PublishResult | null>;
  /** Opens a change whose publish was deferred: its state and URL once open. */
  openChange(input: OpenChangeInput): Promise<{ state: string; url: string | null }>;
  /** How host-side git (a swarm merging its facets' branches) reaches the repo's source. */
  gitAccess(repo: Repo): Promise<GitAccess>;
}
