import type pino from 'pino';
import { plural } from '../../core/plural.ts';
import type { Run } from '../../core/run.ts';
import type { RunRequest } from '../../engine/engine.ts';
import type { GithubRepoRef, GithubScmProvider } from '../../scm/github/index.ts';
import type { Store } from '../../store/index.ts';
import { ciFixRound } from './ci-rounds.ts';
import {
  effectiveReactions,
  loadServerGithubConfig,
  parseGithubConfigOrThrow,
  REPO_CONFIG_PATH,
} from './config.ts';
import { type GithubPayload, isBot } from './payloads.ts';
import {
  type ChecksState,
  checkState,
  pullState,
  statusState,
  trackCheck,
  trackPullState,
} from './pr-state.ts';
import type { GithubReactions } from './schema.ts';

/** What processing a delivery needs: the engine's store and submit, the GitHub provider, who the bot is. */
export interface ReactionDeps {
  store: Store;
  submit(request: RunRequest): Promise<Run>;
  github: GithubScmProvider;
  /** `$NIGHTSHIFT_HOME`, for the server-wide `github.yml`. */
  home: string;
  log: pino.Logger;
  botLogin?: string;
  /** The installation this server serves (events of other installations are ignored). */
  installationId?: number;
  runUrl?: (runId: string) => string;
}

/** What became of a delivery: a run started (`accepted` with its id) or nothing to do (`ignored`, why). */
export type Reaction =
  | { outcome: 'accepted'; runId?: string; reason: string }
  | { outcome: 'ignored'; reason: string };

const WRITERS = new Set(['admin', 'maintain', 'write']);

/**
 * Decides what a GitHub event means and does it: starts a run (comment command, label,
 * pull request review, CI fix) and answers on GitHub, or tracks a pull request's state.
 * Idempotent per delivery: a run already started by this delivery is not started again.
 */
export async function react(
  deps: ReactionDeps,
  deliveryId: string,
  event: string,
  payload: GithubPayload,
): Promise<Reaction> {
  const full = payload.repository?.full_name;
  if (!full?.includes('/')) return ignored('the payload names no repository');
  if (event === 'ping') return ignored('ping');
  const [owner, name] = full.split('/') as [string, string];
  const ref = { owner, name };
  const server = await loadServerGithubConfig(deps.home);
  if (!(await covered(deps, ref, payload, server.repos ?? []))) {
    return ignored(`${full} is not a repository Nightshift knows or the app's installation covers`);
  }
  const ctx = new Context(deps, deliveryId, ref, payload, server);

  if (event === 'pull_request') return onPullRequest(ctx);
  if (event === 'issue_comment' || event === 'pull_request_review_comment') return onComment(ctx, event);
  if (event === 'issues' && payload.action === 'labeled') return onLabel(ctx);
  if (event === 'check_suite' || event === 'check_run') {
    await onCheck(ctx, event);
    return onCheckFailure(ctx, event);
  }
  if (event === 'status') return onStatus(ctx);
  return ignored(`no reaction to ${event}${payload.action ? `.${payload.action}` : ''}`);
}

function ignored(reason: string): Reaction {
  return { outcome: 'ignored', reason };
}

async function covered(deps: ReactionDeps, ref: GithubRepoRef, payload: GithubPayload, allowed: string[]) {
  const full = `${ref.owner}/${ref.name}`.toLowerCase();
  if (allowed.some((repo) => repo.toLowerCase() === full)) return true;
  const url = `${deps.github.webUrl}/${ref.owner}/${ref.name}`.toLowerCase();
  const known = await deps.store.db.query('SELECT 1 FROM repos WHERE lower(url) = $1', [url]);
  if (known.length > 0) return true;
  const installation = payload.installation?.id;
  return (
    installation !== undefined && deps.installationId !== undefined && installation === deps.installationId
  );
}

/** One delivery's work: its repo, its reactions (loaded once), and how to start a run for it. */
class Context {
  private reactions?: Promise<GithubReactions>;

  constructor(
    readonly deps: ReactionDeps,
    readonly deliveryId: string,
    readonly ref: GithubRepoRef,
    readonly payload: GithubPayload,
    private readonly server: Parameters<typeof effectiveReactions>[0],
  ) {}

