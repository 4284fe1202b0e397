import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AutomationService } from '../../src/automations/service.ts';
import { listDeliveries, webhookDeliveryMetrics } from '../../src/triggers/deliveries.ts';
import { webhookInRoutes } from '../../src/triggers/webhook/routes.ts';
import { signBody } from '../../src/triggers/webhook/verify.ts';
import { WebhookDeliveryWorker } from '../../src/triggers/webhook/worker.ts';
import { automation, automationWorld, testClock } from '../support/automations.ts';
import { serveApp } from '../support/serve.ts';

const OLD_SECRET = 'old-secret-0123456789';
const NEW_SECRET = 'new-secret-9876543210';

describe('generic webhooks', () => {
  let world: Awaited<ReturnType<typeof automationWorld>>;
  let server: Awaited<ReturnType<typeof serveApp>>;
  // Not started: each test drains the queue itself, so it sees exactly what was queued.
  let worker: WebhookDeliveryWorker;

  beforeAll(async () => {
    world = await automationWorld('pglite');
    const deps = world.deps(testClock('2026-01-05T10:00:00Z'), {
      ALERT_OLD: OLD_SECRET,
      ALERT_NEW: NEW_SECRET,
    });
    const app = new Hono().route('/webhooks/in', webhookInRoutes({ ...deps, maxBodyBytes: 4096 }));
    worker = new WebhookDeliveryWorker(new AutomationService(deps));
    server = await serveApp(app);
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    await world?.close();
  });

  beforeEach(async () => {
    await world.engine.store.db.exec(
      'TRUNCATE automations, automation_fires, webhook_deliveries, runs, run_queue, run_events CASCADE',
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
  const deliveries = () => listDeliveries(world.engine.store.db, 'webhook:alerts');

  it('answers at once, then starts a run from the queue on the repo the payload names, with the prompt rendered from the payload', async () => {
    const body = alert();

    const response = await post('alerts', body, {
      'X-Nightshift-Signature-256': signBody(NEW_SECRET, body),
      'X-Nightshift-Delivery': 'first',
    });
    const queuedRuns = await runCount();
    const processed = await worker.drain();

    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ accepted: true, delivery: 'first' });
    expect(queuedRuns).toBe(0);
    expect(processed).toBe(1);
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ deliveryId: 'first', outcome: 'accepted', event: 'webhook' });
    const run = await world.engine.store.getRun(delivery!.runId!);
    const repo = await world.engine.store.repos.get(run.repoId);
    expect(repo.name).toBe('api');
    expect(run.inputs.prompt).toBe('Fix alert: p99 latency over 2s');
    expect(run.inputs.values).toMatchObject({ severity: 'critical', automation: 'alerts' });
    expect(run).toMatchObject({ trigger: 'webhook:alerts', author: 'automation-alerts' });
  });

  it('accepts every configured secret, so a secret can be rotated', async () => {
    const body = alert({ service: 'web' });

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(OLD_SECRET, body) });

    await worker.drain();

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

    const response = await post('alerts', body, { ...headers(body), 'X-Nightshift-Delivery': 'forged' });
    await worker.drain();

    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('SIGNATURE_INVALID');
    expect(await runCount()).toBe(0);
    expect((await deliveries()).map((d) => [d.outcome, d.deliveryId, d.presentedId])).toEqual([
      ['rejected_signature', null, 'forged'],
    ]);
  });

  it('still accepts the real delivery after a forged one presented its id', async () => {
    const body = alert();
    const id = { 'X-Nightshift-Delivery': 'squatted' };

    const forged = await post('alerts', body, { ...id, 'X-Nightshift-Signature-256': signBody('x', body) });
    const real = await post('alerts', body, {
      ...id,
      'X-Nightshift-Signature-256': signBody(NEW_SECRET, body),
    });
    await worker.drain();

    expect([forged.status, real.status]).toEqual([401, 202]);
    expect(await runCount()).toBe(1);
  });

  it('answers 404 for an unknown or disabled hook, even with a valid signature', async () => {
    const body = alert();
    const signed = { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) };

    const unknown = await post('nope', body, signed);
    const disabled = await post('off', body, signed);
    await worker.drain();

    expect([unknown.status, disabled.status]).toEqual([404, 404]);
    expect(await runCount()).toBe(0);
    expect(await listDeliveries(world.engine.store.db)).toEqual([]);
  });

  it('rejects a signed body that is not JSON (400)', async () => {
    const body = '{"service": "api", ';

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) });
    await worker.drain();

    expect(response.status).toBe(400);
    expect(await runCount()).toBe(0);
    expect((await deliveries()).map((d) => d.outcome)).toEqual(['rejected_malformed']);
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

    await worker.drain();

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
    await worker.drain();
    const again = await Promise.all([post('alerts', body, headers), post('alerts', body, headers)]);
    await worker.drain();

    expect(first.status).toBe(202);
    expect(again.map((r) => r.status)).toEqual([200, 200]);
    expect(await again[0]!.json()).toMatchObject({ duplicate: true, delivery: 'd-1' });
    expect(await runCount()).toBe(1);
    const metrics = await webhookDeliveryMetrics(world.engine.store.db);
    expect(metrics).toContain(
      'nightshift_webhook_deliveries_total{source="webhook:alerts",outcome="accepted"} 1',
    );
    expect(metrics).toContain(
      'nightshift_webhook_deliveries_total{source="webhook:alerts",outcome="duplicate"} 2',
    );
  });

  it('starts its runs once when the worker processing a delivery died after starting them', async () => {
    const body = alert();
    await post('alerts', body, {
      'X-Nightshift-Signature-256': signBody(NEW_SECRET, body),
      'X-Nightshift-Delivery': 'crash',
    });
    await worker.drain();
    // As a worker that died before recording the outcome leaves it: processed again when its lease ends.
    await world.engine.store.db.query(
      "UPDATE webhook_deliveries SET processed_at = NULL, locked_until = NULL, run_id = NULL WHERE delivery_id = 'crash'",
    );
    await world.engine.store.db.query("UPDATE automation_fires SET outcome = 'claimed', run_ids = '[]'");

    const processed = await worker.drain();

    expect(processed).toBe(1);
    expect(await runCount()).toBe(1);
    const [delivery] = await deliveries();
    expect(delivery).toMatchObject({ outcome: 'accepted', attempts: 2 });
    const fires = await world.queries.history('alerts');
    expect(fires).toHaveLength(1);
    expect(fires[0]).toMatchObject({ outcome: 'started', runIds: [delivery!.runId] });
  });

  it('refuses a payload naming a repo outside the targets, and starts nothing', async () => {
    const body = alert({ service: '/etc' });

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) });
    await worker.drain();

    expect(response.status).toBe(202);
    expect(await runCount()).toBe(0);
    const [delivery] = await deliveries();
    expect(delivery!.outcome).toBe('failed');
    expect(delivery!.reason).toContain('not a target');
  });

  it('records a delivery that does not pass the filters without starting a run', async () => {
    const body = alert({ alert: { title: 'disk 70% full', severity: 'low' } });

    const response = await post('alerts', body, { 'X-Nightshift-Signature-256': signBody(NEW_SECRET, body) });
    await worker.drain();

    expect(response.status).toBe(202);
    expect(await runCount()).toBe(0);
    expect((await deliveries())[0]).toMatchObject({ outcome: 'ignored' });
    expect((await world.queries.history('alerts'))[0]).toMatchObject({
      kind: 'webhook',
      outcome: 'filtered',
    });
  });
});
