import { Hono } from 'hono';
import { fireAutomation } from '../../automations/fire.ts';
import { targetName } from '../../automations/parse.ts';
import { type AutomationDeps, AutomationService } from '../../automations/service.ts';
import { NightshiftError } from '../../core/errors.ts';
import { errorResponse, handleErrors, limitBody } from '../http.ts';
import { runLink } from './answers.ts';
import { type SlackClient, slackClient } from './client.ts';
import { automationForChannel, readSlackMessage } from './message.ts';
import { verifySlackRequest } from './verify.ts';

export interface SlackDeps extends AutomationDeps {
  slack: { signingSecret?: string; botToken?: string; apiUrl: string };
  publicUrl?: string;
  maxBodyBytes?: number;
  /** Receives the work done after answering Slack (tests and shutdown may wait for it). */
  background?: (work: Promise<void>) => void;
}

/** A request from Slack: who asked what, where, and where to answer. */
interface SlackAsk {
  channel: string;
  user: string;
  text: string;
  /** The thread to answer in; for a slash command, a message is posted first to start one. */
  threadTs?: string;
}

/**
 * Public Slack routes, mounted at `/slack`: `POST /events` (Events API: `url_verification`,
 * `app_mention`) and `POST /commands` (slash command). Every request must carry a valid
 * signature with a timestamp inside 5 minutes (401 otherwise). Slack is answered at once;
 * the run is started afterwards and the bot answers in the thread (start, and end — see
 * `answerEndedRuns`). A retried event (same `event_id`) starts nothing.
 */
export function slackRoutes(deps: SlackDeps): Hono {
  const service = new AutomationService(deps);
  const app = new Hono<{ Variables: { rawBody: string } }>();
  handleErrors(app as unknown as Hono, deps.log);
  const client = deps.slack.botToken ? slackClient(deps.slack.apiUrl, deps.slack.botToken) : undefined;
  const later = (work: Promise<void>) => {
    const guarded = work.catch((error) => deps.log.error({ err: error }, 'slack request failed'));
    deps.background ? deps.background(guarded) : void guarded;
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
      return errorResponse(c, new NightshiftError('SIGNATURE_INVALID', verdict.reason));
    }
    c.set('rawBody', new TextDecoder().decode(body));
    await next();
  });

  app.post('/events', async (c) => {
    let payload: SlackEnvelope;
    try {
      payload = JSON.parse(c.get('rawBody')) as SlackEnvelope;
    } catch {
      return errorResponse(c, new NightshiftError('INVALID_INPUT', 'the body is not valid JSON'));
    }
    if (payload.type === 'url_verification') return c.json({ challenge: String(payload.challenge ?? '') });
    const event = payload.event;
    if (payload.type !== 'event_callback' || event?.type !== 'app_mention' || event.bot_id)
      return c.body(null, 200);
    if (!payload.event_id || !event.channel || !event.ts) {
      return errorResponse(
        c,
        new NightshiftError('INVALID_INPUT', 'an app_mention needs event_id, channel and ts'),
      );
    }
    if (!(await service.queries.claimDelivery('slack', payload.event_id))) {
      deps.log.info(
        { eventId: payload.event_id, retry: c.req.header('X-Slack-Retry-Num') },
        'slack event already handled',
      );
      return c.body(null, 200);
    }
    const ask = {
      channel: event.channel,
      user: event.user ?? '',
      text: event.text ?? '',
      threadTs: event.thread_ts ?? event.ts,
    };
    later(handle(ask));
    return c.body(null, 200);
  });

  app.post('/commands', async (c) => {
    const form = new URLSearchParams(c.get('rawBody'));
    const channel = form.get('channel_id');
    if (!channel)
      return errorResponse(c, new NightshiftError('INVALID_INPUT', 'a slash command needs channel_id'));
    const triggerId = form.get('trigger_id');
    if (triggerId && !(await service.queries.claimDelivery('slack-command', triggerId)))
      return c.body(null, 200);
    const ask = { channel, user: form.get('user_id') ?? '', text: form.get('text') ?? '' };
    later(handle(ask));
    return c.json({ response_type: 'ephemeral', text: 'On it: I will answer in a thread.' });
  });

  async function handle(ask: SlackAsk): Promise<void> {
    const automations = (await service.queries.list()).map((s) => s.automation);
    const automation = automationForChannel(automations, ask.channel);
    const say = async (text: string, threadTs?: string) =>
      client ? client.postMessage({ channel: ask.channel, text, threadTs }) : undefined;
    if (!automation) {
      await say('No Nightshift automation takes requests in this channel.', ask.threadTs);
      return;
    }
    const read = readSlackMessage(automation, ask.channel, ask.text);
    if (!read.ok) {
      await say(read.answer, ask.threadTs);
      return;
    }
    const threadTs = ask.threadTs ?? (await say(`<@${ask.user}> asked: ${read.prompt}`));
    const fire = await fireAutomation(service.fireDeps, automation, {
      kind: 'slack',
      slack: { text: read.prompt, user: ask.user, channel: ask.channel, repo: read.target },
      reply: threadTs ? { channel: ask.channel, threadTs } : null,
    });
    const repo = targetName(read.target);
    const text =
      fire!.outcome === 'started'
        ? `Started ${fire!.runIds.map((id) => `run ${runLink(id, deps.publicUrl)}`).join(', ')} on ${repo}. I will answer here when it ends.`
        : `Not started (${fire!.outcome}): ${fire!.reason ?? 'see the automation history'}`;
    await say(text, threadTs);
  }

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
