import type { Store } from '../../src/store/index.ts';

/** SSE clients following runs, as a benchmark sees them. */
export interface Followers {
  /** Events received so far, by every stream. */
  delivered(): number;
  /** Milliseconds from each event's `at` (its commit) to its arrival. */
  lags(): number[];
  /** Waits until every stream received its run's last event; whether each got every seq once, in order. */
  drain(timeoutMs: number): Promise<boolean>;
  close(): void;
}

/** Opens one SSE stream per run, each starting after the run's current last event. */
export async function followAll(
  url: string,
  token: string,
  runIds: readonly string[],
  store: Store,
): Promise<Followers> {
  const stop = new AbortController();
  const lags: number[] = [];
  let delivered = 0;
  const states = await Promise.all(
    runIds.map(async (runId) => {
      const start = (await store.events(runId, 0, 100_000)).at(-1)?.seq ?? 0;
      const state = { runId, start, seqs: [] as number[] };
      const res = await fetch(`${url}/api/runs/${runId}/events/stream`, {
        headers: { authorization: `Bearer ${token}`, 'last-event-id': String(start) },
        signal: stop.signal,
      });
      void read(res, (event) => {
        state.seqs.push(event.seq);
        lags.push(Date.now() - Date.parse(event.at));
        delivered++;
      });
      return state;
    }),
  );
  return {
    delivered: () => delivered,
    lags: () => lags,
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const ok = async () => {
        for (const s of states) {
          const last = (await store.events(s.runId, 0, 100_000)).at(-1)?.seq ?? 0;
          const expected = Array.from({ length: last - s.start }, (_, i) => s.start + 1 + i);
          if (s.seqs.join() !== expected.join()) return false;
        }
        return true;
      };
      while (Date.now() < deadline) {
        if (await ok()) return true;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return false;
    },
    close: () => stop.abort(),
  };
}

async function read(res: Response, onEvent: (event: { seq: number; at: string }) => void): Promise<void> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      const blocks = buffer.split('\n\n');
      buffer = blocks.pop()!;
      for (const block of blocks) {
        const data = block.split('\n').find((line) => line.startsWith('data: '));
        if (block.includes('\nid: ') || block.startsWith('id: ')) {
          if (data) onEvent(JSON.parse(data.slice(6)));
        }
      }
    }
  } catch {
    // aborted at the end
  }
}
