import { hostname } from 'node:os';
import type pino from 'pino';
import { type Blueprint, hasAgentStep } from '../blueprints/types.ts';
import { sleep } from '../core/clock.ts';
import { newId } from '../core/ids.ts';
import type { Run } from '../core/run.ts';
import type { Store } from '../store/index.ts';
import { RunAbort } from './abort.ts';
import { continueRun } from './continue.ts';
import { type ExecutorDeps, executeRun } from './executor.ts';
import { Steering } from './steering.ts';

export interface WorkerOptions {
  /** Runs this worker executes at once. */
  concurrency: number;
  /** Most runs of one repo active at once, across all workers. */
  perRepoConcurrency: number;
  /** Most runs active at once across all workers; unlimited when omitted. */
  globalConcurrency?: number;
  /** A lease lasts this long unless renewed (every third of it). */
  leaseMs: number;
  /** A run is given up with conclusion `error` after this many attempts. */
  maxAttempts: number;
  /** How often to look for queued runs and cancel requests written by other processes. */
  pollMs: number;
}

interface ActiveRun {
  run: Run;
  controller: AbortController;
  steering: Steering;
  done: Promise<void>;
}

/**
 * Claims queued runs from the store and executes them, up to `concurrency` at once. Leases are
 * renewed while a run executes; a run whose lease is lost is dropped at once (another worker
 * owns it), a cancelled run is stopped at once.
 */
