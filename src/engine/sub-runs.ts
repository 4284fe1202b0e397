import { posix } from 'node:path';
import type { SubRunInfo, SubRunRequest, SubRunTools } from '../agents/types.ts';
import { BUILTIN_BLUEPRINTS } from '../blueprints/builtin/index.ts';
import { loadBlueprint } from '../blueprints/load.ts';
import { NightshiftError } from '../core/errors.ts';
import type { Repo, Run } from '../core/run.ts';
import { globToRegExp } from '../policy/glob.ts';
import type { Policy } from '../policy/types.ts';
import type { ScmProvider } from '../scm/types.ts';
import type { Store } from '../store/index.ts';

export interface SubRunDeps {
  store: Store;
  scm: ScmProvider;
  policy: Policy;
  run: Run;
  repo: Repo;
  /** Records a refusal: a `policy.denied` event and audit entry. */
  denied(reason: string): void;
  /** Records a started sub-run in the audit log. */
  spawned(child: Run, repo: Repo, depth: number): void;
}

function refuse(deps: SubRunDeps, reason: string, hint: string): never {
  deps.denied(reason);
  throw new NightshiftError('POLICY_DENIED', `refused: ${reason}`, { hint });
}

/** The location as the policy's globs see it: a normalized path (no `..`), or the URL as written. */
function normalizeLocation(location: string): string {
  return location.startsWith('/') ? posix.normalize(location) : location.trim();
}

/** Whether one of the policy's `runs.repos` globs matches the location. */
function repoAllowed(policy: Policy, location: string): boolean {
  const subject = location.replace(/^\/+/, '');
  return policy.runs.repos.some((rule) => globToRegExp(rule.glob.replace(/^\/+/, '')).test(subject));
}

/** Whether the agent named the run's own repo: its URL or path, its name, or `github:` and its name. */
function isOwnRepo(location: string, repo: Repo): boolean {
  const named = normalizeLocation(location).replace(/\/+$/, '').toLowerCase();
  const candidates = [repo.url, repo.name, `github:${repo.name}`].map((c) =>
    c.replace(/\/+$/, '').toLowerCase(),
  );
  return candidates.includes(named);
}

/** How deep `runId` is: 0 for a run nobody started, 1 for its children, ... */
async function depthOf(store: Store, runId: string): Promise<number> {
  const rows = await store.db.query<{ depth: number }>(
    'SELECT depth FROM run_children WHERE child_run_id = $1',
    [runId],
  );
  return rows[0]?.depth ?? 0;
}

/**
 * The sub-run tools of one run attempt. Every start is checked against the policy's `runs`
 * section, in this order: depth (`max_depth`), the blueprint (built-in names only: a file
 * path would read host files), the repo (the run's own, or one `runs.repos` allows, checked
 * before the location is resolved so nothing about other paths leaks), then `max_children`.
 * Starts of one run are serialized so parallel tool calls cannot pass the limit together.
 */
export function subRunTools(deps: SubRunDeps): SubRunTools {
  const { store, policy, run } = deps;
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => {});
    return next;
  };

  async function start(request: SubRunRequest): Promise<SubRunInfo> {
    const depth = await depthOf(store, run.id);
    const maxDepth = policy.runs.maxDepth.value;
    if (depth + 1 > maxDepth) {
      refuse(
        deps,
        depth === 0
          ? `the policy allows no sub-runs (runs.max_depth is ${maxDepth})`
          : `this run is itself a sub-run (depth ${depth}) and the policy's runs.max_depth is ${maxDepth}, so it cannot start runs`,
        'do the work in this run instead',
      );
    }
    if ((request.prompt === undefined) === (request.script === undefined)) {
      throw new NightshiftError('INVALID_INPUT', 'start_run needs exactly one of prompt and script');
    }
    const name = request.blueprint ?? (request.prompt !== undefined ? 'default' : 'script');
    if (!Object.hasOwn(BUILTIN_BLUEPRINTS, name)) {
      refuse(
        deps,
        `blueprint ${JSON.stringify(name)} is not a built-in blueprint; sub-runs may only use ${Object.keys(BUILTIN_BLUEPRINTS).join(', ')}`,
        'name a built-in blueprint',
      );
    }
    const own = request.repo === undefined || isOwnRepo(request.repo, deps.repo);
    const location = own ? deps.repo.url : normalizeLocation(request.repo!);
    if (!own && !repoAllowed(policy, location)) {
      const allowed = policy.runs.repos.map((rule) => rule.glob).join(', ');
      refuse(
        deps,
        `the policy does not allow sub-runs on ${location} (runs.repos ${allowed ? `allows ${allowed}` : 'allows no repo but this run’s own'})`,
        'start the sub-run on this run’s own repo',
      );
    }
    return serialized(async () => {
      // A follow-up continuing a sub-run is that sub-run's work, not another one.
      const rows = await store.db.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM run_children rc JOIN runs r ON r.id = rc.child_run_id
         WHERE rc.parent_run_id = $1 AND r.continues IS NULL`,
        [run.id],
      );
      const started = rows[0]?.n ?? 0;
      if (started >= policy.runs.maxChildren.value) {
        refuse(
          deps,
          `this run already started ${started} sub-runs, the most the policy's runs.max_children (${policy.runs.maxChildren.value}) allows`,
          'wait for the sub-runs you started with run_status, or do the rest of the work in this run',
        );
      }
      const repo = own ? deps.repo : await store.repos.upsert(await deps.scm.resolve(location));
      const { blueprint } = await loadBlueprint(name, { cwd: '/' });
      const child = await store.createRun({
        repoId: repo.id,
        blueprint: blueprint.name,
        blueprintSpec: blueprint,
        inputs: {
          prompt: request.prompt,
          script: request.script,
          harness: run.inputs.harness,
          model: run.inputs.model,
        },
        timeoutMs: blueprint.timeoutMs ?? run.timeoutMs,
        priority: run.priority,
        trigger: `run:${run.id}`,
        author: run.author,
        parent: { runId: run.id, depth: depth + 1 },
      });
      deps.spawned(child, repo, depth + 1);
      return info(child, repo);
    });
  }

  async function info(child: Run, repo?: Repo): Promise<SubRunInfo> {
    const [fresh, childRepo, change] = await Promise.all([
      store.getRun(child.id),
      repo ?? store.repos.get(child.repoId),
      store.changes.forRun(child.id),
    ]);
    return {
      id: fresh.id,
      repo: childRepo.url,
      blueprint: fresh.blueprint,
      status: fresh.status,
      conclusion: fresh.conclusion,
      reason: fresh.reason,
      branch: fresh.branch,
      change: change
        ? {
            files: change.diffstat.files,
            insertions: change.diffstat.insertions,
            deletions: change.diffstat.deletions,
            state: change.state,
          }
        : null,
    };
  }

  async function status(id: string): Promise<SubRunInfo> {
    const rows = await store.db.query<{ child_run_id: string }>(
      'SELECT child_run_id FROM run_children WHERE parent_run_id = $1 AND (child_run_id = $2 OR right(child_run_id, 8) = $2)',
      [run.id, id.trim()],
    );
    if (rows.length !== 1) {
      // Reading another run is acting for it: refused and recorded like any other refusal.
      deps.denied(`run_status of ${JSON.stringify(id)}, which is not a sub-run this run started`);
      throw new NightshiftError('NOT_FOUND', `run ${id} is not a sub-run this run started`, {
        hint: 'pass an id start_run returned',
      });
    }
    return info(await store.getRun(rows[0]!.child_run_id));
  }

  return { start, status };
}
