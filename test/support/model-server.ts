import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Fixed usage numbers a turn reports, instead of the server's estimate. */
export interface ScriptedUsage {
  inputTokens: number;
  outputTokens: number;
}

/**
 * One tool call of a scripted turn; `name` may list alternatives, the first the client advertised
 * wins. A function in a Responses `namespace` tool is `NAMESPACE.NAME` (`mcp__nightshift.start_run`).
 */
export interface ScriptedToolCall {
  name: string | string[];
  input: Record<string, unknown>;
}

interface TurnCommon {
  usage?: ScriptedUsage;
  /** Streaming only: the server sends the first event, then waits for this before sending the rest. */
  hold?: Promise<void>;
}

/** One answer of the scripted model: text, tool calls, or an HTTP error in the API's own format. */
export type ScriptedTurn =
  | (TurnCommon & { text: string })
  | (TurnCommon & { toolCalls: ScriptedToolCall[] })
  | { error: { status: number; message: string } };

/** A turn, or a function choosing the turn from the request's body (for agents calling at once). */
export type ScriptedEntry = ScriptedTurn | ((body: unknown) => ScriptedTurn);

/** A request the server received: method, path (with query), headers and parsed JSON body. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface ModelServer {
  /** `http://127.0.0.1:PORT`, without `/v1`. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

type Api = 'anthropic' | 'chat' | 'responses';
type Body = Record<string, unknown>;
interface Block {
  kind: 'text' | 'tool';
  text: string;
  id: string;
  name: string;
  json: string;
}
interface Answer {
  blocks: Block[];
  inputTokens: number;
  outputTokens: number;
  model: string;
  hold?: Promise<void>;
}
type Send = (event: string | undefined, data: unknown) => Promise<void>;

/**
 * A scripted model API on 127.0.0.1 (port 0) speaking the real wire formats: Anthropic Messages
 * (`POST /v1/messages`), OpenAI Chat Completions (`POST /v1/chat/completions`) and OpenAI
 * Responses (`POST /v1/responses`), each streaming (SSE) and not, plus `GET /v1/models`.
 * Every model call plays the next turn of `script` (one cursor across all calls); tool calls
 * only use tool names the client advertised. Stops by itself when the test process ends.
 *
 * @example
 * const server = await startModelServer({ script: [{ toolCalls: [{ name: 'shell', input: { command: 'ls' } }] }, { text: 'done' }] });
 * // ANTHROPIC_BASE_URL=server.url, OPENAI_BASE_URL=`${server.url}/v1`
 */