  get location(): string {
    return `github:${this.ref.owner}/${this.ref.name}`;
  }

  /** The repo's reactions: built-in defaults, the server's github.yml, the repo's `.nightshift/github.yml`. */
  config(): Promise<GithubReactions> {
    this.reactions ??= (async () => {
      const { github, store } = this.deps;
      const repo = await store.repos.upsert(await github.resolve(this.location));
      const { commit } = await github.fetch(repo);
      const text = await github.readFile(repo, commit, REPO_CONFIG_PATH);
      const file = text === null ? {} : parseGithubConfigOrThrow(text, `${repo.name}:${REPO_CONFIG_PATH}`);
      return effectiveReactions(this.server, file);
    })();
    return this.reactions;
  }

  /** Null when `login` may start runs here (write access), else why not. */
  async refusal(login: string | undefined): Promise<string | null> {
    if (!login) return 'the event has no sender';
    const permission = await this.deps.github.api.permission(this.ref, login);
    return WRITERS.has(permission)
      ? null
      : `${login} has ${permission} access; starting runs needs write access`;
  }

  /** Starts the delivery's run, or finds the one it already started (a retried delivery). */
  async start(request: Omit<RunRequest, 'repo' | 'trigger'>): Promise<Run> {
    const trigger = `github:${this.deliveryId}`;
    const rows = await this.deps.store.db.query<{ id: string }>(
      'SELECT id FROM runs WHERE trigger = $1 LIMIT 1',
      [trigger],
    );
    if (rows[0]) return this.deps.store.getRun(rows[0].id);
    const run = await this.deps.submit({ ...request, repo: this.location, trigger });
    this.deps.log.info(
      { runId: run.id, deliveryId: this.deliveryId, repo: this.location },
      'run started by a GitHub event',
    );
    return run;
  }

  link(run: Run): string {
    const url = this.deps.runUrl?.(run.id);
    return url ? `[\`${run.id}\`](${url})` : `\`${run.id}\``;
  }

  comment(number: number, body: string) {
    return this.deps.github.api.comment(this.ref, number, body);
  }
}

async function onComment(ctx: Context, event: string): Promise<Reaction> {
  const { payload } = ctx;
  if (payload.action !== 'created' || !payload.comment)
    return ignored(`no reaction to ${event}.${payload.action}`);
  if (isBot(payload.comment.user, ctx.deps.botLogin)) return ignored('comments by bots never start runs');
  const config = await ctx.config();
  const text = (payload.comment.body ?? '').trim();
  const { command } = config.comment;
  if (!config.comment.enabled) return ignored('comment commands are off for this repo');
  if (!(text === command || text.startsWith(`${command} `) || text.startsWith(`${command}\n`))) {
    return ignored(`the comment does not start with ${command}`);
  }
  const prompt = text.slice(command.length).trim();
  if (!prompt) return ignored(`${command} without a prompt`);
  const refusal = await ctx.refusal(payload.comment.user?.login);
  if (refusal) return ignored(refusal);

  let number: number;
  let target: PullTarget | undefined;
  if (event === 'pull_request_review_comment' && payload.pull_request) {
    number = payload.pull_request.number;
    // Permissive with payloads: a review comment without its pull request's head asks the API.
    const pull = payload.pull_request.head?.ref
      ? payload.pull_request
      : await ctx.deps.github.api.getPull(ctx.ref, number);
    target = pullTarget(ctx, pull);
  } else if (payload.issue) {
    number = payload.issue.number;
    // An issue_comment on a pull request names the pull request, not its branch: ask the API.
    if (payload.issue.pull_request)
      target = pullTarget(ctx, await ctx.deps.github.api.getPull(ctx.ref, number));
  } else {
    return ignored('the comment belongs to no issue or pull request');
  }
  const run = await ctx.start({
    prompt,
    blueprint: config.comment.blueprint,
    baseRef: target?.baseRef,
    branch: target?.branch,
    values: target ? { pr: String(number) } : undefined,
    author: payload.comment.user?.login,
  });
  const where = target
    ? target.branch
      ? ` on \`${target.branch}\`; its change updates this pull request`
      : ` on \`${target.baseRef.slice(0, 12)}\` (the head of a fork, so its change is a new branch)`
    : '';
  await ctx.comment(number, `🌙 Nightshift run ${ctx.link(run)} started${where}: ${firstLine(prompt)}`);
  return { outcome: 'accepted', runId: run.id, reason: `${command} by ${payload.comment.user?.login}` };
}

