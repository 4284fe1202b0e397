import { afterEach, describe, expect, it } from 'vitest';
import { type ModelServer, parseSse, type ScriptedTurn, startModelServer } from './model-server.ts';

let server: ModelServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(script: ScriptedTurn[]): Promise<ModelServer> {
  server = await startModelServer({ script });
  return server;
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function data(events: { data: string }[]): Record<string, unknown>[] {
  return events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data));
}

const usage = { inputTokens: 120, outputTokens: 7 };

describe('scripted model server: Anthropic Messages', () => {
  it('answers a text turn as JSON with its usage', async () => {
    const { url } = await serve([{ text: 'hello there', usage }]);

    const response = await post(`${url}/v1/messages`, { model: 'claude-x', max_tokens: 10, messages: [] });
    const body = await response.json();

    expect(response.status).toBe(200);
    expect(body).toMatchObject({
      type: 'message',
      model: 'claude-x',
      content: [{ type: 'text', text: 'hello there' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 120, output_tokens: 7 },
    });
  });

  it('streams a tool call as SSE events whose JSON deltas rebuild the input', async () => {
    const { url } = await serve([{ toolCalls: [{ name: 'bash', input: { command: 'npm test' } }], usage }]);

    const response = await post(`${url}/v1/messages`, {
      model: 'claude-x',
      stream: true,
      tools: [{ name: 'bash', input_schema: { type: 'object' } }],
      messages: [],
    });
    const events = parseSse(await response.text());

    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const [start, block, ...rest] = data(events);
    expect(start).toMatchObject({ message: { usage: { input_tokens: 120 } } });
    expect(block).toMatchObject({ content_block: { type: 'tool_use', name: 'bash' } });
    const json = rest
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => (e.delta as { partial_json: string }).partial_json)
      .join('');
    expect(JSON.parse(json)).toEqual({ command: 'npm test' });
    expect(rest.find((e) => e.type === 'message_delta')).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { output_tokens: 7 },
    });
  });

  it('refuses a tool the client did not advertise, in the Anthropic error format', async () => {
    const { url } = await serve([{ toolCalls: [{ name: 'shell', input: {} }] }]);

    const response = await post(`${url}/v1/messages`, {
      model: 'm',
      tools: [{ name: 'bash' }],
      messages: [],
    });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('shell') },
    });
  });
});

describe('scripted model server: OpenAI Chat Completions', () => {
  it('answers a tool call with the first advertised of its names', async () => {
    const { url } = await serve([
      { toolCalls: [{ name: ['Bash', 'shell'], input: { command: 'ls' } }], usage },
    ]);

    const response = await post(`${url}/v1/chat/completions`, {
      model: 'gpt-x',
      messages: [],
      tools: [{ type: 'function', function: { name: 'shell', parameters: {} } }],
    });
    type ToolCall = { function: { arguments: string } };
    const body = (await response.json()) as { choices: { message: { tool_calls: ToolCall[] } }[] };

    expect(body).toMatchObject({
      object: 'chat.completion',
      choices: [{ finish_reason: 'tool_calls', message: { tool_calls: [{ function: { name: 'shell' } }] } }],
      usage: { prompt_tokens: 120, completion_tokens: 7, total_tokens: 127 },
    });
    expect(JSON.parse(body.choices[0]!.message.tool_calls[0]!.function.arguments)).toEqual({ command: 'ls' });
  });

  it('streams chunks ending in [DONE], with a usage chunk only when asked for', async () => {
    const { url } = await serve([
      { text: 'abcdef', usage },
      { text: 'abcdef', usage },
    ]);

    const plain = parseSse(await (await post(`${url}/v1/chat/completions`, { stream: true })).text());
    const withUsage = parseSse(
      await (
        await post(`${url}/v1/chat/completions`, { stream: true, stream_options: { include_usage: true } })
      ).text(),
    );

    expect(plain.at(-1)?.data).toBe('[DONE]');
    expect(data(plain).some((c) => 'usage' in c)).toBe(false);
    expect(
      data(plain)
        .map((c) => (c.choices as { delta: { content?: string } }[])[0]?.delta.content ?? '')
        .join(''),
    ).toBe('abcdef');
    expect(withUsage.at(-1)?.data).toBe('[DONE]');
    expect(data(withUsage).at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 120, completion_tokens: 7 },
    });
  });

  it('streams tool call deltas', async () => {
    const { url } = await serve([{ toolCalls: [{ name: 'shell', input: { command: 'make' } }] }]);

    const chunks = data(parseSse(await (await post(`${url}/v1/chat/completions`, { stream: true })).text()));

    type Delta = { tool_calls?: { function: { name?: string; arguments: string } }[] };
    const calls = chunks.flatMap((c) => (c.choices as { delta: Delta }[])[0]?.delta.tool_calls ?? []);
    expect(calls[0]?.function.name).toBe('shell');
    expect(JSON.parse(calls.map((c) => c.function.arguments).join(''))).toEqual({ command: 'make' });
  });
});

