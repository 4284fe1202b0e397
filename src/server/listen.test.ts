import { Agent, get, type IncomingMessage } from 'node:http';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { afterEach, describe, expect, it } from 'vitest';
import { type Listening, listen } from './listen.ts';

/** Longer than any test here may take: `close` must never wait for it to cut connections. */
const DRAIN_MS = 600_000;
/**
 * How long `close` may take here. Waiting for the client instead, it takes the server's
 * keep-alive timeout (5 s, then Node closes the idle connection) or more.
 */
const PROMPT_MS = 2_500;

/** How long `promise` took to settle. */
async function took(promise: Promise<unknown>): Promise<number> {
  const start = performance.now();
  await promise;
  return performance.now() - start;
}

/**
 * Stopping a server with clients connected (`nightshift serve` on SIGTERM): streams end,
 * requests in flight are answered, and then it stops, without waiting for clients to hang up.
 */
describe('a listening server closing', () => {
  const agent = new Agent({ keepAlive: true });
  let server: Listening | null = null;

  afterEach(async () => {
    agent.destroy();
    await server?.close();
  });

  /** An app with a stream that lasts until `closing`, and an answer that takes `slowMs`. */
  function app(closing: AbortSignal, slowMs = 0) {
    return new Hono()
      .get('/stream', (c) =>
        streamSSE(c, async (stream) => {
          while (!closing.aborted) {
            await stream.write(': tick\n\n');
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }),
      )
      .get('/slow', async (c) => {
        await new Promise((resolve) => setTimeout(resolve, slowMs));
        return c.text('answered');
      });
  }

  /** A request through a kept-alive connection; resolves with the response as soon as it starts. */
  function request(path: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      get(`${server!.url}${path}`, { agent }, resolve).on('error', reject);
    });
  }

  const body = async (res: IncomingMessage) => {
    let text = '';
    for await (const chunk of res) text += chunk;
    return text;
  };

  it('closes once a stream it ended is over, though the client keeps its connection alive', async () => {
    const closing = new AbortController();
    server = await listen(app(closing.signal), { host: '127.0.0.1', port: 0 }, { drainMs: DRAIN_MS });
    const res = await request('/stream');
    const received = body(res);

    closing.abort();
    const closed = await took(server.close());

    expect(closed).toBeLessThan(PROMPT_MS);
    expect(res.statusCode).toBe(200);
    expect(await received).toContain(': tick');
    expect(res.complete).toBe(true);
  }, 60_000);

  it('answers a request in flight before it closes', async () => {
    const closing = new AbortController();
    server = await listen(app(closing.signal, 300), { host: '127.0.0.1', port: 0 }, { drainMs: DRAIN_MS });
    const pending = request('/slow');
    await new Promise((resolve) => setTimeout(resolve, 50));

    closing.abort();
    const closed = await took(server.close());
    const res = await pending;

    expect(closed).toBeLessThan(PROMPT_MS);
    expect(res.statusCode).toBe(200);
    expect(await body(res)).toBe('answered');
  }, 60_000);
});
