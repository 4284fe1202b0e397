import { Hono } from 'hono';
import { NightshiftError } from '../core/errors.ts';
import { parseInput } from '../server/errors.ts';
import { handleErrors } from '../triggers/http.ts';
import { AutomationApplyBody, AutomationHistoryQuery, AutomationRunBody } from './api-schema.ts';
import { type AutomationDeps, AutomationService } from './service.ts';
import { syncAutomations } from './sync.ts';

/**
 * The automations API (authenticated by the server that mounts it, e.g. at `/api/automations`):
 * `GET /` list (with next fire times), `POST /` create, `GET|PUT|DELETE /:name`,
 * `POST /:name/enable|disable`, `POST /:name/run` (run now, optional `{ payload }`),
 * `GET /:name/history?limit=N`, and `POST /apply` `{ dir, repos }` (sync with the files, read on
 * this server's file system). Bodies use the file format of one automation, as JSON.
 */
export function automationRoutes(deps: AutomationDeps): Hono {
  const service = new AutomationService(deps);
  const app = new Hono();
  handleErrors(app, deps.log);

  app.get('/', async (c) => c.json({ automations: await service.list() }));
  app.post('/', async (c) => {
    const body = await jsonBody(c.req.raw);
    if (
      body &&
      typeof body === 'object' &&
      'name' in body &&
      (await service.queries.get(String(body.name)))
    ) {
      throw new NightshiftError('CONFLICT', `automation ${String(body.name)} already exists`, {
        hint: 'replace it with PUT /automations/<name>',
      });
    }
    return c.json(await service.put(body), 201);
  });
  app.post('/apply', async (c) => {
    const body = parseInput(AutomationApplyBody, await jsonBody(c.req.raw), 'body');
    const { applied, removed } = await syncAutomations(service, body);
    return c.json({ applied, removed });
  });
  app.get('/:name', async (c) => c.json(await service.get(c.req.param('name'))));
  app.put('/:name', async (c) =>
    c.json(await service.put(await jsonBody(c.req.raw), { name: c.req.param('name') })),
  );
  app.delete('/:name', async (c) => {
    await service.remove(c.req.param('name'));
    return c.body(null, 204);
  });
  app.post('/:name/enable', async (c) => c.json(await service.setEnabled(c.req.param('name'), true)));
  app.post('/:name/disable', async (c) => c.json(await service.setEnabled(c.req.param('name'), false)));
  app.post('/:name/run', async (c) => {
    const text = await c.req.text();
    const body = parseInput(AutomationRunBody, text.trim() === '' ? {} : parseJson(text), 'body');
    const fire = await service.runNow(c.req.param('name'), { payload: body.payload });
    return c.json(fire, fire.outcome === 'started' ? 202 : 200);
  });
  app.get('/:name/history', async (c) => {
    const { limit } = parseInput(AutomationHistoryQuery, c.req.query(), 'query');
    return c.json({ fires: await service.history(c.req.param('name'), limit) });
  });
  return app;
}

async function jsonBody(request: Request): Promise<unknown> {
  return parseJson(await request.text());
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new NightshiftError('INVALID_INPUT', 'the body is not valid JSON', {
      hint: 'send an automation as JSON',
    });
  }
}
