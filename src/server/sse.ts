import { streamSSE } from 'hono/streaming';
import type { Engine } from '../engine/index.ts';
import { parseInput } from './errors.ts';
import { EventFeed } from './event-feed.ts';
import { type ApiRoutes, param } from './router.ts';
import { StreamQuery } from './schema.ts';

/**
 * `GET /api/runs/:id/events/stream`: the run's events as Server-Sent Events, `id:` being the
 * event's seq. A client resumes with `Last-Event-ID` (or `?after=`) and gets every later
 * event exactly once, because events are read from the store by seq (through the process's
 * shared `EventFeed`), never from memory of a previous connection. Comments keep idle
 * connections alive. The stream ends with an `end` message after `run.completed`; when the
 * server shuts down it ends without one (the client reconnects).
 */
export function streamRoutes(
  api: ApiRoutes,
  engine: Engine,
  closing: AbortSignal,
  heartbeatMs: number,
): void {
  const { store } = engine;
  api.add(
    {
      method: 'get',
      path: '/api/runs/:id/events/stream',
      summary: 'Live events as Server-Sent Events; resume with Last-Event-ID',
      scope: 'runs:read',
      query: StreamQuery,
      success: { status: 200, type: 'text/event-stream', description: 'one SSE message per event' },
    },
    async (c, { query }) => {
      const run = await store.getRun(param(c, 'id'));
      const header = c.req.header('last-event-id');
      const resume =
        header === undefined ? undefined : parseInput(StreamQuery, { after: header }, 'query').after;
      let after = resume ?? query.after ?? 0;
      return streamSSE(c, async (stream) => {
        const ended = new AbortController();
        stream.onAbort(() => ended.abort());
        const signal = AbortSignal.any([ended.signal, closing]);
        // `end` tells a client the stream is complete (a shutdown closes it without one: reconnect).
        const end = () => stream.writeSSE({ event: 'end', data: JSON.stringify({ after }) });
        const events = EventFeed.of(store).follow(run.id, after);
        try {
          await stream.write('retry: 1000\n\n');
          while (!signal.aborted) {
            const batch = await events.next(AbortSignal.any([signal, AbortSignal.timeout(heartbeatMs)]));
            if (batch === null) return await end();
            if (signal.aborted) break;
            if (batch.length === 0) await stream.write(': heartbeat\n\n');
            for (const event of batch) {
              await stream.writeSSE({ id: String(event.seq), data: JSON.stringify(event) });
              after = event.seq;
              if (event.type === 'run.completed') return await end();
            }
          }
        } finally {
          events.close();
        }
      });
    },
  );
}
