import type pino from 'pino';
import { NightshiftError } from '../core/errors.ts';
import type { Queryable } from '../store/db.ts';
import {
  type Delivery,
  type DeliverySources,
  finishDelivery,
  leaseDelivery,
  retryDelivery,
} from './deliveries.ts';

/** What processing one delivery came to: a run started (`accepted`), or nothing to do (`ignored`) and why. */
export type DeliveryResult =
  | { outcome: 'accepted'; runId?: string | null; reason: string | null }
  | { outcome: 'ignored' | 'failed'; reason: string };

export interface DeliveryWorkerOptions {
  /** How often the queue is looked at when nothing wakes the worker (ms). */
  pollMs?: number;
  /** A delivery is leased this long; a worker that dies leaves it to the next (ms). */
  leaseMs?: number;
  /** Attempts before a delivery whose processing keeps failing is marked `failed`. */
  maxAttempts?: number;
}

/** What a worker is for: which deliveries it takes, how it processes one, and what it does after a batch. */
export interface DeliveryHandler {
  db: Queryable;
  log: pino.Logger;
  sources: DeliverySources;
  process(delivery: Delivery): Promise<DeliveryResult>;
  /** Runs after every drain (answers for finished runs). */
  afterDrain?(): Promise<void>;
}

/**
 * Processes accepted webhook deliveries from the durable queue (`webhook_deliveries`), one at a
 * time, after the request was answered. Each delivery is leased, so a worker that dies leaves
 * it to another; failures are retried with a backoff, then recorded as `failed`.
 *
 * @example
 * const worker = new DeliveryWorker({ db, log, sources: { prefix: 'webhook:' }, process });
 * worker.start(); // and worker.wake() when a delivery was accepted
 */
export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** The drain under way (or the last one): the next waits for it. */
  private draining: Promise<number> = Promise.resolve(0);
  private stopped = true;
  private again = false;
  private halting = false;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly handler: DeliveryHandler,
    options: DeliveryWorkerOptions = {},
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

  /**
   * Processes every due delivery, then the handler's `afterDrain`; returns how many deliveries
   * were processed. One drain runs at a time: one asked for while another is under way (the
   * worker's own, say) starts after it, so what was due when it was asked is done when it returns.
   */
  drain(): Promise<number> {
    this.draining = this.draining.then(() => this.drainNow());
    return this.draining;
  }

  private async drainNow(): Promise<number> {
    let processed = 0;
    try {
      while (!this.halting && (await this.processOne())) processed++;
      await this.handler.afterDrain?.();
    } catch (error) {
      this.handler.log.error({ err: error }, 'delivery worker failed');
    }
    return processed;
  }

  /** Leases and processes one delivery; false when none is due. */
  async processOne(): Promise<boolean> {
    const { db } = this.handler;
    const delivery = await leaseDelivery(db, this.handler.sources, this.leaseMs);
    if (!delivery) return false;
    const log = this.handler.log.child({
      source: delivery.source,
      deliveryId: delivery.deliveryId,
      event: delivery.event,
    });
    try {
      const result = await this.handler.process(delivery);
      await finishDelivery(db, delivery.id, {
        outcome: result.outcome,
        reason: result.reason,
        runId: result.outcome === 'accepted' ? result.runId : null,
      });
      log.info({ outcome: result.outcome, reason: result.reason }, 'webhook delivery processed');
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
