import { NightshiftError } from '../../core/errors.ts';

/** Slack's Web API, as far as the bot uses it. */
export interface SlackClient {
  /** Posts a message (in a thread with `threadTs`); returns the message's `ts`. */
  postMessage(message: { channel: string; text: string; threadTs?: string }): Promise<string>;
}

/** A client of Slack's Web API at `apiUrl` (`https://slack.com/api`) with the bot token. */
export function slackClient(apiUrl: string, botToken: string): SlackClient {
  return {
    async postMessage({ channel, text, threadTs }) {
      const response = await fetch(`${apiUrl}/chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${botToken}`, 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ channel, text, ...(threadTs ? { thread_ts: threadTs } : {}) }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json().catch(() => ({}))) as { ok?: boolean; ts?: string; error?: string };
      if (!response.ok || !body.ok || !body.ts) {
        throw new NightshiftError(
          'INTERNAL',
          `Slack chat.postMessage failed: ${body.error ?? `HTTP ${response.status}`}`,
          {
            hint: 'check NIGHTSHIFT_SLACK_BOT_TOKEN and that the bot is in the channel',
          },
        );
      }
      return body.ts;
    },
  };
}
