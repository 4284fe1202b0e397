import { join } from 'node:path';
import pino from 'pino';
import { HarnessRegistry } from '../../src/agents/registry.ts';
import type { AutomationDeps } from '../../src/automations/service.ts';
import type { Automation } from '../../src/automations/types.ts';
import { Engine, engineConfig } from '../../src/engine/index.ts';
import { automationQueries } from '../../src/store/automations.ts';
import type { DatabaseKind } from './databases.ts';
import { newPostgresDatabase } from './databases.ts';
import { makeRepo, tempDir } from './repos.ts';
import { ScriptedHarness } from './scripted-harness.ts';

/** A clock a test moves by hand. */
export interface TestClock {
  now: () => Date;
  set(iso: string): void;
}

export function testClock(iso: string): TestClock {
  let current = new Date(iso);
  return { now: () => new Date(current), set: (next) => (current = new Date(next)) };
}

/**
 * An engine (no worker: runs stay queued until the test completes them) on a fresh database
 * of `kind`, a temp dir with `repos` (git repositories named as given) and automation deps.
 */
export async function automationWorld(
  kind: DatabaseKind,
  repos: string[] = ['api', 'web'],
  options: { worker?: boolean } = {},
) {
  const temp = await tempDir();
  const databaseUrl = kind === 'postgres' ? await newPostgresDatabase() : undefined;
  const harnesses = new HarnessRegistry().register(
    new ScriptedHarness('scripted', [{ commands: ['echo fixed >> README.md'], say: 'fixed' }]),
  );
  const engine = await Engine.open(
    {
      ...engineConfig(join(temp.dir, 'home'), {}),
      databaseUrl,
      defaultHarness: 'scripted',
      limits: { memoryBytes: 256 * 1024 * 1024, pids: 256 },
    },
    { harnesses },
  );
  if (options.worker) await engine.startWorker();
  const paths: Record<string, string> = {};
  for (const name of repos) {
    paths[name] = join(temp.dir, name);
    await makeRepo(paths[name], { 'README.md': `# ${name}\n` });
  }
  const log = pino({ level: 'silent' });
  const deps = (clock: TestClock, env: NodeJS.ProcessEnv = {}): AutomationDeps => ({
    db: engine.store.db,
    submit: (request) => engine.submit(request),
    applyFleet: (file, author) => engine.fleets.applyFile(file, author),
    startSwarm: (file) => engine.swarms.startFile(file),
    log,
    now: clock.now,
    env,
  });
  return {
    engine,
    databaseUrl,
    dir: temp.dir,
    repos: paths,
    deps,
    queries: automationQueries(engine.store.db),
    async close() {
      await engine.close();
      await temp.cleanup();
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false (slow, shared machines). */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A complete automation with sensible defaults, for tests that store one directly. */
export function automation(
  partial: Partial<Automation> & Pick<Automation, 'name' | 'trigger' | 'targets'>,
): Automation {
  return {
    description: '',
    enabled: true,
    filters: [],
    blueprint: null,
    inputs: { script: 'true', values: {} },
    fleet: null,
    swarm: null,
    concurrency: 1,
    runAs: `automation-${partial.name}`,
    source: 'api',
    cwd: '/',
    ...partial,
  };
}