export async function startModelServer(options: { script: ScriptedEntry[] }): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  let cursor = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {}
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? '', path, headers: req.headers, body });
    const pathname = path.split('?')[0];
    const api: Api | undefined =
      pathname === '/v1/messages'
        ? 'anthropic'
        : pathname === '/v1/chat/completions'
          ? 'chat'
          : pathname === '/v1/responses'
            ? 'responses'
            : undefined;
    if (req.method === 'GET' && pathname === '/v1/models') {
      return json(res, 200, {
        object: 'list',
        data: [{ id: 'scripted-model', object: 'model', owned_by: 'test' }],
      });
    }
    if (!api || req.method !== 'POST') return sendError(res, api ?? 'chat', 404, `no route for ${path}`);
    if (typeof body !== 'object' || body === null) return sendError(res, api, 400, 'body is not JSON');
    const entry = options.script[cursor++];
    const turn = typeof entry === 'function' ? entry(body) : entry;
    if (!turn)
      return sendError(res, api, 500, `the script has no turn ${cursor} (it has ${options.script.length})`);
    if ('error' in turn) return sendError(res, api, turn.error.status, turn.error.message);
    const answer = planAnswer(api, body as Body, turn);
    if (typeof answer === 'string') return sendError(res, api, 400, answer);
    const request = body as Body;
    if (request.stream !== true) return json(res, 200, FULL[api](answer));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send: Send = (event, data) =>
      new Promise((resolve) => {
        const head = event ? `event: ${event}\n` : '';
        const payload = typeof data === 'string' ? data : JSON.stringify(data);
        res.write(`${head}data: ${payload}\n\n`, () => resolve());
      });
    await STREAM[api](answer, request, send);
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 'chat', 500, String(error));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Names of the tools the client advertised, in each API's own shape. A function inside a
 * Responses `namespace` tool (how Codex groups an MCP server's tools) is named `NAMESPACE.NAME`.
 */
function advertisedTools(api: Api, body: Body): string[] {
  const tools = Array.isArray(body.tools) ? (body.tools as Body[]) : [];
  return tools
    .flatMap((tool) => {
      if (api === 'chat') return [(tool.function as Body | undefined)?.name];
      if (api === 'responses' && tool.type === 'namespace' && Array.isArray(tool.tools)) {
        return (tool.tools as Body[]).map((inner) => `${tool.name}.${inner.name}`);
      }
      return [tool.name];
    })
    .filter((name): name is string => typeof name === 'string');
}

function planAnswer(api: Api, body: Body, turn: Exclude<ScriptedTurn, { error: unknown }>): Answer | string {
  const tools = advertisedTools(api, body);
  const blocks: Block[] = [];
  if ('text' in turn) blocks.push({ kind: 'text', text: turn.text, id: id('msg'), name: '', json: '' });
  else {
    for (const call of turn.toolCalls) {
      const names = Array.isArray(call.name) ? call.name : [call.name];
      const name = tools.length === 0 ? names[0] : names.find((n) => tools.includes(n));
      if (!name)
        return `scripted tool ${names.join(' or ')} is not among the client's tools: ${tools.join(', ')}`;
      blocks.push({ kind: 'tool', text: '', id: id('call'), name, json: JSON.stringify(call.input) });
    }
  }
  const produced = blocks.map((b) => b.text + b.name + b.json).join('');
  return {
    blocks,
    inputTokens: turn.usage?.inputTokens ?? Math.ceil(JSON.stringify(body).length / 4),
    outputTokens: turn.usage?.outputTokens ?? Math.max(1, Math.ceil(produced.length / 4)),
    model: typeof body.model === 'string' ? body.model : 'scripted-model',
    hold: turn.hold,
  };
}

function id(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** Splits text into at most three pieces, so streams carry several deltas. */
function pieces(text: string): string[] {
  if (text.length < 3) return [text];
  const third = Math.ceil(text.length / 3);
  return [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)];
}

const FULL: Record<Api, (a: Answer) => unknown> = {
  anthropic: (a) => ({
    id: id('msg'),
    type: 'message',
    role: 'assistant',
    model: a.model,
    content: a.blocks.map((b) =>
      b.kind === 'text'
        ? { type: 'text', text: b.text }
        : { type: 'tool_use', id: b.id, name: b.name, input: JSON.parse(b.json) },
    ),
    stop_reason: a.blocks[0]?.kind === 'tool' ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: a.inputTokens, output_tokens: a.outputTokens },
  }),
  chat: (a) => {
    const text = a.blocks.find((b) => b.kind === 'text');
    const tools = a.blocks.filter((b) => b.kind === 'tool');
    return {
      id: id('chatcmpl'),
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: a.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: text?.text ?? null,
            ...(tools.length
              ? {
                  tool_calls: tools.map((b) => ({
                    id: b.id,
                    type: 'function',
                    function: { name: b.name, arguments: b.json },
                  })),
                }
              : {}),
          },
          logprobs: null,
          finish_reason: tools.length ? 'tool_calls' : 'stop',
        },
      ],
      usage: {
        prompt_tokens: a.inputTokens,
        completion_tokens: a.outputTokens,
        total_tokens: a.inputTokens + a.outputTokens,
      },
    };
  },
  responses: (a) => responseObject(a, 'completed', a.blocks.map(responseItem)),
};

function responseItem(b: Block): Body {
  return b.kind === 'text'
    ? {
        type: 'message',
        id: b.id,
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: b.text, annotations: [] }],
      }
    : {
        type: 'function_call',
        id: `fc_${b.id}`,
        call_id: b.id,
        ...namespaced(b.name),
        arguments: b.json,
        status: 'completed',
      };
}

/** A Responses function call's name, and its namespace when the tool is in one (`NAMESPACE.NAME`). */
function namespaced(name: string): Body {
  const dot = name.lastIndexOf('.');
  return dot === -1 ? { name } : { namespace: name.slice(0, dot), name: name.slice(dot + 1) };
}

function responseObject(a: Answer, status: string, output: Body[]): Body {
  return {
    id: `resp_${a.blocks[0]?.id ?? 'x'}`,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: a.model,
    output,
    usage:
      status === 'completed'
        ? {
            input_tokens: a.inputTokens,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: a.outputTokens,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: a.inputTokens + a.outputTokens,
          }
        : null,
  };
}

