import type { z } from 'zod';
import { NightshiftError } from '../core/errors.ts';
import type { Engine } from '../engine/index.ts';
import { EventFeed } from './event-feed.ts';
import { type ApiRoutes, param } from './router.ts';
import { CancelBody, EventsQuery, RunCreateBody, RunListQuery, SayBody } from './schema.ts';

const JSON_OK = (status: number, description: string) => ({ status, type: 'application/json', description });

/** Longest a `wait=1` events request is held open before answering with no events. */
const LONG_POLL_MS = 20_000;

/** Runs: create, list, get, cancel, diff and events (the live stream is in `sse.ts`). */
export function runRoutes(api: ApiRoutes, engine: Engine, closing: AbortSignal): void {
  const { store } = engine;

  api.add(
    {
      method: 'post',
      path: '/api/runs',
      summary: 'Queue a run',
      scope: 'runs:write',
      body: RunCreateBody,
      success: JSON_OK(201, 'the queued run'),
    },
    async (c, { body }) => {
      const principal = c.get('principal');
      const run = await engine.submit({
        ...body,
        trigger: body.trigger ?? 'api',
        author: body.author === undefined ? principal.name : body.author,
      });
      return c.json(run, 201);
    },
  );

  api.add(
    {
      method: 'get',
      path: '/api/runs',
      summary: 'List runs, newest first, with filters and a cursor',
      scope: 'runs:read',
      query: RunListQuery,
      success: JSON_OK(
        200,
        "`{ runs, nextCursor }`; pass nextCursor as `cursor` for the next page. Each run has `parent`, the run that started it (an agent's `start_run`, or its swarm's planner: `{ id, blueprint, status, conclusion, depth }`), and `swarm`, the swarm it is part of (`{ id, name, role, facet }`, role `planner`, `facet` or `converge`); each null when none",
      ),
    },
    async (c, { query }) => {
      const repoId = query.repo ? await engine.findRepoId(query.repo) : undefined;
      if (repoId === null) return c.json({ runs: [], nextCursor: null });
      const runs = await store.listRuns({
        status: query.status,
        conclusion: query.conclusion,
        repoId,
        trigger: query.trigger,
        author: query.author,
        before: query.cursor,
        limit: query.limit + 1,
      });
      const page = runs.slice(0, query.limit);
      const nextCursor = runs.length > query.limit ? page.at(-1)!.id : null;
      return c.json({ runs: page, nextCursor });
    },
  );

  api.add(
    {
      method: 'get',
      path: '/api/runs/:id',
      summary: 'A run with its repo, change, model usage by step, and the runs it is related to',
      scope: 'runs:read',
      success: JSON_OK(
        200,
        "`{ run, repo, change, usage, parent, children, swarm, agent, lease, answer }`: `parent` the run that started it (an agent's `start_run`, or its swarm's planner) and `children` the runs it started (`{ id, blueprint, status, conclusion, depth }`); `swarm` the swarm it is part of (`{ id, name, state, reason, role, facet, runs }`, role `planner`, `facet` or `converge`), or null; `agent` whether its blueprint has an agent step (only then does it take `say` and `stop`); `lease` the worker holding it (`{ worker, expiresAt, lapsed }`), or null; `answer` what is posted where it came from once it ended and how that went (`{ via, to, answeredAt, attempts, error, givenUp }`, `via` `github` or `slack`), or null",
      ),
    },
    async (c) => c.json(await engine.runDetails(param(c, 'id'))),
  );

  const act = runAction(api);
  act(
    'cancel',
    'Stop a run (a queued one at once, a running one within a second)',
    CancelBody,
    'the run',
    (id, body, caller) => store.requestCancel(id, body.by === undefined ? caller : body.by),
  );
  act(
    'say',
    "Send the run's agent a follow-up (queued for a live agent; a completed run is continued)",
    SayBody,
    '`{ delivery, run }`: `queued`, or `continued` with the new run',
    (id, body, caller) => engine.say(id, body.message, body.author === undefined ? caller : body.author),
  );
  act(
    'stop',
    "Halt the run's agent; its work so far is kept and the run goes on to its next steps",
    CancelBody,
    'the run',
    (id, body, caller) => engine.stopAgent(id, body.by === undefined ? caller : body.by),
  );

  api.add(
    {
      method: 'get',
      path: '/api/runs/:id/diff',
      summary: "The full diff of the run's change",
      scope: 'runs:read',
      success: { status: 200, type: 'text/x-diff', description: 'a unified diff' },
    },
    async (c) => {
      const run = await store.getRun(param(c, 'id'));
      const change = await store.changes.forRun(run.id);
      if (!change) {
        const why =
          run.status !== 'completed' ? `it is still ${run.status}` : `it concluded ${run.conclusion}`;
        throw new NightshiftError('NOT_FOUND', `run ${run.id} has no change: ${why}`);
      }
      return c.body(change.diff, 200, { 'content-type': 'text/x-diff; charset=utf-8' });
    },
  );

  api.add(
    {
      method: 'get',
      path: '/api/runs/:id/events',
      summary: 'A page of events after `after`; with wait=1, held until there are some (long poll)',
      scope: 'runs:read',
      query: EventsQuery,
      success: JSON_OK(200, '`{ events }`, in order of seq'),
    },
    async (c, { query }) => {
      const run = await store.getRun(param(c, 'id'));
      if (query.wait !== '1') return c.json({ events: await store.events(run.id, query.after, query.limit) });
      const signal = AbortSignal.any([closing, c.req.raw.signal, AbortSignal.timeout(LONG_POLL_MS)]);
      const events = EventFeed.of(store).follow(run.id, query.after);
      try {
        return c.json({ events: ((await events.next(signal)) ?? []).slice(0, query.limit) });
      } finally {
        events.close();
      }
    },
  );
}

/**
 * `POST /api/runs/:id/<name>` routes of one shape: a body validated by `body`, an action on
 * the run, the caller's name as the default author, the action's result as JSON.
 */
function runAction(api: ApiRoutes) {
  return <B extends z.ZodType>(
    name: string,
    summary: string,
    body: B,
    answer: string,
    action: (runId: string, body: z.output<B>, caller: string) => Promise<unknown>,
  ): void =>
    api.add(
      {
        method: 'post',
        path: `/api/runs/:id/${name}`,
        summary,
        scope: 'runs:write',
        body,
        success: JSON_OK(200, answer),
      },
      async (c, input) =>
        c.json(await action(param(c, 'id'), input.body as z.output<B>, c.get('principal').name)),
    );
}