/** Where a run asked for on a pull request starts, and the branch its change is pushed to. */
interface PullTarget {
  baseRef: string;
  /** The pull request's head branch, when it lives in the repo itself: pushing there updates the pull request. */
  branch?: string;
}

/**
 * A pull request's head branch when it lives in the repo itself (the run publishes onto it,
 * which updates the pull request); for a fork, its head commit (Nightshift cannot push to a
 * fork, so the change goes to a new branch).
 */
function pullTarget(
  ctx: Context,
  pull: { head: { ref: string; sha: string; repo?: { full_name: string } | null } },
): PullTarget {
  const own = pull.head.repo?.full_name?.toLowerCase() === `${ctx.ref.owner}/${ctx.ref.name}`.toLowerCase();
  return own || !pull.head.repo
    ? { baseRef: pull.head.ref, branch: pull.head.ref }
    : { baseRef: pull.head.sha };
}

async function onLabel(ctx: Context): Promise<Reaction> {
  const { payload } = ctx;
  if (!payload.issue || !payload.label) return ignored('the event has no issue or label');
  if (payload.issue.pull_request) return ignored('labels on pull requests start no runs');
  const config = await ctx.config();
  if (!config.label.enabled || payload.label.name !== config.label.name) {
    return ignored(`label ${payload.label.name} starts no run`);
  }
  if (isBot(payload.sender, ctx.deps.botLogin)) return ignored('labels set by bots never start runs');
  const refusal = await ctx.refusal(payload.sender?.login);
  if (refusal) return ignored(refusal);
  const { issue } = payload;
  const prompt = `${issue.title}\n\n${issue.body ?? ''}`.trim();
  const run = await ctx.start({
    prompt,
    blueprint: config.label.blueprint,
    values: { issue: String(issue.number) },
    author: payload.sender?.login,
  });
  await ctx.comment(issue.number, `🌙 Nightshift run ${ctx.link(run)} started on this issue.`);
  return {
    outcome: 'accepted',
    runId: run.id,
    reason: `label ${payload.label.name} by ${payload.sender?.login}`,
  };
}

async function onPullRequest(ctx: Context): Promise<Reaction> {
  const { payload } = ctx;
  const pull = payload.pull_request;
  if (!pull) return ignored('the event has no pull request');
  const tracked = ['closed', 'reopened', 'converted_to_draft', 'ready_for_review'];
  if (['opened', 'synchronize', 'edited'].includes(payload.action ?? '')) {
    await trackPullState(ctx.deps.store.db, pull.html_url, pullState({ state: 'open', draft: pull.draft }));
  }
  if (tracked.includes(payload.action ?? '')) {
    const state = pullState({
      state: payload.action === 'closed' ? 'closed' : 'open',
      merged: pull.merged,
      draft: pull.draft,
    });
    const changes = await trackPullState(ctx.deps.store.db, pull.html_url, state);
    return changes > 0
      ? {
          outcome: 'accepted',
          reason: `pull request ${state}: ${plural(changes, 'change')} updated`,
        }
      : ignored('the pull request is not a Nightshift change');
  }
  const config = await ctx.config();
  if (!config.review.enabled || !config.review.on.includes(payload.action ?? '')) {
    return ignored(`no review on pull_request.${payload.action}`);
  }
  if (pull.head.ref.startsWith('nightshift/'))
    return ignored('Nightshift does not review its own pull requests');
  if (pull.draft) return ignored('draft pull requests are not reviewed');
  if (isBot(payload.sender, ctx.deps.botLogin)) return ignored('pull requests of bots are not reviewed');
  const refusal = await ctx.refusal(payload.sender?.login);
  if (refusal) return ignored(refusal);
  const run = await ctx.start({
    prompt: `Review pull request #${pull.number}: ${pull.title}`,
    blueprint: config.review.blueprint,
    baseRef: pull.head.sha,
    values: { pr: String(pull.number), base: pull.base.ref, head_sha: pull.head.sha },
    author: payload.sender?.login,
  });
  return { outcome: 'accepted', runId: run.id, reason: `review of #${pull.number}` };
}

