import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HarnessRegistry } from '../src/agents/registry.ts';
import { Engine, engineConfig } from '../src/engine/index.ts';
import { parseFleetSpec } from '../src/fleets/parse.ts';
import { DATABASE_KINDS, newPostgresDatabase } from './support/databases.ts';
import { makeRepo } from './support/repos.ts';

const FLEET_SIZE = 500;

/** A fleet of 500 queued runs must not delay an interactive run: the queue is read, no sandbox runs. */
describe.each(DATABASE_KINDS)('fleet priority on %s', (kind) => {
  const temp = { dir: mkdtempSync(join(tmpdir(), 'nightshift-fleet-priority-')) };
  let engine: Engine;

  beforeAll(async () => {
    await makeRepo(join(temp.dir, 'template'), { 'README.md': '# svc\n' });
    // Copies of one repo are 500 distinct repositories at a fraction of the cost of 500 `git init`s.
    execFileSync(
      'sh',
      [
        '-c',
        `for i in $(seq 1 ${FLEET_SIZE}); do cp -r template repos-$i; done; mkdir repos && mv repos-* repos/`,
      ],
      {
        cwd: temp.dir,
      },
    );
    engine = await Engine.open(
      {
        ...engineConfig(join(temp.dir, 'home'), {}),
        databaseUrl: kind === 'postgres' ? await newPostgresDatabase() : undefined,
      },
      { harnesses: new HarnessRegistry() },
    );
  }, 300_000);

  afterAll(async () => {
    await engine?.close();
    rmSync(temp.dir, { recursive: true, force: true });
  });

  it('claims an interactive run before 500 queued fleet runs', async () => {
    const { spec } = parseFleetSpec(
      'name: big\ntargets:\n  - glob: "repos/*"\nscript: "echo hi > HI"\nconcurrency: 1000\n',
    );
    const summary = await engine.fleets.apply(spec!, { cwd: temp.dir });
    writeFileSync(join(temp.dir, 'interactive.sh'), 'true\n');
    const interactive = await engine.submit({
      repo: join(temp.dir, 'template'),
      script: 'echo me > ME',
      cwd: temp.dir,
    });

    const first = await engine.store.claimRun({ workerId: 'w1', leaseMs: 60_000 });
    const second = await engine.store.claimRun({ workerId: 'w1', leaseMs: 60_000 });

    expect(summary.create).toBe(FLEET_SIZE);
    expect(await engine.store.queueDepth()).toBe(FLEET_SIZE + 1 - 2);
    expect(first!.run.id).toBe(interactive.id);
    expect(second!.run.trigger).toBe('fleet:big');
    expect(second!.run.priority).toBeLessThan(interactive.priority);
  }, 300_000);
});
