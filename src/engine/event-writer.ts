import type { RunEventPayload } from '../core/events.ts';
import type { Store } from '../store/index.ts';

const FLUSH_MS = 100;
const MAX_OUTPUT_CHUNK = 16 * 1024;

/**
 * Writes a run's events in order, fenced by attempt. Output is coalesced (many small chunks
 * of one stream become one event) and flushed every 100 ms, so a chatty command costs a few
 * writes a second, not one per line.
 */
export class EventWriter {
  private pending: RunEventPayload[] = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly store: Store,
    private readonly runId: string,
    private readonly attempt: number,
  ) {}

  /** Queues an event; written within 100 ms (or at the next `flush`). */
  push(payload: RunEventPayload): void {
    const last = this.pending.at(-1);
    if (
      payload.type === 'step.output' &&
      last?.type === 'step.output' &&
      last.data.step === payload.data.step &&
      last.data.stream === payload.data.stream &&
      last.data.text.length + payload.data.text.length <= MAX_OUTPUT_CHUNK
    ) {
      last.data = { ...last.data, text: last.data.text + payload.data.text };
    } else {
      this.pending.push(payload);
    }
    this.timer ??= setTimeout(() => {
      this.flush().catch(() => {});
    }, FLUSH_MS);
  }

  /** Writes an event and everything queued before it; resolves once stored. */
  async emit(payload: RunEventPayload): Promise<void> {
    this.pending.push(payload);
    await this.flush();
  }

  /** Writes everything queued. Rejects (e.g. RunFencedError) if any write failed. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.chain = this.chain.then(() =>
        this.store.appendEvents(this.runId, batch, this.attempt).catch((error) => {
          this.failure ??= error;
        }),
      );
    }
    return this.chain.then(() => {
      if (this.failure) throw this.failure;
    });
  }
}
