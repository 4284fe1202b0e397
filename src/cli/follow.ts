import type { RunEvent } from '../core/events.ts';
import type { Client } from './client.ts';

/**
 * Calls `onEvent` for each event of a run after `after`, in order, live, until the run
 * completes (or `signal` aborts). Returns the last sequence number seen.
 */
export async function followRun(
  client: Client,
  runId: string,
  after: number,
  onEvent: (event: RunEvent) => void,
  signal?: AbortSignal,
): Promise<number> {
  let seq = after;
  for (;;) {
    const { run } = await client.run(runId);
    const completed = run.status === 'completed';
    const events = await client.events(run.id, seq, !completed, signal);
    for (const event of events) {
      onEvent(event);
      seq = event.seq;
      if (event.type === 'run.completed') return seq;
    }
    if (signal?.aborted || (completed && events.length === 0)) return seq;
  }
}
