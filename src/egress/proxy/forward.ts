import { type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from 'node:http';
import { type CheckResult, checkTarget, endsBeforeConnect, type ProxyContext } from './check.ts';
import { parseHttpTarget } from './target.ts';

/** Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), besides every `Proxy-*`. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
]);

/** The headers to forward: without hop-by-hop ones, `Proxy-*` ones, or those `Connection` names. */
export function forwardableHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = String(headers.connection ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter(Boolean);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name.startsWith('proxy-') || named.includes(name))
      continue;
    out[name] = value;
  }
  return out;
}

/** Sends a short plain-text answer from the proxy itself. */
export function sendPlain(res: ServerResponse, status: number, text: string): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-nightshift-egress': 'refused',
    connection: 'close',
  });
  res.end(body);
}

/**
 * Forwards one absolute-form HTTP request (`GET http://host/path`) after the checks. The Host
 * header the upstream sees is the URI's authority: a smuggled Host header is dropped.
 */
export async function forwardHttp(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: ProxyContext,
): Promise<void> {
  const started = performance.now();
  const method = req.method ?? '';
  const target = parseHttpTarget(req.url ?? '');
  const durationMs = () => Math.round(performance.now() - started);
  if (!target) {
    const reason = 'the proxy forwards only absolute http:// URIs; use CONNECT for https';
    sendPlain(res, 400, reason);
    ctx.report({ host: '', port: 0, method, allowed: false, reason, status: 400, durationMs: durationMs() });
    return;
  }
  const checked: CheckResult = await checkTarget(target, ctx);
  const base = { host: target.host, port: target.port, method, rule: checked.rule, address: checked.address };
  if (
    endsBeforeConnect(
      ctx,
      base,
      checked,
      res.destroyed,
      (status, reason) => sendPlain(res, status, reason),
      durationMs(),
    )
  ) {
    return;
  }

  let bytesOut = 0;
  let bytesIn = 0;
  let error: string | undefined;
  let status = 502;
  res.once('close', () => {
    if (!res.writableFinished) {
      upstream.destroy();
      error ??= 'client hung up';
    }
    ctx.report({
      ...base,
      allowed: true,
      reason: checked.reason,
      status,
      bytesOut,
      bytesIn,
      error,
      durationMs: durationMs(),
    });
  });
  const upstream = request({
    host: checked.address,
    port: target.port,
    method,
    path: target.path,
    headers: { ...forwardableHeaders(req.headers), host: target.hostHeader },
    setHost: false,
    agent: ctx.agent,
  });
  upstream.setTimeout(ctx.idleTimeoutMs, () => upstream.destroy(new Error('upstream timed out')));
  upstream.on('error', (cause) => {
    error = cause.message;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    status = cause.message === 'upstream timed out' ? 504 : 502;
    sendPlain(res, status, `upstream ${target.host}:${target.port} failed: ${cause.message}`);
  });
  upstream.on('response', (upstreamRes) => {
    status = upstreamRes.statusCode ?? 502;
    res.writeHead(status, upstreamRes.statusMessage, forwardableHeaders(upstreamRes.headers));
    upstreamRes.on('data', (chunk: Buffer) => {
      bytesIn += chunk.length;
    });
    upstreamRes.on('error', () => res.destroy());
    upstreamRes.pipe(res);
  });
  req.on('data', (chunk: Buffer) => {
    bytesOut += chunk.length;
  });
  req.pipe(upstream);
}