const STREAM: Record<Api, (a: Answer, request: Body, send: Send) => Promise<void>> = {
  async anthropic(a, _request, send) {
    const message = FULL.anthropic({ ...a, blocks: [] }) as Body;
    await send('message_start', {
      type: 'message_start',
      message: { ...message, stop_reason: null, usage: { input_tokens: a.inputTokens, output_tokens: 1 } },
    });
    await a.hold;
    for (const [index, b] of a.blocks.entries()) {
      const start =
        b.kind === 'text'
          ? { type: 'text', text: '' }
          : { type: 'tool_use', id: b.id, name: b.name, input: {} };
      await send('content_block_start', { type: 'content_block_start', index, content_block: start });
      for (const piece of pieces(b.kind === 'text' ? b.text : b.json)) {
        const delta =
          b.kind === 'text'
            ? { type: 'text_delta', text: piece }
            : { type: 'input_json_delta', partial_json: piece };
        await send('content_block_delta', { type: 'content_block_delta', index, delta });
      }
      await send('content_block_stop', { type: 'content_block_stop', index });
    }
    await send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: a.blocks[0]?.kind === 'tool' ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: { output_tokens: a.outputTokens },
    });
    await send('message_stop', { type: 'message_stop' });
  },

  async chat(a, request, send) {
    const withUsage = (request.stream_options as Body | undefined)?.include_usage === true;
    const base = {
      id: id('chatcmpl'),
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
    };
    const chunk = (delta: Body, finish: string | null = null) =>
      send(undefined, {
        ...base,
        model: a.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(withUsage ? { usage: null } : {}),
      });
    await chunk({ role: 'assistant', content: '' });
    await a.hold;
    const tools = a.blocks.filter((b) => b.kind === 'tool');
    for (const b of a.blocks.filter((b) => b.kind === 'text')) {
      for (const piece of pieces(b.text)) await chunk({ content: piece });
    }
    for (const [index, b] of tools.entries()) {
      await chunk({
        tool_calls: [{ index, id: b.id, type: 'function', function: { name: b.name, arguments: '' } }],
      });
      for (const piece of pieces(b.json))
        await chunk({ tool_calls: [{ index, function: { arguments: piece } }] });
    }
    await chunk({}, tools.length ? 'tool_calls' : 'stop');
    if (withUsage) {
      const usage = (FULL.chat(a) as Body).usage;
      await send(undefined, { ...base, model: a.model, choices: [], usage });
    }
    await send(undefined, '[DONE]');
  },

  async responses(a, _request, send) {
    let seq = 0;
    const emit = (type: string, fields: Body) => send(type, { type, sequence_number: seq++, ...fields });
    await emit('response.created', { response: responseObject(a, 'in_progress', []) });
    await a.hold;
    await emit('response.in_progress', { response: responseObject(a, 'in_progress', []) });
    for (const [index, b] of a.blocks.entries()) {
      const item = responseItem(b);
      const itemId = item.id;
      if (b.kind === 'text') {
        await emit('response.output_item.added', {
          output_index: index,
          item: { ...item, status: 'in_progress', content: [] },
        });
        const part = { type: 'output_text', text: '', annotations: [] };
        await emit('response.content_part.added', {
          item_id: itemId,
          output_index: index,
          content_index: 0,
          part,
        });
        for (const delta of pieces(b.text)) {
          await emit('response.output_text.delta', {
            item_id: itemId,
            output_index: index,
            content_index: 0,
            delta,
          });
        }
        await emit('response.output_text.done', {
          item_id: itemId,
          output_index: index,
          content_index: 0,
          text: b.text,
        });
        await emit('response.content_part.done', {
          item_id: itemId,
          output_index: index,
          content_index: 0,
          part: { ...part, text: b.text },
        });
      } else {
        await emit('response.output_item.added', {
          output_index: index,
          item: { ...item, status: 'in_progress', arguments: '' },
        });
        for (const delta of pieces(b.json)) {
          await emit('response.function_call_arguments.delta', {
            item_id: itemId,
            output_index: index,
            delta,
          });
        }
        await emit('response.function_call_arguments.done', {
          item_id: itemId,
          output_index: index,
          arguments: b.json,
        });
      }
      await emit('response.output_item.done', { output_index: index, item });
    }
    await emit('response.completed', { response: FULL.responses(a) });
  },
};

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An error body in the API's own format. */
function sendError(res: ServerResponse, api: Api, status: number, message: string): void {
  if (api === 'anthropic') {
    const type = status === 404 ? 'not_found_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
    json(res, status, { type: 'error', error: { type, message } });
    return;
  }
  const type = status >= 500 ? 'server_error' : 'invalid_request_error';
  json(res, status, { error: { message, type, param: null, code: null } });
}

/** One server-sent event as a client sees it: its `event:` name (if any) and its `data:` text. */
export interface SseEvent {
  event?: string;
  data: string;
}

/** Parses a whole SSE body into events (for tests that read a stream to its end). */
export function parseSse(text: string): SseEvent[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split(/\r?\n/);
      const event = lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      return event === undefined ? { data } : { event, data };
    });
}
