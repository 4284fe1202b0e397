import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { type AutomationDeps, AutomationService } from '../../automations/service.ts';
import { NightshiftError } from '../../core/errors.ts';
import { claimDelivery, recordDelivery } from '../deliveries.ts';
import { errorResponse, handleErrors, limitBody } from '../http.ts';
import type { SlackClient } from './client.ts';
import { verifySlackRequest } from './verify.ts';

export interface SlackDeps extends AutomationDeps {
  slack: { signingSecret?: string; botToken?: string; apiUrl: string };
  publicUrl?: string;
  maxBodyBytes?: number;
  /** Called after a request was claimed and queued, to wake the worker that processes it. */
  onAccepted?: () => void;
}

/** A request from Slack, as queued: who asked what, where, and where to answer. */
export interface SlackAsk {
  channel: string;
  user: string;
  text: string;
  /** The thread to answer in; for a slash command, a message is posted first to start one. */
  threadTs?: string;
}

/**
 * Public Slack routes, mounted at `/slack`: `POST /events` (Events API: `url_verification`,
 * `app_mention`) and `POST /commands` (slash command). Every request must carry a valid
 * signature with a timestamp inside 5 minutes (401 otherwise). The request is claimed and
 * queued in `webhook_deliveries` (sources `slack`, `slack-command`) and Slack is answered at
 * once; `SlackDeliveryWorker` starts the run from the queue and the bot answers in the thread
 * (start, and end — see `answerEndedRuns`). A retried event (same `event_id`) starts nothing.
 */
export function slackRoutes(deps: SlackDeps): Hono {
  const service = new AutomationService(deps);
  const app = new Hono<{ Variables: { rawBody: string } }>();
  handleErrors(app as unknown as Hono, deps.log);
  const queue = async (source: string, deliveryId: string, event: string, ask: SlackAsk) => {
    const claimed = await claimDelivery(deps.db, { source, deliveryId, event, payload: ask });
    if (claimed) deps.onAccepted?.();
    else deps.log.info({ source, deliveryId }, 'slack request already handled');
    return claimed;
  };

  app.use('*', limitBody(deps.maxBodyBytes ?? 1024 * 1024), async (c, next) => {
    if (!deps.slack.signingSecret) {
      return errorResponse(
        c,
        new NightshiftError('INTERNAL', 'Slack is not configured on this server', {
          hint: 'set NIGHTSHIFT_SLACK_SIGNING_SECRET and NIGHTSHIFT_SLACK_BOT_TOKEN',
        }),
        503,
      );
    }
    const body = new Uint8Array(await c.req.arrayBuffer());
    const verdict = verifySlackRequest(
      deps.slack.signingSecret,
      body,
      { signature: c.req.header('X-Slack-Signature'), timestamp: c.req.header('X-Slack-Request-Timestamp') },
      service.now().getTime(),
    );
    if (!verdict.ok) {
      deps.log.warn({ path: c.req.path, reason: verdict.reason }, 'slack request rejected');
      await recordDelivery(deps.db, {
        source: c.req.path.endsWith('/commands') ? 'slack-command' : 'slack',
        presentedId: null,
        event: null,
        outcome: 'rejected_signature',
        reason: verdict.reason,
      });
      return errorResponse(c, new NightshiftError('SIGNATURE_INVALID', verdict.reason));
    }
    c.set('rawBody', new TextDecoder().decode(body));
    await next();
  });

  /** Refuses a signed request Slack would never send (400), recorded for the metrics. */
  const malformed = async (c: Context, source: string, reason: string) => {
    deps.log.warn({ source, reason }, 'slack request refused');
    await recordDelivery(deps.db, {
      source,
      presentedId: null,
      event: null,
      outcome: 'rejected_malformed',
      reason,
    });
    return errorResponse(c, new NightshiftError('INVALID_INPUT', reason));
  };

  app.post('/events', async (c) => {
    let payload: SlackEnvelope | null;
    try {
      payload = JSON.parse(c.get('rawBody')) as SlackEnvelope | null;
    } catch {
      payload = null;
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
      return malformed(c, 'slack', 'the body is not a JSON object');
    if (payload.type === 'url_verification') return c.json({ challenge: String(payload.challenge ?? '') });
    const event = payload.event;
    if (payload.type !== 'event_callback' || event?.type !== 'app_mention' || event.bot_id)
      return c.body(null, 200);
    if (![payload.event_id, event.channel, event.ts].every((v) => typeof v === 'string' && v !== ''))
      return malformed(c, 'slack', 'an app_mention needs event_id, channel and ts');
    await queue('slack', payload.event_id!.slice(0, 200), 'app_mention', {
      channel: event.channel!,
      user: event.user ?? '',
      text: event.text ?? '',
      threadTs: event.thread_ts ?? event.ts!,
    });
    return c.body(null, 200);
  });

  app.post('/commands', async (c) => {
    const form = new URLSearchParams(c.get('rawBody'));
    const channel = form.get('channel_id');
    if (!channel) return malformed(c, 'slack-command', 'a slash command needs channel_id');
    const triggerId = form.get('trigger_id')?.slice(0, 200) || `anon-${randomUUID()}`;
    const ask = { channel, user: form.get('user_id') ?? '', text: form.get('text') ?? '' };
    if (!(await queue('slack-command', triggerId, 'command', ask))) return c.body(null, 200);
    return c.json({ response_type: 'ephemeral', text: 'On it: I will answer in a thread.' });
  });

  return app as unknown as Hono;
}

/** The fields of Slack's Events API envelope that are used. */
interface SlackEnvelope {
  type?: string;
  challenge?: unknown;
  event_id?: string;
  event?: {
    type?: string;
    text?: string;
    user?: string;
    channel?: string;
    ts?: string;
    thread_ts?: string;
    bot_id?: string;
  };
}

export type { SlackClient };
