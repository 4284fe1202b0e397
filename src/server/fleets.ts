import { isAbsolute } from 'node:path';
import { Hono } from 'hono';
import { z } from 'zod';
import { invalidInput } from '../core/errors.ts';
import type { Engine } from '../engine/index.ts';
import type { PlannedRepo } from '../fleets/apply.ts';
import { parseFleetSpec, specOrThrow } from '../fleets/parse.ts';
import { FLEET_REPO_STATES, type FleetRepoState } from '../fleets/store.ts';
import { requireScope } from './auth.ts';
import { errorResponse } from './errors.ts';
import type { AppEnv } from './router.ts';

/** `POST /api/fleets/apply`: a spec file as text, and where its relative paths start. */
const FleetApplyBody = z.object({
  text: z.string().max(1024 * 1024),
  file: z.string().max(1000),
  cwd: z.string().refine(isAbsolute),
  dryRun: z.boolean().optional(),
  author: z.string().max(200).nullable().optional(),
});

/**
 * The fleets API, mounted at `/api/fleets` behind bearer auth: `GET /` list, `GET /:name`
 * status (counts, failures grouped by message), `GET /:name/repos?state=&after=&limit=` one page
 * of the repo table, `GET /:name/series` counts over time (a burn-down), and
 * `POST /:name/retry|pause|resume|cancel` (scope `runs:write`), and `POST /apply` (scope
 * `admin`: a spec's target paths and globs are resolved on this server's file system), which
 * `nightshift fleet apply` uses when a server owns the home.
 */
export function fleetRoutes(engine: Engine): Hono<AppEnv> {
  const fleets = engine.fleets;
  const app = new Hono<AppEnv>();
  app.onError((error, c) => errorResponse(c, error));
  const write = requireScope('runs:write');
  const read = requireScope('runs:read');
  const by = (c: { get(key: 'principal'): { name: string } | undefined }) => c.get('principal')?.name ?? null;

  app.get('/', read, async (c) => c.json({ fleets: await fleets.queries.list() }));
  // Resolves the spec's targets (paths, globs) on this server's file system: admins only.
  app.post('/apply', requireScope('admin'), async (c) => {
    const body = FleetApplyBody.safeParse(await c.req.json().catch(() => null));
    if (!body.success) {
      throw invalidInput(
        'the body must be { text, file, cwd, dryRun?, author? }',
        'send the spec file as text, and the absolute directory its relative paths start from',
      );
    }
    const { text, file, cwd, dryRun, author } = body.data;
    const planned: PlannedRepo[] = [];
    const summary = await fleets.apply(specOrThrow(parseFleetSpec, text, file), {
      cwd,
      dryRun,
      author: author ?? by(c),
      onRepo: (repo) => void planned.push(repo),
    });
    return c.json({ ...summary, planned }, dryRun ? 200 : 202);
  });
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
  app.post('/:name/pause', write, async (c) => {
    const body = (await c.req.json().catch(() => ({}))) as { reason?: unknown };
    const reason =
      typeof body?.reason === 'string' ? body.reason.slice(0, 500) : `paused by ${by(c) ?? 'a person'}`;
    return c.json(await fleets.pause(c.req.param('name'), reason));
  });
  app.post('/:name/resume', write, async (c) => c.json(await fleets.resume(c.req.param('name'))));
  app.post('/:name/cancel', write, async (c) => c.json(await fleets.cancel(c.req.param('name'), by(c))));
  return app;
}