describe('scripted model server: OpenAI Responses', () => {
  it('answers a text turn as a response object with usage', async () => {
    const { url } = await serve([{ text: 'done', usage }]);

    const body = await (await post(`${url}/v1/responses`, { model: 'gpt-x', input: 'hi' })).json();

    expect(body).toMatchObject({
      object: 'response',
      status: 'completed',
      output: [{ type: 'message', content: [{ type: 'output_text', text: 'done' }] }],
      usage: { input_tokens: 120, output_tokens: 7, total_tokens: 127 },
    });
  });

  it('streams text and function call deltas, completing with usage', async () => {
    const { url } = await serve([
      { text: 'thinking aloud', usage },
      { toolCalls: [{ name: 'shell', input: { command: 'ls' } }], usage },
    ]);

    const text = parseSse(await (await post(`${url}/v1/responses`, { stream: true })).text());
    const tool = parseSse(
      await (
        await post(`${url}/v1/responses`, { stream: true, tools: [{ type: 'function', name: 'shell' }] })
      ).text(),
    );

    expect(text[0]?.event).toBe('response.created');
    expect(
      data(text)
        .filter((e) => e.type === 'response.output_text.delta')
        .map((e) => e.delta)
        .join(''),
    ).toBe('thinking aloud');
    expect(data(text).at(-1)).toMatchObject({
      type: 'response.completed',
      response: { usage: { input_tokens: 120 } },
    });
    const args = data(tool)
      .filter((e) => e.type === 'response.function_call_arguments.delta')
      .map((e) => e.delta)
      .join('');
    expect(JSON.parse(args)).toEqual({ command: 'ls' });
    expect(tool.at(-1)?.event).toBe('response.completed');
  });

  it('calls a function of a namespace tool by NAMESPACE.NAME, naming the namespace in the call', async () => {
    const { url } = await serve([{ toolCalls: [{ name: 'mcp__nightshift.start_run', input: {} }], usage }]);
    const namespace = {
      type: 'namespace',
      name: 'mcp__nightshift',
      tools: [{ type: 'function', name: 'start_run' }],
    };

    const body = (await (await post(`${url}/v1/responses`, { tools: [namespace] })).json()) as {
      output: unknown[];
    };

    expect(body.output).toEqual([
      expect.objectContaining({ type: 'function_call', namespace: 'mcp__nightshift', name: 'start_run' }),
    ]);
  });
});

describe('scripted model server', () => {
  it('records method, path, headers and body of every request', async () => {
    const { url, requests } = await serve([{ text: 'ok' }]);

    await post(`${url}/v1/messages?beta=true`, { model: 'm', messages: [] }, { 'x-api-key': 'sk-test' });

    expect(requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: '/v1/messages?beta=true',
        headers: expect.objectContaining({ 'x-api-key': 'sk-test' }),
        body: { model: 'm', messages: [] },
      }),
    ]);
  });

  it('plays scripted errors and fails loudly when the script runs out', async () => {
    const { url } = await serve([{ error: { status: 529, message: 'Overloaded' } }]);

    const scripted = await post(`${url}/v1/chat/completions`, {});
    const exhausted = await post(`${url}/v1/chat/completions`, {});

    expect(scripted.status).toBe(529);
    expect(await scripted.json()).toMatchObject({ error: { message: 'Overloaded' } });
    expect(exhausted.status).toBe(500);
    expect(await exhausted.text()).toContain('no turn 2');
  });

  it('holds a stream after its first event until told to go on', async () => {
    let release = () => {};
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { url } = await serve([{ text: 'later', hold }]);

    const response = await post(`${url}/v1/messages`, { stream: true });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    release();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value);

    expect(first).toContain('event: message_start');
    expect(first).not.toContain('later');
    expect(rest).toContain('message_stop');
  });
});
