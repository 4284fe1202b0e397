import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverModules } from '../src/server/modules.ts';
import { createToken } from '../src/server/tokens.ts';
import { signBody } from '../src/triggers/webhook/verify.ts';
import { startTestApi, type TestApi } from './support/api-server.ts';
import { waitFor } from './support/automations.ts';
import { makeRepo, tempDir } from './support/repos.ts';

/** `nightshift serve` mounts automations, fleets, generic webhooks and Slack beside the core API. */
describe('the modules nightshift serve mounts', () => {
  let api: TestApi;
  let files: Awaited<ReturnType<typeof tempDir>>;
  const tokens = { reader: '', writer: '', metrics: '' };

  beforeAll(async () => {
    files = await tempDir();
    const repo = join(files.dir, 'repo');
    await makeRepo(repo, { 'README.md': '# hooks\n' });
    const automations = join(files.dir, 'automations');
    mkdirSync(automations);
    writeFileSync(
      join(automations, 'alerts.yml'),
      [
        'automations:',
        '  - name: alert-fix',
        '    trigger:',
        '      webhook: alerts',
        '      secrets: [{ env: ALERT_SECRET }]',
        '    blueprint: script',
        '    inputs: { script: "echo {{payload.title}} > alert.txt" }',
        `    targets: [${repo}]`,
        '',
      ].join('\n'),
    );
    const env = { ...process.env, NIGHTSHIFT_AUTOMATIONS_DIR: automations, ALERT_SECRET: 's3cret-hook' };
    api = await startTestApi('pglite', { parts: (engine) => serverModules(engine, env) });
    tokens.reader = (await createToken(api.engine.store, { name: 'reader', scopes: ['runs:read'] })).token;
    tokens.writer = (await createToken(api.engine.store, { name: 'writer', scopes: ['runs:write'] })).token;
    tokens.metrics = (await createToken(api.engine.store, { name: 'prom', scopes: ['metrics:read'] })).token;
  }, 300_000);

  afterAll(async () => {
    await api?.close();
    await files?.cleanup();
  });

  it('lists the automations synced from the server directory on start, behind auth', async () => {
    const anonymous = await api.fetch('/api/automations');
    const listed = await api.fetch('/api/automations', { token: tokens.reader });

    const runAsReader = await api.fetch('/api/automations/alert-fix/disable', {
      method: 'POST',
      token: tokens.reader,
    });

    expect(anonymous.status).toBe(401);
    expect(runAsReader.status).toBe(403);
    expect(listed.status).toBe(200);
    const body = await listed.json();
    expect(body.automations.map((a: { automation: { name: string } }) => a.automation.name)).toEqual([
      'alert-fix',
    ]);
  });

  it('refuses a fleet automation made through the API: it would have the server read a file of its choosing', async () => {
    const request = (method: string) => ({
      method,
      token: tokens.writer,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'leak', trigger: { manual: true }, fleet: '/etc/shadow' }),
    });

    const created = await api.fetch('/api/automations', request('POST'));
    const replaced = await api.fetch('/api/automations/leak', request('PUT'));

    for (const answer of [created, replaced]) {
      expect(answer.status).toBe(422);
      expect(JSON.stringify(await answer.json())).toContain(
        "fleet: can only be set in an automations file of the server's automations directory",
      );
    }
    expect((await api.fetch('/api/automations/leak', { token: tokens.reader })).status).toBe(404);
  });

  it('starts a run from a signed generic webhook and refuses a forged one', async () => {
    const payload = JSON.stringify({ title: 'disk full' });

    const forged = await api.fetch('/webhooks/in/alerts', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-nightshift-signature-256': signBody('wrong', payload),
      },
      body: payload,
    });
    const signed = await api.fetch('/webhooks/in/alerts', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-nightshift-signature-256': signBody('s3cret-hook', payload),
      },
      body: payload,
    });

    expect(forged.status).toBe(401);
    expect(signed.status).toBe(202);
    // The run is started from the queue, after the answer.
    const runs = await waitFor(async () => {
      const all = await api.engine.store.listRuns({});
      return all.length > 0 ? all : undefined;
    }, 'the webhook run');
    expect(runs.map((r) => [r.trigger, r.inputs.script])).toEqual([
      ['webhook:alert-fix', 'echo disk full > alert.txt'],
    ]);
    const metrics = await (await api.fetch('/metrics', { token: tokens.metrics })).text();
    expect(metrics).toContain(
      'nightshift_webhook_deliveries_total{source="webhook:alerts",outcome="accepted"} 1',
    );
    expect(metrics).toContain(
      'nightshift_webhook_deliveries_total{source="webhook:alerts",outcome="rejected_signature"} 1',
    );
  });

  it('serves the fleets API with read and write scopes', async () => {
    const list = await api.fetch('/api/fleets', { token: tokens.reader });
    const pauseAsReader = await api.fetch('/api/fleets/none/pause', { method: 'POST', token: tokens.reader });
    const pauseUnknown = await api.fetch('/api/fleets/none/pause', { method: 'POST', token: tokens.writer });
    const refreshAsReader = await api.fetch('/api/fleets/none/refresh', {
      method: 'POST',
      token: tokens.reader,
    });
    const refreshUnknown = await api.fetch('/api/fleets/none/refresh', {
      method: 'POST',
      token: tokens.writer,
    });
    const reads = await Promise.all(
      ['', '/progress', '/repos', '/series'].map((path) =>
        api.fetch(`/api/fleets/none${path}`, { token: tokens.reader }),
      ),
    );

    expect(list.status).toBe(200);
    expect(await list.json()).toEqual({ fleets: [] });
    expect(pauseAsReader.status).toBe(403);
    expect(pauseUnknown.status).toBe(404);
    expect(refreshAsReader.status).toBe(403);
    expect(refreshUnknown.status).toBe(404);
    expect(reads.map((read) => read.status)).toEqual([404, 404, 404, 404]);
  });

  it('answers Slack and GitHub ingress with what is missing when they are not configured', async () => {
    const slack = await api.fetch('/slack/events', { method: 'POST', body: '{}' });
    const github = await api.fetch('/webhooks/github', { method: 'POST', body: '{}' });

    expect(slack.status).toBe(503);
    expect((await slack.json()).error.hint).toMatch(/NIGHTSHIFT_SLACK_SIGNING_SECRET/);
    expect(github.status).toBe(404);
  });
});