/** Records the suite's or check's state on the Nightshift changes whose head it checked. */
async function onCheck(ctx: Context, event: string): Promise<void> {
  const { payload } = ctx;
  const suite = payload.check_suite;
  const run = payload.check_run;
  const sha = event === 'check_run' ? run?.head_sha : suite?.head_sha;
  if (!sha) return;
  const key =
    event === 'check_run' ? `run:${run?.name}` : `suite:${suite?.app?.slug ?? suite?.id ?? 'checks'}`;
  const state =
    event === 'check_run'
      ? checkState(run?.status, run?.conclusion)
      : checkState(suite?.status, suite?.conclusion);
  await trackHeadCheck(ctx, sha, key, state);
}

/** Records a commit status (`status:CONTEXT`) on the Nightshift changes whose head it is about. */
async function onStatus(ctx: Context): Promise<Reaction> {
  const { sha, context, state } = ctx.payload;
  if (!sha || !context) return ignored('the status event names no commit or context');
  const changes = await trackHeadCheck(ctx, sha, `status:${context}`, statusState(state));
  return changes > 0
    ? {
        outcome: 'accepted',
        reason: `status ${context} ${state}: ${plural(changes, 'change')} updated`,
      }
    : ignored(`${sha.slice(0, 12)} is not the head of a Nightshift change`);
}

async function trackHeadCheck(ctx: Context, sha: string, key: string, state: ChecksState): Promise<number> {
  const url = `${ctx.deps.github.webUrl}/${ctx.ref.owner}/${ctx.ref.name}`;
  const changes = await trackCheck(ctx.deps.store.db, url, sha, key, state);
  if (changes > 0) ctx.deps.log.info({ sha, key, state, changes }, 'change checks updated');
  return changes;
}

async function onCheckFailure(ctx: Context, event: string): Promise<Reaction> {
  const { payload } = ctx;
  const suite = event === 'check_suite' ? payload.check_suite : payload.check_run?.check_suite;
  const conclusion =
    event === 'check_suite' ? payload.check_suite?.conclusion : payload.check_run?.conclusion;
  if (payload.action !== 'completed' || !suite) return ignored(`no reaction to ${event}.${payload.action}`);
  if (conclusion !== 'failure' && conclusion !== 'timed_out')
    return ignored(`${event} concluded ${conclusion}`);
  const branch = suite.head_branch;
  if (!branch?.startsWith('nightshift/'))
    return ignored(`${branch ?? 'no branch'} is not a Nightshift branch`);
  const config = await ctx.config();
  if (!config.ci_fix.enabled) return ignored('CI fixes are off for this repo');
  const repo = await ctx.deps.store.repos.upsert(await ctx.deps.github.resolve(ctx.location));
  const sha = event === 'check_run' ? (payload.check_run?.head_sha ?? suite.head_sha) : suite.head_sha;
  const round = await ciFixRound(ctx.deps.store.db, repo.id, sha);
  if (round.started) return ignored(`a CI fix for ${sha.slice(0, 12)} is already started (${round.started})`);
  const pr = suite.pull_requests?.[0]?.number;
  if (round.round > config.ci_fix.max_rounds) {
    if (pr !== undefined) {
      await ctx.comment(
        pr,
        `🌙 CI still fails after ${config.ci_fix.max_rounds} Nightshift fix rounds; handing back to a person.`,
      );
    }
    return ignored(`CI fix round ${round.round} is over the limit of ${config.ci_fix.max_rounds}`);
  }
  const what = event === 'check_run' ? `The check \`${payload.check_run?.name}\`` : 'The CI checks';
  const run = await ctx.start({
    prompt: `${what} failed on commit ${sha} of this branch. Find the cause and fix it.`,
    blueprint: config.ci_fix.blueprint,
    baseRef: branch,
    branch,
    values: { ci_head_sha: sha, ci_round: String(round.round) },
  });
  if (pr !== undefined) {
    await ctx.comment(
      pr,
      `🌙 CI failed; Nightshift fix round ${round.round} of ${config.ci_fix.max_rounds}: run ${ctx.link(run)}.`,
    );
  }
  return {
    outcome: 'accepted',
    runId: run.id,
    reason: `CI fix round ${round.round} for ${sha.slice(0, 12)}`,
  };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