export class Worker {
  readonly id = `${newId('wrk')}@${hostname()}:${process.pid}`;
  private readonly active = new Map<string, ActiveRun>();
  private stopping = false;
  private wake: (() => void) | null = null;
  /** The claim in flight, if any: a run it claims becomes active after it resolves. */
  private claiming: Promise<boolean> | null = null;
  private loop: Promise<void> | null = null;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly deps: ExecutorDeps,
    private readonly options: WorkerOptions,
    private readonly log: pino.Logger,
  ) {}

  get store(): Store {
    return this.deps.store;
  }

  /** Ids of the runs executing here now. */
  activeRuns(): string[] {
    return [...this.active.keys()];
  }

  start(): void {
    if (this.loop) return;
    this.unsubscribe.push(
      this.store.on('queued', () => this.wake?.()),
      this.store.on('cancel', (runId) => this.cancel(runId)),
      this.store.on('steer', (runId) => {
        if (this.active.has(runId)) this.steer([runId]).catch(() => {});
      }),
    );
    this.loop = Promise.all([this.claimLoop(), this.leaseLoop()]).then(() => {});
  }

  /** Claims no more runs (the runs executing go on); resolves once a claim in flight has ended. */
  async stopClaiming(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.claiming?.catch(() => {});
  }

  /**
   * Stops claiming. With `drain`, waits for active runs to finish; without, interrupts them
   * (also one a claim in flight was taking) and gives them back to the queue (another worker
   * retries them).
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    await this.stopClaiming();
    if (!options.drain) {
      for (const active of this.active.values()) {
        active.controller.abort(new RunAbort('shutdown', 'the worker is shutting down'));
      }
    }
    await Promise.all([...this.active.values()].map((a) => a.done));
    await this.loop;
    for (const off of this.unsubscribe.splice(0)) off();
  }

  /** Resolves when no run is queued or running (here or in another worker). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.active.size === 0 && (await this.store.queueSize()) === 0) return;
      await sleep(100);
    }
  }

  private cancel(runId: string): void {
    const active = this.active.get(runId);
    active?.controller.abort(new RunAbort('cancelled', 'the run was cancelled'));
  }

  /** Hands messages waiting in the store to the runs' agents. */
  private async steer(runIds: string[]): Promise<void> {
    for (const message of await this.store.steering.pending(runIds)) {
      this.active.get(message.runId)?.steering.receive([message]);
    }
  }

  /**
   * Follow-ups that arrived too late for the run's agent are not lost: a run that continues
   * this one (same branch, conversation resumed) takes them.
   */
  private async continueWithLeftovers(run: Run): Promise<void> {
    const left = (await this.store.steering.pending([run.id])).filter((m) => m.kind === 'follow_up');
    if (left.length === 0) return;
    await this.store.steering.markDelivered(left.map((m) => m.id));
    const authors = [...new Set(left.map((m) => m.author))];
    const next = await continueRun(this.store, run.id, {
      prompt: left.map((m) => m.text ?? '').join('\n\n'),
      author: authors.length === 1 ? authors[0] : null,
    });
    this.log.info({ runId: run.id, next: next.id }, 'late follow-ups continue the run');
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopping) {
      let claimed = false;
      if (this.active.size < this.options.concurrency) {
        this.claiming = this.claimOne();
        try {
          claimed = await this.claiming;
        } catch (error) {
          this.log.error({ err: error }, 'claiming a run failed');
        } finally {
          this.claiming = null;
        }
      }
      if (!claimed && !this.stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.pollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = null;
      }
    }
  }

  private async claimOne(): Promise<boolean> {
    const claimed = await this.store.claimRun({
      workerId: this.id,
      leaseMs: this.options.leaseMs,
      maxActive: this.options.globalConcurrency,
      maxActivePerRepo: this.options.perRepoConcurrency,
    });
    if (!claimed) return false;
    const { run, claim } = claimed;
    if (claim.attempt > this.options.maxAttempts) {
      await this.store.completeRun(
        run.id,
        'error',
        `gave up after ${this.options.maxAttempts} attempts (the last ended without concluding)`,
        claim.attempt,
      );
      return true;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      const minutes = Math.round(run.timeoutMs / 60_000);
      const limit = minutes >= 1 ? `${minutes}m` : `${Math.round(run.timeoutMs / 1000)}s`;
      controller.abort(new RunAbort('timed_out', `the run exceeded its time limit of ${limit}`));
    }, run.timeoutMs);
    const steering = new Steering();
    const done = executeRun(this.deps, claimed, controller, steering)
      .then(async (outcome) => {
        if (outcome === null && (controller.signal.reason as RunAbort | undefined)?.kind === 'shutdown') {
          await this.store.releaseLease(run.id, this.id);
        }
        // Only an agent takes follow-ups: a script run has none left over.
        if (
          outcome &&
          outcome.conclusion !== 'cancelled' &&
          hasAgentStep(claimed.blueprintSpec as Blueprint)
        ) {
          await this.continueWithLeftovers(run);
        }
        this.log.info(
          { runId: run.id, attempt: claim.attempt, conclusion: outcome?.conclusion },
          'run finished',
        );
      })
      .catch((error) => this.log.error({ runId: run.id, err: error }, 'run execution failed'))
      .finally(() => {
        clearTimeout(timer);
        this.active.delete(run.id);
        this.wake?.();
      });
    this.active.set(run.id, { run, controller, steering, done });
    if (run.cancelRequestedAt) this.cancel(run.id);
    if (claimed.hasMessages) this.steer([run.id]).catch(() => {});
    this.log.info({ runId: run.id, attempt: claim.attempt }, 'run claimed');
    return true;
  }

  /** Renews leases (every third of their length) and picks up cancel requests from other processes. */
  private async leaseLoop(): Promise<void> {
    let lastRenew = Date.now();
    while (!this.stopping || this.active.size > 0) {
      await sleep(Math.min(this.options.pollMs, 500));
      const ids = this.activeRuns();
      if (ids.length === 0) continue;
      try {
        for (const runId of await this.store.cancelRequested(ids)) this.cancel(runId);
        await this.steer(ids);
        if (Date.now() - lastRenew >= this.options.leaseMs / 3) {
          lastRenew = Date.now();
          for (const runId of ids) {
            const kept = await this.store.renewLease(runId, this.id, this.options.leaseMs);
            if (!kept && this.active.has(runId)) {
              this.log.warn({ runId }, 'lease lost');
              this.active
                .get(runId)
                ?.controller.abort(new RunAbort('lease_lost', 'another worker took the run over'));
            }
          }
        }
      } catch (error) {
        this.log.error({ err: error }, 'lease renewal failed');
      }
    }
  }
}
