import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openTestStore } from '../../test/support/databases.ts';
import { LocalScmProvider } from '../scm/local/index.ts';
import type { Store } from '../store/index.ts';
import { FleetService } from './service.ts';

/** The rollout loop of an engine with no fleet work: what an idle server does. */
describe('fleet rollout loop while idle', () => {
  let dir: string;
  let store: Store;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nightshift-fleet-idle-'));
    store = await openTestStore('pglite');
  });

  afterAll(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('looks for fleet work seldom while none was found, and at once when a run here ends', async () => {
    const service = new FleetService({
      store,
      scm: new LocalScmProvider({ mirrorsDir: join(dir, 'mirrors'), basesDir: join(dir, 'bases') }),
      log: pino({ level: 'silent' }),
      defaultTimeoutMs: 60_000,
    });
    const looks = vi.spyOn(service, 'tickAll');
    const repoId = (await store.repos.upsert({ name: 'demo', url: '/srv/demo', defaultBranch: 'main' })).id;
    const run = await store.createRun({
      repoId,
      blueprint: 'script',
      blueprintSpec: {},
      inputs: { values: {} },
      timeoutMs: 60_000,
    });

    try {
      // Every 10 ms while there is work; the first look finds none.
      service.start(10);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const whileIdle = looks.mock.calls.length;
      await store.completeRun(run.id, 'success', null);
      await vi.waitFor(() => expect(looks.mock.calls.length).toBe(whileIdle + 1), { timeout: 1000 });

      expect(whileIdle).toBe(1);
      expect(looks.mock.calls.at(-1)![0]).toMatchObject({ finished: [run.id] });
    } finally {
      await service.stop();
    }
  });
});
