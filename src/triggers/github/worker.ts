import { DeliveryWorker, type DeliveryWorkerOptions } from '../delivery-worker.ts';
import type { GithubPayload } from './payloads.ts';
import { type ReactionDeps, react } from './reactions.ts';
import { reportFinishedRuns } from './report.ts';

export type GithubWorkerOptions = DeliveryWorkerOptions;

/**
 * Processes accepted GitHub deliveries from the durable queue (`webhook_deliveries`) after the
 * webhook was answered: reactions, GitHub API calls, run submission (see `DeliveryWorker` for
 * leases and retries). Also answers on GitHub when the runs it started finish.
 */
export class GithubDeliveryWorker extends DeliveryWorker {
  constructor(deps: ReactionDeps, options: GithubWorkerOptions = {}) {
    super(
      {
        db: deps.store.db,
        log: deps.log,
        sources: 'github',
        process: (delivery) =>
          react(deps, delivery.deliveryId!, delivery.event!, delivery.payload as GithubPayload),
        afterDrain: async () => {
          await reportFinishedRuns(deps);
        },
      },
      options,
    );
  }
}
