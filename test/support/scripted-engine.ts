import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { HarnessRegistry } from '../../src/agents/registry.ts';
import { Engine, type EngineConfig, engineConfig } from '../../src/engine/index.ts';
import { type DatabaseKind, newPostgresDatabase } from './databases.ts';
import { makeRepo } from './repos.ts';

/**
 * An engine with a running worker on `kind`'s database, whose default harness is `scripted`
 * (tests register their own `ScriptedHarness` in `harnesses`), in a temp dir removed afterwards;
 * `overrides` changes the engine's configuration.
 */
export function scriptedEngine(kind: DatabaseKind, name: string, overrides: Partial<EngineConfig> = {}) {
  const harnesses = new HarnessRegistry();
  // The temp dir is made in beforeAll: a suite filtered out (`-t`) runs no afterAll to remove it.
  const state = { harnesses } as { dir: string; harnesses: HarnessRegistry; engine: Engine };
  let repos = 0;

  beforeAll(async () => {
    state.dir = mkdtempSync(join(tmpdir(), `nightshift-${name}-`));
    const config = {
      ...engineConfig(join(state.dir, 'home'), {}),
      databaseUrl: kind === 'postgres' ? await newPostgresDatabase() : undefined,
      defaultHarness: 'scripted',
      limits: { memoryBytes: 256 * 1024 * 1024, pids: 256 },
      ...overrides,
    };
    state.engine = await Engine.open(config, { harnesses });
    await state.engine.startWorker();
  }, 180_000);

  afterAll(async () => {
    await state.engine?.close();
    if (state.dir) rmSync(state.dir, { recursive: true, force: true });
  });

  /** A new git repo in the temp dir with `files` committed. */
  async function newRepo(files: Record<string, string> = { 'README.md': '# demo\n' }): Promise<string> {
    const repo = join(state.dir, `repo${repos++}`);
    await makeRepo(repo, files);
    return repo;
  }

  return { state, newRepo };
}
