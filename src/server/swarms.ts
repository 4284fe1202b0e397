import { isAbsolute } from 'node:path';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Engine } from '../engine/index.ts';
import { parseSwarmSpec, specOrThrow } from '../fleets/parse.ts';
import type { ServerModule } from './app.ts';
import { errorResponse } from './errors.ts';
import { ApiRoutes, type AppEnv, param } from './router.ts';
import { CancelBody } from './schema.ts';

const BASE = '/api/swarms';

/** `POST /api/swarms`: a swarm spec file as text, and where its relative paths start. */
const SwarmStartBody = z.object({
  text: z.string().max(1024 * 1024),
  file: z.string().max(1000),
  cwd: z.string().refine(isAbsolute, 'must be an absolute path'),
});

const SwarmListQuery = z.strictObject({
  name: z.string().max(200).optional().describe('only swarms of this name'),
  id: z.string().max(100).optional().describe('only this execution (`swm_…`), latest or not'),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe('at most this many'),
});

const SwarmProgressQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0).describe('the `next` of the previous answer'),
});

/**
 * The swarms API, mounted at `/api/swarms` behind bearer auth: `POST /` starts driving a spec
 * in this process (or follows the drive of the same spec going on), `GET /:id?after=` where
 * an execution stands with its progress lines, `GET /` the swarms with their runs, `POST
 * /:id/cancel` cancels one. `nightshift swarm` uses it when another process owns the home; the
 * swarm then goes on when the command stops.
 */
export function swarmsModule(engine: Engine): ServerModule {
  const app = new Hono<AppEnv>();
  app.onError((error, c) => errorResponse(c, error));
  // The server's guard authenticated the caller before the module's routes run.
  const api = new ApiRoutes(app, async (c) => c.get('principal'), BASE);
  api.add(
    {
      method: 'post',
      path: '/',
      // Resolves the spec's repo path and blueprints on this server's file system: admins only.
      scope: 'admin',
      summary: 'Start a swarm (or follow the same spec already going on); used by `nightshift swarm`',
      body: SwarmStartBody,
      success: {
        status: 202,
        type: 'application/json',
        description:
          '`{ id, name, attached }`: the execution (a new one, or the stopped one it continues); `attached` when this server was driving the same spec already',
      },
    },
    async (c, { body }) =>
      c.json(
        await engine.swarms.start(specOrThrow(parseSwarmSpec, body.text, body.file), body.cwd, {
          durable: true,
        }),
        202,
      ),
  );
  api.add(
    {
      method: 'get',
      path: '/',
      scope: 'runs:read',
      summary: 'The latest execution of each swarm (name and repo), most recently updated first',
      query: SwarmListQuery,
      success: {
        status: 200,
        type: 'application/json',
        description:
          "`{ swarms }`: each `{ id, name, repo, state, reason, driver, durable, createdAt, updatedAt, runs, change, driveFailure }`, `runs` the planner, facets and converge run with their role, status and conclusion; `change` the swarm's one change once published; `driveFailure` while it has not ended, how its drives failed (`{ message, failures, nextAttemptAt }`, `nextAttemptAt` null once servers gave up), else null",
      },
    },
    async (c, { query }) => c.json({ swarms: await engine.swarms.list(query) }),
  );
  api.add(
    {
      method: 'post',
      path: '/:id/cancel',
      scope: 'runs:write',
      summary: "Cancel a swarm's execution: its unfinished runs are cancelled and its driving stops",
      body: CancelBody,
      success: {
        status: 200,
        type: 'application/json',
        description:
          '`{ swarm, cancelled }`: the execution as it stands now, and how many runs were cancelled',
      },
    },
    async (c, { body }) =>
      c.json(
        await engine.swarms.cancel(param(c, 'id'), body.by === undefined ? c.get('principal').name : body.by),
      ),
  );
  api.add(
    {
      method: 'get',
      path: '/:id',
      scope: 'runs:read',
      summary: "Where a swarm's execution stands, with its progress lines after `after`",
      query: SwarmProgressQuery,
      success: {
        status: 200,
        type: 'application/json',
        description:
          '`{ id, name, state, reason, driving, lines, next, result, error }`: `driving` false in an unfinished state means the process driving it stopped (start the spec again to continue it); `result` once it ended here',
      },
    },
    async (c, { query }) => c.json(await engine.swarms.progress(param(c, 'id'), query.after)),
  );
  return { name: 'swarms', basePath: BASE, routes: app, specs: api.specs };
}
