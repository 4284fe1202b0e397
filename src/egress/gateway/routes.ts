import type { IncomingHttpHeaders } from 'node:http';
import type { ModelApi, ModelGatewayOptions, ProviderName } from './types.ts';

/** Where one request goes: the provider, the upstream URL, and whether it is a metered model call. */
export interface Route {
  provider: ProviderName;
  api: ModelApi;
  target: URL;
  apiKey?: string;
  metered: boolean;
}

const ANTHROPIC_BASE = 'https://api.anthropic.com';
const OPENAI_BASE = 'https://api.openai.com/v1';

/** Routed paths: [method, path pattern, API, metered]. Anything else is not served. */
const ROUTES: [string, RegExp, ModelApi | 'either', boolean][] = [
  ['POST', /^\/v1\/messages$/, 'anthropic', true],
  ['POST', /^\/v1\/messages\/count_tokens$/, 'anthropic', false],
  ['POST', /^\/v1\/chat\/completions$/, 'openai', true],
  ['POST', /^\/v1\/responses$/, 'openai', true],
  ['GET', /^\/v1\/models(\/[\w.:-]+)?$/, 'either', false],
];

/** The API a client speaks, guessed for paths that are not routed (to answer in its error format). */
export function guessApi(pathname: string, headers: IncomingHttpHeaders): ModelApi {
  return pathname.startsWith('/v1/messages') || headers['anthropic-version'] !== undefined
    ? 'anthropic'
    : 'openai';
}

/**
 * Routes a request by method and path: `/v1/messages` to Anthropic; `/v1/chat/completions`,
 * `/v1/responses` to OpenAI or the OpenAI-compatible server; `GET /v1/models` to Anthropic when
 * the client sends `anthropic-version`, else to OpenAI. Undefined when the path is not routed or
 * its provider is not configured.
 */
export function routeRequest(
  method: string,
  pathname: string,
  search: string,
  headers: IncomingHttpHeaders,
  providers: ModelGatewayOptions['providers'],
): Route | undefined {
  const match = ROUTES.find(([m, pattern]) => m === method && pattern.test(pathname));
  if (!match) return undefined;
  const [, , kind, metered] = match;
  const api = kind === 'either' ? guessApi(pathname, headers) : kind;
  if (api === 'anthropic') {
    const config = providers.anthropic;
    if (!config) return undefined;
    return {
      provider: 'anthropic',
      api,
      target: join(config.baseUrl ?? ANTHROPIC_BASE, pathname, search),
      apiKey: config.apiKey,
      metered,
    };
  }
  const openai = providers.openai;
  const config = openai ?? providers.openaiCompatible;
  if (!config) return undefined;
  // OpenAI-shaped base URLs end in `/v1` (as OPENAI_BASE_URL does): drop the client's `/v1`.
  const target = join(config.baseUrl ?? OPENAI_BASE, pathname.slice('/v1'.length), search);
  return { provider: openai ? 'openai' : 'openai-compatible', api, target, apiKey: config.apiKey, metered };
}

function join(base: string, pathname: string, search: string): URL {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${pathname}`;
  url.search = search;
  return url;
}
