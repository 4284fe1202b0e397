import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { useTestStore } from '../../test/support/databases.ts';
import { gate } from '../../test/support/gate.ts';
import { waitFor } from '../../test/support/harness-engine.ts';
import { DeliveryWorker } from './delivery-worker.ts';

describe('DeliveryWorker', () => {
  const store = useTestStore('pglite');

  it('runs one drain at a time: a drain asked for while the worker drains starts after it, and returns when both are done', async () => {
    const held = gate();
    const events: string[] = [];
    let calls = 0;
    const worker = new DeliveryWorker(
      {
        db: store().db,
        log: pino({ level: 'silent' }),
        sources: 'github',
        process: async () => ({ outcome: 'ignored', reason: 'nothing to do' }),
        afterDrain: async () => {
          const call = ++calls;
          events.push(`start ${call}`);
          if (call === 1) await held.promise;
          events.push(`end ${call}`);
        },
      },
      { pollMs: 60_000 },
    );
    worker.start();
    await waitFor(() => calls === 1);

    const asked = worker.drain().then(() => events.push('drained'));
    // Time for a second drain to overtake the first, were it allowed to.
    await new Promise((resolve) => setTimeout(resolve, 200));
    held.open();
    await asked;
    await worker.stop();

    expect(events).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'drained']);
  });
});
