import { createHmac, timingSafeEqual } from 'node:crypto';

/** Requests signed longer ago (or further ahead) than this are refused as replays. */
export const SLACK_WINDOW_SECONDS = 5 * 60;

/** Signs a request as Slack does: `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`. */
export function signSlackRequest(secret: string, timestamp: string, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body);
  return `v0=${hmac.digest('hex')}`;
}

/**
 * Checks Slack's `X-Slack-Signature` and `X-Slack-Request-Timestamp` over the raw body; the
 * reason when refused. Constant-time compare; a timestamp outside the window is a replay.
 */
export function verifySlackRequest(
  secret: string,
  body: Uint8Array,
  headers: { signature?: string; timestamp?: string },
  nowMs: number,
): { ok: true } | { ok: false; reason: string } {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp)
    return { ok: false, reason: 'missing X-Slack-Signature or X-Slack-Request-Timestamp' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed X-Slack-Request-Timestamp' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > SLACK_WINDOW_SECONDS) {
    return { ok: false, reason: 'X-Slack-Request-Timestamp is outside the 5-minute window (replay?)' };
  }
  const match = /^v0=([0-9a-f]{64})$/i.exec(signature.trim());
  if (!match) return { ok: false, reason: 'malformed X-Slack-Signature' };
  const expected = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[1]!.toLowerCase(), 'hex'))) {
    return { ok: false, reason: 'X-Slack-Signature does not match the body' };
  }
  return { ok: true };
}
