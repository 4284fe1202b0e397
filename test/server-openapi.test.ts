import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AutomationRunBody } from '../src/automations/api-schema.ts';
import { AutomationFile } from '../src/automations/schema.ts';
import { FLEET_REPO_STATES } from '../src/fleets/store.ts';
import { serverModules } from '../src/server/modules.ts';
import { createToken } from '../src/server/tokens.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';
import { type Doc, documentedRoutes, servedRoutes } from './support/openapi.ts';
import { tempDir } from './support/repos.ts';

describe('/openapi.json of nightshift serve', () => {
  let api: TestApi;
  let files: Awaited<ReturnType<typeof tempDir>>;
  let doc: Doc;
  let token: string;

  beforeAll(async () => {
    files = await tempDir();
    const env = {
      ...process.env,
      NIGHTSHIFT_AUTOMATIONS_DIR: join(files.dir, 'automations'),
      // GitHub configured, so its webhook module is mounted too (nothing is sent to this URL).
      NIGHTSHIFT_GITHUB_TOKEN: 'ghp_test',
      NIGHTSHIFT_GITHUB_WEBHOOK_SECRET: 'hook-secret',
      NIGHTSHIFT_GITHUB_API_URL: 'http://127.0.0.1:9',
    };
    api = await startTestApi('pglite', { env, parts: (engine) => serverModules(engine, env) });
    doc = await (await api.fetch('/openapi.json')).json();
    token = (await createToken(api.engine.store, { name: 'writer', scopes: ['runs:write'] })).token;
  }, 300_000);

  afterAll(async () => {
    await api?.close();
    await files?.cleanup();
  });

  it('documents exactly the routes the server answers, the modules’ included', () => {
    const served = servedRoutes(api.app);

    expect(documentedRoutes(doc)).toEqual(served);
    expect(served).toEqual(
      expect.arrayContaining([
        'get /api/automations',
        'put /api/automations/{name}',
        'delete /api/automations/{name}',
        'post /api/automations/{name}/enable',
        'post /api/automations/{name}/disable',
        'post /api/automations/{name}/run',
        'get /api/automations/{name}/history',
        'get /api/fleets',
        'get /api/fleets/{name}/repos',
        'post /api/fleets/{name}/retry',
        'post /api/swarms',
        'get /api/swarms',
        'get /api/swarms/{id}',
        'post /api/swarms/{id}/cancel',
        'post /webhooks/in/{name}',
        'post /slack/events',
        'post /slack/commands',
        'post /webhooks/github',
      ]),
    );
  });

  it('describes module requests with the zod schemas that validate them', () => {
    const automations = doc.paths['/api/automations']!.post as {
      requestBody: { content: Record<string, { schema: unknown }> };
    };
    const run = doc.paths['/api/automations/{name}/run']!.post as {
      requestBody: { content: Record<string, { schema: unknown }> };
    };
    const repos = doc.paths['/api/fleets/{name}/repos']!.get as {
      parameters: { name: string; schema: { enum?: string[] } }[];
    };
    const github = doc.paths['/webhooks/github']!.post as {
      parameters: { name: string; in: string; required: boolean }[];
      security: unknown[];
    };
    const slack = doc.paths['/slack/commands']!.post as { requestBody: { content: Record<string, unknown> } };

    expect(automations.requestBody.content['application/json']!.schema).toEqual(
      z.toJSONSchema(AutomationFile, { io: 'input', unrepresentable: 'any' }),
    );
    expect(run.requestBody.content['application/json']!.schema).toEqual(
      z.toJSONSchema(AutomationRunBody, { io: 'input', unrepresentable: 'any' }),
    );
    expect(repos.parameters.find((p) => p.name === 'state')!.schema.enum).toEqual([...FLEET_REPO_STATES]);
    expect(github.security).toEqual([]);
    expect(
      github.parameters
        .filter((p) => p.in === 'header' && p.required)
        .map((p) => p.name)
        .sort(),
    ).toEqual(['X-GitHub-Delivery', 'X-GitHub-Event', 'X-Hub-Signature-256']);
    expect(Object.keys(slack.requestBody.content)).toEqual(['application/x-www-form-urlencoded']);
  });

  it.each([
    ['/api/fleets/none/repos?limit=0', 'query.limit'],
    ['/api/fleets/none/repos?state=exploded', 'query.state'],
    ['/api/automations/none/history?limit=many', 'query.limit'],
  ])('refuses %s as the document says, naming %s', async (path, field) => {
    const res = await api.fetch(path, { token });

    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain(field);
  });
});
