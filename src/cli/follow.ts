import { NightshiftError } from '../core/errors.ts';
import type { RunEvent } from '../core/events.ts';
import type { Client } from './client.ts';

/**
 * Calls `onEvent` for each event of a run after `after`, in order, live, until the run
 * completes (or `signal` aborts). Returns the last sequence number seen. When the process
 * owning the home stops mid-way (another terminal's `nightshift run` ending), `reconnect`
 * opens Nightshift again and following resumes after the last event seen: nothing is lost
 * or repeated.
 */
export async function followRun(
  client: Client,
  runId: string,
  after: number,
  onEvent: (event: RunEvent) => void,
  options: { signal?: AbortSignal; reconnect?: () => Promise<Client> } = {},
): Promise<{ seq: number; client: Client }> {
  let seq = after;
  let current = client;
  for (;;) {
    try {
      for await (const event of current.streamEvents(runId, seq, options.signal)) {
        onEvent(event);
        seq = event.seq;
      }
      return { seq, client: current };
    } catch (error) {
      if (!(error instanceof NightshiftError && error.code === 'OWNER_GONE' && options.reconnect))
        throw error;
      await current.close();
      current = await options.reconnect();
    }
  }
}
