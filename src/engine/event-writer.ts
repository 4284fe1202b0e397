import { BatchWriter } from '../core/batch-writer.ts';
import type { RunEventPayload, TimedEventPayload } from '../core/events.ts';
import type { Store } from '../store/index.ts';

const MAX_OUTPUT_CHUNK = 16 * 1024;

/**
 * Writes a run's events in order, fenced by attempt. Output is coalesced (many small chunks
 * of one stream become one event) and flushed every 200 ms, so a chatty command costs a few
 * writes a second, not one per line, and a short step one write, while a log follower still
 * sees output within a fifth of a second.
 */
export class EventWriter extends BatchWriter<TimedEventPayload> {
  constructor(store: Store, runId: string, attempt: number) {
    super((batch) => store.appendEvents(runId, batch, attempt), 200);
  }

  override push(...payloads: RunEventPayload[]): void {
    for (const payload of payloads) this.pushOne(payload);
  }

  private pushOne(payload: RunEventPayload): void {
    const last = this.pending.at(-1);
    if (
      payload.type === 'step.output' &&
      last?.type === 'step.output' &&
      last.data.step === payload.data.step &&
      last.data.stream === payload.data.stream &&
      last.data.text.length + payload.data.text.length <= MAX_OUTPUT_CHUNK
    ) {
      last.data = { ...last.data, text: last.data.text + payload.data.text };
      this.schedule();
    } else {
      // Stamped now: the batch is written up to 200 ms later.
      super.push({ ...payload, at: new Date() });
    }
  }
}
