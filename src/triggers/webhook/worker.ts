import { fireAutomation } from '../../automations/fire.ts';
import type { AutomationService } from '../../automations/service.ts';
import type { AutomationFire } from '../../store/automations.ts';
import type { Delivery } from '../deliveries.ts';
import { type DeliveryResult, DeliveryWorker, type DeliveryWorkerOptions } from '../delivery-worker.ts';

/**
 * Fires the automations of generic webhooks from the queue (sources `webhook:<name>`). A
 * delivery processed twice (its worker died) resumes the fire it made instead of firing again.
 */
export class WebhookDeliveryWorker extends DeliveryWorker {
  constructor(service: AutomationService, options: DeliveryWorkerOptions = {}) {
    super(
      {
        db: service.deps.db,
        log: service.deps.log,
        sources: { prefix: 'webhook:' },
        process: (delivery) => processWebhook(service, delivery),
      },
      options,
    );
  }
}

async function processWebhook(service: AutomationService, delivery: Delivery): Promise<DeliveryResult> {
  const hook = delivery.source.slice('webhook:'.length);
  const stored = (await service.queries.list()).find(
    (s) => s.automation.trigger.kind === 'webhook' && s.automation.trigger.webhook === hook,
  );
  if (!stored?.automation.enabled) {
    return { outcome: 'ignored', reason: `webhook ${hook} was removed or disabled after the delivery` };
  }
  const fire = await fireAutomation(service.fireDeps, stored.automation, {
    kind: 'webhook',
    payload: delivery.payload,
    delivery: `${delivery.source}:${delivery.deliveryId}`,
  });
  return fireResult(fire!);
}

/** A delivery's outcome from the fire it made: runs started (or queued), nothing to do, or a failure. */
export function fireResult(fire: AutomationFire): DeliveryResult {
  const reason = `fire ${fire.id} ${fire.outcome}${fire.reason ? `: ${fire.reason}` : ''}`;
  if (fire.outcome === 'started' || fire.outcome === 'waiting' || fire.outcome === 'claimed')
    return { outcome: 'accepted', runId: fire.runIds[0] ?? null, reason };
  if (fire.outcome === 'failed') return { outcome: 'failed', reason };
  return { outcome: 'ignored', reason };
}
