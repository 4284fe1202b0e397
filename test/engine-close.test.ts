import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine, engineConfig } from '../src/engine/index.ts';
import type { Store } from '../src/store/index.ts';
import { waitFor } from './support/harness-engine.ts';
import { makeRepo, processesWith } from './support/repos.ts';

/** Makes `store`'s next claim wait until `release` is called; `entered` resolves once it waits. */
function holdNextClaim(store: Store) {
  const claim = store.claimRun.bind(store);
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = () => {};
  const waiting = new Promise<void>((resolve) => {
    entered = resolve;
  });
  store.claimRun = async (options) => {
    store.claimRun = claim;
    entered();
    await released;
    return claim(options);
  };
  return { waiting, release };
}

describe('closing an engine while it claims a run', () => {
  let dir: string;
  let home: string;
  let repo: string;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nightshift-engine-close-'));
    home = join(dir, 'home');
    repo = join(dir, 'repo');
    await makeRepo(repo, { 'README.md': '# close\n' });
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('interrupts the run that claim takes and gives it back, instead of executing it to its end', async () => {
    const marker = `claimed-while-closing-${Date.now()}`;
    const engine = await Engine.open(engineConfig(home, {}));
    const run = await engine.submit({ repo, script: `sleep 60 # ${marker}` });
    const claim = holdNextClaim(engine.store);
    await engine.startWorker();
    await claim.waiting;

    const closing = engine.close();
    claim.release();
    const started = Date.now();
    await closing;
    const closedAfter = Date.now() - started;

    // Before, the run the claim took was not interrupted: close waited for its minute of sleep.
    expect(closedAfter).toBeLessThan(20_000);
    expect(processesWith(marker)).toEqual([]);
    const reopened = await Engine.open(engineConfig(home, {}));
    try {
      const given = await reopened.store.getRun(run.id);
      expect(given.status).not.toBe('completed');
      expect(await reopened.store.queueSize()).toBe(1);
    } finally {
      await reopened.close();
    }
  }, 60_000);

  it('stopClaiming lets the runs executing go on and claims no new one', async () => {
    const engine = await Engine.open(engineConfig(home, {}));
    try {
      const first = await engine.submit({ repo, script: 'sleep 1' });
      await engine.startWorker();
      await waitFor(async () => (await engine.store.getRun(first.id)).status === 'running');
      await engine.stopClaiming();
      const second = await engine.submit({ repo, script: 'true' });
      await waitFor(async () => (await engine.store.getRun(first.id)).status === 'completed');
      expect((await engine.store.getRun(first.id)).conclusion).toBe('no_changes');
      expect((await engine.store.getRun(second.id)).status).toBe('queued');
    } finally {
      await engine.close();
    }
  }, 60_000);
});
