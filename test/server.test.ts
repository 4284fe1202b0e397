import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { swarmQueries } from '../src/fleets/swarm-store.ts';
import { createToken } from '../src/server/tokens.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';
import { DATABASE_KINDS } from './support/databases.ts';
import { documentedRoutes, servedRoutes } from './support/openapi.ts';
import { makeRepo } from './support/repos.ts';

describe.each(DATABASE_KINDS)('HTTP API on %s', (kind) => {
  let api: TestApi;
  let repo: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    const ingress = new Hono().post('/github', (c) => c.json({ accepted: true }, 202));
    const fleets = new Hono().get('/', (c) => c.json({ fleets: [] }));
    api = await startTestApi(kind, {
      modules: [
        {
          name: 'webhooks',
          basePath: '/webhooks',
          routes: ingress,
          public: true,
          openapi: { '/webhooks/github': { post: { summary: 'GitHub deliveries' } } },
        },
        {
          name: 'fleets',
          basePath: '/api/fleets',
          routes: fleets,
          openapi: { '/api/fleets': { get: { summary: 'Fleets' } } },
          metrics: () => ['# TYPE nightshift_fleets gauge', 'nightshift_fleets 0'],
        },
      ],
    });
    repo = join(api.dir, 'repo');
    await makeRepo(repo, { 'README.md': '# api\n' });
  }, 240_000);

  afterAll(async () => {
    await api?.close();
  });

  beforeEach(async () => {
    await api.engine.store.db.exec(
      'TRUNCATE repos, runs, run_events, changes, run_queue, api_tokens CASCADE',
    );
    const { store } = api.engine;
    tokens.admin = (await createToken(store, { name: 'admin', scopes: ['admin'] })).token;
    tokens.reader = (await createToken(store, { name: 'reader', scopes: ['runs:read'] })).token;
    tokens.writer = (await createToken(store, { name: 'writer', scopes: ['runs:read', 'runs:write'] })).token;
    tokens.revoked = (await createToken(store, { name: 'gone', scopes: ['admin'] })).token;
    await store.tokens.revoke('gone');
  });

  const json = (body: unknown) => ({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

  async function submit(extra: Record<string, unknown> = {}, token = tokens.writer) {
    const res = await api.fetch('/api/runs', { ...json({ repo, script: 'true', ...extra }), token });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; author: string; trigger: string };
  }

  describe('auth', () => {
    it.each([
      ['no token', () => ({}), 401, /needs a token/],
      [
        'a wrong secret for a real token id',
        () => ({ token: `${tokens.admin!.slice(0, -1)}x` }),
        401,
        /wrong/,
      ],
      ['a secret of another length', () => ({ token: `${tokens.admin}AAAA` }), 401, /wrong/],
      ['garbage', () => ({ token: 'hunter2' }), 401, /wrong/],
      ['a revoked token', () => ({ token: tokens.revoked }), 401, /revoked/],
      ['a token of another scope', () => ({ token: tokens.reader }), 403, /lacks the scope runs:write/],
    ])('refuses %s', async (_case, credentials, status, message) => {
      const res = await api.fetch('/api/runs', { ...json({ repo, script: 'true' }), ...credentials() });
      const body = await res.json();

      expect(res.status).toBe(status);
      expect(body.error.code).toBe(status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN');
      expect(body.error.message).toMatch(message);
      expect(body.error.hint).toMatch(/nightshift token create/);
      expect(await api.engine.store.listRuns()).toEqual([]);
    });

    it('does not accept a token in the query string', async () => {
      const res = await api.fetch(`/api/runs?access_token=${encodeURIComponent(tokens.admin!)}`);

      expect(res.status).toBe(401);
      expect((await res.json()).error.message).toMatch(/not accepted/);
    });

    it('does not accept a token of the Basic scheme', async () => {
      const res = await api.fetch('/api/runs', { headers: { authorization: `Basic ${tokens.admin}` } });

      expect(res.status).toBe(401);
    });

    it('lets a token with the scope in, and admin everywhere', async () => {
      const asReader = await api.fetch('/api/runs', { token: tokens.reader });
      const asAdmin = await api.fetch('/api/tokens', { token: tokens.admin });
      const readerOnTokens = await api.fetch('/api/tokens', { token: tokens.reader });

      expect(asReader.status).toBe(200);
      expect(asAdmin.status).toBe(200);
      expect((await asAdmin.json()).tokens.map((t: { name: string }) => t.name).sort()).toEqual([
        'admin',
        'reader',
        'writer',
      ]);
      expect(readerOnTokens.status).toBe(403);
    });

    it('stores only a hash of the secret, and revoking stops the token at once', async () => {
      const rows = await api.engine.store.db.query<{ secret_hash: string }>(
        'SELECT secret_hash FROM api_tokens',
      );
      const secret = tokens.admin!.split('.')[1]!;
      expect(rows.every((row) => row.secret_hash !== secret && /^[0-9a-f]{64}$/.test(row.secret_hash))).toBe(
        true,
      );

      const revoke = await api.fetch('/api/tokens/reader', { method: 'DELETE', token: tokens.admin });
      const after = await api.fetch('/api/runs', { token: tokens.reader });

      expect(revoke.status).toBe(200);
      expect(after.status).toBe(401);
    });

    it('guards module routes with tokens unless the module is public', async () => {
      const webhook = await api.fetch('/webhooks/github', { method: 'POST', body: '{}' });
      const fleetsNoToken = await api.fetch('/api/fleets');
      const fleets = await api.fetch('/api/fleets', { token: tokens.reader });

      expect(webhook.status).toBe(202);
      expect(fleetsNoToken.status).toBe(401);
      expect(fleets.status).toBe(200);
    });
  });

  describe('validation', () => {
    it('rejects a bad body with the dot-path of every bad field, and queues nothing', async () => {
      const res = await api.fetch('/api/runs', {
        ...json({ repo: 5, script: 'true', timeoutMs: 'soon', values: { a: 1 }, colour: 'red' }),
        token: tokens.writer,
      });
      const { error } = await res.json();

      expect(res.status).toBe(400);
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/body\.repo: /);
      expect(error.message).toMatch(/body\.timeoutMs: /);
      expect(error.message).toMatch(/body\.values\.a: /);
      expect(error.message).toMatch(/body\.colour: unknown key/);
      expect(await api.engine.store.listRuns()).toEqual([]);
    });

    it.each([
      ['/api/runs?limit=0', /query\.limit: /],
      ['/api/runs?status=done', /query\.status: /],
      ['/api/runs?cursor=1%20OR%201', /query\.cursor: /],
      ['/api/runs?sort=id', /query\.sort: unknown key/],
    ])('rejects the query of %s', async (path, message) => {
      const res = await api.fetch(path, { token: tokens.reader });

      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(message);
    });

    it('rejects malformed JSON and oversized bodies', async () => {
      const malformed = await api.fetch('/api/runs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"repo":',
        token: tokens.writer,
      });
      const huge = await api.fetch('/api/runs', {
        ...json({ repo, script: 'x'.repeat(1_100_000) }),
        token: tokens.writer,
      });

      expect(malformed.status).toBe(400);
      expect((await malformed.json()).error.message).toMatch(/not valid JSON/);
      expect(huge.status).toBe(413);
      expect((await huge.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('answers errors of the engine with their code and status', async () => {
      const missingRepo = await api.fetch('/api/runs', {
        ...json({ repo: '/no/such/repo', script: 'true' }),
        token: tokens.writer,
      });
      const missingRun = await api.fetch('/api/runs/run_00000000000000000000', { token: tokens.reader });
      const noRoute = await api.fetch('/api/nothing', { token: tokens.reader });

      expect(missingRepo.status).toBe(400);
      expect((await missingRepo.json()).error.code).toBe('REPO_INVALID');
      expect(missingRun.status).toBe(404);
      expect((await missingRun.json()).error).toMatchObject({ code: 'NOT_FOUND', hint: expect.any(String) });
      expect(noRoute.status).toBe(404);
    });
  });

  describe('runs', () => {
    it('creates a run attributed to the token, gets it, and cancels it', async () => {
      const run = await submit();

      const got = await (await api.fetch(`/api/runs/${run.id}`, { token: tokens.reader })).json();
      const cancel = await api.fetch(`/api/runs/${run.id}/cancel`, { ...json({}), token: tokens.writer });
      const diff = await api.fetch(`/api/runs/${run.id}/diff`, { token: tokens.reader });

      expect(run).toMatchObject({ author: 'writer', trigger: 'api' });
      expect(got).toMatchObject({
        run: { id: run.id, status: 'queued' },
        repo: { url: repo },
        change: null,
        parent: null,
        children: [],
        swarm: null,
      });
      expect(await cancel.json()).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
      expect(diff.status).toBe(404);
      expect((await diff.json()).error.message).toMatch(/has no change: it concluded cancelled/);
    });

    it('lists runs newest first, page by page with a cursor, and filters them', async () => {
      const created: string[] = [];
      for (let i = 0; i < 5; i++) created.push((await submit({ trigger: i % 2 ? 'cron' : 'api' })).id);
      await submit({ author: 'someone-else' }, tokens.admin);

      const seen: string[] = [];
      let cursor: string | null = '';
      let pages = 0;
      while (cursor !== null) {
        const page = await (
          await api.fetch(`/api/runs?limit=2&author=writer${cursor ? `&cursor=${cursor}` : ''}`, {
            token: tokens.reader,
          })
        ).json();
        seen.push(...page.runs.map((r: { id: string }) => r.id));
        cursor = page.nextCursor;
        pages++;
      }
      const cron = await (await api.fetch('/api/runs?trigger=cron', { token: tokens.reader })).json();
      const byRepo = await (
        await api.fetch(`/api/runs?repo=${encodeURIComponent(repo)}&limit=500`, { token: tokens.reader })
      ).json();
      const other = join(api.dir, 'other');
      await makeRepo(other, { 'a.txt': 'a\n' });
      const otherRepo = await (
        await api.fetch(`/api/runs?repo=${encodeURIComponent(other)}`, { token: tokens.reader })
      ).json();

      expect(pages).toBe(3);
      expect(seen).toEqual([...created].reverse());
      expect(cron.runs.map((r: { id: string }) => r.id)).toEqual([created[3], created[1]]);
      expect(byRepo.runs).toHaveLength(6);
      expect(otherRepo).toEqual({ runs: [], nextCursor: null });
    });

    it('gives each listed run the run that started it and its swarm, whatever its trigger', async () => {
      const plain = await submit();
      const { store } = api.engine;
      const { repoId } = await store.getRun(plain.id);
      const script = {
        repoId,
        blueprint: 'script',
        blueprintSpec: {},
        inputs: { script: 'true' },
        timeoutMs: 1000,
      };
      const subRun = await store.createRun({
        ...script,
        trigger: 'api',
        parent: { runId: plain.id, depth: 1 },
      });
      const swarms = swarmQueries(store.db);
      const spec = { name: 'colors', repo, goal: 'g', facets: [{ id: 'red', script: 'true' }] };
      const swarmId = (await swarms.create(spec, repoId, 'facets', {
        driver: 'wrk_t',
        ms: 30_000,
        exclusive: true,
      }))!;
      const planner = await store.createRun({ ...script, trigger: 'swarm:colors' });
      await swarms.addRun(swarmId, planner.id, 'planner');
      const facet = await store.createRun({
        ...script,
        trigger: 'cron',
        parent: { runId: planner.id, depth: 1 },
      });
      await swarms.addRun(swarmId, facet.id, 'facet', 'red');

      const list = await (await api.fetch('/api/runs', { token: tokens.reader })).json();
      const page = await (
        await api.fetch(`/api/runs?status=queued&limit=1&cursor=${planner.id}`, { token: tokens.reader })
      ).json();

      const listed = (id: string) => list.runs.find((r: { id: string }) => r.id === id);
      expect(list.runs).toHaveLength(4);
      expect(listed(plain.id)).toMatchObject({ id: plain.id, parent: null, swarm: null });
      expect(listed(subRun.id)).toMatchObject({
        trigger: 'api',
        parent: { id: plain.id, blueprint: 'script', status: 'queued', conclusion: null, depth: 1 },
        swarm: null,
      });
      expect(listed(planner.id)).toMatchObject({
        parent: null,
        swarm: { id: swarmId, name: 'colors', role: 'planner', facet: null },
      });
      expect(listed(facet.id)).toMatchObject({
        trigger: 'cron',
        parent: { id: planner.id, depth: 1 },
        swarm: { id: swarmId, name: 'colors', role: 'facet', facet: 'red' },
      });
      expect(page.runs.map((r: { id: string; parent: { id: string } }) => [r.id, r.parent.id])).toEqual([
        [subRun.id, plain.id],
      ]);
      expect(page.nextCursor).toBe(subRun.id);
    });

    it('pages events after a sequence number', async () => {
      const run = await submit();
      await api.engine.store.appendEvents(run.id, [
        { type: 'step.output', data: { step: 's', stream: 'stdout', text: 'a\n' } },
        { type: 'step.output', data: { step: 's', stream: 'stdout', text: 'b\n' } },
      ]);

      const page = await (
        await api.fetch(`/api/runs/${run.id}/events?after=2&limit=1`, { token: tokens.reader })
      ).json();

      expect(page.events.map((e: { seq: number }) => e.seq)).toEqual([3]);
    });
  });

  describe('health, metrics and the OpenAPI document', () => {
    it('reports liveness and readiness without a token', async () => {
      const health = await api.fetch('/healthz');
      const ready = await api.fetch('/readyz');

      expect(health.status).toBe(200);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({
        ok: true,
        database: true,
        migrations: { ok: true },
        workers: false,
      });
    });

    it('exposes Prometheus metrics a parser accepts, with the modules’ lines', async () => {
      const run = await submit();
      await submit();
      await api.engine.store.db.query(
        `UPDATE runs SET started_at = now() - interval '3 seconds' WHERE id = $1`,
        [run.id],
      );
      await api.engine.store.completeRun(run.id, 'failure', 'test');

      const noScope = await api.fetch('/metrics', { token: tokens.reader });
      const res = await api.fetch('/metrics', { token: tokens.admin });
      const samples = parsePrometheus(await res.text());

      expect(noScope.status).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(samples.get('nightshift_runs{status="queued"}')).toBe(1);
      expect(samples.get('nightshift_runs{status="completed",conclusion="failure"}')).toBe(1);
      expect(samples.get('nightshift_queue_depth')).toBe(1);
      expect(samples.get('nightshift_run_duration_seconds_count')).toBe(1);
      expect(samples.get('nightshift_run_duration_seconds_bucket{le="1"}')).toBe(0);
      expect(samples.get('nightshift_run_duration_seconds_bucket{le="5"}')).toBe(1);
      expect(samples.get('nightshift_run_duration_seconds_bucket{le="+Inf"}')).toBe(1);
      expect(samples.get('nightshift_fleets')).toBe(0);
    });

    it('documents every route of the app, with the schemas that validate requests', async () => {
      const doc = await (await api.fetch('/openapi.json')).json();
      const documented = documentedRoutes(doc);

      expect(doc.openapi).toBe('3.1.0');
      expect(documented).toEqual(servedRoutes(api.app));
      expect(documented).toEqual(
        expect.arrayContaining([
          'post /api/runs/{id}/say',
          'get /api/runs/{id}/events/stream',
          'get /openapi.json',
        ]),
      );
      expect(doc.paths['/api/runs'].post.requestBody.content['application/json'].schema.required).toEqual([
        'repo',
      ]);
      expect(doc.paths['/api/runs'].get.parameters.map((p: { name: string }) => p.name)).toContain('cursor');
      expect(doc.paths['/api/runs'].get.security).toEqual([{ bearer: [] }]);
      expect(doc.paths['/healthz'].get.security).toEqual([]);
    });
  });
});

/** A strict reader of the Prometheus text format: every line is a comment or `name{labels} value`. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      typed.add(type[1]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (\S+)$/.exec(
        line,
      );
    if (!sample) throw new Error(`not Prometheus text: ${line}`);
    const family = sample[1]!.replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(sample[1]!) && !typed.has(family)) throw new Error(`sample before its TYPE: ${line}`);
    const value = Number(sample[3] === '+Inf' ? Number.POSITIVE_INFINITY : sample[3]);
    if (Number.isNaN(value)) throw new Error(`not a number: ${line}`);
    samples.set(`${sample[1]}${sample[2] ?? ''}`, value);
  }
  return samples;
}
