import { Hono } from 'hono';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AutomationService } from '../../src/automations/service.ts';
import { ANSWER_ATTEMPTS } from '../../src/store/backoff.ts';
import { listDeliveries } from '../../src/triggers/deliveries.ts';
import {
  answerEndedRuns,
  SlackDeliveryWorker,
  signSlackRequest,
  slackClient,
  slackRoutes,
} from '../../src/triggers/slack/index.ts';
import { automation, automationWorld, testClock, waitFor } from '../support/automations.ts';
import { serveApp } from '../support/serve.ts';
import { startSlackServer } from '../support/slack-server.ts';

const SIGNING_SECRET = 'slack-signing-secret-8f3a';
const BOT_TOKEN = 'xoxb-test-bot-token';
const NOW = '2026-01-05T10:00:00Z';
const nowSeconds = () => String(Math.floor(new Date(NOW).getTime() / 1000));

describe('Slack', () => {
  let world: Awaited<ReturnType<typeof automationWorld>>;
  let slack: Awaited<ReturnType<typeof startSlackServer>>;
  let server: Awaited<ReturnType<typeof serveApp>>;
  // Not started: each test drains the queue itself, so it sees exactly what was queued.
  let worker: SlackDeliveryWorker;
  const clock = testClock(NOW);

  beforeAll(async () => {
    world = await automationWorld('pglite', ['api', 'web'], { worker: true });
    slack = await startSlackServer({ botToken: BOT_TOKEN });
    const routes = slackRoutes({
      ...world.deps(clock),
      slack: { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: slack.apiUrl },
      publicUrl: 'https://nightshift.example',
    });
    worker = new SlackDeliveryWorker({
      service: new AutomationService(world.deps(clock)),
      client: slackClient(slack.apiUrl, BOT_TOKEN),
      publicUrl: 'https://nightshift.example',
    });
    server = await serveApp(new Hono().route('/slack', routes));
  }, 300_000);

  afterAll(async () => {
    await server?.close();
    await slack?.close();
    await world?.close();
  });

  beforeEach(async () => {
    await worker.drain();
    slack.messages.splice(0);
    await world.queries.remove('anywhere');
    await world.queries.upsert(
      automation({
        name: 'ask',
        trigger: { kind: 'slack', channels: { CAPI: world.repos.api! } },
        targets: [world.repos.api!, world.repos.web!],
        inputs: { prompt: '{{slack.text}}', values: {} },
        concurrency: 10,
      }),
      new Date(),
    );
  });

  function send(path: string, body: string, headers: Record<string, string> = {}, ts = nowSeconds()) {
    const type = path === '/commands' ? 'application/x-www-form-urlencoded' : 'application/json';
    return fetch(`${server.url}/slack${path}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': type,
        'X-Slack-Request-Timestamp': ts,
        'X-Slack-Signature': signSlackRequest(SIGNING_SECRET, ts, body),
        ...headers,
      },
    });
  }

  const mention = (eventId: string, text: string, channel = 'CAPI', ts = '1736071200.000200') =>
    JSON.stringify({
      type: 'event_callback',
      event_id: eventId,
      event: { type: 'app_mention', text, user: 'U42', channel, ts },
    });

  const runCount = async () => (await world.engine.store.listRuns({ limit: 500 })).length;

  it('answers the url_verification challenge', async () => {
    const response = await send('/events', JSON.stringify({ type: 'url_verification', challenge: 'c-123' }));

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge: 'c-123' });
  });

  it('starts a run on the repo a mention names and answers in the thread when it starts and ends', async () => {
    const response = await send('/events', mention('Ev1', '<@UBOT> web make the README say fixed'));
    expect(response.status).toBe(200);
    await worker.drain();

    const started = slack.messages.find((m) => m.text.startsWith('Started run'));
    expect(started).toMatchObject({ channel: 'CAPI', thread_ts: '1736071200.000200' });
    const runId = /run_[0-9a-z]+/.exec(started!.text)![0];
    const run = await world.engine.store.getRun(runId);
    expect(run).toMatchObject({ trigger: 'slack:ask', author: 'automation-ask' });
    expect(run.inputs.prompt).toBe('make the README say fixed');
    expect((await world.engine.store.repos.get(run.repoId)).name).toBe('web');
    expect(started!.text).toContain(`https://nightshift.example/runs/${runId}`);

    await waitFor(
      async () => (await world.engine.store.getRun(runId)).status === 'completed',
      'the run to end',
      120_000,
    );
    const answers = {
      db: world.engine.store.db,
      automations: world.queries,
      client: slackClient(slack.apiUrl, BOT_TOKEN),
      log: world.deps(clock).log,
      now: clock.now,
    };
    await answerEndedRuns(answers);
    await answerEndedRuns(answers);

    const change = await world.engine.store.changes.forRun(runId);
    const ended = slack.messages.filter((m) => m.text.includes('ended'));
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ channel: 'CAPI', thread_ts: '1736071200.000200' });
    expect(ended[0]!.text).toContain('*success*');
    expect(ended[0]!.text).toContain(change!.branch);
  });

  it('answers again after a backoff when Slack fails, without holding the others up, and gives up after its attempts', async () => {
    await send(
      '/events',
      mention('Ev-retry', '<@UBOT> web make the README say fixed', 'CAPI', '1736071300.000100'),
    );
    await send(
      '/events',
      mention('Ev-fine', '<@UBOT> web make the README say fine', 'CAPI', '1736071400.000100'),
    );
    await worker.drain();
    const runIds = slack.messages
      .filter((m) => m.text.startsWith('Started run'))
      .map((m) => /run_[0-9a-z]+/.exec(m.text)![0]);
    expect(runIds).toHaveLength(2);
    for (const id of runIds) {
      await waitFor(
        async () => (await world.engine.store.getRun(id)).status === 'completed',
        'the runs to end',
        120_000,
      );
    }
    const logs: Record<string, unknown>[] = [];
    const answers = {
      db: world.engine.store.db,
      automations: world.queries,
      client: slackClient(slack.apiUrl, BOT_TOKEN),
      log: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
      now: clock.now,
    };
    const answersIn = (thread: string) =>
      slack.messages.filter((m) => m.thread_ts === thread && m.text.includes('ended')).length;
    const fire = await world.engine.store.db.query<{
      id: string;
      notify_attempts: number;
      notify_error: string;
    }>(
      `SELECT id, notify_attempts, notify_error FROM automation_fires WHERE reply->>'threadTs' = '1736071300.000100'`,
    );
    const dueNow = () =>
      world.engine.store.db.query(
        "UPDATE automation_fires SET next_notify_at = now() WHERE id = $1 AND next_notify_at <> 'infinity'",
        [fire[0]!.id],
      );
    const attempts = async () =>
      (
        await world.engine.store.db.query<{ notify_attempts: number; notify_error: string | null }>(
          'SELECT notify_attempts, notify_error FROM automation_fires WHERE id = $1',
          [fire[0]!.id],
        )
      )[0]!;

    // Slack refuses the first answer: the other fire is answered all the same.
    slack.refuse('ratelimited');
    await answerEndedRuns(answers);
    expect(answersIn('1736071300.000100')).toBe(0);
    expect(answersIn('1736071400.000100')).toBe(1);
    expect(await attempts()).toMatchObject({ notify_attempts: 1 });
    expect((await attempts()).notify_error).toContain('ratelimited');
    expect(logs.filter((l) => l.msg === 'slack answer failed; will retry')).toHaveLength(1);
    const fireNow = async () => (await world.queries.history('ask', 50)).find((f) => f.id === fire[0]!.id)!;
    expect((await fireNow()).answer).toEqual({
      attempts: 1,
      error: expect.stringContaining('ratelimited'),
      givenUp: false,
    });
    // The run's own details say so too (`nightshift show`, GET /api/runs/:id).
    const retried = (await fireNow()).runIds[0]!;
    expect((await world.engine.runDetails(retried)).answer).toEqual({
      via: 'slack',
      to: 'reply in the Slack thread',
      answeredAt: null,
      attempts: 1,
      error: expect.stringContaining('ratelimited'),
      givenUp: false,
    });

    // Not tried again on the next pass (the backoff), but once it has passed.
    await answerEndedRuns(answers);
    expect(answersIn('1736071300.000100')).toBe(0);
    await dueNow();
    await answerEndedRuns(answers);
    expect(answersIn('1736071300.000100')).toBe(1);
    expect(await attempts()).toEqual({ notify_attempts: 2, notify_error: null });
    expect((await world.engine.runDetails(retried)).answer).toMatchObject({
      answeredAt: expect.any(Date),
      attempts: 2,
      error: null,
    });
    expect(answersIn('1736071400.000100')).toBe(1);

    // Failing every time, it is given up after ANSWER_ATTEMPTS attempts and never tried again.
    await world.engine.store.db.query(
      'UPDATE automation_fires SET notified_at = NULL, notify_attempts = 0, next_notify_at = NULL WHERE id = $1',
      [fire[0]!.id],
    );
    slack.refuse('fatal_error', ANSWER_ATTEMPTS);
    for (let i = 0; i < ANSWER_ATTEMPTS + 2; i++) {
      await answerEndedRuns(answers);
      await dueNow();
    }
    expect(slack.refused.filter((e) => e === 'fatal_error')).toHaveLength(ANSWER_ATTEMPTS);
    expect(answersIn('1736071300.000100')).toBe(1);
    expect(await attempts()).toMatchObject({ notify_attempts: ANSWER_ATTEMPTS });
    expect((await attempts()).notify_error).toContain('fatal_error');
    expect(logs.filter((l) => l.msg === 'gave up answering in Slack')).toHaveLength(1);
    expect((await fireNow()).answer).toMatchObject({ attempts: ANSWER_ATTEMPTS, givenUp: true });
    expect((await world.engine.runDetails(retried)).answer).toMatchObject({
      answeredAt: null,
      attempts: ANSWER_ATTEMPTS,
      error: expect.stringContaining('fatal_error'),
      givenUp: true,
    });
  });

  it("uses the channel's default repo when the message names none", async () => {
    await send('/events', mention('Ev2', '<@UBOT> bump the version'));
    await worker.drain();

    const runs = await world.engine.store.listRuns({ limit: 1 });
    expect((await world.engine.store.repos.get(runs[0]!.repoId)).name).toBe('api');
    expect(runs[0]!.inputs.prompt).toBe('bump the version');
  });

  it('starts no second run when Slack retries an event', async () => {
    const before = await runCount();
    const body = mention('Ev3', '<@UBOT> web tidy up');

    const responses = [await send('/events', body)];
    responses.push(
      await send('/events', body, { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' }),
    );
    responses.push(
      await send('/events', body, { 'X-Slack-Retry-Num': '2', 'X-Slack-Retry-Reason': 'http_timeout' }),
    );
    await worker.drain();

    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await runCount()).toBe(before + 1);
    const recorded = (await listDeliveries(world.engine.store.db, 'slack')).filter(
      (d) => d.presentedId === 'Ev3',
    );
    expect(recorded.map((d) => d.outcome).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(slack.messages.filter((m) => m.text.startsWith('Started run'))).toHaveLength(1);
  });

  it.each([
    [
      'a forged signature',
      (body: string, ts: string) => ({ 'X-Slack-Signature': signSlackRequest('guessed', ts, body) }),
      0,
    ],
    ['a stale timestamp (replay after 6 minutes)', () => ({}), -360],
    ['a timestamp 6 minutes ahead', () => ({}), 360],
    [
      'a tampered body',
      (_: string, ts: string) => ({
        'X-Slack-Signature': signSlackRequest(SIGNING_SECRET, ts, mention('Ev9', 'api other')),
      }),
      0,
    ],
    ['a malformed signature', () => ({ 'X-Slack-Signature': 'v1=abc' }), 0],
    ['a missing signature', () => ({ 'X-Slack-Signature': '' }), 0],
  ])('rejects a request with %s (401), starting and posting nothing', async (_, headers, shift) => {
    const before = await runCount();
    const body = mention(`Ev-attack-${shift}-${Math.random()}`, '<@UBOT> web rm -rf everything');
    const ts = String(Number(nowSeconds()) + shift);

    const response = await send('/events', body, headers(body, ts), ts);
    await worker.drain();

    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('SIGNATURE_INVALID');
    expect(await runCount()).toBe(before);
    expect(slack.messages).toEqual([]);
    expect((await listDeliveries(world.engine.store.db, 'slack'))[0]).toMatchObject({
      outcome: 'rejected_signature',
      deliveryId: null,
    });
  });

  it.each([
    ['/events', 'null'],
    ['/events', '{"type": "event_callback", "event": {"type": "app_mention", "channel": 7}}'],
    ['/events', '{"type": '],
    ['/commands', 'text=api+fix+it'],
  ])('refuses a signed but malformed request to %s (400) and records it', async (path, body) => {
    const before = await runCount();

    const response = await send(path, body);
    await worker.drain();

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_INPUT');
    expect(await runCount()).toBe(before);
    const source = path === '/commands' ? 'slack-command' : 'slack';
    expect((await listDeliveries(world.engine.store.db, source))[0]).toMatchObject({
      outcome: 'rejected_malformed',
    });
  });

  async function anywhere() {
    await world.queries.upsert(
      automation({
        name: 'anywhere',
        trigger: { kind: 'slack', channels: {} },
        targets: [world.repos.api!, world.repos.web!],
        inputs: { prompt: '{{slack.text}}', values: {} },
      }),
      new Date(),
    );
  }

  it('answers that no automation takes requests in a channel none lists', async () => {
    await send('/events', mention('Ev5', '<@UBOT> api fix it', 'COTHER'));
    await worker.drain();

    expect(slack.messages.map((m) => m.text)).toEqual([
      'No Nightshift automation takes requests in this channel.',
    ]);
  });

  it('starts a run from a slash command and answers in a new thread', async () => {
    await anywhere();
    const body = new URLSearchParams({
      command: '/nightshift',
      text: 'api add a CHANGELOG entry',
      channel_id: 'CGENERAL',
      user_id: 'U7',
      trigger_id: 'T-1',
    }).toString();

    const response = await send('/commands', body);
    await worker.drain();

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ response_type: 'ephemeral' });
    const [asked, started] = slack.messages;
    expect(asked).toMatchObject({ channel: 'CGENERAL', text: '<@U7> asked: add a CHANGELOG entry' });
    expect(asked!.thread_ts).toBeUndefined();
    expect(started).toMatchObject({ channel: 'CGENERAL', thread_ts: asked!.ts });
    expect(started!.text).toMatch(/^Started run <https:\/\/nightshift\.example\/runs\/run_/);
  });

  it('starts one run for a slash command Slack sends twice with the same trigger_id', async () => {
    await anywhere();
    const before = await runCount();
    const body = new URLSearchParams({
      command: '/nightshift',
      text: 'web add a CONTRIBUTING file',
      channel_id: 'CGENERAL',
      user_id: 'U7',
      trigger_id: 'T-twice',
    }).toString();

    const first = await send('/commands', body);
    const again = await send('/commands', body);
    await worker.drain();

    expect([first.status, again.status]).toEqual([200, 200]);
    expect(await runCount()).toBe(before + 1);
    const recorded = await listDeliveries(world.engine.store.db, 'slack-command');
    expect(
      recorded
        .filter((d) => d.presentedId === 'T-twice')
        .map((d) => d.outcome)
        .sort(),
    ).toEqual(['accepted', 'duplicate']);
  });

  it('asks which repo when the channel has no default and the message names none', async () => {
    await anywhere();
    await send('/events', mention('Ev4', '<@UBOT> fix it', 'CRANDOM'));
    await worker.drain();

    expect(slack.messages).toHaveLength(1);
    expect(slack.messages[0]!.text).toContain('Which repo?');
  });
});
