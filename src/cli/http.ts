import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { type ErrorCode, NightshiftError } from '../core/errors.ts';

/** Where the API is: the home's Unix socket (no token), or a server URL with a token. */
export type Endpoint = { socketPath: string } | { baseUrl: string; token?: string };

const DATE_FIELDS = new Set([
  'createdAt',
  'startedAt',
  'finishedAt',
  'cancelRequestedAt',
  'at',
  'lastUsedAt',
  'revokedAt',
  'updatedAt',
  'slot',
  'nextFireAt',
  'scheduleFrom',
  'notifiedAt',
  'leaseUntil',
  'nextAttemptAt',
]);

/** JSON.parse reviver turning the API's ISO times back into Dates. */
export function revive(key: string, value: unknown): unknown {
  return DATE_FIELDS.has(key) && typeof value === 'string' ? new Date(value) : value;
}

export function describe(endpoint: Endpoint): string {
  return 'socketPath' in endpoint ? `the Nightshift process at ${endpoint.socketPath}` : endpoint.baseUrl;
}

/** Connection errors meaning the request never reached anyone: nothing listens (any more). */
const UNSENT = new Set(['ENOENT', 'ECONNREFUSED']);

/**
 * `OWNER_GONE`, for one request: the process owning the home stopped, or the server is
 * restarting. `resendable` when sending the request again cannot do anything twice: it never
 * arrived, or it only reads.
 */
export class OwnerGone extends NightshiftError {
  constructor(
    message: string,
    readonly resendable: boolean,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super('OWNER_GONE', message, options);
  }
}

/**
 * Sends a request and resolves with the response once its headers arrived. A connection
 * failure is `OwnerGone`. Through the home's socket every request has its own connection, so
 * one refused (the owner stopped) was not received, whatever its method.
 */
export function send(
  endpoint: Endpoint,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<IncomingMessage> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  let target: RequestOptions;
  let request = httpRequest;
  if ('socketPath' in endpoint) {
    target = { socketPath: endpoint.socketPath, path, method, headers, signal: options.signal, agent: false };
  } else {
    const url = new URL(path, endpoint.baseUrl.replace(/\/+$/, '/'));
    if (endpoint.token) headers.authorization = `Bearer ${endpoint.token}`;
    if (url.protocol === 'https:') request = httpsRequest as unknown as typeof httpRequest;
    target = {
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method,
      headers,
      signal: options.signal,
    };
  }
  return new Promise((resolve, reject) => {
    const req = request(target, resolve);
    req.on('error', (error) => {
      if (options.signal?.aborted) return reject(error);
      const unsent = UNSENT.has((error as NodeJS.ErrnoException).code ?? '');
      reject(
        new OwnerGone(`cannot reach ${describe(endpoint)}: ${error.message}`, unsent || method === 'GET', {
          hint: 'it may have just stopped; run the command again (or check --server)',
          cause: error,
        }),
      );
    });
    req.end(body);
  });
}

/** Reads a whole response body as text. */
export async function readText(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk;
  return text;
}

/** The NightshiftError of an error response (`{ error: { code, message, hint } }`). */
export async function responseError(res: IncomingMessage): Promise<NightshiftError> {
  const text = await readText(res);
  let parsed: { error?: { code?: string; message?: string; hint?: string | null } } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: a proxy's page, say; the text is the message
  }
  const { code, message, hint } = parsed.error ?? {};
  return new NightshiftError(
    (code as ErrorCode) ?? 'INTERNAL',
    message ?? `HTTP ${res.statusCode}: ${text}`,
    {
      hint: hint ?? undefined,
    },
  );
}

/** A JSON request: the parsed answer, or the API's error thrown as a NightshiftError. */
export async function call<T>(
  endpoint: Endpoint,
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const res = await send(endpoint, method, path, { body, signal });
  if ((res.statusCode ?? 500) >= 400) throw await responseError(res);
  return JSON.parse(await readText(res), revive) as T;
}
