import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { readBody } from './body.ts';
import { errorBody } from './error-body.ts';
import { upstreamHeaders } from './headers.ts';
import type { UsageMeter } from './meter.ts';
import { costOf } from './prices.ts';
import { relayResponse } from './relay.ts';
import { guessApi, type Route, routeRequest } from './routes.ts';
import type { ModelApi, ModelCall, ModelGatewayOptions, ModelPrice } from './types.ts';
import { inputTokensOf, type UsageReading } from './usage.ts';

/** What every request of one gateway shares. */
export interface GatewayContext {
  providers: ModelGatewayOptions['providers'];
  prices: Readonly<Record<string, ModelPrice>>;
  maxRequestBytes: number;
  meter: UsageMeter;
}

function sendError(
  res: ServerResponse,
  api: ModelApi,
  status: number,
  code: string,
  message: string,
  headers: OutgoingHttpHeaders = {},
): void {
  const body = errorBody(api, status, code, message);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** The request as the provider will get it: the model asked for, streaming or not, and the body to send. */
interface Prepared {
  model: string;
  stream: boolean;
  payload: Buffer;
  /** The gateway asked for a usage chunk the client did not: leave it out of the response. */
  dropUsageChunk: boolean;
}

function prepare(route: Route, pathname: string, body: Buffer): Prepared | string {
  if (!route.metered) return { model: '', stream: false, payload: body, dropUsageChunk: false };
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the request body is not valid JSON';
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return 'the request body must be a JSON object';
  const request = json as Record<string, unknown>;
  const prepared: Prepared = {
    model: typeof request.model === 'string' ? request.model : '',
    stream: request.stream === true,
    payload: body,
    dropUsageChunk: false,
  };
  const options = request.stream_options;
  const streamOptions =
    typeof options === 'object' && options !== null ? (options as Record<string, unknown>) : {};
  if (pathname === '/v1/chat/completions' && prepared.stream && streamOptions.include_usage !== true) {
    // Without it a streamed chat completion reports no usage at all.
    request.stream_options = { ...streamOptions, include_usage: true };
    prepared.payload = Buffer.from(JSON.stringify(request));
    prepared.dropUsageChunk = true;
  }
  return prepared;
}

/**
 * Serves one request of the gateway: routes it, refuses it when the run's budget is spent,
 * forwards it with the real key instead of the client's credentials, relays the response as it
 * streams, and meters the call.
 */
export async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: GatewayContext,
): Promise<void> {
  const started = performance.now();
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://gateway');
  const route = routeRequest(method, url.pathname, url.search, req.headers, ctx.providers);
  if (!route) {
    req.resume();
    const api = guessApi(url.pathname, req.headers);
    return sendError(
      res,
      api,
      404,
      'not_found',
      `the model gateway does not serve ${method} ${url.pathname} (it serves the model APIs of the providers configured for this run)`,
    );
  }
  const call = (fields: Partial<ModelCall> & { status: number }): ModelCall => ({
    provider: route.provider,
    model: '',
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    priced: false,
    stream: false,
    durationMs: performance.now() - started,
    ...fields,
  });

  if (route.metered && ctx.meter.spent()) {
    req.resume();
    const totals = ctx.meter.totals();
    ctx.meter.refuse(call({ status: 429, error: 'budget_exceeded' }));
    return sendError(
      res,
      route.api,
      429,
      'budget_exceeded',
      `this run's model budget is spent (${totals.inputTokens + totals.outputTokens} tokens, $${totals.costUsd.toFixed(4)} used): no further model calls are allowed`,
      { 'x-should-retry': 'false' },
    );
  }

  const body = await readBody(req, ctx.maxRequestBytes);
  if (body === 'too_large') {
    req.resume();
    return sendError(
      res,
      route.api,
      413,
      'request_too_large',
      `the request body is larger than the model gateway's limit of ${ctx.maxRequestBytes} bytes`,
      { connection: 'close' },
    );
  }
  const prepared = prepare(route, url.pathname, body);
  if (typeof prepared === 'string') return sendError(res, route.api, 400, 'invalid_request', prepared);
  forward(req, res, ctx, route, prepared, call);
}

/** Sends the prepared request to the provider and relays its answer, recording the call once. */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: GatewayContext,
  route: Route,
  prepared: Prepared,
  call: (fields: Partial<ModelCall> & { status: number }) => ModelCall,
): void {
  const method = req.method ?? 'GET';

  const reading: UsageReading = {};
  let recorded = false;
  function record(status: number, error?: string): void {
    if (recorded || !route.metered) return;
    recorded = true;
    const model = reading.model ?? prepared.model;
    const inputTokens = inputTokensOf(reading);
    const outputTokens = reading.output ?? 0;
    const { costUsd, priced } = costOf(model, inputTokens, outputTokens, ctx.prices);
    ctx.meter.record(
      call({
        model,
        inputTokens,
        outputTokens,
        costUsd,
        priced,
        stream: prepared.stream,
        status,
        error,
      }),
    );
  }

  const transport = route.target.protocol === 'https:' ? https : http;
  const upstream = transport.request(route.target, {
    method,
    headers: upstreamHeaders(req.headers, route, prepared.payload.length),
  });
  res.on('close', () => {
    if (res.writableFinished) return;
    upstream.destroy();
    record(res.statusCode, 'the client closed the connection before the response ended');
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    const reason = `the model provider at ${route.target.origin} is unreachable (${error.code ?? error.message})`;
    if (res.headersSent) {
      res.destroy();
      return record(res.statusCode, reason);
    }
    sendError(res, route.api, 502, 'provider_unreachable', reason);
    record(502, reason);
  });
  upstream.on('response', (response) => {
    relayResponse(response, res, {
      metered: route.metered,
      dropUsageChunk: prepared.dropUsageChunk,
      apiKey: route.apiKey,
      reading,
    }).then(
      (status) => record(status),
      (error: unknown) => {
        res.destroy();
        record(res.statusCode, `the provider's response broke off (${String(error)})`);
      },
    );
  });
  upstream.end(prepared.payload);
}
