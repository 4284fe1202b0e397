import type { RunEvent } from './types.ts';

const TOKEN_KEY = 'nightshift.token';

/** The API token of this browser tab (sessionStorage: gone when the tab closes). */
export const session = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An error answer of the API: `{ error: { code, message, hint } }` and its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint: string | null = null,
  ) {
    super(message);
  }
  /** The route is missing: this server does not have that part (fleets, automations ...). */
  get unavailable(): boolean {
    return this.status === 404 && this.code === 'NOT_FOUND' && this.message.startsWith('no route');
  }
}

let onUnauthorized: () => void = () => {};
/** Called when the server refuses the token (signs the person out). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

/** Calls the API with the session's token; JSON in, JSON (or text) out. */
export async function api<T>(
  path: string,
  init: { method?: string; body?: unknown; text?: boolean; token?: string; signal?: AbortSignal } = {},
): Promise<T> {
  const token = init.token ?? session.get();
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    throw new ApiError(
      0,
      'NETWORK',
      'cannot reach the Nightshift server',
      'check that `nightshift serve` runs',
    );
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const error = new ApiError(
      res.status,
      body?.error?.code ?? 'HTTP',
      body?.error?.message ?? `${res.status} ${res.statusText}`,
      body?.error?.hint ?? null,
    );
    if (res.status === 401 && init.token === undefined) onUnauthorized();
    throw error;
  }
  return (init.text ? res.text() : res.json()) as Promise<T>;
}

/**
 * Follows a run's events over Server-Sent Events (`fetch`, since EventSource cannot send the
 * token), resuming with `Last-Event-ID` after a dropped connection, until the `end` message.
 */
export async function followEvents(
  runId: string,
  onEvent: (event: RunEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  let last = 0;
  while (!signal.aborted) {
    try {
      const res = await fetch(`/api/runs/${encodeURIComponent(runId)}/events/stream`, {
        headers: { authorization: `Bearer ${session.get() ?? ''}`, 'last-event-id': String(last) },
        signal,
      });
      if (!res.ok || !res.body) throw new ApiError(res.status, 'HTTP', `stream answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const message = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          const fields = parseMessage(message);
          if (fields.event === 'end') return;
          if (fields.data) {
            const event = JSON.parse(fields.data) as RunEvent;
            last = event.seq;
            onEvent(event);
          }
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && (error.status === 401 || error.status === 404)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function parseMessage(message: string): { event?: string; data?: string } {
  const fields: { event?: string; data?: string } = {};
  for (const line of message.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (name === 'event') fields.event = value;
    if (name === 'data') fields.data = fields.data === undefined ? value : `${fields.data}\n${value}`;
  }
  return fields;
}
