import { afterEach, describe, expect, it } from 'vitest';
import {
  type ModelServer,
  parseSse,
  type ScriptedTurn,
  startModelServer,
} from '../../../test/support/model-server.ts';
import { type ModelCall, type ModelGateway, startModelGateway } from './index.ts';

const ANTHROPIC_KEY = 'sk-ant-real-key-0123456789';
const OPENAI_KEY = 'sk-openai-real-key-0123456789';
const PRICES = { 'claude-test': { input: 3, output: 15 }, 'gpt-test': { input: 2.5, output: 10 } };
const USAGE = { inputTokens: 1200, outputTokens: 340 };

let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanup.map((close) => close()));
  cleanup = [];
});

async function setUp(
  script: ScriptedTurn[],
): Promise<{ upstream: ModelServer; gateway: ModelGateway; calls: ModelCall[] }> {
  const upstream = await startModelServer({ script });
  const calls: ModelCall[] = [];
  const gateway = await startModelGateway({
    providers: {
      anthropic: { baseUrl: upstream.url, apiKey: ANTHROPIC_KEY },
      openai: { baseUrl: `${upstream.url}/v1`, apiKey: OPENAI_KEY },
    },
    port: 0,
    prices: PRICES,
    onUsage: (call) => calls.push(call),
  });
  cleanup.push(upstream.close, gateway.close);
  return { upstream, gateway, calls };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Ids and timestamps differ from one answer to the next; everything else must be identical. */
function normalize(text: string): string {
  return text
    .replace(/\b(?:msg|call|chatcmpl|resp|fc)_[0-9a-z_]+/g, 'ID')
    .replace(/"created(_at)?":\d+/g, '"created$1":0');
}

interface ApiCase {
  api: string;
  path: string;
  body: { model: string } & Record<string, unknown>;
  clientHeaders: Record<string, string>;
  keyHeader: string;
  key: string;
  provider: string;
  costUsd: number;
}

const API_CASES: ApiCase[] = [
  {
    api: 'Anthropic Messages',
    path: '/v1/messages',
    body: { model: 'claude-test', max_tokens: 1000, messages: [{ role: 'user', content: 'hi' }] },
    clientHeaders: { 'x-api-key': 'sk-client-placeholder', 'anthropic-version': '2023-06-01' },
    keyHeader: 'x-api-key',
    key: ANTHROPIC_KEY,
    provider: 'anthropic',
    costUsd: (1200 * 3 + 340 * 15) / 1e6,
  },
  {
    api: 'OpenAI Chat Completions',
    path: '/v1/chat/completions',
    body: {
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
      stream_options: { include_usage: true },
    },
    clientHeaders: { authorization: 'Bearer sk-client-placeholder' },
    keyHeader: 'authorization',
    key: `Bearer ${OPENAI_KEY}`,
    provider: 'openai',
    costUsd: (1200 * 2.5 + 340 * 10) / 1e6,
  },
  {
    api: 'OpenAI Responses',
    path: '/v1/responses',
    body: { model: 'gpt-test', input: 'hi' },
    clientHeaders: { authorization: 'Bearer sk-client-placeholder' },
    keyHeader: 'authorization',
    key: `Bearer ${OPENAI_KEY}`,
    provider: 'openai',
    costUsd: (1200 * 2.5 + 340 * 10) / 1e6,
  },
];
const CASES = API_CASES.flatMap((c) => [
  { ...c, stream: false, mode: 'JSON' },
  { ...c, stream: true, mode: 'streaming' },
]);

describe('model gateway', () => {
  it.each(CASES)('forwards $api ($mode) with the real key and meters it exactly', async (c) => {
    const turn: ScriptedTurn = {
      toolCalls: [{ name: 'shell', input: { command: 'npm test' } }],
      usage: USAGE,
    };
    const { upstream, gateway, calls } = await setUp([turn, turn]);
    const body = { ...c.body, stream: c.stream };

    const direct = await post(`${upstream.url}${c.path}`, body);
    const through = await post(`${gateway.url}${c.path}`, body, c.clientHeaders);
    const directText = await direct.text();
    const throughText = await through.text();

    expect(through.status).toBe(200);
    expect(through.headers.get('content-type')).toBe(direct.headers.get('content-type'));
    expect(normalize(throughText)).toBe(normalize(directText));
    const seen = upstream.requests[1]!;
    expect(seen.path).toBe(c.path);
    expect(seen.body).toEqual(body);
    expect(seen.headers[c.keyHeader]).toBe(c.key);
    expect(JSON.stringify(seen.headers)).not.toContain('sk-client-placeholder');
    expect(calls).toEqual([
      {
        provider: c.provider,
        model: c.body.model,
        inputTokens: 1200,
        outputTokens: 340,
        costUsd: c.costUsd,
        priced: true,
        stream: c.stream,
        durationMs: expect.any(Number),
        status: 200,
      },
    ]);
    expect(gateway.usage()).toEqual({
      calls: 1,
      inputTokens: 1200,
      outputTokens: 340,
      costUsd: c.costUsd,
      unpricedCalls: 0,
    });
  });

  it('asks for usage on a streamed chat completion and leaves the extra usage chunk out', async () => {
    const { upstream, gateway, calls } = await setUp([{ text: 'all tests pass', usage: USAGE }]);

    const response = await post(`${gateway.url}/v1/chat/completions`, {
      model: 'gpt-test',
      stream: true,
      messages: [],
    });
    const events = parseSse(await response.text());

    expect(upstream.requests[0]!.body).toMatchObject({ stream_options: { include_usage: true } });
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.data) as { choices: { delta: { content?: string } }[] });
    expect(chunks.every((chunk) => chunk.choices.length === 1)).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]!.delta.content ?? '').join('')).toBe('all tests pass');
    expect(calls[0]).toMatchObject({ inputTokens: 1200, outputTokens: 340 });
  });

  it('passes a stream on event by event, without waiting for its end', async () => {
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { gateway, calls } = await setUp([{ text: 'slowly', usage: USAGE, hold }]);

    const response = await post(`${gateway.url}/v1/messages`, {
      model: 'claude-test',
      stream: true,
      messages: [],
    });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const meteredBeforeEnd = calls.length;
    release();
    while (!(await reader.read()).done) {}

    expect(first).toContain('event: message_start');
    expect(meteredBeforeEnd).toBe(0);
    expect(calls).toHaveLength(1);
  });

  it('meters a model missing from the price table at cost 0, flagged', async () => {
    const { gateway, calls } = await setUp([{ text: 'hello', usage: USAGE }]);

    await (await post(`${gateway.url}/v1/messages`, { model: 'claude-unheard-of', messages: [] })).text();

    expect(calls[0]).toMatchObject({
      model: 'claude-unheard-of',
      inputTokens: 1200,
      costUsd: 0,
      priced: false,
    });
    expect(gateway.usage()).toMatchObject({ calls: 1, inputTokens: 1200, costUsd: 0, unpricedCalls: 1 });
  });

  it('routes GET /v1/models to Anthropic or OpenAI by the headers the client sends', async () => {
    const { upstream, gateway } = await setUp([]);

    const openai = await fetch(`${gateway.url}/v1/models`);
    const anthropic = await fetch(`${gateway.url}/v1/models`, {
      headers: { 'anthropic-version': '2023-06-01' },
    });

    expect(openai.status).toBe(200);
    expect(anthropic.status).toBe(200);
    expect(upstream.requests.map((r) => r.headers['x-api-key'] ?? r.headers.authorization)).toEqual([
      `Bearer ${OPENAI_KEY}`,
      ANTHROPIC_KEY,
    ]);
    expect(gateway.usage().calls).toBe(0);
  });

  it('keeps the query string and adds a default anthropic-version', async () => {
    const { upstream, gateway } = await setUp([{ text: 'ok' }]);

    await (await post(`${gateway.url}/v1/messages?beta=true`, { model: 'claude-test', messages: [] })).text();

    expect(upstream.requests[0]).toMatchObject({
      path: '/v1/messages?beta=true',
      headers: expect.objectContaining({ 'anthropic-version': '2023-06-01' }),
    });
  });
});
