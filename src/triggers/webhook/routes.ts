import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { type AutomationDeps, AutomationService } from '../../automations/service.ts';
import type { WebhookTrigger } from '../../automations/types.ts';
import { NightshiftError } from '../../core/errors.ts';
import { claimDelivery, recordDelivery } from '../deliveries.ts';
import { errorResponse, handleErrors, limitBody } from '../http.ts';
import { resolveSecrets, SIGNATURE_HEADER, verifySignature } from './verify.ts';

/** Longest delivery id kept for dedup. */
const MAX_DELIVERY_ID = 200;

export interface WebhookInDeps extends AutomationDeps {
  maxBodyBytes?: number;
  /** Called after a delivery was claimed and queued, to wake the worker that processes it. */
  onAccepted?: () => void;
}

/**
 * Public routes of generic webhooks, mounted at `/webhooks/in`: `POST /:name` with a body
 * signed by one of the hook's secrets is claimed (its delivery id, if sent, once) and queued
 * in `webhook_deliveries` as source `webhook:<name>`, answered at once with 202; a worker
 * (`WebhookDeliveryWorker`) fires the automation from the queue. Unknown or disabled hook 404,
 * missing or bad signature 401, body not JSON 400, too big 413, a repeated delivery id 200.
 */
export function webhookInRoutes(deps: WebhookInDeps): Hono {
  const service = new AutomationService(deps);
  const env = deps.env ?? process.env;
  const app = new Hono();
  handleErrors(app, deps.log);

  app.post('/:name', limitBody(deps.maxBodyBytes ?? 1024 * 1024), async (c) => {
    const name = c.req.param('name');
    const stored = (await service.queries.list()).find(
      (s) =>
        s.automation.enabled &&
        s.automation.trigger.kind === 'webhook' &&
        s.automation.trigger.webhook === name,
    );
    if (!stored) {
      // Not recorded: names of unknown hooks come from anyone and would swell the metrics.
      deps.log.warn({ hook: name.slice(0, 100) }, 'webhook for no hook');
      return errorResponse(c, new NightshiftError('NOT_FOUND', `no webhook named ${name}`));
    }
    const source = `webhook:${name}`;
    const trigger = stored.automation.trigger as WebhookTrigger;
    const presented = c.req.header(trigger.deliveryHeader);
    const refuse = async (outcome: 'rejected_signature' | 'rejected_malformed', error: NightshiftError) => {
      deps.log.warn({ source, deliveryId: presented?.slice(0, 200), outcome }, 'webhook delivery refused');
      await recordDelivery(deps.db, {
        source,
        presentedId: presented?.slice(0, MAX_DELIVERY_ID) ?? null,
        event: 'webhook',
        outcome,
        reason: error.message,
      });
      return errorResponse(c, error);
    };
    const secrets = resolveSecrets(trigger.secrets, env);
    if (secrets.length === 0) {
      deps.log.error({ hook: name, automation: stored.automation.name }, 'webhook has no secret set');
      return errorResponse(
        c,
        new NightshiftError('INTERNAL', `webhook ${name} has no secret configured on the server`, {
          hint: 'set the environment variable its `secrets` name',
        }),
        503,
      );
    }
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (!verifySignature(body, c.req.header(SIGNATURE_HEADER), secrets)) {
      return refuse(
        'rejected_signature',
        new NightshiftError(
          'SIGNATURE_INVALID',
          `the ${SIGNATURE_HEADER} header is missing or does not match the body`,
          { hint: 'sign the raw body with HMAC-SHA256 and one of the hook secrets: sha256=<hex>' },
        ),
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      return refuse(
        'rejected_malformed',
        new NightshiftError('INVALID_INPUT', 'the body is not valid JSON', { hint: 'send a JSON document' }),
      );
    }
    if (presented !== undefined && (presented === '' || presented.length > MAX_DELIVERY_ID)) {
      return refuse(
        'rejected_malformed',
        new NightshiftError(
          'INVALID_INPUT',
          `${trigger.deliveryHeader} must be 1 to ${MAX_DELIVERY_ID} characters`,
        ),
      );
    }
    // Without a delivery id a retry cannot be told apart: each request is its own delivery.
    const deliveryId = presented ?? `anon-${randomUUID()}`;
    if (!(await claimDelivery(deps.db, { source, deliveryId, event: 'webhook', payload }))) {
      deps.log.info({ source, deliveryId }, 'webhook redelivery ignored');
      return c.json({ duplicate: true, delivery: deliveryId }, 200);
    }
    deps.log.info({ source, deliveryId }, 'webhook delivery accepted');
    deps.onAccepted?.();
    return c.json({ accepted: true, delivery: deliveryId }, 202);
  });
  return app;
}
