import { type IncomingMessage, request } from 'node:http';
import type { AuditVerification } from '../audit/index.ts';
import { type ErrorCode, NightshiftError } from '../core/errors.ts';
import type { RunEvent } from '../core/events.ts';
import type { Run } from '../core/run.ts';
import type { Client, RunDetails, SayResult } from './client.ts';

const DATE_FIELDS = new Set(['createdAt', 'startedAt', 'finishedAt', 'cancelRequestedAt', 'at']);

function revive(key: string, value: unknown): unknown {
  return DATE_FIELDS.has(key) && typeof value === 'string' ? new Date(value) : value;
}

/** The client of a home owned by another process, through its Unix socket. */
export function remoteClient(socketPath: string): Client & { ping(): Promise<boolean> } {
  function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath, path, method, headers: { 'content-type': 'application/json' }, signal },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => {
            try {
              const parsed = JSON.parse(text, revive);
              if ((res.statusCode ?? 500) >= 400) {
                const { code, message, hint } = parsed.error ?? {};
                reject(
                  new NightshiftError((code as ErrorCode) ?? 'INTERNAL', message ?? text, {
                    hint: hint ?? undefined,
                  }),
                );
              } else resolve(parsed as T);
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      req.on('error', (error) =>
        reject(
          new NightshiftError(
            'INTERNAL',
            `cannot reach the Nightshift process at ${socketPath}: ${error.message}`,
            {
              hint: 'it may have just stopped; run the command again',
            },
          ),
        ),
      );
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
  return {
    mode: 'remote',
    ping: () =>
      call('GET', '/health').then(
        () => true,
        () => false,
      ),
    submit: (runRequest) => call<Run>('POST', '/runs', runRequest),
    run: (id) => call<RunDetails>('GET', `/runs/${encodeURIComponent(id)}`),
    runs(filter) {
      const q = new URLSearchParams();
      for (const [key, value] of Object.entries(filter)) if (value !== undefined) q.set(key, String(value));
      return call<Run[]>('GET', `/runs?${q}`);
    },
    events: (runId, after, wait, signal) =>
      call<RunEvent[]>(
        'GET',
        `/runs/${encodeURIComponent(runId)}/events?after=${after}${wait ? '&wait=1' : ''}`,
        undefined,
        signal,
      ),
    cancel: (runId, by) => call<Run>('POST', `/runs/${encodeURIComponent(runId)}/cancel`, { by }),
    say: (runId, message, author) =>
      call<SayResult>('POST', `/runs/${encodeURIComponent(runId)}/say`, { message, author }),
    stop: (runId, by) => call<Run>('POST', `/runs/${encodeURIComponent(runId)}/stop`, { by }),
    auditVerify: () => call<AuditVerification>('GET', '/audit/verify'),
    auditExport(filter) {
      const q = new URLSearchParams();
      if (filter.since) q.set('since', filter.since);
      if (filter.runId) q.set('run', filter.runId);
      return streamLines(socketPath, `/audit/export?${q}`);
    },
    close: async () => {},
  };
}

/** The lines of a streamed (JSON lines) answer, each ending in a newline. */
async function* streamLines(socketPath: string, path: string): AsyncIterable<string> {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, resolve);
    req.on('error', (error) =>
      reject(
        new NightshiftError(
          'INTERNAL',
          `cannot reach the Nightshift process at ${socketPath}: ${error.message}`,
        ),
      ),
    );
    req.end();
  });
  res.setEncoding('utf8');
  if ((res.statusCode ?? 500) >= 400) {
    let text = '';
    for await (const chunk of res) text += chunk;
    const { code, message, hint } = (JSON.parse(text) as { error?: Record<string, string> }).error ?? {};
    throw new NightshiftError((code as ErrorCode) ?? 'INTERNAL', message ?? text, {
      hint: hint ?? undefined,
    });
  }
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
