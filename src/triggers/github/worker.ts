import { NightshiftError } from '../../core/errors.ts';
import { finishDelivery, leaseDelivery, retryDelivery } from '../deliveries.ts';
import type { GithubPayload } from './payloads.ts';
import { type ReactionDeps, react } from './reactions.ts';
import { reportFinishedRuns } from './report.ts';

export interface GithubWorkerOptions {
  /** How often the queue is looked at when nothing wakes the worker (ms). */
  pollMs?: number;
  /** A delivery is leased this long; a worker that dies leaves it to the next (ms). */
  leaseMs?: number;
  /** Attempts before a delivery whose processing keeps failing is marked `failed`. */
  maxAttempts?: number;
}

/**
 * Processes accepted GitHub deliveries from the durable queue (`webhook_deliveries`), one at a
 * time, after the webhook was answered: reactions, GitHub API calls, run submission. Failures
 * are retried with a backoff, then recorded as `failed`. Also answers on GitHub when the runs
 * it started finish.
 */
export class GithubDeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private again = false;
  private halting = false;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly deps: ReactionDeps,
    options: GithubWorkerOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.halting = false;
    this.wake();
  }

  /** Looks at the queue now (called when a delivery was accepted). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.drain().then(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.wake();
      } else {
        this.timer = setTimeout(() => this.wake(), this.pollMs);
      }
    });
  }

  /** Stops taking deliveries and waits for the one in hand. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halting = true;
    clearTimeout(this.timer);
    await this.running;
    this.halting = false;
  }

  /** Processes every due delivery, then answers for finished runs; returns how many deliveries were processed. */
  async drain(): Promise<number> {
    let processed = 0;
    try {
      while (!this.halting && (await this.processOne())) processed++;
      await reportFinishedRuns(this.deps);
    } catch (error) {
      this.deps.log.error({ err: error }, 'github delivery worker failed');
    }
    return processed;
  }

  /** Leases and processes one delivery; false when none is due. */
  async processOne(): Promise<boolean> {
    const { db } = this.deps.store;
    const delivery = await leaseDelivery(db, 'github', this.leaseMs);
    if (!delivery) return false;
    const log = this.deps.log.child({ deliveryId: delivery.deliveryId, event: delivery.event });
    try {
      const reaction = await react(
        this.deps,
        delivery.deliveryId!,
        delivery.event!,
        delivery.payload as GithubPayload,
      );
      await finishDelivery(db, delivery.id, {
        outcome: reaction.outcome,
        reason: reaction.reason,
        runId: reaction.outcome === 'accepted' ? reaction.runId : null,
      });
      log.info({ outcome: reaction.outcome, reason: reaction.reason }, 'webhook delivery processed');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const final = delivery.attempts >= this.maxAttempts || isPermanent(error);
      if (final) {
        await finishDelivery(db, delivery.id, { outcome: 'failed', reason: message });
        log.error({ err: error, attempts: delivery.attempts }, 'webhook delivery failed');
      } else {
        await retryDelivery(db, delivery.id, message, Math.min(60_000, 1000 * 2 ** delivery.attempts));
        log.warn({ err: error, attempts: delivery.attempts }, 'webhook delivery will be retried');
      }
    }
    return true;
  }
}

/** Errors a retry cannot fix: bad configuration or input. */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof NightshiftError &&
    ['INVALID_INPUT', 'BLUEPRINT_INVALID', 'BLUEPRINT_NOT_FOUND', 'REPO_INVALID', 'NOT_FOUND'].includes(
      error.code,
    )
  );
}
