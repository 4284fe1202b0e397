import type { AuditVerification } from '../audit/index.ts';
import { sleep } from '../core/clock.ts';
import { NightshiftError } from '../core/errors.ts';
import type { RunEvent } from '../core/events.ts';
import type { Run } from '../core/run.ts';
import type { ApiToken, ListedRun } from '../store/index.ts';
import { remoteAutomations } from './automations-client.ts';
import type { Client, RunDetails, SayResult } from './client.ts';
import { remoteFleets } from './fleets-client.ts';
import { call, type Endpoint, responseError, revive, send } from './http.ts';
import { readSse } from './sse.ts';
import { remoteSwarms } from './swarms-client.ts';

/** How long a follower of a server (`--server`) keeps trying to reconnect to a restarting server. */
export const RECONNECT_MS = 180_000;

const runPath = (id: string) => `/api/runs/${encodeURIComponent(id)}`;

/**
 * The client of the Nightshift API: the home's socket when another process owns the home,
 * or a server given with `--server`. Both speak the same API (src/server/app.ts).
 */
export function remoteClient(endpoint: Endpoint): Client & { ping(): Promise<boolean> } {
  const viaSocket = 'socketPath' in endpoint;
  return {
    mode: 'remote',
    ping: () =>
      call(endpoint, 'GET', '/healthz').then(
        () => true,
        () => false,
      ),
    submit: (request) => call<Run>(endpoint, 'POST', '/api/runs', request),
    run: (id) => call<RunDetails>(endpoint, 'GET', runPath(id)),
    async runs(filter) {
      const q = new URLSearchParams();
      for (const [key, value] of Object.entries(filter)) {
        if (value !== undefined) q.set(key === 'before' ? 'cursor' : key, String(value));
      }
      return (await call<{ runs: ListedRun[] }>(endpoint, 'GET', `/api/runs?${q}`)).runs;
    },
    async events(runId, after, wait, signal) {
      const path = `${runPath(runId)}/events?after=${after}${wait ? '&wait=1' : ''}`;
      return (await call<{ events: RunEvent[] }>(endpoint, 'GET', path, undefined, signal)).events;
    },
    async *streamEvents(runId, after, signal) {
      let last = after;
      let lostAt: number | null = null;
      for (;;) {
        try {
          for await (const event of streamOnce(endpoint, runId, last, signal)) {
            lostAt = null;
            if (event === 'end') return;
            yield event;
            last = event.seq;
          }
          if (signal?.aborted) return;
        } catch (error) {
          if (signal?.aborted) return;
          if (!(error instanceof NightshiftError && error.code === 'OWNER_GONE')) throw error;
          // Through the socket, the owner stopping means this command should open the home again.
          if (viaSocket) throw error;
          lostAt ??= Date.now();
          if (Date.now() - lostAt > RECONNECT_MS) throw error;
          await sleep(500);
          continue;
        }
        // The stream closed without its `end`: the server is shutting down. Resume after `last`.
        if (viaSocket) {
          throw new NightshiftError('OWNER_GONE', 'the process owning the home stopped', {
            hint: 'run the command again',
          });
        }
        lostAt ??= Date.now();
        await sleep(200);
      }
    },
    cancel: (runId, by) => call<Run>(endpoint, 'POST', `${runPath(runId)}/cancel`, { by }),
    say: (runId, message, author) =>
      call<SayResult>(endpoint, 'POST', `${runPath(runId)}/say`, { message, author }),
    stop: (runId, by) => call<Run>(endpoint, 'POST', `${runPath(runId)}/stop`, { by }),
    auditVerify: () => call<AuditVerification>(endpoint, 'GET', '/api/audit/verify'),
    auditExport(filter) {
      const q = new URLSearchParams();
      if (filter.since) q.set('since', filter.since);
      if (filter.runId) q.set('run', filter.runId);
      return streamLines(endpoint, `/api/audit/export?${q}`);
    },
    createToken: (request) =>
      call<{ token: string; record: ApiToken }>(endpoint, 'POST', '/api/tokens', request),
    async listTokens() {
      return (await call<{ tokens: ApiToken[] }>(endpoint, 'GET', '/api/tokens')).tokens;
    },
    revokeToken: (idOrName) =>
      call<ApiToken>(endpoint, 'DELETE', `/api/tokens/${encodeURIComponent(idOrName)}`),
    automations: remoteAutomations(endpoint),
    fleets: remoteFleets(endpoint),
    swarms: remoteSwarms(endpoint),
    close: async () => {},
  };
}

/** One SSE connection: events after `after`, then `'end'` if the stream completed. */
async function* streamOnce(
  endpoint: Endpoint,
  runId: string,
  after: number,
  signal?: AbortSignal,
): AsyncIterable<RunEvent | 'end'> {
  const res = await send(endpoint, 'GET', `${runPath(runId)}/events/stream`, {
    headers: { accept: 'text/event-stream', 'last-event-id': String(after) },
    signal,
  });
  if ((res.statusCode ?? 500) >= 400) throw await responseError(res);
  try {
    for await (const message of readSse(res)) {
      if (message.event === 'end') {
        yield 'end';
        return;
      }
      if (message.event === 'message') yield JSON.parse(message.data, revive) as RunEvent;
    }
  } catch (error) {
    if (signal?.aborted) return;
    // The connection broke mid-stream (server killed): resume like a refused connection.
    throw new NightshiftError('OWNER_GONE', `the event stream broke: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    res.destroy();
  }
}

/** The lines of a streamed (JSON lines) answer, each ending in a newline. */
async function* streamLines(endpoint: Endpoint, path: string): AsyncIterable<string> {
  const res = await send(endpoint, 'GET', path, { headers: { accept: 'application/x-ndjson' } });
  if ((res.statusCode ?? 500) >= 400) throw await responseError(res);
  res.setEncoding('utf8');
  let buffered = '';
  for await (const chunk of res) {
    buffered += chunk;
    let end = buffered.indexOf('\n');
    while (end >= 0) {
      yield buffered.slice(0, end + 1);
      buffered = buffered.slice(end + 1);
      end = buffered.indexOf('\n');
    }
  }
  if (buffered) yield `${buffered}\n`;
}
