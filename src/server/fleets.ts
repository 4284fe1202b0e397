import { Hono } from 'hono';
import { invalidInput } from '../core/errors.ts';
import type { Engine } from '../engine/index.ts';
import { FLEET_REPO_STATES, type FleetRepoState } from '../fleets/store.ts';
import { requireScope } from './auth.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './router.ts';

/**
 * The fleets API, mounted at `/api/fleets` behind bearer auth: `GET /` list, `GET /:name`
 * status (counts, failures grouped by message), `GET /:name/repos?state=&after=&limit=` one page
 * of the repo table, `GET /:name/series` counts over time (a burn-down), and
 * `POST /:name/retry|pause|resume|cancel|refresh` (scope `runs:write`; `refresh` polls GitHub
 * for the state and checks of the fleet's pull requests). Applying a spec stays a CLI
 * command (`nightshift fleet apply`), which reads spec files and target globs on its host.
 */
export function fleetRoutes(engine: Engine): Hono<AppEnv> {
  const fleets = engine.fleets;
  const app = new Hono<AppEnv>();
  app.onError((error, c) => errorResponse(c, error));
  const write = requireScope('runs:write');
  const read = requireScope('runs:read');
  const by = (c: { get(key: 'principal'): { name: string } | undefined }) => c.get('principal')?.name ?? null;

  app.get('/', read, async (c) => c.json({ fleets: await fleets.queries.list() }));
  app.get('/:name', read, async (c) => c.json(await fleets.status(c.req.param('name'))));
  app.get('/:name/repos', read, async (c) => {
    const state = c.req.query('state');
    if (state !== undefined && !FLEET_REPO_STATES.includes(state as FleetRepoState)) {
      throw invalidInput(
        `query.state: "${state}" is not a repo state`,
        `use one of ${FLEET_REPO_STATES.join(', ')}`,
      );
    }
    const after = Number(c.req.query('after') ?? 0);
    const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 200), 1), 1000);
    const repos = await fleets.queries.repoPage(c.req.param('name'), after, limit, state as FleetRepoState);
    return c.json({ repos, nextAfter: repos.length === limit ? repos.at(-1)!.position : null });
  });
  app.get('/:name/series', read, async (c) =>
    c.json({ series: await fleets.queries.series(c.req.param('name')) }),
  );
  app.post('/:name/retry', write, async (c) => c.json(await fleets.retryFailed(c.req.param('name'), by(c))));
  app.post('/:name/pause', write, async (c) => c.json(await fleets.pause(c.req.param('name'))));
  app.post('/:name/resume', write, async (c) => c.json(await fleets.resume(c.req.param('name'))));
  app.post('/:name/refresh', write, async (c) => c.json(await fleets.refresh(c.req.param('name'))));
  app.post('/:name/cancel', write, async (c) => c.json(await fleets.cancel(c.req.param('name'), by(c))));
  return app;
}
