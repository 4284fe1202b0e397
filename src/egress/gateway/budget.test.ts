import { afterEach, describe, expect, it } from 'vitest';
import { type ModelServer, type ScriptedTurn, startModelServer } from '../../../test/support/model-server.ts';
import {
  type ModelBudget,
  type ModelCall,
  type ModelGateway,
  startModelGateway,
  type UsageTotals,
} from './index.ts';

let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanup.map((close) => close()));
  cleanup = [];
});

interface Setup {
  upstream: ModelServer;
  gateway: ModelGateway;
  calls: ModelCall[];
  exceeded: UsageTotals[];
}

async function setUp(script: ScriptedTurn[], budget: ModelBudget): Promise<Setup> {
  const upstream = await startModelServer({ script });
  const calls: ModelCall[] = [];
  const exceeded: UsageTotals[] = [];
  const gateway = await startModelGateway({
    providers: {
      anthropic: { baseUrl: upstream.url, apiKey: 'sk-ant-real' },
      openai: { baseUrl: `${upstream.url}/v1`, apiKey: 'sk-openai-real' },
    },
    port: 0,
    prices: { 'gpt-test': { input: 2, output: 10 } },
    budget,
    onUsage: (call) => calls.push(call),
    onBudgetExceeded: (totals) => exceeded.push(totals),
  });
  cleanup.push(upstream.close, gateway.close);
  return { upstream, gateway, calls, exceeded };
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('model gateway budget', () => {
  it('lets the streaming call that crosses a token budget finish, then refuses the next with 429', async () => {
    const { upstream, gateway, calls, exceeded } = await setUp(
      [
        { text: 'first', usage: { inputTokens: 600, outputTokens: 200 } },
        { text: 'second, which crosses the budget', usage: { inputTokens: 250, outputTokens: 50 } },
        { text: 'never played' },
      ],
      { tokens: 1000 },
    );
    const request = { model: 'claude-test', stream: true, messages: [] };

    const first = await (await post(`${gateway.url}/v1/messages`, request)).text();
    const afterFirst = exceeded.length;
    const second = await (await post(`${gateway.url}/v1/messages`, request)).text();
    const third = await post(`${gateway.url}/v1/messages`, request);
    const fourth = await post(`${gateway.url}/v1/messages`, request);

    expect(first).toContain('message_stop');
    expect(afterFirst).toBe(0);
    expect(second).toContain('message_stop');
    expect(third.status).toBe(429);
    expect(third.headers.get('x-should-retry')).toBe('false');
    expect(await third.json()).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', message: expect.stringContaining("run's model budget is spent") },
    });
    expect(fourth.status).toBe(429);
    expect(upstream.requests).toHaveLength(2);
    expect(exceeded).toEqual([
      { calls: 2, inputTokens: 850, outputTokens: 250, costUsd: 0, unpricedCalls: 2 },
    ]);
    expect(calls.map((c) => c.status)).toEqual([200, 200, 429, 429]);
    expect(gateway.usage()).toMatchObject({ calls: 2, inputTokens: 850, outputTokens: 250 });
  });

  it('refuses calls in the OpenAI error format once a cost budget is spent', async () => {
    const { upstream, gateway, exceeded } = await setUp(
      [{ text: 'expensive', usage: { inputTokens: 1_000_000, outputTokens: 100_000 } }],
      { costUsd: 2.5 },
    );

    const first = await post(`${gateway.url}/v1/responses`, { model: 'gpt-test', input: 'hi' });
    await first.text();
    const refused = await post(`${gateway.url}/v1/chat/completions`, { model: 'gpt-test', messages: [] });

    expect(first.status).toBe(200);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({
      error: {
        message: expect.stringContaining("run's model budget is spent"),
        type: 'insufficient_quota',
        param: null,
        code: 'budget_exceeded',
      },
    });
    expect(exceeded).toEqual([
      { calls: 1, inputTokens: 1_000_000, outputTokens: 100_000, costUsd: 3, unpricedCalls: 0 },
    ]);
    expect(upstream.requests).toHaveLength(1);
  });

  it('refuses the first call of a run whose budget is 0 and reports it once', async () => {
    const { upstream, gateway, exceeded } = await setUp([{ text: 'never played' }], { tokens: 0 });

    const first = await post(`${gateway.url}/v1/messages`, { model: 'claude-test', messages: [] });
    const second = await post(`${gateway.url}/v1/messages`, { model: 'claude-test', messages: [] });

    expect([first.status, second.status]).toEqual([429, 429]);
    expect(exceeded).toHaveLength(1);
    expect(upstream.requests).toHaveLength(0);
  });

  it('does not count calls that are not model calls against the budget', async () => {
    const { gateway, exceeded } = await setUp([], { tokens: 0 });

    const models = await fetch(`${gateway.url}/v1/models`);

    expect(models.status).toBe(200);
    expect(exceeded).toHaveLength(0);
  });
});
