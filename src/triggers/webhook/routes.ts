import { Hono } from 'hono';
import { fireAutomation } from '../../automations/fire.ts';
import { type AutomationDeps, AutomationService } from '../../automations/service.ts';
import type { WebhookTrigger } from '../../automations/types.ts';
import { NightshiftError } from '../../core/errors.ts';
import { errorResponse, handleErrors, limitBody } from '../http.ts';
import { resolveSecrets, SIGNATURE_HEADER, verifySignature } from './verify.ts';

/** Longest delivery id kept for dedup. */
const MAX_DELIVERY_ID = 200;

/**
 * Public routes of generic webhooks, mounted at `/webhooks/in`: `POST /:name` with a body
 * signed by one of the hook's secrets starts the automation's runs (202 with their ids).
 * Unknown or disabled hook 404, missing or bad signature 401, body not JSON 400, too big 413,
 * a repeated delivery id 200 without new runs.
 */
export function webhookInRoutes(deps: AutomationDeps & { maxBodyBytes?: number }): Hono {
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
      deps.log.warn({ hook: name }, 'webhook for no hook');
      return errorResponse(c, new NightshiftError('NOT_FOUND', `no webhook named ${name}`));
    }
    const { automation } = stored;
    const trigger = automation.trigger as WebhookTrigger;
    const secrets = resolveSecrets(trigger.secrets, env);
    if (secrets.length === 0) {
      deps.log.error({ hook: name, automation: automation.name }, 'webhook has no secret set');
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
      deps.log.warn(
        { hook: name, signed: c.req.header(SIGNATURE_HEADER) !== undefined },
        'webhook signature rejected',
      );
      return errorResponse(
        c,
        new NightshiftError(
          'SIGNATURE_INVALID',
          `the ${SIGNATURE_HEADER} header is missing or does not match the body`,
          {
            hint: 'sign the raw body with HMAC-SHA256 and one of the hook secrets: sha256=<hex>',
          },
        ),
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch {
      deps.log.warn({ hook: name }, 'webhook body is not JSON');
      return errorResponse(
        c,
        new NightshiftError('INVALID_INPUT', 'the body is not valid JSON', { hint: 'send a JSON document' }),
      );
    }
    const deliveryId = c.req.header(trigger.deliveryHeader);
    if (deliveryId !== undefined) {
      if (deliveryId === '' || deliveryId.length > MAX_DELIVERY_ID) {
        return errorResponse(
          c,
          new NightshiftError(
            'INVALID_INPUT',
            `${trigger.deliveryHeader} must be 1 to ${MAX_DELIVERY_ID} characters`,
          ),
        );
      }
      if (!(await service.queries.claimDelivery(`webhook:${name}`, deliveryId))) {
        deps.log.info({ hook: name, deliveryId }, 'webhook delivery already seen');
        return c.json({ duplicate: true, runs: [] }, 200);
      }
    }
    const fire = (await fireAutomation(service.fireDeps, automation, { kind: 'webhook', payload }))!;
    const answer = { fire: fire.id, outcome: fire.outcome, reason: fire.reason, runs: fire.runIds };
    if (fire.outcome === 'started' || fire.outcome === 'waiting') return c.json(answer, 202);
    if (fire.outcome === 'skipped') return c.json(answer, 429);
    if (fire.outcome === 'failed') return c.json(answer, 422);
    return c.json(answer, 200);
  });
  return app;
}
