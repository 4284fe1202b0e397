import { isAbsolute } from 'node:path';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Engine } from '../engine/index.ts';
import type { PlannedRepo } from '../fleets/apply.ts';
import { parseFleetSpec, specOrThrow } from '../fleets/parse.ts';
import type { ServerModule } from './app.ts';
import { errorResponse } from './errors.ts';
import { ApiRoutes, type AppEnv, param } from './router.ts';
import { CancelBody, FleetReposQuery } from './schema.ts';

const JSON_OK = (description: string) => ({ status: 200, type: 'application/json', description });
const BASE = '/api/fleets';

/** `POST /api/fleets/apply`: a spec file as text, and where its relative paths start. */
const FleetApplyBody = z.object({
  text: z.string().max(1024 * 1024),
  file: z.string().max(1000),
  cwd: z.string().refine(isAbsolute, 'must be an absolute path'),
  dryRun: z.boolean().optional(),
  author: z.string().max(200).nullable().optional(),
});

/** `POST /api/fleets/:name/pause`: why (shown in status). */
const FleetPauseBody = z.object({ reason: z.string().max(500).optional() });

/**
 * The fleets API, mounted at `/api/fleets` behind bearer auth: `GET /` list, `GET /:name`
 * status (counts, failures and changes not opened, grouped by message),
 * `GET /:name/progress` its state and counts only, `GET /:name/repos?state=&after=&limit=` one
 * page of the repo table, `GET /:name/series`
 * counts over time (a burn-down), and
 * `POST /:name/retry|pause|resume|cancel|refresh` (scope `runs:write`; `refresh` polls GitHub
 * for the state and checks of the fleet's pull requests). Applying a spec stays a CLI
 * command (`nightshift fleet apply`), which reads spec files and target globs on its host.
 */
export function fleetsModule(engine: Engine): ServerModule {
  const fleets = engine.fleets;
  const app = new Hono<AppEnv>();
  app.onError((error, c) => errorResponse(c, error));
  // The server's guard authenticated the caller before the module's routes run.
  const api = new ApiRoutes(app, async (c) => c.get('principal'), BASE);
  const by = (c: { get(key: 'principal'): { name: string } | undefined }) => c.get('principal')?.name ?? null;

  const read = { method: 'get', scope: 'runs:read' } as const;
  api.add(
    {
      method: 'post',
      path: '/apply',
      // Resolves the spec's targets (paths, globs) on this server's file system: admins only.
      scope: 'admin',
      summary:
        'Apply a fleet spec (preview with dryRun); used by `nightshift fleet apply` when a server owns the home',
      body: FleetApplyBody,
      success: {
        status: 202,
        type: 'application/json',
        description: 'the apply summary, the planned repos, and the repos removed from the fleet',
      },
    },
    async (c, { body }) => {
      const { text, file, cwd, dryRun, author } = body;
      const planned: PlannedRepo[] = [];
      const summary = await fleets.apply(specOrThrow(parseFleetSpec, text, file), {
        cwd,
        dryRun,
        author: author ?? by(c),
        onRepo: (repo) => void planned.push(repo),
      });
      return c.json({ ...summary, planned }, dryRun ? 200 : 202);
    },
  );
  api.add({ ...read, path: '/', summary: 'List fleets', success: JSON_OK('`{ fleets }`') }, async (c) =>
    c.json({ fleets: await fleets.queries.list() }),
  );
  api.add(
    {
      ...read,
      path: '/:name',
      summary: "A fleet's status: counts by state, failures grouped by message",
      success: JSON_OK(
        '`{ fleet, counts, total, failures, openFailures, lapsed, nextChangeAt }`: `failures` groups failed runs by reason, `openFailures` the waiting changes whose last attempt to open failed, by message (`{ reason, count, repos }`); `lapsed` how many runs shown running lost their worker; `nextChangeAt` while changes wait for the rollout, when its rate, windows and backoffs next let one open (else null)',
      ),
    },
    async (c) => c.json(await fleets.status(param(c, 'name'))),
  );
  api.add(
    {
      ...read,
      path: '/:name/progress',
      summary: "A fleet's state and counts by state, without the rest of its status",
      success: JSON_OK(
        '`{ fleet, counts, total }`: what `nightshift fleet apply` reads while it follows the fleet',
      ),
    },
    async (c) => c.json(await fleets.progress(param(c, 'name'))),
  );
  api.add(
    {
      ...read,
      path: '/:name/repos',
      summary: "One page of the fleet's repos, by position",
      query: FleetReposQuery,
      success: JSON_OK(
        "`{ repos, nextAfter }`; pass nextAfter as `after` for the next page (null on the last). Each repo's `change` has its `state`, `checks`, and `openFailure` (`{ message, at, attempts, nextAttemptAt }`) while a failed attempt to open it waits to be retried",
      ),
    },
    async (c, { query }) => {
      const repos = await fleets.queries.repoPage(param(c, 'name'), query.after, query.limit, query.state);
      return c.json({ repos, nextAfter: repos.length === query.limit ? repos.at(-1)!.position : null });
    },
  );
  api.add(
    {
      ...read,
      path: '/:name/series',
      summary: 'Counts by state over time (a burn-down)',
      success: JSON_OK('`{ series }`'),
    },
    async (c) => {
      const name = param(c, 'name');
      await fleets.queries.get(name); // 404 for a fleet that does not exist, as the other routes
      return c.json({ series: await fleets.queries.series(name) });
    },
  );
  const actions = {
    retry: ['Retry the failed repos', (name: string, who: string | null) => fleets.retryFailed(name, who)],
    resume: ['Start runs again after a pause', (name: string) => fleets.resume(name)],
    refresh: [
      "Read the state and checks of the fleet's pull requests from GitHub",
      (name: string) => fleets.refresh(name),
    ],
    cancel: [
      'Cancel the fleet and its active runs',
      (name: string, who: string | null) => fleets.cancel(name, who),
    ],
  } as const;
  for (const [action, [summary, act]] of Object.entries(actions)) {
    api.add(
      {
        method: 'post',
        path: `/:name/${action}`,
        summary,
        scope: 'runs:write',
        // Who asked (`by`, as for a run's cancel): the caller's principal when not given.
        body: CancelBody,
        success: JSON_OK('the result'),
      },
      async (c, { body }) => c.json(await act(param(c, 'name'), body.by === undefined ? by(c) : body.by)),
    );
  }
  api.add(
    {
      method: 'post',
      path: '/:name/pause',
      summary: 'Stop starting runs (runs in flight go on)',
      scope: 'runs:write',
      body: FleetPauseBody,
      success: JSON_OK('the result'),
    },
    async (c, { body }) =>
      c.json(await fleets.pause(param(c, 'name'), body.reason ?? `paused by ${by(c) ?? 'a person'}`)),
  );
  return { name: 'fleets', basePath: BASE, routes: app, specs: api.specs };
}
