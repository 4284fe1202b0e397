import { Hono } from 'hono';
import { serveApp } from './serve.ts';

/** A message the bot posted, as Slack received it. */
export interface PostedMessage {
  channel: string;
  text: string;
  thread_ts?: string;
  ts: string;
}

/**
 * A test double of Slack's Web API over HTTP: `POST /api/chat.postMessage` with the bot token
 * as a bearer token (JSON or form body), answering like Slack (`200 { ok, ts }`, or
 * `{ ok: false, error: 'invalid_auth' | 'not_authed' | 'channel_not_found' }`). Keeps every
 * message posted and every refused call. `refuse(error, times)` makes the next `times` posts
 * fail with Slack's `error` (e.g. `ratelimited`, `fatal_error`), as a Slack outage would.
 */
export async function startSlackServer(options: { botToken: string }) {
  const messages: PostedMessage[] = [];
  const refused: string[] = [];
  const faults: string[] = [];
  let clock = 1_700_000_000;
  const app = new Hono();
  app.post('/api/chat.postMessage', async (c) => {
    const auth = c.req.header('authorization');
    if (!auth) {
      refused.push('not_authed');
      return c.json({ ok: false, error: 'not_authed' });
    }
    if (auth !== `Bearer ${options.botToken}`) {
      refused.push('invalid_auth');
      return c.json({ ok: false, error: 'invalid_auth' });
    }
    const type = c.req.header('content-type') ?? '';
    const body = type.startsWith('application/json')
      ? ((await c.req.json()) as Record<string, string>)
      : Object.fromEntries(new URLSearchParams(await c.req.text()));
    if (!body.channel || typeof body.text !== 'string') {
      refused.push('channel_not_found');
      return c.json({ ok: false, error: body.channel ? 'no_text' : 'channel_not_found' });
    }
    const fault = faults.shift();
    if (fault) {
      refused.push(fault);
      return c.json({ ok: false, error: fault });
    }
    const ts = `${clock++}.000100`;
    messages.push({ channel: body.channel, text: body.text, thread_ts: body.thread_ts, ts });
    return c.json({ ok: true, channel: body.channel, ts, message: { text: body.text, ts } });
  });
  const server = await serveApp(app);
  return {
    apiUrl: `${server.url}/api`,
    messages,
    refused,
    refuse(error: string, times = 1) {
      faults.push(...Array<string>(times).fill(error));
    },
    close: server.close,
  };
}
