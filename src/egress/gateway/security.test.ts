import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ModelServer, type ScriptedTurn, startModelServer } from '../../../test/support/model-server.ts';
import { type ModelCall, type ModelGateway, type ModelGatewayOptions, startModelGateway } from './index.ts';

const ANTHROPIC_KEY = 'sk-ant-api03-REAL-SECRET-aaaa';
const OPENAI_KEY = 'sk-proj-REAL-SECRET-bbbb';

let cleanup: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanup.map((close) => close()));
  cleanup = [];
});

async function setUp(
  script: ScriptedTurn[],
  options: Partial<ModelGatewayOptions> = {},
): Promise<{ upstream: ModelServer; gateway: ModelGateway; calls: ModelCall[] }> {
  const upstream = await startModelServer({ script });
  const calls: ModelCall[] = [];
  const gateway = await startModelGateway({
    providers: {
      anthropic: { baseUrl: upstream.url, apiKey: ANTHROPIC_KEY },
      openai: { baseUrl: `${upstream.url}/v1`, apiKey: OPENAI_KEY },
    },
    port: 0,
    onUsage: (call) => calls.push(call),
    ...options,
  });
  cleanup.push(upstream.close, gateway.close);
  return { upstream, gateway, calls };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Everything a client could see of a response: status, headers and body. */
async function seen(response: Response): Promise<string> {
  return `${response.status}\n${JSON.stringify([...response.headers])}\n${await response.text()}`;
}

describe('model gateway security', () => {
  it('strips every credential a client sends and adds only the real key', async () => {
    const { upstream, gateway } = await setUp([{ text: 'a' }, { text: 'b' }]);
    const stolen = {
      'x-api-key': 'stolen',
      authorization: 'Bearer attacker',
      'api-key': 'azure-stolen',
      cookie: 'session=attacker',
      'openai-organization': 'org-attacker',
    };

    await (await post(`${gateway.url}/v1/messages`, { model: 'm', messages: [] }, stolen)).text();
    await (await post(`${gateway.url}/v1/chat/completions`, { model: 'm', messages: [] }, stolen)).text();

    const [anthropic, openai] = upstream.requests;
    expect(anthropic!.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(anthropic!.headers.authorization).toBeUndefined();
    expect(openai!.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    expect(openai!.headers['x-api-key']).toBeUndefined();
    for (const { headers } of upstream.requests) {
      expect(JSON.stringify(headers)).not.toMatch(/stolen|attacker/);
    }
  });

  it('answers 404 for paths it does not route and forwards nothing', async () => {
    const { upstream, gateway } = await setUp([{ text: 'never' }]);

    const admin = await fetch(`${gateway.url}/admin`);
    const traversal = await new Promise<number>((resolve, reject) => {
      const req = request(`${gateway.url}/v1/messages/../../admin`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    const otherMethod = await fetch(`${gateway.url}/v1/messages`, { method: 'DELETE' });

    expect([admin.status, traversal, otherMethod.status]).toEqual([404, 404, 404]);
    expect(await admin.json()).toMatchObject({ error: { message: expect.stringContaining('GET /admin') } });
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 404 for a provider the run has not configured', async () => {
    const { gateway } = await setUp([], {
      providers: { openaiCompatible: { baseUrl: 'http://127.0.0.1:9/v1' } },
    });

    const response = await post(`${gateway.url}/v1/messages`, { model: 'm', messages: [] });

    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('never shows the key to the client, even when the provider echoes it in an error', async () => {
    const { gateway } = await setUp([
      { text: 'fine' },
      { toolCalls: [{ name: 'shell', input: { command: 'env' } }] },
      { text: 'fine' },
      { error: { status: 401, message: `invalid x-api-key: ${ANTHROPIC_KEY}` } },
      { error: { status: 401, message: `Incorrect API key provided: ${OPENAI_KEY}` } },
    ]);

    const responses = [
      await seen(await post(`${gateway.url}/v1/messages`, { model: 'm', stream: true, messages: [] })),
      await seen(
        await post(`${gateway.url}/v1/chat/completions`, { model: 'm', stream: true, messages: [] }),
      ),
      await seen(await post(`${gateway.url}/v1/responses`, { model: 'm', input: 'x' })),
      await seen(await post(`${gateway.url}/v1/messages`, { model: 'm', messages: [] })),
      await seen(await post(`${gateway.url}/v1/chat/completions`, { model: 'm', messages: [] })),
      await seen(await fetch(`${gateway.url}/v1/models`)),
      await seen(await fetch(`${gateway.url}/admin`)),
    ].join('\n');

    expect(responses).toContain('401');
    expect(responses).toContain('[redacted]');
    expect(responses).not.toContain(ANTHROPIC_KEY);
    expect(responses).not.toContain(OPENAI_KEY);
    expect(responses).not.toContain('REAL-SECRET');
  });

  it('passes provider errors through with their status and body', async () => {
    const { gateway, calls } = await setUp([{ error: { status: 529, message: 'Overloaded' } }]);

    const response = await post(`${gateway.url}/v1/messages`, { model: 'claude-test', messages: [] });

    expect(response.status).toBe(529);
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'Overloaded' },
    });
    expect(calls).toEqual([expect.objectContaining({ status: 529, inputTokens: 0, outputTokens: 0 })]);
  });

  it('answers 502 in the provider format when the provider is unreachable', async () => {
    const { gateway, calls } = await setUp([], {
      providers: { anthropic: { baseUrl: 'http://127.0.0.1:9', apiKey: ANTHROPIC_KEY } },
    });

    const response = await post(`${gateway.url}/v1/messages`, { model: 'claude-test', messages: [] });

    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      type: 'error',
      error: { type: 'api_error', message: expect.stringContaining('unreachable (ECONNREFUSED)') },
    });
    expect(calls).toEqual([
      expect.objectContaining({ status: 502, error: expect.stringContaining('unreachable') }),
    ]);
  });

  it('refuses a body over the size limit with 413 and a body that is not JSON with 400', async () => {
    const { upstream, gateway } = await setUp([], { maxRequestBytes: 1024 });

    const large = await post(`${gateway.url}/v1/chat/completions`, {
      model: 'm',
      messages: ['x'.repeat(100_000)],
    });
    const garbled = await post(`${gateway.url}/v1/chat/completions`, 'model=m&messages=');

    expect(large.status).toBe(413);
    expect(await large.json()).toMatchObject({ error: { code: 'request_too_large' } });
    expect(garbled.status).toBe(400);
    expect(await garbled.json()).toMatchObject({ error: { message: 'the request body is not valid JSON' } });
    expect(upstream.requests).toHaveLength(0);
  });

  it('meters what it saw of a stream the client abandons', async () => {
    const hold = new Promise<void>(() => {});
    const turn = { text: 'never finished', usage: { inputTokens: 77, outputTokens: 5 }, hold };
    const { gateway, calls } = await setUp([turn]);

    await new Promise<void>((resolve, reject) => {
      const req = request(`${gateway.url}/v1/messages`, { method: 'POST' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'claude-test', stream: true, messages: [] }));
    });
    for (let i = 0; i < 100 && calls.length === 0; i++) await new Promise((r) => setTimeout(r, 20));

    expect(calls).toEqual([
      expect.objectContaining({
        inputTokens: 77,
        outputTokens: 1,
        error: expect.stringContaining('client closed'),
      }),
    ]);
  });
});

describe('model gateway on a Unix socket', () => {
  it('serves on the socket, replaces a stale one, and removes it when closed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nightshift-gateway-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const socketPath = join(dir, 'model.sock');
    const upstream = await startModelServer({ script: [{ text: 'over the socket' }] });
    cleanup.push(upstream.close);
    const first = await startModelGateway({
      providers: { anthropic: { baseUrl: upstream.url, apiKey: 'k' } },
      socketPath,
    });
    // A gateway that died leaves its socket file behind; the next one must still start.
    cleanup.push(first.close);

    const gateway = await startModelGateway({
      providers: { anthropic: { baseUrl: upstream.url, apiKey: 'k' } },
      socketPath,
    });
    const mode = (await stat(socketPath)).mode & 0o777;
    const text = await new Promise<string>((resolve, reject) => {
      const req = request({ socketPath, path: '/v1/messages', method: 'POST' }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'm', messages: [] }));
    });
    await gateway.close();

    expect(gateway.socketPath).toBe(socketPath);
    expect(mode).toBe(0o666);
    expect(text).toContain('over the socket');
    await expect(stat(socketPath)).rejects.toThrow(/ENOENT/);
  });

  it('refuses to replace a file that is not a socket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nightshift-gateway-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'model.sock'), 'precious');

    const starting = startModelGateway({
      providers: { anthropic: { apiKey: 'k' } },
      socketPath: join(dir, 'model.sock'),
    });

    await expect(starting).rejects.toThrow(/is not a socket/);
  });
});
