import { Hono } from 'hono';
import type pino from 'pino';
import type { Db } from '../../store/db.ts';
import { claimDelivery, type DeliveryOutcome, recordDelivery } from '../deliveries.ts';
import { verifySignature } from './verify.ts';

/** GitHub's own cap on a webhook payload. */
export const DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024;

export interface GithubWebhookRoutesDeps {
  db: Db;
  /** Webhook secrets; during a rotation both the new and the old one. */
  secrets: readonly string[];
  /** Larger bodies are refused with 413 (default 25 MB, GitHub's maximum). */
  maxBodyBytes?: number;
  log: pino.Logger;
  /** Called after a delivery was claimed and queued, to wake the worker that processes it. */
  onAccepted?: () => void;
}

const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/**
 * `POST /` of the GitHub webhook ingress (mounted at `/webhooks/github`, without API auth):
 * checks the headers, the body size and the `X-Hub-Signature-256` of the raw body, then
 * claims `X-GitHub-Delivery` and queues the payload, answering at once (202; a redelivery
 * 200). Every refusal is logged and recorded in `webhook_deliveries`.
 *
 * @example app.route('/webhooks/github', githubWebhookRoutes({ db, secrets, log }))
 */
export function githubWebhookRoutes(deps: GithubWebhookRoutesDeps): Hono {
  const maxBytes = deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const app = new Hono();
  app.post('/', async (c) => {
    const event = c.req.header('x-github-event') ?? null;
    const presented = c.req.header('x-github-delivery') ?? null;
    const signature = c.req.header('x-hub-signature-256');
    const refuse = async (
      status: 400 | 401 | 413,
      outcome: DeliveryOutcome,
      reason: string,
      hint: string,
    ) => {
      const presentedId = presented?.slice(0, 200) ?? null;
      deps.log.warn(
        { source: 'github', deliveryId: presentedId, event, outcome, reason },
        'webhook delivery refused',
      );
      await recordDelivery(deps.db, {
        source: 'github',
        presentedId,
        event: event?.slice(0, 100) ?? null,
        outcome: outcome as Exclude<DeliveryOutcome, 'accepted'>,
        reason,
      });
      const code = status === 401 ? 'UNAUTHORIZED' : 'INVALID_INPUT';
      return c.json({ error: { code, message: reason, hint } }, status);
    };

    const length = Number(c.req.header('content-length') ?? Number.NaN);
    if (length > maxBytes) {
      return refuse(
        413,
        'rejected_malformed',
        `the body is ${length} bytes, over the limit of ${maxBytes}`,
        'GitHub never sends more than 25 MB',
      );
    }
    const missing = [
      ['X-GitHub-Event', event],
      ['X-GitHub-Delivery', presented],
      ['X-Hub-Signature-256', signature],
    ].filter(([, value]) => !value);
    if (missing.length > 0) {
      const names = missing.map(([name]) => name).join(', ');
      return refuse(
        400,
        'rejected_malformed',
        `missing header ${names}`,
        'send webhooks from GitHub with a secret set',
      );
    }
    if (!DELIVERY_ID.test(presented!) || !/^[a-z_]{1,64}$/.test(event!)) {
      return refuse(
        400,
        'rejected_malformed',
        'malformed X-GitHub-Delivery or X-GitHub-Event header',
        'send webhooks from GitHub',
      );
    }
    const body = await readLimited(c.req.raw, maxBytes);
    if (!body) {
      return refuse(
        413,
        'rejected_malformed',
        `the body is over the limit of ${maxBytes} bytes`,
        'GitHub never sends more than 25 MB',
      );
    }
    if (!verifySignature(body, signature, deps.secrets)) {
      return refuse(
        401,
        'rejected_signature',
        'the X-Hub-Signature-256 signature does not match the body',
        'check that the webhook secret on GitHub is one of NIGHTSHIFT_GITHUB_WEBHOOK_SECRETS',
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body).toString('utf8'));
    } catch {
      payload = undefined;
    }
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      return refuse(
        400,
        'rejected_malformed',
        'the body is not a JSON object',
        'set the webhook content type to application/json',
      );
    }
    const claimed = await claimDelivery(deps.db, {
      source: 'github',
      deliveryId: presented!,
      event: event!,
      payload,
    });
    if (!claimed) {
      deps.log.info({ source: 'github', deliveryId: presented, event }, 'webhook redelivery ignored');
      return c.json({ duplicate: true }, 200);
    }
    deps.log.info({ source: 'github', deliveryId: presented, event }, 'webhook delivery accepted');
    deps.onAccepted?.();
    return c.json({ accepted: true }, 202);
  });
  return app;
}

/** The request body, or null as soon as it grows past `max` bytes. */
async function readLimited(request: Request, max: number): Promise<Uint8Array | null> {
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
