import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { webhookInRoutes } from '../../src/triggers/webhook/routes.ts';
import { signBody } from '../../src/triggers/webhook/verify.ts';
import { automation, automationWorld, testClock } from '../support/automations.ts';
import { serveApp } from '../support/serve.ts';

const OLD_SECRET = 'old-secret-0123456789';
const NEW_SECRET = 'new-secret-9876543210';

describe('generic webhooks', () => {
  let world: Awaited<ReturnType<typeof automationWorld>>;
  let server: Awaited<ReturnType<typeof serveApp>>;

  beforeAll(async () => {
    world = await automationWorld('pglite');
    const deps = world.deps(testClock('2026-01-05T10:00:00Z'), {
      ALERT_OLD: OLD_SECRET,
      ALERT_NEW: NEW_SECRET,
    });
    const app = new Hono().route('/webhooks/in', webhookInRoutes({ ...deps, maxBodyBytes: 4096 }));
    server = await serveApp(app);
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    await world?.close();
  });

  beforeEach(async () => {
    await world.engine.store.db.exec(
      'TRUNCATE automations, automation_fires, automation_deliveries, runs, run_queue, run_events CASCADE',
    );
    const alerts = automation({
      name: 'alerts',
      trigger: {
        kind: 'webhook',
        webhook: 'alerts',
        secrets: [{ env: 'ALERT_OLD' }, { env: 'ALERT_NEW' }],
        deliveryHeader: 'X-Nightshift-Delivery',
        repo: '{{payload.service}}',
      },
      targets: [world.repos.api!, world.repos.web!],
      filters: [{ field: 'payload.alert.severity', in: ['critical', 'high'] }],
      inputs: {
        prompt: 'Fix alert: {{payload.alert.title}}',
        values: { severity: '{{payload.alert.severity}}' },
      },
      concurrency: 5,
    });
    await world.queries.upsert(alerts, new Date());
    await world.queries.upsert(
      {
        ...alerts,
        name: 'off',
        enabled: false,
        trigger: { ...alerts.trigger, webhook: 'off' } as typeof alerts.trigger,
      },
      new Date(),
    );
  });

  const alert = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      service: 'api',
      alert: { title: 'p99 latency over 2s', severity: 'critical' },
      ...overrides,
    });

  function post(hook: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
    return fetch(`${server.url}/webhooks/in/${hook}`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  }

  const runCount = async () => (await world.engine.store.listRuns()).length;

  it('starts a run on the repo the payload names, with the prompt rendered from the payload', async () => {
    const body = alert();

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) });

    expect(response.status).toBe(202);
    const answer = (await response.json()) as { runs: string[]; outcome: string };
    expect(answer.outcome).toBe('started');
    expect(answer.runs).toHaveLength(1);
    const run = await world.engine.store.getRun(answer.runs[0]!);
    const repo = await world.engine.store.repos.get(run.repoId);
    expect(repo.name).toBe('api');
    expect(run.inputs.prompt).toBe('Fix alert: p99 latency over 2s');
    expect(run.inputs.values).toMatchObject({ severity: 'critical', automation: 'alerts' });
    expect(run).toMatchObject({ trigger: 'webhook:alerts', author: 'automation-alerts' });
  });

  it('accepts every configured secret, so a secret can be rotated', async () => {
    const body = alert({ service: 'web' });

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(OLD_SECRET, body) });

    expect(response.status).toBe(202);
    expect(await runCount()).toBe(1);
  });

  it.each([
    ['no signature', () => ({})],
    [
      'a signature made with another secret',
      (body: string) => ({ 'X-Nightshift-Signature-256': signBody('guessed-secret', body) }),
    ],
    [
      'the signature of another body',
      () => ({ 'X-Nightshift-Signature-256': signBody(NEW_SECRET, alert({ service: 'web' })) }),
    ],
    ['a sha1 signature', () => ({ 'X-Nightshift-Signature-256': `sha1=${'a'.repeat(40)}` })],
    [
      'a truncated signature',
      (body: string) => ({ 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body).slice(0, 40) }),
    ],
    ['a signature that is not hex', () => ({ 'X-Nightshift-Signature-256': `sha256=${'z'.repeat(64)}` })],
    [
      'an empty secret used to sign',
      (body: string) => ({ 'X-Nightshift-Signature-256': signBody('', body) }),
    ],
  ])('rejects a delivery with %s (401) and starts nothing', async (_, headers) => {
    const body = alert();

    const response = await post('alerts', body, headers(body));

    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('SIGNATURE_INVALID');
    expect(await runCount()).toBe(0);
  });

  it('answers 404 for an unknown or disabled hook, even with a valid signature', async () => {
    const body = alert();
    const signed = { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) };

    const unknown = await post('nope', body, signed);
    const disabled = await post('off', body, signed);

    expect([unknown.status, disabled.status]).toEqual([404, 404]);
    expect(await runCount()).toBe(0);
  });

  it('rejects a signed body that is not JSON (400)', async () => {
    const body = '{"service": "api", ';

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) });

    expect(response.status).toBe(400);
    expect(await runCount()).toBe(0);
  });

  it('refuses an oversized body (413), with or without a content length', async () => {
    const body = alert({ padding: 'x'.repeat(10_000) });
    const signature = { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) };
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++)
          controller.enqueue(new TextEncoder().encode(body.slice(i * 1100, (i + 1) * 1100)));
        controller.close();
      },
    });

    const sized = await post('alerts', body, signature);
    const streamed = await fetch(`${server.url}/webhooks/in/alerts`, {
      method: 'POST',
      body: chunks,
      headers: signature,
      duplex: 'half',
    } as RequestInit);

    expect([sized.status, streamed.status]).toEqual([413, 413]);
    expect(await runCount()).toBe(0);
  });

  it('starts one run for a delivery sent again with the same delivery id (replay)', async () => {
    const body = alert();
    const headers = {
      'X-Nightshift-Signature-256': signBody(NEW_SECRET, body),
      'X-Nightshift-Delivery': 'd-1',
    };

    const first = await post('alerts', body, headers);
    const again = await Promise.all([post('alerts', body, headers), post('alerts', body, headers)]);

    expect(first.status).toBe(202);
    expect(again.map((r) => r.status)).toEqual([200, 200]);
    expect(await again[0]!.json()).toMatchObject({ duplicate: true, runs: [] });
    expect(await runCount()).toBe(1);
  });

  it('refuses a payload naming a repo outside the targets, and starts nothing', async () => {
    const body = alert({ service: '/etc' });

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) });

    expect(response.status).toBe(422);
    expect(((await response.json()) as { reason: string }).reason).toContain('not a target');
    expect(await runCount()).toBe(0);
  });

  it('records a delivery that does not pass the filters without starting a run', async () => {
    const body = alert({ alert: { title: 'disk 70% full', severity: 'low' } });

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) });

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: 'filtered', runs: [] });
    expect(await runCount()).toBe(0);
    expect((await world.queries.history('alerts'))[0]).toMatchObject({
      kind: 'webhook',
      outcome: 'filtered',
    });
  });
});
