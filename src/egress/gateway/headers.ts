import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Route } from './routes.ts';

/** Credentials a client may send; none of them reaches a provider. */
const CREDENTIALS = [
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'x-goog-api-key',
  'cookie',
  // Would bill another organization or project than the configured key's.
  'openai-organization',
  'openai-project',
];

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

/** Recomputed or fixed by the gateway: the host, the length, and identity encoding so usage can be read. */
const REPLACED = ['host', 'content-length', 'accept-encoding', 'expect'];

function dropped(headers: IncomingHttpHeaders): Set<string> {
  const names = new Set([...HOP_BY_HOP]);
  // Headers the client declared hop-by-hop in `Connection` go too.
  for (const name of String(headers.connection ?? '').split(',')) names.add(name.trim().toLowerCase());
  return names;
}

/**
 * Headers sent upstream: the client's, minus every credential and hop-by-hop header, plus the
 * real key (`x-api-key` and a default `anthropic-version` for Anthropic, `Authorization: Bearer`
 * for OpenAI-shaped providers; none when the compatible server has no key).
 */
export function upstreamHeaders(
  client: IncomingHttpHeaders,
  route: Route,
  length: number,
): OutgoingHttpHeaders {
  const skip = dropped(client);
  for (const name of [...CREDENTIALS, ...REPLACED]) skip.add(name);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(client)) {
    if (value !== undefined && !skip.has(name)) headers[name] = value;
  }
  headers['accept-encoding'] = 'identity';
  if (length > 0 || client['content-length'] !== undefined) headers['content-length'] = length;
  if (route.api === 'anthropic') {
    if (route.apiKey) headers['x-api-key'] = route.apiKey;
    headers['anthropic-version'] ??= '2023-06-01';
  } else if (route.apiKey) {
    headers.authorization = `Bearer ${route.apiKey}`;
  }
  return headers;
}

/** Headers sent back to the client: the provider's, minus hop-by-hop ones and cookies. */
export function clientHeaders(upstream: IncomingHttpHeaders, keepLength: boolean): OutgoingHttpHeaders {
  const skip = dropped(upstream);
  skip.add('set-cookie');
  if (!keepLength) skip.add('content-length');
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value !== undefined && !skip.has(name)) headers[name] = value;
  }
  return headers;
}
